"""Operator arguments are checked at DAG parse time (or before any HTTP call), naming the argument.

No server is involved: every case here must fail before a hook would send anything. Behaviour on
the wire is covered by the DAG tests in this directory.
"""

from __future__ import annotations

from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowException, AirflowFailException, AirflowSensorTimeout

from airflow_provider_poms.emulator.reqmgr2.samples import stepchain_spec
from airflow_provider_poms.operators.poms import (
    PomsLaunchCampaignOperator,
    PomsLaunchStageOperator,
    PomsUploadWorkflowOperator,
    override_pairs,
)
from airflow_provider_poms.operators.reqmgr2 import (
    ReqMgr2AssignRequestOperator,
    ReqMgr2ChangeStatusOperator,
    ReqMgr2CloneRequestOperator,
    ReqMgr2CreateRequestOperator,
    ReqMgr2UpdateRequestOperator,
)


def _raises(match: str, factory: Any, **kwargs: Any) -> None:
    with pytest.raises(ValueError, match=match):
        factory(**kwargs)


def test_poms_launch_arguments_fail_at_parse_time() -> None:
    _raises("campaign_stage_id, or campaign_name and stage_name", PomsLaunchStageOperator, task_id="t")
    _raises("not both", PomsLaunchStageOperator, task_id="t", campaign_stage_id=1, stage_name="s")
    _raises(
        "on_held: 'queue' is not one of",
        PomsLaunchStageOperator,
        task_id="t",
        campaign_stage_id=1,
        on_held="queue",
    )
    _raises(
        "on_no_more_splits",
        PomsLaunchStageOperator,
        task_id="t",
        campaign_stage_id=1,
        on_no_more_splits="retry",
    )
    _raises(
        "target_statuses: unknown POMS submission status 'Done'",
        PomsLaunchStageOperator,
        task_id="t",
        campaign_stage_id=1,
        target_statuses=["Done"],
    )
    _raises(
        "Located is also in failure_statuses",
        PomsLaunchStageOperator,
        task_id="t",
        campaign_stage_id=1,
        target_statuses="Located",
        failure_statuses="Located,Failed",
    )
    _raises(
        "mode: 'sometimes' is not a wait mode",
        PomsLaunchStageOperator,
        task_id="t",
        campaign_stage_id=1,
        mode="sometimes",
    )
    _raises(
        "param_overrides: expected a dict or a list",
        PomsLaunchStageOperator,
        task_id="t",
        campaign_stage_id=1,
        param_overrides=[1, 2, 3],
    )
    _raises("exactly one of campaign_id and campaign_name", PomsLaunchCampaignOperator, task_id="t")
    _raises("file_name", PomsUploadWorkflowOperator, task_id="t", file_name="")


def test_templated_arguments_are_checked_after_rendering_only() -> None:
    op = PomsLaunchStageOperator(
        task_id="t",
        campaign_stage_id="{{ params.stage }}",
        target_statuses="{{ params.targets }}",
        mode="deferrable",
    )
    assert op.deferrable and op.mode == "deferrable"
    assert "campaign_stage_id" in op.template_fields and "target_statuses" in op.template_fields


def test_override_pairs_accept_dicts_pairs_and_json() -> None:
    assert override_pairs({"-Osubmit.memory=": "2000MB"}, "p") == [["-Osubmit.memory=", "2000MB"]]
    assert override_pairs([["--a=", 1]], "p") == [["--a=", "1"]]
    assert override_pairs('[["--a=", "x"]]', "p") == [["--a=", "x"]]
    assert override_pairs(None, "p") is None


def test_reqmgr2_spec_is_schema_checked_at_parse_time_with_every_problem() -> None:
    bad = stepchain_spec("AFunit bad!", RequestPriority="high", Memory=-1)
    with pytest.raises(ValueError) as err:
        ReqMgr2CreateRequestOperator(task_id="t", spec=bad)
    message = str(err.value)
    assert message.startswith("spec:") and "RequestPriority" in message and "RequestString" in message
    # a templated spec (or a .json-tpl file) is checked after rendering, before the HTTP call
    ReqMgr2CreateRequestOperator(task_id="t2", spec=stepchain_spec("AF_{{ run_id }}"))
    op = ReqMgr2CreateRequestOperator(task_id="t3", spec="spec.json-tpl")
    assert ".json-tpl" in op.template_ext and ".json.j2" in op.template_ext
    _raises("spec: expected a dict", ReqMgr2CreateRequestOperator, task_id="t4", spec=42)


