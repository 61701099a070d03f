"""``GET /request`` over real HTTPS: filter intersection, ACTIVE, team/requestor rules, shapes, mask."""

from __future__ import annotations

import uuid

import pytest

from airflow_provider_poms.emulator.reqmgr2.rawclient import RawReqMgr2
from airflow_provider_poms.emulator.reqmgr2.samples import assignment_body, stepchain_spec, taskchain_spec
from airflow_provider_poms.emulator.testing import EmulatorProcess


@pytest.fixture(scope="module")
def op(emulator: EmulatorProcess) -> RawReqMgr2:
    return RawReqMgr2(emulator.session("operator"), emulator.conn["reqmgr2_url"])


@pytest.fixture(scope="module")
def world(emulator: EmulatorProcess, op: RawReqMgr2) -> dict[str, str]:
    """Two campaigns; in campaign A one request stays new, two are assigned (to two teams, stalled)."""
    tag = uuid.uuid4().hex[:8]
    camp_a, camp_b, team = f"CampA{tag}", f"CampB{tag}", f"team{tag}"
    rq = RawReqMgr2(emulator.session("requestor"), emulator.conn["reqmgr2_url"])
    w = {
        "tag": tag,
        "camp_a": camp_a,
        "camp_b": camp_b,
        "team": team,
        "new_a": op.create(stepchain_spec(f"GetNewA{tag}", Campaign=camp_a, PrepID=f"P-{tag}")),
        "new_b": op.create(stepchain_spec(f"GetNewB{tag}", Campaign=camp_b)),
        "req_a": rq.create(stepchain_spec(f"GetReqA{tag}", Campaign=camp_a)),
        "as1": op.create(stepchain_spec(f"GetAs1{tag}", Campaign=camp_a)),
        "as2": op.create(stepchain_spec(f"GetAs2{tag}", Campaign=camp_a)),
    }
    for key, t in (("as1", team), ("as2", "other" + tag)):
        emulator.control.script_reqmgr2(w[key], "assigned", "stall")
        op.move(w[key], "assignment-approved")
        op.result(op.put(w[key], assignment_body(Team=t)))
    return w


def _names(op: RawReqMgr2, **params: object) -> list[str]:
    return op.result(op.get("request", params={**params, "detail": "false"}))


def test_filters_intersect(op: RawReqMgr2, world: dict[str, str]) -> None:
    assert sorted(_names(op, campaign=world["camp_a"], status="new")) == sorted(
        [world["new_a"], world["req_a"]]
    )
    assert _names(op, campaign=world["camp_b"], status="new") == [world["new_b"]]
    assert _names(op, campaign=world["camp_b"], status="assigned") == []
    assert _names(op, campaign=[world["camp_a"], world["camp_b"]], prep_id=f"P-{world['tag']}") == [
        world["new_a"]
    ]
    assert _names(op, name=[world["new_a"], world["new_b"]], campaign=world["camp_b"]) == [world["new_b"]]


def test_active_expands_to_non_archived(op: RawReqMgr2, world: dict[str, str]) -> None:
    got = set(_names(op, status="ACTIVE", campaign=world["camp_a"]))
    assert got == {world["new_a"], world["req_a"], world["as1"], world["as2"]}


def test_team_only_with_status_alone(op: RawReqMgr2, world: dict[str, str]) -> None:
    assert _names(op, status="assigned", team=world["team"]) == [world["as1"]]
    assert _names(op, team=world["team"]) == []  # team alone: nothing
    # a third key (even an unknown one) switches the team filter off
    assert set(_names(op, status="assigned", team=world["team"], campaign=world["camp_a"])) == {
        world["as1"],
        world["as2"],
    }
    both = op.result(
        op.get("request", params={"status": "assigned", "team": world["team"], "foo": "1", "detail": "false"})
    )
    assert world["as1"] in both and world["as2"] in both


def test_requestor_combinations(op: RawReqMgr2, world: dict[str, str]) -> None:
    assert world["req_a"] in _names(op, status="new", requestor="requestor")
    assert world["new_a"] not in _names(op, status="new", requestor="requestor")
    assert world["req_a"] in _names(op, status="new", request_type="StepChain", requestor="requestor")
    assert _names(op, requestor="requestor") == []
    # with campaign the requestor filter is ignored
    assert set(_names(op, status="new", requestor="requestor", campaign=world["camp_a"])) == {
        world["new_a"],
        world["req_a"],
    }


