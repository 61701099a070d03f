"""The ReqMgr2 operator/sensor scenario of the conformance tier, as one DAG run against either target.

Everything target-specific comes from ``dag_run.conf`` (the spec with its DbsUrl, the assignment,
whether the run itself must move the agent-owned statuses), and the connections
``reqmgr2_default`` (operator identity) and ``reqmgr2_requestor`` (ppd-level identity) point at the
target, so the same DAG runs unchanged against the emulator and the real ReqMgr2 server.
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import DAG, task

from airflow_provider_poms.operators.reqmgr2 import (
    ReqMgr2ApproveRequestOperator,
    ReqMgr2AssignRequestOperator,
    ReqMgr2ChangeStatusOperator,
    ReqMgr2CloneRequestOperator,
    ReqMgr2CreateRequestOperator,
    ReqMgr2UpdateRequestOperator,
)
from airflow_provider_poms.sensors.reqmgr2 import ReqMgr2RequestSensor

START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
AGENT_PATH = ("staging", "staged", "acquired", "running-open", "running-closed", "completed")
SPEC = "{{ dag_run.conf['spec'] | tojson }}"
BAD_SPEC = "{{ dag_run.conf['bad_spec'] | tojson }}"
RQ_SPEC = "{{ dag_run.conf['requestor_spec'] | tojson }}"
ASSIGNMENT = "{{ dag_run.conf['assignment'] | tojson }}"
ABORT_SPEC = "{{ dag_run.conf['abort_spec'] | tojson }}"


@task
def move_agent_statuses(name: str, **context: object) -> list[str]:
    """On the real server no agents run: move the request the way they would (admin identity)."""
    from airflow_provider_poms.hooks.reqmgr2 import ReqMgr2Hook

    if not context["dag_run"].conf.get("drive"):  # type: ignore[attr-defined]
        return []
    hook = ReqMgr2Hook()
    for status in AGENT_PATH:
        hook.change_status(name, status)
    return list(AGENT_PATH)


with DAG("conformance_reqmgr2", schedule=None, start_date=START, catchup=False) as conformance_reqmgr2:
    name = "{{ ti.xcom_pull(task_ids='create') }}"
    create = ReqMgr2CreateRequestOperator(task_id="create", spec=SPEC)
    approve = ReqMgr2ApproveRequestOperator(task_id="approve", request_name=name, priority=200000)
    assign = ReqMgr2AssignRequestOperator(
        task_id="assign",
        request_name=name,
        team="production",
        site_whitelist=["T1_US_FNAL"],
        assignment=ASSIGNMENT,
    )
    drive = move_agent_statuses.override(task_id="drive")(name)
    sense = ReqMgr2RequestSensor(
        task_id="sense",
        request_name=name,
        target_statuses=["completed"],
        poke_interval=1,
        timeout=120,
        mode="poke",
        deferrable=False,
    )
    sense_deferred = ReqMgr2RequestSensor(
        task_id="sense_deferred",
        request_name=name,
        target_statuses=["completed", "closed-out"],
        poke_interval=1,
        timeout=120,
        deferrable=True,
    )
    close = ReqMgr2ChangeStatusOperator(task_id="close_out", request_name=name, status="closed-out")
    announce = ReqMgr2ChangeStatusOperator(task_id="announce", request_name=name, status="announced")
    update = ReqMgr2UpdateRequestOperator(
        task_id="update", request_name=name, priority=300000, fail_on_dropped=False
    )
    clone = ReqMgr2CloneRequestOperator(
        task_id="clone",
        request_name=name,
        overrides={"RequestPriority": 150000, "Step1": {"GlobalTag": "DAG_V1"}},
    )
    create >> approve >> assign >> drive >> sense >> sense_deferred >> close >> announce >> update >> clone

    # a change the state table forbids is refused before any write
    create_bad = ReqMgr2CreateRequestOperator(task_id="create_bad", spec=BAD_SPEC)
    close_new = ReqMgr2ChangeStatusOperator(
        task_id="close_out_new", request_name="{{ ti.xcom_pull(task_ids='create_bad') }}", status="closed-out"
    )
    create_bad >> close_new

    # a role that may not assign: the requestor creates and approves, then fails to assign
    rq_name = "{{ ti.xcom_pull(task_ids='create_rq') }}"
    create_rq = ReqMgr2CreateRequestOperator(
        task_id="create_rq", spec=RQ_SPEC, reqmgr2_conn_id="reqmgr2_requestor"
    )
    approve_rq = ReqMgr2ApproveRequestOperator(
        task_id="approve_rq", request_name=rq_name, reqmgr2_conn_id="reqmgr2_requestor"
    )
    assign_rq = ReqMgr2AssignRequestOperator(
        task_id="assign_rq",
        request_name=rq_name,
        team="production",
        site_whitelist=["T1_US_FNAL"],
        reqmgr2_conn_id="reqmgr2_requestor",
        retries=0,
    )
    create_rq >> approve_rq >> assign_rq

    # a request aborted while a sensor waits for "completed": the sensor fails at once, with the path
    ab_name = "{{ ti.xcom_pull(task_ids='create_ab') }}"
    create_ab = ReqMgr2CreateRequestOperator(task_id="create_ab", spec=ABORT_SPEC)
    approve_ab = ReqMgr2ApproveRequestOperator(task_id="approve_ab", request_name=ab_name)
    assign_ab = ReqMgr2AssignRequestOperator(
        task_id="assign_ab",
        request_name=ab_name,
        team="production",
        site_whitelist=["T1_US_FNAL"],
        assignment=ASSIGNMENT,
    )
    abort_ab = ReqMgr2ChangeStatusOperator(task_id="abort_ab", request_name=ab_name, status="aborted")
    sense_ab = ReqMgr2RequestSensor(
        task_id="sense_ab",
        request_name=ab_name,
        target_statuses=["completed"],
        poke_interval=1,
        timeout=120,
        mode="poke",
        deferrable=False,
        retries=0,
    )
    create_ab >> approve_ab >> assign_ab >> abort_ab >> sense_ab
