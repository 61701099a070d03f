"""One DAG that touches every kind of credential, run by tests/reliability/test_secrets.py.

Why one DAG: a DAG run costs ~40 s; this one covers a literal token (connection password), a token
file, a client certificate + key, a proxy PEM, and a wrong token whose AuthenticationError must not
echo it. The test then scans the console, the task log files, XCom and the rendered template
fields for the secret values. Connection ids other than the defaults come from ``AIRFLOW_CONN_*``
variables the test sets.
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import DAG, task

from airflow_provider_poms.emulator.reqmgr2.samples import stepchain_spec
from airflow_provider_poms.operators.poms import PomsLaunchStageOperator
from airflow_provider_poms.operators.reqmgr2 import (
    ReqMgr2ApproveRequestOperator,
    ReqMgr2CreateRequestOperator,
)

START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
TAG = "{{ dag_run.conf['tag'] }}"


@task
def probe(conn_id: str) -> dict[str, str]:
    """What a DAG author would print while debugging: the settings and the connection test."""
    from airflow_provider_poms.hooks.reqmgr2 import ReqMgr2Hook

    hook = ReqMgr2Hook(reqmgr2_conn_id=conn_id)
    settings = hook.get_settings()
    ok, message = hook.test_connection()
    print(f"settings of {conn_id}: {settings!r}; auth {settings.auth_kind}; test: {ok} {message}")
    return {"settings": repr(settings), "test": f"{ok} {message}", "key": repr(settings.key())}


with DAG("secrets_scan", schedule=None, start_date=START, catchup=False) as secrets_scan:
    create = ReqMgr2CreateRequestOperator(
        task_id="create_with_literal_token",
        reqmgr2_conn_id="reqmgr2_token",
        spec=stepchain_spec(f"AFsecrets_{TAG}"),
    )
    approve = ReqMgr2ApproveRequestOperator(
        task_id="approve_with_certificate",
        request_name="{{ ti.xcom_pull(task_ids='create_with_literal_token') }}",
        priority=150000,
    )
    launch = PomsLaunchStageOperator(
        task_id="launch_with_proxy",
        poms_conn_id="poms_proxy",
        campaign_name="demo_campaign",
        stage_name="stage1",
        test_launch=True,
        param_overrides={"--tag=": TAG},
    )
    refused = ReqMgr2ApproveRequestOperator(
        task_id="approve_with_wrong_token",
        reqmgr2_conn_id="reqmgr2_wrong",
        request_name="{{ ti.xcom_pull(task_ids='create_with_literal_token') }}",
        retries=0,
    )
    create >> approve
    create >> refused
    probe.override(task_id="probe_literal_token")("reqmgr2_token")
    probe.override(task_id="probe_token_file")("reqmgr2_tokenfile")
