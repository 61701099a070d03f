"""The control API: only with --control, only on loopback, authenticated; each endpoint."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import types
import uuid
from pathlib import Path

import pytest
import requests

from airflow_provider_poms.emulator.core import EmulatorContext
from airflow_provider_poms.emulator.server import Services
from airflow_provider_poms.emulator.testing import EmulatorControl, EmulatorProcess


def test_control_api_is_absent_without_the_flag() -> None:
    with EmulatorProcess(control=False) as emu:
        assert "control_url" not in emu.conn
        s = emu.session()
        for path in ("/_emulator/health", "/_emulator/state", "/_emulator/faults"):
            assert s.get(emu.url + path, timeout=10).status_code == 404
        resp = s.post(emu.url + "/_emulator/clock/advance", json={"seconds": 5}, timeout=10)
        assert resp.status_code == 404
        with pytest.raises(RuntimeError, match="without --control"):
            EmulatorControl(emu.conn)


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.10", "example.org"])
def test_control_is_refused_on_a_non_loopback_host(tmp_path: Path, host: str) -> None:
    cmd = [sys.executable, "-m", "airflow_provider_poms.emulator", "--state-dir", str(tmp_path),
           "--host", host, "--control"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "non-loopback" in proc.stderr
    assert not (tmp_path / "connection.json").exists()


def test_control_requires_authentication(emulator: EmulatorProcess) -> None:
    s = requests.Session()
    s.trust_env = False
    resp = s.get(emulator.conn["control_url"] + "/state", verify=emulator.conn["ca_cert"], timeout=10)
    assert resp.status_code == 401 and resp.content == b""
    resp = s.get(emulator.conn["control_url"] + "/state", verify=emulator.conn["ca_cert"], timeout=10,
                 headers={"Authorization": "Bearer nope"})
    assert resp.status_code == 401


def test_token_identity_can_use_control(emulator: EmulatorProcess) -> None:
    resp = emulator.session("requestor", "token").get(emulator.conn["control_url"] + "/health", timeout=10)
    assert resp.status_code == 200 and resp.json()["ok"] is True


def test_state_reports_the_setup(emulator: EmulatorProcess) -> None:
    state = emulator.control.state()
    assert state["seed"] == 1234 and state["clock_scale"] == 600 and state["persist"] is False
    assert set(state["identities"]) == {"operator", "requestor", "outsider"}
    assert isinstance(state["tables"], dict) and isinstance(state["request_log_next"], int)


def test_clock_is_scaled_and_advances(emulator: EmulatorProcess) -> None:
    c = emulator.control
    t0 = c.now()
    after = c.advance_clock(3600)
    assert after >= t0 + 3600
    assert c.now() >= after
    assert c.state()["clock_offset"] >= 3600
    # scale 600: one real second is ten emulated minutes; the check allows slow machines
    import time
    a = c.now()
    time.sleep(0.2)
    assert c.now() - a >= 0.2 * 600 * 0.9


def test_clock_rejects_bad_input(emulator: EmulatorProcess) -> None:
    s = emulator.session()
    url = emulator.conn["control_url"] + "/clock/advance"
    for body in ({"seconds": -1}, {"secs": 1}, {"seconds": "soon"}):
        resp = s.post(url, json=body, timeout=10)
        assert resp.status_code == 400 and "error" in resp.json()
    assert s.post(url, data=b"{not json", timeout=10).status_code == 400


def test_fault_endpoints(emulator: EmulatorProcess) -> None:
    c = emulator.control
    rule = c.add_fault("503", path="/nowhere/*", count=3)
    assert rule["id"] > 0 and rule["label"] == "http_503"
    assert [r["id"] for r in c.faults()] == [rule["id"]]
    assert c.remove_fault(rule["id"]) is True and c.faults() == []
    s = emulator.session()
    bad = s.post(emulator.conn["control_url"] + "/faults", json={"kind": "meteor"}, timeout=10)
    assert bad.status_code == 400
    many = s.post(emulator.conn["control_url"] + "/faults",
                  json=[{"kind": "502", "path": "/a"}, {"kind": "delay", "seconds": 1, "path": "/b"}],
                  timeout=10)
    assert many.status_code == 201 and len(many.json()) == 2
    c.clear_faults()
    assert c.faults() == []
    c.reset_fault_stats()
    assert c.fault_stats() == {}


def test_request_log_filters(emulator: EmulatorProcess) -> None:
    c = emulator.control
    s = emulator.session()
    since = c.log_index()
    base = f"/logged/{uuid.uuid4().hex}"
    s.get(emulator.url + base + "/a", timeout=10)
    s.post(emulator.url + base + "/b", data=b"12345", timeout=10)
    s.put(emulator.url + base + "/c", timeout=10)
    s.get(emulator.url + "/", timeout=10)
    all_new = c.request_log(since=since)
    assert [e["path"] for e in all_new] == [base + "/a", base + "/b", base + "/c", "/"]
    assert [e["index"] for e in all_new] == list(range(since, since + 4))
    assert [e["path"] for e in c.request_log(since=since, writes_only=True)] == [base + "/b", base + "/c"]
    assert [e["path"] for e in c.request_log(since=since, method="post")] == [base + "/b"]
    assert len(c.request_log(since=since, path_prefix=base)) == 3
    assert len(c.request_log(since=since, limit=2)) == 2
    assert all(e["path"].startswith("/_emulator") is False for e in c.request_log(since=since))


def test_scripts_endpoints(emulator: EmulatorProcess) -> None:
    c = emulator.control
    c.script_reqmgr2("ctl_*", "running-open", "stall")
    c.script_poms("next", ["Idle", "Held"])
    c.script_poms(424242, ["Running", "Failed"])
    scripts = c.scripts()
    assert {"pattern": "ctl_*", "at_status": "running-open", "action": "stall"} in scripts["reqmgr2"]
    assert scripts["poms"]["id:424242"] == ["Running", "Failed"]
    assert ["Idle", "Held"] in scripts["poms"].values()
    s = emulator.session()
    url = emulator.conn["control_url"]
    assert s.post(url + "/scripts/reqmgr2", json={"name": "x", "at_status": "new", "action": "explode"},
                  timeout=10).status_code == 400
    assert s.post(url + "/scripts/poms", json={"submission_id": "soon", "statuses": ["Held"]},
                  timeout=10).status_code == 400
    resp = s.post(url + "/scripts/poms", json={"submission_id": 1, "statuses": []}, timeout=10)
    assert resp.status_code == 400


def test_reset_clears_scripts_over_the_wire() -> None:
    """On a private emulator: a reset on the shared one would wipe other tests' data."""
    with EmulatorProcess(seed=3) as emu:
        c = emu.control
        c.script_reqmgr2("reset_*", "assigned", "fail")
        c.script_poms("next", ["Held"])
        c.reset()
        assert c.scripts() == {"reqmgr2": [], "poms": {}}
        assert c.health()["ok"] is True


