"""Restarts (issue 8 part 2): nothing lost, nothing duplicated.

(a) The emulator (``--persist``) is restarted in the middle of a chaos batch: pipelines ride over
the outage (client retries, task retries, triggers re-polling) and the state afterwards is complete.

(b) A worker is SIGKILLed while its create (ReqMgr2) or launch (POMS) is held by the server, which
commits it afterwards; the retried task adopts what the server made instead of writing again. The
tries run as separate processes (scripts/chaos_worker.py) with the task state store in a file, as
Airflow keeps it across tries. The same with a real Airflow: tests/e2e/test_worker_kill.py.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_poms.emulator.connfile import airflow_connections
from airflow_provider_poms.emulator.testing import EmulatorProcess
from airflow_provider_poms.hooks.poms import PomsHook, stage_submission_rows
from airflow_provider_poms.hooks.reqmgr2 import ReqMgr2Hook

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
sys.path.insert(0, str(SCRIPTS))

from chaos_harness import environment  # noqa: E402
from chaos_run import ChaosConfig, run_chaos, upload_stages  # noqa: E402
from chaos_worker import FileStore, run_create, run_launch  # noqa: E402

pytestmark = [pytest.mark.chaos, pytest.mark.timeout(300)]
#: Seconds the emulator holds a create/launch before committing it; the worker dies meanwhile.
HOLD = 8.0


def test_emulator_restart_with_persistence_mid_batch_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    with EmulatorProcess(tmp_path / "emu", clock_scale=600, seed=5, persist=True) as emu:
        first_pid, port = emu.pid, emu.port
        restarted: list[int | None] = []

        def restart() -> None:
            emu.restart()
            restarted.append(emu.pid)

        config = ChaosConfig(
            lifecycles=12,
            chains=6,
            fault_rate=0.08,
            scripted=0.0,
            workers=8,
            timeout=150,
            midway=restart,
            midway_after=4.0,
        )
        report = run_chaos(emu, config)

        assert restarted and restarted[0] != first_pid, "the emulator was not restarted mid-run"
        assert emu.port == port, "the restarted emulator moved to another port"
        assert report.problems == [], "\n".join(report.problems)
        assert report.duplicate_requests == report.duplicate_submissions == report.lost == report.missed == 0
        assert report.outcomes.get("ReqMgr2 completed, task success") == config.lifecycles
        assert report.outcomes.get("POMS chain Located, Located") == config.chains


def _child(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-P", str(SCRIPTS / "chaos_worker.py"), *args],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _wait_for(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def _requests_with(reqmgr2: ReqMgr2Hook, request_string: str) -> list[str]:
    names = reqmgr2.get_requests(request_type="StepChain", detail=False, fresh=True)
    return sorted(str(n) for n in names if f"_{request_string}_af" in str(n))


def test_worker_killed_while_create_and_launch_are_held_retry_adopts_them(
    emulator: EmulatorProcess, tmp_path: Path
) -> None:
    env = {name: json.dumps(conn) for name, conn in airflow_connections(emulator.conn).items()}
    poms = PomsHook(settings=emulator.settings("poms", experiment="samdev", role="production"))
    reqmgr2 = ReqMgr2Hook(settings=emulator.settings("reqmgr2"))
    stage = upload_stages(poms, ChaosConfig(lifecycles=0, chains=1))["a0000"]
    tag = uuid.uuid4().hex[:6]
    stored_rs, storeless_rs = f"Kill{tag}S", f"Kill{tag}N"
    stores = {"create": tmp_path / "create.json", "launch": tmp_path / "launch.json"}

    control = emulator.control
    control.reset_fault_stats()
    since = control.log_index()
    control.add_fault("delay", path="/reqmgr2/data/request", method="POST", seconds=HOLD, count=2)
    control.add_fault("delay", path="/poms/launch_jobs", method="POST", seconds=HOLD, count=1)
    children = [
        _child(["--store", str(stores["create"]), "create", "--request-string", stored_rs], env),
        _child(["create", "--request-string", storeless_rs], env),  # no store: deterministic marker
        _child(["--store", str(stores["launch"]), "launch", "--stage", str(stage)], env),
    ]
    try:
        # all three writes reached the server, which holds them; then the workers die
        _wait_for(lambda: control.fault_stats().get("delay", 0) >= 3, 150, "the three held writes")
        for child in children:
            assert child.poll() is None, child.stdout.read().decode() if child.stdout else ""
            os.killpg(child.pid, signal.SIGKILL)
    finally:
        for child in children:
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGKILL)
            child.wait()
    # the records each dead try left before sending
    assert (
        json.loads(stores["create"].read_text())["airflow_provider_poms.started"]["pending"]["kind"]
        == "create"
    )
    assert (
        json.loads(stores["launch"].read_text())["airflow_provider_poms.started"]["pending"]["kind"]
        == "launch"
    )

    with environment(env):
        # the retries start at once: the held writes have not landed yet, so they must look patiently
        name = run_create(FileStore(stores["create"]), 2, stored_rs)
        sid = run_launch(FileStore(stores["launch"]), 2, stage)
        # without a store the retry looks once, so it runs (like Airflow's retry_delay) after the commit
        _wait_for(lambda: _requests_with(reqmgr2, storeless_rs), 60, "the held create to land")
        storeless = run_create(None, 2, storeless_rs)

    assert _requests_with(reqmgr2, stored_rs) == [name]
    assert _requests_with(reqmgr2, storeless_rs) == [storeless]
    rows = stage_submission_rows(
        poms.campaign_stage_submissions("samdev", "production", "", "", campaign_stage_id=stage, tdays=60)
    )
    assert [int(r["submission_id"]) for r in rows] == [sid]
    # and each write went to the server exactly once: the retries only read
    writes = [
        e
        for e in control.request_log(since=since, writes_only=True)
        if e["path"] in ("/reqmgr2/data/request", "/poms/launch_jobs")
    ]
    assert sorted(e["path"] for e in writes) == ["/poms/launch_jobs"] + ["/reqmgr2/data/request"] * 2, writes


# -- unit-level edges of the reconciliation (no server: the cases a live run hits only by chance) --


class _Log:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def info(self, msg: str, *args: Any) -> None:
        self.lines.append(msg % args)

    warning = info


def test_a_failing_look_up_never_erases_the_record_of_a_write_in_flight() -> None:
    """The bug the restart run found: "connection refused" on the look-up is no proof of nothing sent."""
    from airflow_provider_poms.http.errors import RequestTimeout, TransportError
    from airflow_provider_poms.operators.reconcile import write_once_or_adopt

    cleared: list[bool] = []

    def send() -> str:
        raise RequestTimeout("no answer within 2 s", maybe_sent=True)

    def find() -> str | None:
        raise TransportError("could not connect", maybe_sent=False)

    with pytest.raises(TransportError, match="could not connect"):
        write_once_or_adopt(send, find, 0.0, _Log(), what="create", nothing_sent=lambda: cleared.append(True))
    assert cleared == []

    def refused() -> str:
        raise TransportError("could not connect", maybe_sent=False)

    with pytest.raises(TransportError):
        write_once_or_adopt(
            refused, find, 0.0, _Log(), what="create", nothing_sent=lambda: cleared.append(True)
        )
    assert cleared == [True]


def test_after_a_timeout_the_look_up_waits_for_a_write_still_in_progress(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A write that lands after the client gave up is adopted, not sent a second time."""
    from airflow_provider_poms.http.errors import RequestTimeout
    from airflow_provider_poms.operators import reconcile

    sends: list[int] = []
    looks: list[int] = []

    def send() -> str:
        sends.append(1)
        raise RequestTimeout("no answer within 2 s", maybe_sent=True)

    def find() -> str | None:
        looks.append(1)
        return "made" if len(looks) >= 3 else None  # the server commits during the third look

    original = reconcile.settle
    monkeypatch.setattr(reconcile, "settle", lambda *a, **kw: original(*a, **kw, sleep=lambda s: None))
    assert reconcile.write_once_or_adopt(send, find, 30.0, _Log(), what="create") == "made"
    assert sends == [1], "no second send while the first may still land"
    assert len(looks) == 3
