"""POMS DAGs run by tests/operators and tests/sensors (one chain per wait mode).

Campaign names, ini paths and submission ids come from ``dag_run.conf`` (unique per test).
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import DAG

from airflow_provider_poms.operators.poms import (
    PomsLaunchCampaignOperator,
    PomsLaunchStageOperator,
    PomsUploadWorkflowOperator,
)
from airflow_provider_poms.sensors.poms import PomsSubmissionSensor

MODES = ("poke", "reschedule", "deferrable")
START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
CAMPAIGN = "{{ dag_run.conf['campaign'] }}"


def _wait_args(mode: str) -> dict:
    if mode == "deferrable":
        return {"mode": "poke", "deferrable": True}
    return {"mode": mode, "deferrable": False}


with DAG("poms_flow", schedule=None, start_date=START, catchup=False) as poms_flow:
    upload = PomsUploadWorkflowOperator(task_id="upload", file_name="{{ dag_run.conf['ini'] }}")
    for mode in MODES:
        launch = PomsLaunchStageOperator(
            task_id=f"launch_{mode}",
            campaign_name=CAMPAIGN,
            stage_name="stage1",
            param_overrides={"--tag=": "{{ dag_run.conf['tag'] }}"},
            test_launch=mode == "poke",
            wait_for_completion=True,
            poll_interval=1,
            timeout=200,
            **_wait_args(mode),
        )
        sense = PomsSubmissionSensor(
            task_id=f"sense_{mode}",
            submission_id=f"{{{{ ti.xcom_pull(task_ids='launch_{mode}', key='submission_id') }}}}",
            poke_interval=1,
            timeout=200,
            **_wait_args(mode),
        )
        upload >> launch >> sense
    campaign = PomsLaunchCampaignOperator(task_id="launch_campaign", campaign_name=CAMPAIGN, test_launch=True)
    upload >> campaign


with DAG("poms_held", schedule=None, start_date=START, catchup=False) as poms_held:
    # One after the other (the test releases the submissions in this order while it watches the polls).
    previous = None
    for mode in MODES:
        task = PomsSubmissionSensor(
            task_id=f"sense_{mode}",
            submission_id=f"{{{{ dag_run.conf['{mode}'] }}}}",
            target_statuses="Located",
            poke_interval=1,
            timeout=200,
            trigger_rule="all_done",
            **_wait_args(mode),
        )
        if previous is not None:
            previous >> task
        previous = task
    stuck = PomsSubmissionSensor(
        task_id="sense_stuck",
        submission_id="{{ dag_run.conf['stuck'] }}",
        fail_on_held_after=3,
        poke_interval=1,
        timeout=200,
        trigger_rule="all_done",
        mode="poke",
        deferrable=True,
    )
    previous >> stuck


with DAG("poms_policies", schedule=None, start_date=START, catchup=False) as poms_policies:
    first = PomsLaunchStageOperator(task_id="drain_first", campaign_name=CAMPAIGN, stage_name="drain")
    previous = first
    for policy in ("skip", "succeed", "fail"):
        task = PomsLaunchStageOperator(
            task_id=f"drained_{policy}",
            campaign_name=CAMPAIGN,
            stage_name="drain",
            on_no_more_splits=policy,
            trigger_rule="all_done",
        )
        previous >> task
        previous = task
    for policy in ("skip", "fail"):
        task = PomsLaunchStageOperator(
            task_id=f"held_{policy}",
            campaign_stage_id="{{ dag_run.conf['held_stage'] }}",
            on_held=policy,
            trigger_rule="all_done",
        )
        previous >> task
        previous = task