def test_reqmgr2_other_arguments_fail_at_parse_time() -> None:
    _raises(
        "assignment: .*SiteWhitelist",
        ReqMgr2AssignRequestOperator,
        task_id="t",
        request_name="r",
        team="production",
        site_whitelist=[],
    )
    _raises(
        "status: 'completed' is not one of",
        ReqMgr2ChangeStatusOperator,
        task_id="t",
        request_name="r",
        status="completed",
    )
    _raises(
        "cascade", ReqMgr2ChangeStatusOperator, task_id="t", request_name="r", status="aborted", cascade=True
    )
    _raises("give at least one change", ReqMgr2UpdateRequestOperator, task_id="t", request_name="r")
    _raises(
        "priority: 1000000 is outside",
        ReqMgr2UpdateRequestOperator,
        task_id="t",
        request_name="r",
        priority=1_000_000,
    )
    _raises(
        "overrides: ",
        ReqMgr2CloneRequestOperator,
        task_id="t",
        request_name="r",
        overrides={"RequestPriority": "urgent"},
    )
    _raises(
        "target_statuses: unknown ReqMgr2 status 'done'",
        ReqMgr2AssignRequestOperator,
        task_id="t",
        request_name="r",
        team="production",
        site_whitelist=["T1_US_FNAL"],
        wait_for_completion=True,
        target_statuses=["done"],
    )


def test_execute_complete_validates_the_event() -> None:
    op = ReqMgr2AssignRequestOperator(
        task_id="t",
        request_name="r",
        team="production",
        site_whitelist=["T1_US_FNAL"],
        wait_for_completion=True,
    )
    assert op.execute_complete({}, {"status": "success", "ids": ["r"], "snapshots": {}}) == "r"
    with pytest.raises(AirflowException, match="unexpected event None"):
        op.execute_complete({}, None)
    with pytest.raises(AirflowException, match="unexpected event"):
        op.execute_complete({}, {"status": "weird"})
    with pytest.raises(AirflowFailException, match="path taken"):
        op.execute_complete({}, {"status": "failure", "message": "r is aborted; path taken: new -> aborted"})
    with pytest.raises(AirflowSensorTimeout, match="deadline"):
        op.execute_complete({}, {"status": "timeout", "message": "not done by the deadline"})
    with pytest.raises(AirflowException, match="waiting failed: boom"):
        op.execute_complete({}, {"status": "error", "message": "boom"})


class _HeldThenQueuedHook:
    """A POMS that answers 423 (held, queued) and runs the queued launch on the third listing."""

    def __init__(self) -> None:
        self.listings = 0
        self.launches = 0

    def launch_campaign_stage_jobs(self, stage: int, **kw: Any) -> Any:
        from airflow_provider_poms.http.errors import StageHeld

        self.launches += 1
        raise StageHeld("Campaign stage s1 launches currently held.... queuing this request", status=423)

    def send_launch_once(self, scope: str, ident: int, **kw: Any) -> Any:  # the operator's one launch
        return self.launch_campaign_stage_jobs(ident)

    def campaign_stage_submissions(self, *a: Any, **kw: Any) -> dict[str, Any]:
        self.listings += 1
        rows = [{"submission_id": 10, "created": "2026-11-22 10:00:00"}]
        if self.listings >= 3:
            rows.append({"submission_id": 11, "created": "2026-11-22 10:05:00"})
        return {"data": {"submissions": rows}}


def test_on_held_wait_picks_up_the_queued_launch_without_launching_again() -> None:
    op = PomsLaunchStageOperator(
        task_id="t", campaign_stage_id=5, on_held="wait", poll_interval=0, timeout=30
    )
    hook = _HeldThenQueuedHook()
    op._hook = hook
    assert op._launch_once({}) == 11  # type: ignore[arg-type]
    assert hook.launches == 1, "a held launch is queued by POMS: sending it again would queue a duplicate"
    assert hook.listings == 3

    skip = PomsLaunchStageOperator(task_id="s", campaign_stage_id=5, on_held="skip")
    skip._hook = _HeldThenQueuedHook()
    from airflow.sdk.exceptions import AirflowSkipException

    with pytest.raises(AirflowSkipException, match="held and queued"):
        skip._launch_once({})  # type: ignore[arg-type]
