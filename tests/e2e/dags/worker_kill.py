"""A create and a launch whose worker dies mid-call (tests/e2e/test_worker_kill.py).

The emulator holds both writes; the test SIGKILLs each task's process while the server holds its
write, the server commits it afterwards, and Airflow retries the task (``retries=1``). The retry
must find what the dead try made (the record it left in the task state store before sending) and
create or launch nothing more.
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import DAG

from airflow_provider_poms.emulator.reqmgr2.samples import stepchain_spec
from airflow_provider_poms.operators.poms import PomsLaunchStageOperator
from airflow_provider_poms.operators.reqmgr2 import ReqMgr2CreateRequestOperator

RETRY = {"retries": 1, "retry_delay": dt.timedelta(seconds=2)}

with DAG(
    "e2e_worker_kill",
    schedule=None,
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    tags=["e2e"],
):
    ReqMgr2CreateRequestOperator(
        task_id="create", spec=stepchain_spec("AFkill_{{ dag_run.conf['tag'] }}"), **RETRY
    )
    PomsLaunchStageOperator(
        task_id="launch",
        campaign_stage_id="{{ dag_run.conf['stage'] }}",
        experiment="samdev",
        role="production",
        **RETRY,
    )