def test_reset_empties_service_tables_then_calls_the_service_hook() -> None:
    """In process: what ``POST /_emulator/reset`` does to the store and the service modules."""
    calls: list[int] = []
    svc = types.ModuleType("fake_service")
    svc.reset = lambda ctx: calls.append(len(ctx.store.table("fake_rows")))  # type: ignore[attr-defined]
    ctx = EmulatorContext.in_memory()
    rows = ctx.store.table("fake_rows")
    for i in range(5):
        rows.put(i, {"i": i})
    ids = [rows.next_id(), rows.next_id()]
    ctx.scripts.poms_outcome(3, ["Held"])
    ctx.clock.advance(10)
    Services(modules={"fake": svc}).reset(ctx)
    assert len(rows) == 0 and calls == [0]
    assert rows.next_id() == ids[-1] + 1  # ids are never reused, even after a reset
    assert ctx.scripts.poms_outcome_for(3) is None
    assert ctx.clock.offset == 10


def test_unknown_control_path_is_404(emulator: EmulatorProcess) -> None:
    resp = emulator.session().get(emulator.conn["control_url"] + "/launch-missiles", timeout=10)
    assert resp.status_code == 404


def test_issued_token_works_until_it_expires_in_emulated_time(emulator: EmulatorProcess) -> None:
    c = emulator.control
    path = c.issue_token("requestor", expires_in=3600)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    token = Path(path).read_text().strip()
    s = requests.Session()
    s.trust_env = False
    s.verify = emulator.conn["ca_cert"]
    s.headers["Authorization"] = f"Bearer {token}"
    probe = f"/token-probe/{uuid.uuid4().hex}"
    assert s.get(emulator.url + probe, timeout=10).status_code == 404  # authenticated, no such page
    assert c.request_log(path_prefix=probe)[-1]["login"] == "requestor"
    c.advance_clock(3601)
    resp = s.get(emulator.url + probe, timeout=10)
    assert resp.status_code == 401 and resp.content == b""


def test_revoked_token_is_refused(emulator: EmulatorProcess) -> None:
    c = emulator.control
    path = c.issue_token("operator")
    s = requests.Session()
    s.trust_env = False
    s.verify = emulator.conn["ca_cert"]
    s.headers["Authorization"] = "Bearer " + Path(path).read_text().strip()
    assert s.get(emulator.url + "/", timeout=10).status_code == 200
    assert c.revoke_token(path) is True
    assert s.get(emulator.url + "/", timeout=10).status_code == 401
    assert c.revoke_token(path) is False
    bad = emulator.session().post(emulator.conn["control_url"] + "/tokens", json={"identity": "nobody"},
                                  timeout=10)
    assert bad.status_code == 400


def test_script_book_semantics() -> None:
    """What the services get back: latest matching ReqMgr2 script wins; "next" goes to the first
    submission that asks, and stays with it."""
    book = EmulatorContext.in_memory().scripts
    book.reqmgr2_outcome("alice_*", "running-open", "stall")
    book.reqmgr2_outcome("alice_Special*", "running-open", "fail")
    assert book.reqmgr2_outcome_for("alice_Special_1", "running-open") == "fail"
    assert book.reqmgr2_outcome_for("alice_Other_1", "running-open") == "stall"
    assert book.reqmgr2_outcome_for("alice_Other_1", "assigned") is None
    assert book.reqmgr2_outcome_for("bob_x", "running-open") is None
    with pytest.raises(ValueError):
        book.reqmgr2_outcome("*", "new", "explode")
    book.poms_outcome("next", ["Idle", "Held"])
    book.poms_outcome("next", ["Failed"])
    book.poms_outcome(7, ["Removed"])
    assert book.poms_outcome_for(7) == ["Removed"]
    assert book.poms_outcome_for(10) == ["Idle", "Held"]
    assert book.poms_outcome_for(10) == ["Idle", "Held"]  # asked again: same answer
    assert book.poms_outcome_for("11") == ["Failed"]
    assert book.poms_outcome_for(12) is None
