"""One scenario suite, two targets: the provider's ReqMgr2 hook against the emulator and the real server.

Every test takes ``target`` (parametrized: emulator, real) and asserts the same things on both.
The only branch is who moves the statuses that agents own (assigned -> ... -> completed): the
emulator's background actors do it on the emulator; on the real server (no agents configured) the
test does it with the operator identity, which holds the admin-level role.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from airflow_provider_poms.hooks.reqmgr2 import ReqMgr2Hook
from airflow_provider_poms.http.errors import (
    InvalidTransition,
    NotFound,
    PermissionDenied,
)
from airflow_provider_poms.http.protocol import ApiRequest
from airflow_provider_poms.http.settings import ConnectionSettings

from .specs import AGENT_PATH, ASSIGNMENT, CLOSE_PATH, stepchain, unique_tag
from .tally import count
from .targets import Target

LIFECYCLE = ["new", "assignment-approved", "assigned", *AGENT_PATH, *CLOSE_PATH]


def hook_for(target: Target, identity: str = "operator", **overrides: Any) -> ReqMgr2Hook:
    settings = ConnectionSettings.from_emulator(target.connection, "reqmgr2", identity, "cert", **overrides)
    return ReqMgr2Hook(settings=settings)


@pytest.fixture
def hook(target: Target) -> ReqMgr2Hook:
    count(target.name, "scenario")
    return hook_for(target)


def create(hook: ReqMgr2Hook, target: Target, prefix: str = "Scen", **overrides: Any) -> str:
    return hook.create_request(stepchain(target, unique_tag(prefix), **overrides))


def statuses(hook: ReqMgr2Hook, name: str) -> list[str]:
    return [t[0] for t in hook.get_status_and_transitions([name])[name].transitions]


def run_agents(target: Target, hook: ReqMgr2Hook, name: str, until: str, timeout: float = 90) -> None:
    """Bring an assigned request to ``until`` the way each target does it."""
    if not target.moves_statuses_itself:
        current = hook.get_status_and_transitions([name])[name].status
        path = AGENT_PATH[AGENT_PATH.index(current) + 1 :] if current in AGENT_PATH else AGENT_PATH
        for status in path[: path.index(until) + 1]:
            hook.change_status(name, status)
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if until in statuses(hook, name):
            return
        target.handle.control.advance_clock(1800)
        time.sleep(0.2)
    raise AssertionError(f"{target.name}: {name} did not reach {until}: {statuses(hook, name)}")


def test_full_lifecycle_to_announced(target: Target, hook: ReqMgr2Hook) -> None:
    name = create(hook, target)
    doc = hook.get_request(name)
    assert doc is not None and doc["RequestStatus"] == "new" and doc["Requestor"] == "operator"
    assert name.startswith("operator_Scen")

    hook.approve_request(name, priority=150000)
    assert hook.get_request(name)["RequestPriority"] == 150000  # type: ignore[index]
    hook.assign_request(name, ASSIGNMENT)
    doc = hook.get_request(name)
    assert doc is not None and doc["Team"] == "production" and doc["SiteWhitelist"] == ["T1_US_FNAL"]
    assert doc["HardTimeout"] == ASSIGNMENT["SoftTimeout"] + ASSIGNMENT["GracePeriod"]

    run_agents(target, hook, name, "completed")
    hook.close_out_request(name)
    hook.announce_request(name)

    state = hook.get_status_and_transitions([name])[name]
    path = [t[0] for t in state.transitions]
    assert path[: len(LIFECYCLE)] == LIFECYCLE
    # the emulator's actors may archive an announced request after a delay; the real server has none
    assert state.status in ("announced", "normal-archived")
    assert all(isinstance(t[1], int | float) and t[2] for t in state.transitions)


def test_clone_with_overrides(target: Target, hook: ReqMgr2Hook) -> None:
    original = create(hook, target, Campaign="CloneCamp")
    clone = hook.clone_request(original, {"RequestPriority": 5, "Step1": {"GlobalTag": "OVERRIDE_V1"}})
    assert clone != original
    src, doc = hook.get_request(original), hook.get_request(clone)
    assert src is not None and doc is not None
    assert doc["RequestStatus"] == "new"
    assert doc["RequestPriority"] == 5
    assert doc["ProcessingVersion"] == src["ProcessingVersion"] + 1
    assert doc["Step1"]["GlobalTag"] == "OVERRIDE_V1"
    assert doc["Step1"]["ConfigCacheID"] == src["Step1"]["ConfigCacheID"]  # recursive merge keeps the rest
    assert doc["Campaign"] == "CloneCamp"
    assert [t["Status"] for t in doc["RequestTransition"]] == ["new"]


def test_priority_and_site_list_updates(target: Target, hook: ReqMgr2Hook) -> None:
    name = create(hook, target)
    result = hook.update_priority(name, 777)
    assert "RequestPriority" in result.changed and not result.dropped
    doc = hook.get_request(name)
    assert doc is not None and doc["RequestPriority"] == 777
    assert [p["Priority"] for p in doc["PriorityTransition"]][-1] == 777

    # site lists are not editable in "new": the server answers OK and drops them silently
    dropped = hook.update_site_lists(name, whitelist=["T2_CH_CERN"])
    assert dropped.dropped == ("SiteWhitelist",) and not dropped.applied

    hook.approve_request(name)
    edited = hook.update_site_lists(
        name, whitelist=["T2_CH_CERN", "T1_US_FNAL"], blacklist=["T2_US_Nebraska"]
    )
    assert set(edited.changed) == {"SiteWhitelist", "SiteBlacklist"} and edited.applied
    doc = hook.get_request(name)
    assert doc is not None
    assert doc["SiteWhitelist"] == ["T2_CH_CERN", "T1_US_FNAL"]
    assert doc["SiteBlacklist"] == ["T2_US_Nebraska"]


def test_forbidden_transition(target: Target, hook: ReqMgr2Hook) -> None:
    name = create(hook, target)
    with pytest.raises(InvalidTransition):
        hook.change_status(name, "announced")
    hook.approve_request(name)
    with pytest.raises(InvalidTransition):
        hook.change_status(name, "staging")  # assigned must come first
    assert hook.get_status_and_transitions([name])[name].status == "assignment-approved"


def test_requestor_may_not_assign(target: Target, hook: ReqMgr2Hook) -> None:
    requestor = hook_for(target, "requestor")
    name = create(requestor, target)
    assert name.startswith("requestor_")
    requestor.approve_request(name)  # ppd level: allowed
    with pytest.raises(PermissionDenied):
        requestor.assign_request(name, ASSIGNMENT)
    assert hook.get_status_and_transitions([name])[name].status == "assignment-approved"
    hook.assign_request(name, ASSIGNMENT)  # the operator may
    assert hook.get_status_and_transitions([name])[name].status in ("assigned", *AGENT_PATH)


def test_unknown_name(target: Target, hook: ReqMgr2Hook) -> None:
    missing = "operator_NoSuchRequest_000101_000000_0001"
    assert hook.get_request(missing) is None
    assert hook.get_status_and_transitions([missing]) == {}
    assert hook.get_requests_by_names([missing]) == {}
    with pytest.raises(NotFound):
        hook.clone_request(missing, {})
    with pytest.raises(NotFound):
        hook.update_priority(missing, 5)
    with pytest.raises(NotFound):
        hook.change_status(missing, "rejected")


def test_mask_and_filter_queries(target: Target, hook: ReqMgr2Hook) -> None:
    campaign, prep = unique_tag("Camp"), unique_tag("PREP-")
    first = create(hook, target, Campaign=campaign, PrepID=prep)
    second = create(hook, target, Campaign=campaign)
    hook.approve_request(second)

    masked = hook.get_requests(names=[first, second], mask=["RequestStatus", "Campaign"])
    assert masked == {
        first: {"RequestStatus": "new", "Campaign": campaign},
        second: {"RequestStatus": "assignment-approved", "Campaign": campaign},
    }
    assert sorted(hook.get_requests(campaign=campaign, detail=False)) == sorted([first, second])
    assert hook.get_requests(campaign=campaign, status="new", detail=False) == [first]  # intersection
    assert hook.get_requests(prep_id=prep, detail=False) == [first]
    by_type = hook.get_requests(campaign=campaign, request_type="StepChain")
    assert isinstance(by_type, dict) and set(by_type) == {first, second}
    docs = hook.get_requests(campaign=campaign, common_dict=True)
    assert isinstance(docs, list) and sorted(d["RequestName"] for d in docs) == sorted([first, second])
    states = hook.get_status_and_transitions([first, second, "operator_Missing_000101_000000_1"])
    assert {n: s.status for n, s in states.items()} == {first: "new", second: "assignment-approved"}


@pytest.mark.parametrize("gzip", [True, False], ids=["gzip-on", "gzip-off"])
def test_gzip_on_and_off(target: Target, gzip: bool) -> None:
    count(target.name, "scenario")
    plain = hook_for(target, gzip=gzip)
    raw = plain.send(ApiRequest("GET", "data/request", params=(("name", "no_such_request_xyz"),)))
    assert raw.headers.get("Content-Encoding") == ("gzip" if gzip else None)
    assert (
        "Accept-Encoding" in (raw.headers.get("Vary") or "") if gzip else raw.headers.get("Vary") == "Accept"
    )
    assert raw.json() == {"result": []}
    name = create(plain, target)
    doc = plain.get_request(name)
    assert doc is not None and doc["RequestName"] == name
    assert plain.get_statuses()[:3] == ["new", "assignment-approved", "assigned"]
    table = plain.get_transition_table()
    assert set(table["new"]) == {"new", "assignment-approved", "rejected"}
    assert plain.get_info().get("wmcore_reqmgr_version")
