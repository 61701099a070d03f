"""--persist: SQLite write-through, restarts (clean and crash) lose nothing; default is memory."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from airflow_provider_poms.emulator.core import Clock, Store
from airflow_provider_poms.emulator.store import SqliteBackend
from airflow_provider_poms.emulator.testing import EmulatorProcess


def _store(path: Path) -> Store:
    return Store(SqliteBackend(path))


def test_write_through_survives_without_close(tmp_path: Path) -> None:
    """Each put is committed at once: a second connection (as after a crash) sees it."""
    db = tmp_path / "e.sqlite"
    first = _store(db)
    t = first.table("things")
    t.put("a", {"x": [1, 2, {"y": None}]})
    t.put("b", 2)
    t.delete("b")
    assert t.next_id() == 1 and t.next_id() == 2
    second = _store(db)  # first is still open and never closed
    t2 = second.table("things")
    assert t2.get("a") == {"x": [1, 2, {"y": None}]} and "b" not in t2
    assert t2.next_id() == 3
    assert sqlite3.connect(db).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_hundred_thousand_rows_load_and_reload(tmp_path: Path) -> None:
    db = tmp_path / "big.sqlite"
    store = _store(db)
    t = store.table("reqmgr2_requests")
    doc = {"RequestStatus": "new", "RequestType": "StepChain", "SiteWhitelist": ["T1_US_FNAL"] * 3,
           "RequestTransition": [{"Status": "new", "UpdateTime": 1, "DN": "/DC=org/CN=x"}]}
    t0 = time.monotonic()
    with store.transaction():
        for i in range(100_000):
            t.put(f"req_{i:06d}", {**doc, "RequestName": f"req_{i:06d}"})
    write_s = time.monotonic() - t0
    store.close()
    t0 = time.monotonic()
    again = _store(db).table("reqmgr2_requests")
    load_s = time.monotonic() - t0
    assert len(again) == 100_000
    assert again.get("req_054321")["RequestName"] == "req_054321"
    t0 = time.monotonic()
    hits = [k for k, v in again.items() if v["RequestStatus"] == "new"]
    scan_s = time.monotonic() - t0
    assert len(hits) == 100_000
    # generous bounds for a shared 2-core machine; the numbers themselves go to the benchmarks
    assert write_s < 60 and load_s < 30 and scan_s < 5, (write_s, load_s, scan_s)


def test_failed_transaction_rolls_back_the_file(tmp_path: Path) -> None:
    db = tmp_path / "tx.sqlite"
    store = _store(db)
    with pytest.raises(RuntimeError), store.transaction():
        store.table("t").put("k", 1)
        raise RuntimeError("boom")
    assert "k" not in _store(db).table("t")


def test_values_must_be_json(tmp_path: Path) -> None:
    for store in (Store(), _store(tmp_path / "j.sqlite")):
        with pytest.raises(TypeError):
            store.table("t").put("k", {"when": object()})
        assert "k" not in store.table("t")


def test_clock_never_goes_back_across_restarts(tmp_path: Path) -> None:
    db = tmp_path / "clock.sqlite"
    clock = Clock(600, _store(db))
    target = clock.advance(10 * 86400)
    clock.save()
    later = Clock(1, _store(db))
    assert later.now() >= target


def test_restart_keeps_state_with_persist(tmp_path: Path) -> None:
    with EmulatorProcess(tmp_path, persist=True, clock_scale=1, seed=5) as emu:
        c = emu.control
        c.script_reqmgr2("persist_*", "running-open", "abort")
        c.script_poms(77, ["Idle", "Failed"])
        c.script_poms("next", ["Held"])
        token_file = c.issue_token("requestor", expires_in=30 * 86400)
        before_now = c.advance_clock(5 * 86400)
        tables_before = c.state()["tables"]
        port = emu.port
        emu.restart()
        assert emu.port == port  # same port when it is free
        c = emu.control
        assert c.now() >= before_now
        scripts = c.scripts()
        assert {"pattern": "persist_*", "at_status": "running-open", "action": "abort"} in scripts["reqmgr2"]
        assert scripts["poms"]["id:77"] == ["Idle", "Failed"]
        assert ["Held"] in scripts["poms"].values()
        assert c.state()["tables"] == tables_before
        token = Path(token_file).read_text().strip()
        s = emu.session()
        s.cert = None
        s.headers["Authorization"] = f"Bearer {token}"
        assert s.get(emu.url + "/", timeout=10).status_code == 200  # issued tokens survive too
        emu.kill()  # a crash, not a clean stop
        emu.start()
        assert emu.control.scripts()["poms"]["id:77"] == ["Idle", "Failed"]
        assert emu.control.now() >= before_now
    assert (tmp_path / "emulator.sqlite").exists()


def test_without_persist_a_restart_starts_empty(tmp_path: Path) -> None:
    with EmulatorProcess(tmp_path, persist=False) as emu:
        emu.control.script_poms(5, ["Held"])
        far = emu.control.advance_clock(30 * 86400)
        emu.restart()
        assert emu.control.scripts() == {"reqmgr2": [], "poms": {}}
        assert emu.control.now() < far
    assert not (tmp_path / "emulator.sqlite").exists()
