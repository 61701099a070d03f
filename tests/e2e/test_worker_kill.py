"""A worker killed while its create/launch is in flight, on a real Airflow (issue 8 part 2).

The emulator holds the ReqMgr2 create and the POMS launch (a ``delay`` fault: it reads the request,
waits, then commits). While both are held the test SIGKILLs each task's process, as an OOM killer
or a lost node would. Airflow marks the tries failed and retries them; the retries find the
records the dead tries left in the task state store before sending, wait for the held writes to
land, and adopt them. Exactly one request and one submission exist afterwards, and each write
reached the server once.
"""

from __future__ import annotations

import os
import signal
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_poms.hooks.poms import PomsHook, stage_submission_rows
from airflow_provider_poms.hooks.reqmgr2 import ReqMgr2Hook
from e2e.helpers import wait_for

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
from chaos_run import ChaosConfig, upload_stages

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

DAG_ID = "e2e_worker_kill"
#: Seconds the emulator holds each write: long enough to kill the worker while it waits.
HOLD = 25.0
WRITES = ("/reqmgr2/data/request", "/poms/launch_jobs")


def test_worker_killed_mid_write_retry_adopts_instead_of_writing_again(
    local_airflow: Any, emulator: Any
) -> None:
    poms = PomsHook(settings=emulator.settings("poms", experiment="samdev", role="production"))
    reqmgr2 = ReqMgr2Hook(settings=emulator.settings("reqmgr2"))
    stage = upload_stages(poms, ChaosConfig(lifecycles=0, chains=1))["a0000"]
    tag = uuid.uuid4().hex[:8]
    control = emulator.control
    control.reset_fault_stats()
    since = control.log_index()
    for path in WRITES:
        control.add_fault("delay", path=path, method="POST", seconds=HOLD, count=1)

    local_airflow.wait_dag(DAG_ID)
    run_id = local_airflow.trigger(DAG_ID, {"tag": tag, "stage": stage})

    def running_pids() -> dict[str, int]:
        tis = local_airflow.task_instances(DAG_ID, run_id)
        return {t["task_id"]: int(t["pid"]) for t in tis if t["state"] == "running" and t.get("pid")}

    # both writes are held by the server and both tasks are running: kill the workers
    wait_for(lambda: control.fault_stats().get("delay", 0) >= 2, 240, "the two held writes")
    pids = wait_for(lambda: (p := running_pids()) and len(p) == 2 and p, 60, "two running tasks with pids")
    for pid in pids.values():
        os.kill(pid, signal.SIGKILL)

    assert local_airflow.wait_run(DAG_ID, run_id, timeout=400) == "success"
    tis = {t["task_id"]: t for t in local_airflow.task_instances(DAG_ID, run_id)}
    assert {k: (t["state"], t["try_number"]) for k, t in tis.items()} == {
        "create": ("success", 2),
        "launch": ("success", 2),
    }
    names = reqmgr2.get_requests(request_type="StepChain", detail=False, fresh=True)
    made = [str(n) for n in names if f"_AFkill_{tag}_af" in str(n)]
    assert len(made) == 1, made
    rows = stage_submission_rows(
        poms.campaign_stage_submissions("samdev", "production", "", "", campaign_stage_id=stage, tdays=60)
    )
    assert len(rows) == 1, rows
    writes = [e["path"] for e in control.request_log(since=since, writes_only=True) if e["path"] in WRITES]
    assert sorted(writes) == sorted(WRITES), writes
