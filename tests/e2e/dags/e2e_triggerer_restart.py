"""A request whose wait outlives a triggerer restart (tests/e2e/test_e2e_restart.py).

The sensor waits for ``closed-out``, a status only a person sets: the request reaches
``completed`` on its own, the test restarts the triggerer while the sensor is deferred, then
closes the request out itself and expects the restarted triggerer to see it.
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import DAG

from airflow_provider_poms.emulator.reqmgr2.samples import stepchain_spec
from airflow_provider_poms.operators.reqmgr2 import (
    ReqMgr2ApproveRequestOperator,
    ReqMgr2AssignRequestOperator,
    ReqMgr2CreateRequestOperator,
)
from airflow_provider_poms.sensors.reqmgr2 import ReqMgr2RequestSensor

NAME = "{{ ti.xcom_pull(task_ids='create') }}"

with DAG(
    "e2e_triggerer_restart",
    schedule=None,
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    tags=["e2e"],
):
    create = ReqMgr2CreateRequestOperator(
        task_id="create", spec=stepchain_spec("AFrestart_{{ dag_run.conf['tag'] }}")
    )
    approve = ReqMgr2ApproveRequestOperator(task_id="approve", request_name=NAME)
    assign = ReqMgr2AssignRequestOperator(
        task_id="assign", request_name=NAME, team="production", site_whitelist=["T1_US_FNAL"]
    )
    wait = ReqMgr2RequestSensor(
        task_id="wait_closed_out",
        request_name=NAME,
        target_statuses=["closed-out"],
        poke_interval=2,
        timeout=600,
        mode="poke",
        deferrable=True,
    )
    create >> approve >> assign >> wait
