"""CMS campaign fan-out: a campaign's worth of ReqMgr2 requests, created, approved, assigned and
watched in parallel.

What it does
    ``plan`` builds ``count`` request specs (one Monte Carlo StepChain per sample: its own
    RequestString, PrepID and event count); then dynamic task mapping (``.partial().expand()``)
    makes one ``create``, ``approve``, ``assign`` and ``wait_completed`` task instance per request.
    The waits are deferrable: each mapped sensor looks once, then hands its request to the
    triggerer, where all of them share one batched ReqMgr2 poll per interval, so a worker slot is
    never held by waiting. A failed or aborted request fails its own mapped instance only (the
    others go on); ``summary`` then does not run and the DAG run fails. When all completed,
    ``summary`` returns ``{request name: status}`` of all of them.

Connections
    ``reqmgr2_default`` (conn type ``reqmgr2``: host ``https://cmsweb.cern.ch:8443/reqmgr2``,
    grid certificate + key or proxy, CA directory), see docs/connections.md; the
    ``reqmgr2_conn_id`` param or ``REQMGR2_CONN_ID`` picks another.

How to adapt it
    Replace ``sample_spec`` with your campaign's spec (or read the list of samples from a file in
    ``plan``, at run time, never at parse time); set ``count``'s bounds and the params' defaults;
    ``max_active_tis_per_dagrun`` on the write tasks bounds how hard ReqMgr2 is hit at once; raise
    ``POLL_SECONDS``. Running it against the offline emulator: see the README's "Example DAGs"
    section.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from airflow.sdk import DAG, Param, get_current_context, task

from airflow_provider_poms.operators.reqmgr2 import (
    ReqMgr2ApproveRequestOperator,
    ReqMgr2AssignRequestOperator,
    ReqMgr2CreateRequestOperator,
)
from airflow_provider_poms.sensors.reqmgr2 import ReqMgr2RequestSensor

#: Default connection (the ``reqmgr2_conn_id`` param overrides it per run).
REQMGR2_CONN_ID = "reqmgr2_default"
#: At most this many creates/approvals/assignments in flight at once (the waits are not limited).
WRITES_AT_ONCE = 4
POLL_SECONDS = 10.0
WAIT_TIMEOUT = 14 * 24 * 3600.0
ASSIGNMENT = {
    "AcquisitionEra": "Run3Summer24",
    "ProcessingString": "MC_v1",
    "ProcessingVersion": 1,
    "MergedLFNBase": "/store/mc",
    "UnmergedLFNBase": "/store/unmerged",
    "SoftTimeout": 129600,
    "GracePeriod": 300,
}
CONN = "{{ params.reqmgr2_conn_id }}"
log = logging.getLogger(__name__)


def sample_spec(campaign: str, prefix: str, index: int, events: int, priority: int) -> dict[str, Any]:
    """One generator StepChain of the campaign (values a real one would take from the campaign's
    sample list: dataset name, events, generator fragment)."""
    return {
        "RequestType": "StepChain",
        "RequestString": f"{prefix}_{index:03d}",
        "Campaign": campaign,
        "PrepID": f"{campaign}-{index:05d}",
        "RequestPriority": priority,
        "CMSSWVersion": "CMSSW_14_0_7",
        "ScramArch": ["el8_amd64_gcc12"],
        "GlobalTag": "140X_mcRun3_2024_realistic_v14",
        "PrimaryDataset": f"Sample{index:03d}_TuneCP5_13p6TeV",
        "AcquisitionEra": "Run3Summer24",
        "ProcessingString": "MC_v1",
        "ProcessingVersion": 1,
        "Memory": 2300,
        "Multicore": 1,
        "SizePerEvent": 250,
        "TimePerEvent": 144,
        "StepChain": 1,
        "Step1": {
            "StepName": "GENSIM",
            "ConfigCacheID": f"cfg{index:05d}",
            "GlobalTag": "140X_mcRun3_2024_realistic_v14",
            "RequestNumEvents": events,
            "EventsPerLumi": 100,
            "EventsPerJob": 500,
            "Seeding": "AutomaticSeeding",
            "SplittingAlgo": "EventBased",
            "PrepID": f"{campaign}-{index:05d}-GENSIM",
        },
    }


@task
def plan() -> list[dict[str, Any]]:
    """The campaign's request specs, one per sample (built at run time from the params)."""
    params = get_current_context()["params"]
    prefix = params["request_prefix"] + (f"_{params['tag']}" if params.get("tag") else "")
    specs = [
        sample_spec(params["campaign"], prefix, i, int(params["events"]), int(params["priority"]))
        for i in range(int(params["count"]))
    ]
    log.info("%d requests planned for campaign %s", len(specs), params["campaign"])
    return specs


@task
def summary(outcomes: list[dict[str, str]]) -> dict[str, str]:
    """``{request name: final status}`` of the whole fan-out; it runs only when every wait succeeded,
    so a failed request fails the DAG run (its own wait task says which one and why)."""
    merged = {name: status for outcome in outcomes for name, status in outcome.items()}
    log.info("%d requests done: %s", len(merged), merged)
    return merged


with DAG(
    dag_id="cms_campaign_fanout",
    description="ReqMgr2: a campaign's requests created, approved, assigned and watched in parallel",
    schedule=None,
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    tags=["example", "reqmgr2", "cms", "mapping"],
    doc_md=__doc__,
    params={
        "count": Param(8, type="integer", minimum=1, maximum=500, title="Requests"),
        "campaign": Param("Run3Summer24GS", type="string", pattern=r"^[A-Za-z0-9_-]{1,80}$"),
        "request_prefix": Param("AF_Fanout", type="string", pattern=r"^[A-Za-z0-9_-]{1,50}$"),
        "tag": Param(
            "",
            type="string",
            pattern=r"^[A-Za-z0-9]{0,16}$",
            description="Optional, appended to the prefix to tell runs apart.",
        ),
        "events": Param(20000, type="integer", minimum=1, title="Events per request"),
        "priority": Param(110000, type="integer", minimum=0, maximum=999999),
        "team": Param("production", type="string"),
        "site_whitelist": Param(["T1_US_FNAL", "T2_US_MIT"], type="array", items={"type": "string"}),
        "reqmgr2_conn_id": Param(REQMGR2_CONN_ID, type="string"),
    },
) as dag:
    created = ReqMgr2CreateRequestOperator.partial(
        task_id="create", reqmgr2_conn_id=CONN, max_active_tis_per_dagrun=WRITES_AT_ONCE
    ).expand(spec=plan())
    approved = ReqMgr2ApproveRequestOperator.partial(
        task_id="approve", reqmgr2_conn_id=CONN, max_active_tis_per_dagrun=WRITES_AT_ONCE
    ).expand(request_name=created.output)
    assigned = ReqMgr2AssignRequestOperator.partial(
        task_id="assign",
        team="{{ params.team }}",
        site_whitelist="{{ params.site_whitelist | join(',') }}",
        assignment=ASSIGNMENT,
        reqmgr2_conn_id=CONN,
        max_active_tis_per_dagrun=WRITES_AT_ONCE,
    ).expand(request_name=approved.output)
    waited = ReqMgr2RequestSensor.partial(
        task_id="wait_completed",
        target_statuses=["completed"],
        deferrable=True,
        poke_interval=POLL_SECONDS,
        timeout=WAIT_TIMEOUT,
        reqmgr2_conn_id=CONN,
    ).expand(request_name=assigned.output)
    summary(waited.output)  # type: ignore[arg-type]  # XComArg resolves at run time