def test_no_filter_and_unknown_keys(op: RawReqMgr2, world: dict[str, str]) -> None:
    assert op.result(op.get("request")) == []
    assert op.result(op.get("request", params={"foo": "bar"})) == []
    rows = op.result(
        op.get("request", params={"name": world["new_a"], "foo": "bar", "mask": "RequestStatus"})
    )
    assert rows == [{world["new_a"]: {"RequestStatus": "new"}}]


def test_shapes(op: RawReqMgr2, world: dict[str, str]) -> None:
    a, b = world["new_a"], world["new_b"]
    rows = op.result(op.get("request", params={"name": [a, b]}))
    assert len(rows) == 1 and list(rows[0]) == [a, b]
    assert rows[0][a]["_id"] == a and "_rev" not in rows[0][a]
    common = op.result(op.get("request", params={"name": [a, b], "common_dict": "1"}))
    assert [d["RequestName"] for d in common] == [a, b]
    for false in ("false", "False", "FALSE"):
        assert op.result(op.get("request", params={"name": [a, b], "detail": false})) == [a, b]
    assert op.result(op.get("request", params={"name": "unknown_" + world["tag"]})) == []


def test_mask(op: RawReqMgr2, world: dict[str, str]) -> None:
    a = world["new_a"]
    rows = op.result(
        op.get("request", params={"name": a, "mask": ["RequestStatus", "RequestTransition", "NoSuchField"]})
    )
    doc = rows[0][a]
    assert list(doc) == ["RequestStatus", "RequestTransition", "NoSuchField"]
    assert doc["RequestStatus"] == "new" and doc["NoSuchField"] is None
    assert doc["RequestTransition"][0]["Status"] == "new"
    das = op.result(op.get("request", params={"name": a, "mask": "DAS"}))[0][a]
    assert set(das) == {"RequestName", "PrepID", "CMSSWVersion", "GlobalTag"}
    assert das["RequestName"] == a


def test_mask_on_chains_gives_per_task_values(op: RawReqMgr2, world: dict[str, str]) -> None:
    name = op.create(taskchain_spec(f"GetChain{world['tag']}"))
    doc = op.result(op.get("request", params={"name": name, "mask": ["PrepID", "TaskChain", "GlobalTag"]}))[
        0
    ][name]
    assert sorted(doc["PrepID"]) == ["TC-Task1", "TC-Task2"]
    assert doc["TaskChain"] == 2
    assert sorted(doc["GlobalTag"]) == ["124X_mcRun3_2022_v12", "124X_v2"]  # task value or top-level fallback


def test_archived_with_detail_is_400(op: RawReqMgr2) -> None:
    resp = op.get("request", params={"status": "normal-archived"})
    assert resp.status_code == 400
    assert "Can't retrieve bulk archived status requests with detail option True" in resp.text
    assert op.get("request", params={"status": "normal-archived", "detail": "false"}).status_code == 200


def test_path_form(op: RawReqMgr2, world: dict[str, str]) -> None:
    a = world["new_a"]
    rows = op.result(op.get(f"request/{a}"))
    assert list(rows[0]) == [a] and rows[0][a]["RequestStatus"] == "new"
    resp = op.get(f"request/{a}", params={"mask": "RequestStatus"})
    assert resp.status_code == 400 and resp.headers["X-Rest-Status"] == "302"
    assert resp.headers["X-Error-Detail"] == "Invalid input parameter"
    assert resp.headers["X-Error-Info"].startswith("Excess keyword arguments")
    assert op.result(op.get("request/unknown_" + world["tag"])) == []


def test_post_bynames(op: RawReqMgr2, world: dict[str, str]) -> None:
    names = [world["new_a"], "unknown_" + world["tag"], world["new_b"]]
    rows = op.result(op.call("POST", "request/bynames", body=names))
    assert list(rows[0]) == [world["new_a"], world["new_b"]]
    same = op.result(op.get("request", params={"name": names}))
    assert rows == same


def test_one_empty_name_is_a_server_error(op: RawReqMgr2, world: dict[str, str]) -> None:
    """``?name=`` makes the real server read the database-info document as a request (KeyError):
    500 "Server error", X-REST-Status 400 (checked on the real server, F26). Empty names among
    others are just not found."""
    for params in ({"name": ""}, {"name": "", "detail": "false"}, {"name": "", "status": "new"}):
        resp = op.get("request", params=params)
        assert resp.status_code == 500, params
        assert resp.headers["X-Rest-Status"] == "400" and resp.headers["X-Error-Detail"] == "Server error"
    assert _names(op, name=["", world["new_a"]]) == [world["new_a"]]
