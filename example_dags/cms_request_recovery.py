"""CMS request recovery: when a request fails or is aborted, clone it with more memory and other
sites, and try again, at most ``MAX_RECOVERIES`` times.

What it does
    Attempt 0: ``create`` (from ``specs/rereco.json-tpl``), ``approve``, ``assign``, then
    ``wait_0`` defers until the request is completed, failed or aborted (all three end the wait;
    the next task decides). ``check_0`` stops the run there when it completed (everything after it
    is skipped) and lets recovery ``1`` go ahead otherwise:
    ``clone_1`` clones the request with ``RequestString`` ``R1_<prefix>`` and ``Memory`` raised by
    ``MEMORY_STEP_MB``; ``approve_1``; ``assign_1`` to the ``recovery_sites`` whitelist; ``wait_1``;
    ``check_1``; and so on. A DAG has no loops, so the attempts are unrolled: ``MAX_RECOVERIES``
    fixes how many. ``check_<MAX_RECOVERIES>`` fails the run if the last clone did not complete.
    Each clone is made from the request of the attempt before it, so its spec carries every
    earlier change. Task pages link to each request on ReqMgr2.

Connections
    ``reqmgr2_default`` (conn type ``reqmgr2``: host ``https://cmsweb.cern.ch:8443/reqmgr2``,
    grid certificate + key or proxy, CA directory), see docs/connections.md; the
    ``reqmgr2_conn_id`` param or ``REQMGR2_CONN_ID`` picks another.

How to adapt it
    Use your own spec template; set ``MAX_RECOVERIES`` and ``MEMORY_STEP_MB``; change
    ``clone_overrides`` for what your failures need (``Multicore``, ``TimePerEvent``, a
    ``SiteBlacklist`` at assignment, ...); raise ``POLL_SECONDS``. ReqMgr2 itself says nothing
    about *why* a request failed: look at the workflow's logs before recovering blindly in
    production. Running it against the offline emulator: see the README's "Example DAGs" section
    (the test makes the first attempt fail with the emulator's scripted outcomes).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from airflow.sdk import DAG, Param, task
from airflow.sdk.exceptions import AirflowFailException

from airflow_provider_poms.operators.reqmgr2 import (
    ReqMgr2ApproveRequestOperator,
    ReqMgr2AssignRequestOperator,
    ReqMgr2CloneRequestOperator,
    ReqMgr2CreateRequestOperator,
)
from airflow_provider_poms.sensors.reqmgr2 import ReqMgr2RequestSensor

#: Default connection (the ``reqmgr2_conn_id`` param overrides it per run).
REQMGR2_CONN_ID = "reqmgr2_default"
#: How many clones at most, after the first attempt (the DAG has one branch per attempt).
MAX_RECOVERIES = 2
#: Memory added to the request at each recovery.
MEMORY_STEP_MB = 1000
#: What ends a wait: success, or a state this DAG recovers from.
ENDINGS = ["completed", "failed", "aborted", "aborted-completed"]
RECOVERABLE = ("failed", "aborted", "aborted-completed", "aborted-archived")
POLL_SECONDS = 10.0
WAIT_TIMEOUT = 14 * 24 * 3600.0
ASSIGNMENT = {
    "AcquisitionEra": "Run2018A",
    "ProcessingString": "UL2018_v1",
    "ProcessingVersion": 1,
    "MergedLFNBase": "/store/data",
    "UnmergedLFNBase": "/store/unmerged",
    "SoftTimeout": 129600,
    "GracePeriod": 300,
}
CONN = "{{ params.reqmgr2_conn_id }}"
log = logging.getLogger(__name__)


def clone_overrides(attempt: int) -> str:
    """JSON text rendered at run time: a new RequestString and more memory for ``attempt``."""
    return (
        '{"RequestString": "R' + str(attempt) + '_{{ params.request_prefix }}", '
        '"Memory": {{ params.memory + ' + str(attempt * MEMORY_STEP_MB) + " }}}"
    )


@task.short_circuit(ignore_downstream_trigger_rules=True)
def check(outcome: dict[str, Any], attempt: int) -> bool:
    """True (go on with the next recovery) when the request of ``attempt`` failed or was aborted."""
    (name, status), *_ = outcome.items()
    if status == "completed":
        log.info("attempt %d: request %s completed; nothing to recover", attempt, name)
        return False
    if status not in RECOVERABLE:
        raise AirflowFailException(f"attempt {attempt}: request {name} ended as {status!r}")
    if attempt >= MAX_RECOVERIES:
        raise AirflowFailException(f"request {name} is {status} after {MAX_RECOVERIES} recoveries; giving up")
    log.info("attempt %d: request %s is %s; cloning it (recovery %d)", attempt, name, status, attempt + 1)
    return True


with DAG(
    dag_id="cms_request_recovery",
    description="ReqMgr2: create, assign, wait; clone with overrides and retry on failure (bounded)",
    schedule=None,
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    tags=["example", "reqmgr2", "cms", "recovery"],
    doc_md=__doc__,
    params={
        "request_prefix": Param(
            "AF_Recovery", type="string", pattern=r"^[A-Za-z0-9_-]{1,60}$", title="RequestString prefix"
        ),
        "campaign": Param("UltraLegacy2018", type="string", pattern=r"^[A-Za-z0-9_-]{1,80}$"),
        "priority": Param(90000, type="integer", minimum=0, maximum=999999),
        "input_dataset": Param("/JetHT/Run2018A-v1/RAW", type="string", pattern=r"^/[^/]+/[^/]+/[A-Z-]+$"),
        "run_whitelist": Param([315257, 315259], type="array", items={"type": "integer"}),
        "memory": Param(3000, type="integer", minimum=500, maximum=64000, title="Memory (MB) at first"),
        "team": Param("production", type="string"),
        "site_whitelist": Param(["T1_US_FNAL"], type="array", items={"type": "string"}),
        "recovery_sites": Param(
            ["T2_CH_CERN", "T2_DE_DESY"],
            type="array",
            items={"type": "string"},
            minItems=1,
            title="SiteWhitelist of the recoveries",
        ),
        "reqmgr2_conn_id": Param(REQMGR2_CONN_ID, type="string"),
    },
) as dag:
    previous: Any = ReqMgr2CreateRequestOperator(
        task_id="create", spec="specs/rereco.json-tpl", reqmgr2_conn_id=CONN
    )
    made: Any = previous
    for attempt in range(MAX_RECOVERIES + 1):
        if attempt:  # clone the request of the attempt before (its task id is made.task_id)
            clone = ReqMgr2CloneRequestOperator(
                task_id=f"clone_{attempt}",
                request_name=f"{{{{ ti.xcom_pull(task_ids='{made.task_id}') }}}}",
                overrides=clone_overrides(attempt),
                reqmgr2_conn_id=CONN,
            )
            previous >> clone
            made = clone
        name = f"{{{{ ti.xcom_pull(task_ids='{made.task_id}') }}}}"
        suffix = f"_{attempt}" if attempt else ""
        sites = "recovery_sites" if attempt else "site_whitelist"
        approve = ReqMgr2ApproveRequestOperator(
            task_id=f"approve{suffix}",
            request_name=name,
            priority="{{ params.priority }}",  # type: ignore[arg-type]  # a template
            reqmgr2_conn_id=CONN,
        )
        assign = ReqMgr2AssignRequestOperator(
            task_id=f"assign{suffix}",
            request_name=name,
            team="{{ params.team }}",
            site_whitelist=f"{{{{ params.{sites} | join(',') }}}}",
            assignment=ASSIGNMENT,
            reqmgr2_conn_id=CONN,
        )
        wait = ReqMgr2RequestSensor(
            task_id=f"wait_{attempt}",
            request_name=name,
            target_statuses=ENDINGS,
            deferrable=True,
            poke_interval=POLL_SECONDS,
            timeout=WAIT_TIMEOUT,
            reqmgr2_conn_id=CONN,
        )
        made >> approve >> assign >> wait
        previous = check.override(task_id=f"check_{attempt}")(wait.output, attempt)  # type: ignore[arg-type]
