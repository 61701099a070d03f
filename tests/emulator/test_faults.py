"""Each fault kind as the client sees it on the wire, counting, filters and determinism."""

from __future__ import annotations

import time
import uuid
import zlib

import pytest
import requests

from airflow_provider_poms.emulator.faults import FaultInjector, FaultRule
from airflow_provider_poms.emulator.reqmgr2.rawclient import RawReqMgr2
from airflow_provider_poms.emulator.reqmgr2.samples import stepchain_spec
from airflow_provider_poms.emulator.testing import EmulatorProcess


def _path() -> str:
    return f"/faulty/{uuid.uuid4().hex}"


def _entries(emulator: EmulatorProcess, path: str) -> list[dict]:
    return [e for e in emulator.control.request_log(path_prefix=path) if e["path"] == path]


def test_reqmgr2_server_error_has_rest_headers(emulator: EmulatorProcess) -> None:
    path = f"/reqmgr2/data/request/{uuid.uuid4().hex}"
    emulator.control.add_fault("http", path=path, status=500, count=1)
    resp = emulator.session().get(emulator.url + path, timeout=10)
    assert resp.status_code == 500
    assert resp.headers["X-Rest-Status"] == "400"
    assert resp.headers["X-Error-Http"] == "500"
    assert resp.headers["X-Error-Detail"] == "Server error"
    assert len(resp.headers["X-Error-Id"]) == 32
    assert "<p>Server error</p>" in resp.text
    assert resp.headers["Content-Type"].startswith("text/html")


def test_server_error_elsewhere_has_no_rest_headers(emulator: EmulatorProcess) -> None:
    path = f"/poms/{uuid.uuid4().hex}"
    emulator.control.add_fault("500", path=path, count=1)
    resp = emulator.session().get(emulator.url + path, timeout=10)
    assert resp.status_code == 500 and "X-Rest-Status" not in resp.headers


@pytest.mark.parametrize("status", [502, 503, 504])
def test_gateway_errors_are_plain_html(emulator: EmulatorProcess, status: int) -> None:
    path = _path()
    emulator.control.add_fault("http", path=path, status=status, count=1)
    s = emulator.session()
    resp = s.get(emulator.url + path, timeout=10)
    assert resp.status_code == status
    assert resp.headers["Content-Type"] == "text/html"
    assert f"<title>{status} " in resp.text
    assert s.get(emulator.url + path, timeout=10).status_code == 404  # count=1: only once


def test_429_carries_retry_after(emulator: EmulatorProcess) -> None:
    path = _path()
    emulator.control.add_fault("http", path=path, status=429, retry_after=7, count=1)
    resp = emulator.session().get(emulator.url + path, timeout=10)
    assert resp.status_code == 429 and resp.headers["Retry-After"] == "7"


def test_reset_before_drops_the_connection_and_skips_the_handler(emulator: EmulatorProcess) -> None:
    path = _path()
    emulator.control.add_fault("reset_before", path=path, count=1)
    with pytest.raises(requests.exceptions.ConnectionError):
        emulator.session().post(emulator.url + path, json={"a": 1}, timeout=10)
    (entry,) = _entries(emulator, path)
    assert entry["fault"] == "reset_before" and entry["handled"] is False and entry["status"] is None


def test_reset_after_runs_the_handler_then_drops_the_connection(emulator: EmulatorProcess) -> None:
    """The write commits (the log shows the handler's answer) though the client never sees it."""
    path = "/_emulator_probe_not_control" + _path()
    emulator.control.add_fault("reset_after", path=path, method="POST", count=1)
    with pytest.raises(requests.exceptions.ConnectionError):
        emulator.session().post(emulator.url + path, data=b"payload", timeout=10)
    (entry,) = _entries(emulator, path)
    assert entry["fault"] == "reset_after" and entry["handled"] is True
    assert entry["status"] == 404 and entry["write"] is True and entry["body_size"] == 7


def test_reset_after_commits_a_service_write(emulator: EmulatorProcess) -> None:
    """A ReqMgr2 create under reset_after: the client gets no answer, yet the request exists."""
    assert "reqmgr2" in emulator.control.health()["services"]
    tag = f"ResetAfter{uuid.uuid4().hex[:10]}"
    rm = RawReqMgr2(emulator.session(), emulator.conn["reqmgr2_url"])
    before = emulator.control.log_index()
    emulator.control.add_fault("reset_after", path="/reqmgr2/data/request", method="POST", count=1)
    with pytest.raises(requests.exceptions.ConnectionError):
        rm.call("POST", "request", body=stepchain_spec(tag))
    (entry,) = emulator.control.request_log(since=before, writes_only=True)
    assert entry["handled"] is True and entry["fault"] == "reset_after" and entry["status"] == 200
    names = rm.result(rm.get("request", params={"status": "new", "detail": "false"}))
    assert [n for n in names if tag in n], "the create committed although its answer was lost"


