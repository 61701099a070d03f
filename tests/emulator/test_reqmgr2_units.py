"""Unit-level edge cases of the ReqMgr2 emulator that HTTPS tests cannot reach cheaply:
stale views, CherryPy header ordering, header truncation, the quirk of create's empty result."""

from __future__ import annotations

from airflow_provider_poms.emulator.core import Store
from airflow_provider_poms.emulator.reqmgr2 import wire
from airflow_provider_poms.emulator.reqmgr2.repo import RequestRepo, view_keys
from airflow_provider_poms.emulator.reqmgr2.samples import taskchain_spec


def _doc(name: str, status: str, **extra: object) -> dict:
    return {"RequestName": name, "RequestStatus": status, "RequestType": "StepChain", **extra}


def test_stale_views_update_after_and_nostale() -> None:
    repo = RequestRepo(Store(), stale_views=True)
    repo.put(_doc("a", "new"))
    assert repo.query("status", ["new"]) == set()  # the first query still sees the old view...
    assert repo.query("status", ["new"]) == {"a"}  # ...and updates it afterwards (update_after)
    repo.put(_doc("a", "assignment-approved"))
    assert repo.query("status", ["new"]) == {"a"}  # stale: still listed under its old status
    repo.put(_doc("a", "rejected"))
    assert repo.query("status", ["rejected"], nostale=True) == {"a"}
    assert repo.stale_views is False  # _nostale flips the shared reader for good (quirk)
    assert repo.get("a")["RequestStatus"] == "rejected"  # name lookups are always fresh


def test_views_cover_chain_tasks_and_lists() -> None:
    doc = taskchain_spec(
        "X", OutputDatasets=["/A/B-v1/AODSIM", "/A/B-v1/MINIAODSIM"], Team="t", Requestor="me"
    )
    keys = view_keys(doc)
    assert keys["prep_id"] == {"TC-Task1", "TC-Task2"}
    assert keys["outputdataset"] == {"/A/B-v1/AODSIM", "/A/B-v1/MINIAODSIM"}
    assert keys["campaign"] == {"Run3Summer22"} and keys["team"] == {"t"} and keys["requestor"] == {"me"}


def test_accept_ordering_like_cherrypy() -> None:
    fmts = wire.GET_FORMATS
    assert wire.negotiate("*/*", fmts) == "text/plain"
    assert wire.negotiate("application/json, text/plain", fmts) == "text/plain"  # ties: reverse string order
    assert wire.negotiate("application/json;q=0.9, text/plain;q=0.8", fmts) == "application/json"
    assert wire.negotiate("text/plain;q=0, application/json", fmts) == "application/json"
    assert wire.negotiate("", fmts) == "text/plain"  # present but empty: anything goes
    for bad in (None, "text/html"):
        try:
            wire.negotiate(bad, fmts)
        except wire.NotAcceptable as exc:
            assert exc.http_code == 406 and exc.app_code == 201
        else:
            raise AssertionError(bad)


def test_header_values_truncated_with_ellipsis() -> None:
    assert wire.error_header_value("a\nb") == "a; b"
    long = "x" * 250
    assert wire.error_header_value(long) == "x" * 197 + "..."
    assert wire.error_header_value("y" * 200) == "y" * 200


def test_envelope_bytes() -> None:
    assert wire.envelope(wire.Rows([]), wire.JSON) == b'{"result": [\n]}\n'
    assert wire.envelope(wire.Rows([{"a": 1}, "b"]), wire.JSON) == b'{"result": [\n {"a": 1}\n,"b"\n]}\n'
    assert wire.envelope(wire.Rows([{"a": 1}, "b"]), wire.PLAIN) == b'{"result": [\n {\n  "a": 1\n},"b"]}\n'


def test_create_can_answer_the_empty_result_quirk() -> None:
    """``settings.empty_create_results``: the next create answers ``{"result": []}``, storing nothing."""
    from airflow_provider_poms.emulator.core import EmulatorContext, Identity
    from airflow_provider_poms.emulator.reqmgr2 import get_service
    from airflow_provider_poms.emulator.reqmgr2 import requests as req
    from airflow_provider_poms.emulator.reqmgr2.samples import stepchain_spec
    from airflow_provider_poms.emulator.reqmgr2.service import Call

    op = Identity("operator", "/CN=operator", "Operator", (("admin", "reqmgr"),))
    ctx = EmulatorContext.in_memory({"operator": op})
    svc = get_service(ctx)
    svc.settings.empty_create_results = 1
    call = Call("POST", [], [], b"", op, ctx.clock.now())
    assert req.create(svc, call, stepchain_spec("Empty")).rows == []
    assert len(svc.repo) == 0
    rows = req.create(svc, call, stepchain_spec("Empty")).rows
    assert rows[0]["request"].startswith("operator_Empty_") and len(svc.repo) == 1
