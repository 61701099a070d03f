"""CMS request lifecycle: one ReqMgr2 request from creation to announcement.

What it does
    1. ``create``: renders ``specs/rereco.json-tpl`` with Jinja (RequestString from the run's
       start time, Campaign, PrepID, priority, input dataset, run whitelist and memory from the
       DAG params), checks it against the provider's schema, and creates the request (``new``).
    2. ``approve``: ``new -> assignment-approved`` with the priority from the params.
    3. ``assign``: ``-> assigned`` to the team and site whitelist from the params.
    4. ``wait_completed``: a deferrable sensor; the triggerer polls ReqMgr2 (one batched call for
       every waiting request) until the request has been ``completed``. It fails at once, with the
       path the request took, if the request is aborted, rejected or failed instead.
    5. ``close_out`` and ``announce``: the operator's closing steps (each checked against the
       ReqMgr2 state table before the call).
    Every task page has a "ReqMgr2 request" link to the request's page.

Connections
    ``reqmgr2_default`` (conn type ``reqmgr2``): host = ReqMgr2 base URL (production
    ``https://cmsweb.cern.ch:8443/reqmgr2``), grid certificate + key or proxy, CA directory; see
    docs/connections.md. Another connection: the ``reqmgr2_conn_id`` param or ``REQMGR2_CONN_ID``.

How to adapt it
    Copy this file and the spec template next to your DAGs; replace ``specs/rereco.json-tpl`` by
    your request's creation JSON (any request type: the provider validates StepChain, TaskChain,
    ReReco, ... specs) keeping Jinja where a value changes per run; set the params' defaults to
    your campaign, team and sites; raise ``POLL_SECONDS`` (a request takes hours to days: polling
    every few minutes is plenty) and ``WAIT_TIMEOUT``. Running it against the offline emulator:
    see the README's "Example DAGs" section.
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import DAG, Param

from airflow_provider_poms.operators.reqmgr2 import (
    ReqMgr2ApproveRequestOperator,
    ReqMgr2AssignRequestOperator,
    ReqMgr2ChangeStatusOperator,
    ReqMgr2CreateRequestOperator,
)
from airflow_provider_poms.sensors.reqmgr2 import ReqMgr2RequestSensor

#: Default connection (the ``reqmgr2_conn_id`` param overrides it per run).
REQMGR2_CONN_ID = "reqmgr2_default"
#: Seconds between two looks at the request. The emulator needs little; production: 300 or more.
POLL_SECONDS = 10.0
#: Give up waiting after this long (production requests run for days).
WAIT_TIMEOUT = 14 * 24 * 3600.0
#: Assignment arguments besides team and sites (ReqMgr2 keeps the creation values when absent).
ASSIGNMENT = {
    "AcquisitionEra": "Run2018A",
    "ProcessingString": "UL2018_v1",
    "ProcessingVersion": 1,
    "MergedLFNBase": "/store/data",
    "UnmergedLFNBase": "/store/unmerged",
    "Dashboard": "reprocessing",
    "SoftTimeout": 129600,
    "GracePeriod": 300,
}
CONN = "{{ params.reqmgr2_conn_id }}"
NAME = "{{ ti.xcom_pull(task_ids='create') }}"

with DAG(
    dag_id="cms_request_lifecycle",
    description="ReqMgr2: create from a templated spec, approve, assign, wait, close out, announce",
    schedule=None,
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    max_active_runs=4,
    tags=["example", "reqmgr2", "cms"],
    doc_md=__doc__,
    params={
        "request_prefix": Param(
            "AF_ReReco",
            type="string",
            pattern=r"^[A-Za-z0-9_-]{1,60}$",
            title="RequestString prefix",
            description="Start of the RequestString; the run's start time is appended.",
        ),
        "campaign": Param(
            "UltraLegacy2018",
            type="string",
            pattern=r"^[A-Za-z0-9_-]{1,80}$",
            title="Campaign",
        ),
        "priority": Param(90000, type="integer", minimum=0, maximum=999999, title="RequestPriority"),
        "input_dataset": Param(
            "/JetHT/Run2018A-v1/RAW",
            type="string",
            pattern=r"^/[^/]+/[^/]+/[A-Z-]+$",
            title="Input dataset",
        ),
        "run_whitelist": Param([315257, 315259], type="array", items={"type": "integer"}, title="Runs"),
        "memory": Param(3000, type="integer", minimum=500, maximum=64000, title="Memory (MB)"),
        "team": Param("production", type="string", title="Team"),
        "site_whitelist": Param(
            ["T1_US_FNAL", "T2_CH_CERN"], type="array", items={"type": "string"}, title="SiteWhitelist"
        ),
        "reqmgr2_conn_id": Param(REQMGR2_CONN_ID, type="string", title="ReqMgr2 connection id"),
    },
) as dag:
    create = ReqMgr2CreateRequestOperator(
        task_id="create", spec="specs/rereco.json-tpl", reqmgr2_conn_id=CONN
    )
    approve = ReqMgr2ApproveRequestOperator(
        task_id="approve",
        request_name=NAME,
        priority="{{ params.priority }}",  # type: ignore[arg-type]  # a template, rendered to a number
        reqmgr2_conn_id=CONN,
    )
    assign = ReqMgr2AssignRequestOperator(
        task_id="assign",
        request_name=NAME,
        team="{{ params.team }}",
        site_whitelist="{{ params.site_whitelist | join(',') }}",
        assignment=ASSIGNMENT,
        reqmgr2_conn_id=CONN,
    )
    wait_completed = ReqMgr2RequestSensor(
        task_id="wait_completed",
        request_name=NAME,
        target_statuses=["completed"],
        deferrable=True,
        poke_interval=POLL_SECONDS,
        timeout=WAIT_TIMEOUT,
        reqmgr2_conn_id=CONN,
    )
    close_out = ReqMgr2ChangeStatusOperator(
        task_id="close_out", request_name=NAME, status="closed-out", reqmgr2_conn_id=CONN
    )
    announce = ReqMgr2ChangeStatusOperator(
        task_id="announce", request_name=NAME, status="announced", reqmgr2_conn_id=CONN
    )
    create >> approve >> assign >> wait_completed >> close_out >> announce
