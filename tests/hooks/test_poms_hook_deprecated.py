"""poms_client's deprecated functions on PomsHook: each warns, and does the right thing on the wire."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from airflow_provider_poms.hooks.poms import LaunchResult, PomsHook
from airflow_provider_poms.http.errors import BadRequest, LogicalError, NotFound, PermissionDenied

from .poms_helpers import EXPERIMENT, stage_submission_ids, upload_campaign

MakeHook = Callable[..., PomsHook]


def test_launch_jobs_is_launch_campaign_stage_jobs_without_the_positional_bug(
    poms: PomsHook, tmp_path: Path
) -> None:
    camp = upload_campaign(poms, tmp_path)
    with pytest.deprecated_call(match="launch_campaign_stage_jobs"):
        result = poms.launch_jobs(camp.stage_ids["main"], None, EXPERIMENT, "production")
    assert isinstance(result, LaunchResult)
    details = poms.submission_details(EXPERIMENT, "production", result.submission_id)
    assert "test" not in (
        details["submission"]["submission_params"] or {}
    )  # poms_client made it a test launch
    assert stage_submission_ids(poms, camp.stage_ids["main"]) == {result.submission_id}


def test_get_task_id_for(poms: PomsHook, tmp_path: Path) -> None:
    camp = upload_campaign(poms, tmp_path)
    with pytest.deprecated_call(match="get_submission_id_for"):
        sid = poms.get_task_id_for(camp.stage_ids["main"], command_executed="x")
    with pytest.deprecated_call():
        assert poms.get_task_id_for(camp.stage_ids["main"], task_id=sid, command_executed="y") == sid
    assert poms.submission_details(EXPERIMENT, "production", sid)["submission"]["command_executed"] == "y"


def test_update_session_experiment_and_role_set_this_hooks_defaults(make_poms_hook: MakeHook) -> None:
    hook = make_poms_hook(experiment=None, role=None)
    other = make_poms_hook(experiment=None, role=None)
    with pytest.deprecated_call(match="experiment="):
        assert hook.update_session_experiment("nova") is True
    with pytest.deprecated_call(match="role="):
        assert hook.update_session_role("production") is True
    with pytest.raises(PermissionDenied, match="not in experiment nova"):  # the default is sent
        hook.get_campaign_id(None, "demo_campaign")
    assert hook.get_campaign_id(EXPERIMENT, "demo_campaign") is not None  # the call still wins
    assert other.get_campaign_id(EXPERIMENT, "demo_campaign") is not None  # per hook, not global


def test_register_poms_campaign_endpoint_is_gone(poms: PomsHook) -> None:
    with pytest.deprecated_call(match="upload_wf"), pytest.raises(NotFound):
        poms.register_poms_campaign("some_campaign", experiment=EXPERIMENT)


def test_campaign_edit_was_removed(poms: PomsHook) -> None:
    with pytest.deprecated_call(), pytest.raises(NotImplementedError, match="upload_wf"):
        poms.campaign_edit(name="x")


def test_job_type_edit_and_its_old_name(poms: PomsHook) -> None:
    name = f"jt_edit_{id(poms)}"
    with pytest.deprecated_call():
        assert (
            poms.job_type_edit(
                "%.root",
                ["fife_launch", "-c", "x.cfg"],
                def_parameter=[["-a", "1"]],
                action="add",
                name=name,
                experiment=EXPERIMENT,
            )
            == 200
        )
    with pytest.deprecated_call():
        assert (
            poms.campaign_definition_edit(
                "%.art",
                "fife_launch -c y.cfg",
                action="edit",
                name=name,
                recoveries=[["consumed_status", []]],
                experiment=EXPERIMENT,
            )
            == 200
        )
    with pytest.deprecated_call(), pytest.raises(LogicalError, match="already exists"):
        poms.job_type_edit("%.root", "x", action="add", name=name, experiment=EXPERIMENT)
    assert "deleted" in poms.job_type_rm(EXPERIMENT, name)["message"]


def test_launch_template_edit(poms: PomsHook) -> None:
    name = f"ls_edit_{id(poms)}"
    with pytest.deprecated_call():
        assert (
            poms.launch_template_edit(
                "add",
                name,
                "host.fnal.gov",
                "acct",
                ["source", "a.sh"],
                experiment=EXPERIMENT,
                pc_username="operator",
            )
            == 200
        )
    with pytest.deprecated_call(), pytest.raises(LogicalError, match="not found"):
        poms.launch_template_edit("edit", name + "_missing", experiment=EXPERIMENT)
    assert "deleted" in poms.login_setup_rm(EXPERIMENT, name)["message"]


def test_campaign_stage_edit(poms: PomsHook, tmp_path: Path) -> None:
    camp = upload_campaign(poms, tmp_path)
    args = dict(
        pc_username="operator",
        experiment=EXPERIMENT,
        vo_role="Production",
        dataset="ds_new",
        ae_active=True,
        ae_split_type=None,
        ae_software_version="v2_0",
        ae_completion_type=None,
        ae_completion_pct=80,
        ae_param_overrides=[["--step=", "edited"]],
        ae_depends=None,
        ae_launch_name=None,
        ae_campaign_definition=None,
        ae_test_param_overrides=[["--events=", "1"]],
    )
    with pytest.deprecated_call():
        assert poms.campaign_stage_edit("edit", camp.name, "main", **args) == 200
    stage = poms.show_campaign_stages(campaign_name=camp.name)["campaign_stages"][0]
    assert stage["software_version"] == "v2_0" and stage["completion_pct"] == 80
    assert stage["param_overrides"] == [["--step=", "edited"]]
    assert stage["test_param_overrides"] == [["--events=", "1"]]  # poms_client sent the wrong list here
    with pytest.deprecated_call(), pytest.raises(BadRequest, match="not supported"):
        poms.campaign_stage_edit("add", camp.name, "new_stage", **args)
