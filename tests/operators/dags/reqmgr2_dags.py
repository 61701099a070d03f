"""ReqMgr2 DAGs run by tests/operators and tests/sensors (one chain per wait mode).

Every name comes from ``dag_run.conf["tag"]`` (unique per test), so runs never collide.
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import DAG

from airflow_provider_poms.emulator.reqmgr2.samples import assignment_body, stepchain_spec
from airflow_provider_poms.operators.reqmgr2 import (
    ReqMgr2ApproveRequestOperator,
    ReqMgr2AssignRequestOperator,
    ReqMgr2ChangeStatusOperator,
    ReqMgr2CloneRequestOperator,
    ReqMgr2CreateRequestOperator,
    ReqMgr2UpdateRequestOperator,
)
from airflow_provider_poms.sensors.reqmgr2 import ReqMgr2RequestSensor

MODES = ("poke", "reschedule", "deferrable")
START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
TAG = "{{ dag_run.conf['tag'] }}"


def _wait_args(mode: str) -> dict:
    return (
        {"mode": "poke", "deferrable": True} if mode == "deferrable" else {"mode": mode, "deferrable": False}
    )


def _assignment() -> dict:
    body = assignment_body()
    for key in ("RequestStatus", "Team", "SiteWhitelist", "SiteBlacklist"):
        body.pop(key, None)
    return body


def _request_chain(mode: str, prefix: str) -> tuple:
    """create -> approve -> assign (no wait); returns (create, assign, name template)."""
    if mode == "deferrable":
        spec: object = "stepchain.json-tpl"  # a templated JSON file (template_ext)
    else:
        spec = stepchain_spec(f"{prefix}_{TAG}_{mode}")
    create = ReqMgr2CreateRequestOperator(task_id=f"create_{mode}", spec=spec, params={"prefix": prefix})
    name = f"{{{{ ti.xcom_pull(task_ids='create_{mode}') }}}}"
    approve = ReqMgr2ApproveRequestOperator(task_id=f"approve_{mode}", request_name=name, priority=200000)
    create >> approve
    return create, approve, name


with DAG("reqmgr2_flow", schedule=None, start_date=START, catchup=False) as reqmgr2_flow:
    for mode in MODES:
        create, approve, name = _request_chain(mode, "AFflow")
        assign = ReqMgr2AssignRequestOperator(
            task_id=f"assign_{mode}",
            request_name=name,
            team="production",
            site_whitelist=["T1_US_FNAL"],
            assignment=_assignment(),
            wait_for_completion=True,
            target_statuses=["staging"],
            poll_interval=1,
            timeout=120,
            **_wait_args(mode),
        )
        sense = ReqMgr2RequestSensor(
            task_id=f"sense_{mode}",
            request_name=name,
            target_statuses="{{ dag_run.conf.get('target', 'completed') }}",
            poke_interval=1,
            timeout=120,
            **_wait_args(mode),
        )
        close = ReqMgr2ChangeStatusOperator(
            task_id=f"close_out_{mode}", request_name=name, status="closed-out"
        )
        announce = ReqMgr2ChangeStatusOperator(
            task_id=f"announce_{mode}", request_name=name, status="announced"
        )
        update = ReqMgr2UpdateRequestOperator(
            task_id=f"update_{mode}", request_name=name, priority=300000, fail_on_dropped=False
        )
        clone = ReqMgr2CloneRequestOperator(
            task_id=f"clone_{mode}",
            request_name=name,
            overrides={"RequestString": f"AFclone_{TAG}_{mode}", "RequestPriority": 150000},
        )
        approve >> assign >> sense >> close >> announce >> update >> clone


with DAG("reqmgr2_abort", schedule=None, start_date=START, catchup=False) as reqmgr2_abort:
    for mode in MODES:
        create, approve, name = _request_chain(mode, "AFabort")
        assign = ReqMgr2AssignRequestOperator(
            task_id=f"assign_{mode}", request_name=name, team="production", site_whitelist="T1_US_FNAL"
        )
        sense = ReqMgr2RequestSensor(
            task_id=f"sense_{mode}",
            request_name=name,
            target_statuses=["completed"],
            poke_interval=1,
            timeout=120,
            **_wait_args(mode),
        )
        approve >> assign >> sense
    # a change the state table forbids fails before any write: a new request cannot be closed out
    bad = ReqMgr2CreateRequestOperator(task_id="create_bad", spec=stepchain_spec(f"AFbad_{TAG}"))
    ReqMgr2ChangeStatusOperator(
        task_id="close_out_new", request_name="{{ ti.xcom_pull(task_ids='create_bad') }}", status="closed-out"
    ).set_upstream(bad)


with DAG("reqmgr2_passed", schedule=None, start_date=START, catchup=False) as reqmgr2_passed:
    for mode in ("poke", "deferrable"):
        create, approve, name = _request_chain(mode, "AFpass")
        assign = ReqMgr2AssignRequestOperator(
            task_id=f"assign_{mode}", request_name=name, team="production", site_whitelist=["T1_US_FNAL"]
        )
        # 'staged' lasts one emulated step (1 s real); a look every 6 s can only see it in the history
        sense = ReqMgr2RequestSensor(
            task_id=f"sense_{mode}",
            request_name=name,
            target_statuses=["staged"],
            poke_interval=6,
            timeout=120,
            **_wait_args(mode),
        )
        approve >> assign >> sense
