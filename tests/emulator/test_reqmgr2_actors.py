"""Background actors and scripted outcomes of the ReqMgr2 emulator, driven by the control API."""

from __future__ import annotations

import itertools
import time
import uuid

import pytest

from airflow_provider_poms.emulator.reqmgr2.rawclient import RawReqMgr2
from airflow_provider_poms.emulator.reqmgr2.samples import assignment_body, stepchain_spec
from airflow_provider_poms.emulator.testing import EmulatorProcess

SYSTEM_DN = "/DC=ch/DC=cern/OU=computers/CN=wmagent/vocms0192.cern.ch"


@pytest.fixture(scope="module")
def op(emulator: EmulatorProcess) -> RawReqMgr2:
    return RawReqMgr2(emulator.session("operator"), emulator.conn["reqmgr2_url"])


def _assigned(
    op: RawReqMgr2, emulator: EmulatorProcess, tag: str, script: tuple[str, str] | None = None
) -> str:
    name = op.create(stepchain_spec(f"{tag}_{uuid.uuid4().hex[:10]}"))
    if script is not None:
        emulator.control.script_reqmgr2(name, *script)
    op.move(name, "assignment-approved")
    op.result(op.put(name, assignment_body()))
    return name


def _statuses(op: RawReqMgr2, name: str) -> list[str]:
    return [t["Status"] for t in op.doc(name)["RequestTransition"]]


def _wait(op: RawReqMgr2, name: str, status: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while op.status(name) != status:
        assert time.monotonic() < deadline, (name, op.status(name), status)
        time.sleep(0.1)


def test_one_step_per_step_delay(op: RawReqMgr2, emulator: EmulatorProcess) -> None:
    name = _assigned(op, emulator, "Step", ("acquired", "stall"))
    emulator.control.advance_clock(600 * 3 + 30)
    _wait(op, name, "acquired")
    doc = op.doc(name)
    auto = [t for t in doc["RequestTransition"] if t["Status"] in ("staging", "staged", "acquired")]
    assert [t["DN"] for t in auto] == [SYSTEM_DN] * 3
    gaps = [b["UpdateTime"] - a["UpdateTime"] for a, b in itertools.pairwise(auto)]
    assert all(g == 600 for g in gaps)  # each step stamped when it became due
    # stalled: more time changes nothing
    emulator.control.advance_clock(3600)
    time.sleep(0.3)
    assert op.status(name) == "acquired"


def test_scripted_failure(op: RawReqMgr2, emulator: EmulatorProcess) -> None:
    name = _assigned(op, emulator, "Fail", ("running-open", "fail"))
    emulator.control.advance_clock(3600 * 2)
    _wait(op, name, "failed")
    assert _statuses(op, name)[-2:] == ["running-open", "failed"]
    emulator.control.advance_clock(48 * 3600 + 60)
    time.sleep(0.3)
    assert op.status(name) == "failed"  # failed waits for a person (re-assign or reject)


def test_scripted_abort_then_aborted_completed_then_archived(
    op: RawReqMgr2, emulator: EmulatorProcess
) -> None:
    name = _assigned(op, emulator, "Abort", ("staged", "abort"))
    emulator.control.advance_clock(3600)
    _wait(op, name, "aborted-completed")
    assert _statuses(op, name)[-4:] == ["staging", "staged", "aborted", "aborted-completed"]
    emulator.control.advance_clock(48 * 3600 + 60)
    _wait(op, name, "aborted-archived")


def test_manual_abort_and_force_complete(op: RawReqMgr2, emulator: EmulatorProcess) -> None:
    aborted = _assigned(op, emulator, "ManAbort", ("assigned", "stall"))
    op.move(aborted, "aborted")
    forced = _assigned(op, emulator, "Force", ("running-open", "stall"))
    emulator.control.advance_clock(3600)
    _wait(op, forced, "running-open")
    op.move(forced, "force-complete")
    emulator.control.advance_clock(700)
    _wait(op, aborted, "aborted-completed")
    _wait(op, forced, "completed")
    assert _statuses(op, forced)[-2:] == ["force-complete", "completed"]


def test_rejected_is_archived_after_the_archive_delay(op: RawReqMgr2, emulator: EmulatorProcess) -> None:
    name = op.create(stepchain_spec(f"Rej_{uuid.uuid4().hex[:10]}"))
    op.move(name, "rejected")
    emulator.control.advance_clock(3600)
    time.sleep(0.3)
    assert op.status(name) == "rejected"  # far from 48 h
    emulator.control.advance_clock(48 * 3600)
    _wait(op, name, "rejected-archived")
    assert op.doc(name)["RequestTransition"][-1]["DN"] == SYSTEM_DN


def test_new_and_approved_requests_do_not_move(op: RawReqMgr2, emulator: EmulatorProcess) -> None:
    new = op.create(stepchain_spec(f"Still_{uuid.uuid4().hex[:10]}"))
    approved = op.create(stepchain_spec(f"Still_{uuid.uuid4().hex[:10]}"))
    op.move(approved, "assignment-approved")
    emulator.control.advance_clock(5 * 24 * 3600)
    time.sleep(0.3)
    assert op.status(new) == "new" and op.status(approved) == "assignment-approved"