def test_delay_outlasts_the_read_timeout_and_the_handler_still_runs(emulator: EmulatorProcess) -> None:
    path = _path()
    emulator.control.add_fault("delay", path=path, seconds=1.0, count=1)
    t0 = time.monotonic()
    with pytest.raises(requests.exceptions.ReadTimeout):
        emulator.session().get(emulator.url + path, timeout=(5, 0.3))
    assert time.monotonic() - t0 < 1.0
    deadline = time.monotonic() + 5
    while not _entries(emulator, path)[0]["handled"]:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert _entries(emulator, path)[0]["status"] == 404


def test_delay_within_the_timeout_returns_the_normal_answer(emulator: EmulatorProcess) -> None:
    emulator.control.add_fault("delay", path="/", seconds=0.3, count=1)
    t0 = time.monotonic()
    resp = emulator.session().get(emulator.url + "/", timeout=10)
    assert resp.status_code == 200 and time.monotonic() - t0 >= 0.3


def test_truncated_gzip_has_a_valid_header_and_a_cut_stream(emulator: EmulatorProcess) -> None:
    emulator.control.add_fault("truncated_gzip", path="/", count=1)
    resp = emulator.session().get(emulator.url + "/", timeout=10, stream=True)
    raw = resp.raw.read(decode_content=False)
    assert resp.headers["Content-Encoding"] == "gzip"
    assert int(resp.headers["Content-Length"]) == len(raw)
    assert raw[:3] == b"\x1f\x8b\x08"
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    d.decompress(raw)
    assert not d.eof  # the stream ends before its end marker and CRC


def test_invalid_json_is_a_200_that_does_not_parse(emulator: EmulatorProcess) -> None:
    emulator.control.add_fault("invalid_json", path="/", count=1)
    resp = emulator.session().get(emulator.url + "/", timeout=10)
    assert resp.status_code == 200 and resp.headers["Content-Type"] == "application/json"
    with pytest.raises(ValueError):
        resp.json()


def test_method_and_regex_filters(emulator: EmulatorProcess) -> None:
    base = _path()
    emulator.control.add_fault("503", regex=f"^{base}/x[0-9]+$", method="PUT")
    s = emulator.session()
    assert s.put(emulator.url + base + "/x12", timeout=10).status_code == 503
    assert s.get(emulator.url + base + "/x12", timeout=10).status_code == 404
    assert s.put(emulator.url + base + "/xy", timeout=10).status_code == 404


def test_count_retires_the_rule_and_stats_count_by_kind(emulator: EmulatorProcess) -> None:
    path = _path()
    before = emulator.control.fault_stats().get("http_502", 0)
    emulator.control.add_fault("502", path=path, count=2)
    s = emulator.session()
    codes = [s.get(emulator.url + path, timeout=10).status_code for _ in range(3)]
    assert codes == [502, 502, 404]
    assert emulator.control.fault_stats()["http_502"] == before + 2
    assert emulator.control.faults() == []


def test_control_api_is_never_faulted(emulator: EmulatorProcess) -> None:
    emulator.control.add_fault("503", path="*")
    assert emulator.control.health()["ok"] is True
    assert emulator.session().get(emulator.url + "/", timeout=10).status_code == 503


def _pattern(emulator: EmulatorProcess, n: int = 24) -> list[int]:
    path = _path()
    emulator.control.add_fault("503", path=path, probability=0.5)
    s = emulator.session()
    return [s.get(emulator.url + path, timeout=10).status_code for _ in range(n)]


def test_probability_is_deterministic_under_the_seed(emulator: EmulatorProcess) -> None:
    emulator.control.clear_faults()
    first = _pattern(emulator)
    emulator.control.clear_faults()  # restarts the fault rng from the seed
    second = _pattern(emulator)
    assert first == second
    assert 503 in first and 404 in first


def test_same_seed_same_faults_in_a_new_process(emulator: EmulatorProcess) -> None:
    emulator.control.clear_faults()
    here = _pattern(emulator)
    with EmulatorProcess(seed=1234, control=True) as other:
        assert _pattern(other) == here
    with EmulatorProcess(seed=99, control=True) as different:
        assert _pattern(different) != here


def test_injector_rejects_bad_rules() -> None:
    for bad in ({"kind": "explode"}, {"kind": "http", "status": 404}, {"kind": "503", "probability": 2},
                {"kind": "delay"}, {"kind": "503", "count": 0}, {"kind": "503", "colour": "red"}):
        with pytest.raises(ValueError):
            FaultRule.from_json(bad)
    inj = FaultInjector(1)
    rule = inj.add(kind="reset_after", path="/a/*")
    assert inj.pick("GET", "/b") is None and inj.pick("GET", "/a/1") is rule
    assert inj.remove(rule.id) and inj.pick("GET", "/a/1") is None
