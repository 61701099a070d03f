"""POMS campaign chain: upload the campaign, run stage 1, then the stage that depends on it.

What it does (daily)
    1. ``upload_campaign``: uploads ``campaigns/demo_campaign.ini`` (POMS ``ini_to_campaign``), so
       the campaign on POMS is always the one kept in git next to this DAG.
    2. ``launch_stage1``: launches a submission of the first stage.
    3. ``wait_stage1_located``: deferrable sensor until POMS reports the submission ``Located``
       (its output is declared and placed); fails on Failed/Removed/Cancelled/LaunchFailed.
    4. ``launch_stage2``: the dependent stage. POMS itself launches dependent stages once the
       upstream submission is Located (its wrapup, ``[POMS] launch_recovery_jobs``), with the
       upstream output as input dataset; launching again would run the stage twice. So this task
       adopts the submission POMS launched for ``launch_stage1``'s submission when there is one,
       and launches the stage itself only when POMS did not.
    5. ``wait_stage2_located``: deferrable sensor until that submission is Located.
    Task pages carry "POMS submission" and "POMS campaign stage" links.

Connections
    ``poms_default`` (conn type ``poms``): host = POMS base URL (production
    ``https://pomsgpvm01.fnal.gov:8443/poms`` with a certificate), grid certificate + key or
    bearer token file, extra ``experiment`` and ``role`` (e.g. ``production``); see
    docs/connections.md. Another connection: the ``poms_conn_id`` param or ``POMS_CONN_ID``.

How to adapt it
    Put your campaign's .ini in ``campaigns/`` (POMS' "campaign_deps_ini" export is a good start)
    and set ``CAMPAIGN_INI``; set the params' defaults to its campaign and stage names; pick the
    schedule; raise ``POLL_SECONDS`` (submissions take hours: a look every few minutes is enough)
    and ``WAIT_TIMEOUT``; set ``TEST_LAUNCH = True`` while trying it out (POMS then applies the
    stages' test overrides). Running it against the offline emulator: see the README's
    "Example DAGs" section.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from airflow.sdk import DAG, Param

from airflow_provider_poms.hooks.poms import LaunchResult, stage_submission_rows
from airflow_provider_poms.operators.poms import PomsLaunchStageOperator, PomsUploadWorkflowOperator
from airflow_provider_poms.sensors.poms import PomsSubmissionSensor

#: Default connection (the ``poms_conn_id`` param overrides it per run).
POMS_CONN_ID = "poms_default"
#: The campaign workflow uploaded first (a path is cheap at parse time; it is read by the task).
CAMPAIGN_INI = Path(__file__).resolve().parent / "campaigns" / "demo_campaign.ini"
#: Production launches by default; True makes POMS use the stages' test overrides and split.
TEST_LAUNCH = False
#: Seconds between two looks at a submission. The emulator needs little; production: 300 or more.
POLL_SECONDS = 10.0
#: Give up waiting for one stage after this long.
WAIT_TIMEOUT = 3 * 24 * 3600.0
#: How far back ``launch_stage2`` looks for the submission POMS launched itself.
LOOKBACK_DAYS = 2
CONN = "{{ params.poms_conn_id }}"
STAGE1_SUBMISSION = "{{ ti.xcom_pull(task_ids='launch_stage1', key='submission_id') }}"


class LaunchDependentStageOperator(PomsLaunchStageOperator):
    """Launch a dependent stage, unless POMS already launched it after ``upstream_submission_id``.

    Why: POMS launches a stage's dependents itself when the upstream submission is Located, with
    the upstream output as their dataset. A second launch from Airflow would process that data
    twice; a POMS without that automation (or a stage it skipped) still gets its launch.
    Everything else (links, XCom ``submission_id``, duplicate-safe launch) is the operator's.
    """

    template_fields = (*PomsLaunchStageOperator.template_fields, "upstream_submission_id")

    def __init__(self, *, upstream_submission_id: int | str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.upstream_submission_id = upstream_submission_id

    def launch(self) -> LaunchResult:
        stage = self.stage_for_overrides()
        upstream = int(str(self.upstream_submission_id))
        page = self.hook.campaign_stage_submissions(
            self.experiment, self.role, "", "", campaign_stage_id=stage, tdays=LOOKBACK_DAYS
        )
        here = {int(row["submission_id"]) for row in stage_submission_rows(page)}
        depends = (page.get("data") or {}).get("depends") or {}
        children = sorted(
            int(sid)
            for sid, parent in depends.items()
            if parent is not None and int(parent) == upstream and int(sid) in here
        )
        if children:
            self.log.info(
                "POMS already launched submission %s of stage %s after submission %s: adopting it",
                children[-1],
                stage,
                upstream,
            )
            return LaunchResult(submission_id=children[-1], location="", status=0)
        self.log.info("POMS launched nothing after submission %s: launching stage %s", upstream, stage)
        return super().launch()


with DAG(
    dag_id="poms_campaign_chain",
    description="POMS: upload the campaign .ini, launch stage 1, wait Located, launch stage 2, wait",
    schedule="@daily",
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    max_active_runs=1,
    tags=["example", "poms"],
    doc_md=__doc__,
    params={
        "campaign": Param("demo_campaign", type="string", minLength=1, title="Campaign (as in the .ini)"),
        "first_stage": Param("stage1", type="string", minLength=1, title="First stage"),
        "dependent_stage": Param("stage2", type="string", minLength=1, title="Dependent stage"),
        "poms_conn_id": Param(POMS_CONN_ID, type="string", title="POMS connection id"),
    },
) as dag:
    upload = PomsUploadWorkflowOperator(
        task_id="upload_campaign", file_name=str(CAMPAIGN_INI), poms_conn_id=CONN
    )
    launch_stage1 = PomsLaunchStageOperator(
        task_id="launch_stage1",
        campaign_name="{{ params.campaign }}",
        stage_name="{{ params.first_stage }}",
        test_launch=TEST_LAUNCH,
        poms_conn_id=CONN,
    )
    wait_stage1 = PomsSubmissionSensor(
        task_id="wait_stage1_located",
        submission_id=STAGE1_SUBMISSION,
        target_statuses="Located",
        deferrable=True,
        poke_interval=POLL_SECONDS,
        timeout=WAIT_TIMEOUT,
        poms_conn_id=CONN,
    )
    launch_stage2 = LaunchDependentStageOperator(
        task_id="launch_stage2",
        campaign_name="{{ params.campaign }}",
        stage_name="{{ params.dependent_stage }}",
        upstream_submission_id=STAGE1_SUBMISSION,
        test_launch=TEST_LAUNCH,
        poms_conn_id=CONN,
    )
    wait_stage2 = PomsSubmissionSensor(
        task_id="wait_stage2_located",
        submission_id="{{ ti.xcom_pull(task_ids='launch_stage2', key='submission_id') }}",
        target_statuses="Located",
        deferrable=True,
        poke_interval=POLL_SECONDS,
        timeout=WAIT_TIMEOUT,
        poms_conn_id=CONN,
    )
    upload >> launch_stage1 >> wait_stage1 >> launch_stage2 >> wait_stage2
