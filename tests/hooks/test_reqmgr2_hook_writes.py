"""ReqMgr2Hook writes over real HTTPS: create, clone, status changes, assignment, edits, aux docs."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from airflow_provider_poms.hooks.reqmgr2 import MARKER_RE, EditResult, ReqMgr2Hook
from airflow_provider_poms.http.errors import InvalidTransition, LogicalError, NotFound, ValidationError

from .reqmgr2_helpers import SPECS, assignment, stepchain, unique


def _writes(emulator: Any, since: int) -> list[tuple[str, str]]:
    return [(e["method"], e["path"]) for e in emulator.control.request_log(since=since, writes_only=True)]


def test_create_returns_the_name_with_marker(reqmgr2: ReqMgr2Hook) -> None:
    rs = unique("Create")
    name = reqmgr2.create_request(stepchain(rs))
    assert name.startswith(f"operator_{rs}_af")
    doc = reqmgr2.get_request(name)
    assert doc is not None
    assert MARKER_RE.search(doc["RequestString"])
    assert doc["RequestString"].startswith(rs)
    assert doc["RequestPriority"] == 100000


def test_create_without_dedupe_keeps_request_string(reqmgr2: ReqMgr2Hook) -> None:
    rs = unique("Plain")
    name = reqmgr2.create_request(stepchain(rs), dedupe=False)
    assert (reqmgr2.get_request(name) or {})["RequestString"] == rs


@pytest.mark.parametrize(
    "kind",
    [
        "shape_taskchain_prod_psi",
        "shape_rereco_run_block_lists_parents",
        "shape_dqmharvest_run_whitelist",
        "shape_storeresults",
    ],
)
def test_create_other_request_types(reqmgr2: ReqMgr2Hook, kind: str) -> None:
    spec = dict(SPECS[kind], RequestString=unique(kind.split("_")[1]))
    spec.pop("SiteWhitelist", None)  # an old sample's create-time key the current server refuses
    name = reqmgr2.create_request(spec)
    doc = reqmgr2.get_request(name)
    assert doc is not None and doc["RequestType"] == spec["RequestType"]


def test_invalid_spec_fails_before_any_request(reqmgr2: ReqMgr2Hook, emulator: Any) -> None:
    spec = stepchain(StepChain=2, RequestPriority="high")
    since = emulator.control.log_index()
    with pytest.raises(ValidationError) as info:
        reqmgr2.create_request(spec)
    paths = [p for p, _ in info.value.problems]
    assert "$.RequestPriority" in paths and "$.Step2" in paths
    assert emulator.control.request_log(since=since, path_prefix="/reqmgr2") == []


def test_server_side_validation_is_a_bad_request(reqmgr2: ReqMgr2Hook) -> None:
    from airflow_provider_poms.http.errors import BadRequest

    spec = stepchain(NoSuchArgument=1, CMSSWVersion="CMSSW_0_0_0_nonexistent")
    with pytest.raises(BadRequest) as info:
        reqmgr2.create_request(spec, validate=True)  # schema is open for unknown keys: the server decides
    assert info.value.status == 400
    assert info.value.rest_status == "1102"
    assert "Invalid spec parameter value" in str(info.value)


def test_clone_with_overrides(reqmgr2: ReqMgr2Hook) -> None:
    original = reqmgr2.create_request(stepchain(unique("Orig")))
    clone = reqmgr2.clone_request(original, {"RequestPriority": 5, "Step1": {"RequestNumEvents": 4000}})
    assert clone != original
    doc = reqmgr2.get_request(clone)
    assert doc is not None
    assert doc["RequestStatus"] == "new"
    assert doc["RequestPriority"] == 5
    assert doc["Step1"]["RequestNumEvents"] == 4000
    assert doc["ProcessingVersion"] == 2  # the server's +1
    # one marker, not two: the original's is replaced
    base = (reqmgr2.get_request(original) or {})["RequestString"]
    assert MARKER_RE.sub("", doc["RequestString"]) == MARKER_RE.sub("", base)
    assert doc["RequestString"] != base


def test_clone_of_unknown_request_is_not_found(reqmgr2: ReqMgr2Hook, emulator: Any) -> None:
    since = emulator.control.log_index()
    with pytest.raises(NotFound, match="to clone"):
        reqmgr2.clone_request("operator_NoSuch_200101_000000_1")
    assert _writes(emulator, since) == []


def test_clone_overrides_are_validated(reqmgr2: ReqMgr2Hook) -> None:
    with pytest.raises(ValidationError, match="RequestPriority"):
        reqmgr2.clone_request("operator_Anything_200101_000000_1", {"RequestPriority": "5"})


def test_full_manual_lifecycle(reqmgr2: ReqMgr2Hook, emulator: Any) -> None:
    name = reqmgr2.create_request(stepchain())
    reqmgr2.approve_request(name, priority=150000)
    doc = reqmgr2.get_request(name) or {}
    assert doc["RequestStatus"] == "assignment-approved"
    assert doc["RequestPriority"] == 150000
    reqmgr2.assign_request(name, assignment())
    state = reqmgr2.get_status_and_transitions([name])[name]
    assert [t[0] for t in state.transitions][:3] == ["new", "assignment-approved", "assigned"]
    got = reqmgr2.get_requests(status=state.status, team="production", detail=False)
    assert name in got
    reqmgr2.abort_request(name)
    assert (reqmgr2.get_request(name) or {})["RequestStatus"] in (
        "aborted",
        "aborted-completed",
        "aborted-archived",
    )


def test_invalid_transition_is_refused_before_any_write(reqmgr2: ReqMgr2Hook, emulator: Any) -> None:
    name = reqmgr2.create_request(stepchain())
    since = emulator.control.log_index()
    with pytest.raises(InvalidTransition, match="cannot go to 'announced'"):
        reqmgr2.announce_request(name)
    with pytest.raises(InvalidTransition):
        reqmgr2.assign_request(name, assignment())
    assert _writes(emulator, since) == []


def test_invalid_transition_from_the_server_is_mapped(reqmgr2: ReqMgr2Hook) -> None:
    from airflow_provider_poms.hooks.reqmgr2_wire import _build_put

    name = reqmgr2.create_request(stepchain())
    with pytest.raises(InvalidTransition) as info:
        reqmgr2.send(_build_put(name, {"RequestStatus": "announced"}, "raw status change"))
    assert info.value.status == 400


def test_status_change_argument_checks(reqmgr2: ReqMgr2Hook, emulator: Any) -> None:
    since = emulator.control.log_index()
    with pytest.raises(ValidationError, match="unknown ReqMgr2 status"):
        reqmgr2.change_status("x", "running")
    with pytest.raises(ValidationError, match="assign_request"):
        reqmgr2.change_status("x", "assigned")
    with pytest.raises(ValidationError, match="cascade"):
        reqmgr2.change_status("x", "aborted", cascade=True)
    with pytest.raises(ValidationError, match="integer"):
        reqmgr2.approve_request("x", priority=True)  # type: ignore[arg-type]
    assert emulator.control.request_log(since=since, path_prefix="/reqmgr2") == []


def test_change_status_of_unknown_request_is_not_found(reqmgr2: ReqMgr2Hook) -> None:
    with pytest.raises(NotFound):
        reqmgr2.change_status("operator_NoSuch_200101_000000_1", "rejected")


def test_reject_with_cascade(reqmgr2: ReqMgr2Hook, emulator: Any) -> None:
    name = reqmgr2.create_request(stepchain())
    since = emulator.control.log_index()
    reqmgr2.reject_request(name, cascade=True)
    assert (reqmgr2.get_request(name) or {})["RequestStatus"] in ("rejected", "rejected-archived")
    assert _writes(emulator, since) == [("PUT", f"/reqmgr2/data/request/{name}")]


def test_force_complete_close_out_and_announce(reqmgr2: ReqMgr2Hook, emulator: Any) -> None:
    name = reqmgr2.create_request(stepchain())
    reqmgr2.approve_request(name)
    reqmgr2.assign_request(name, assignment())
    # The emulator's actors move assigned -> ... -> running-open on the fast clock.
    for _ in range(20):
        status = reqmgr2.get_status_and_transitions([name])[name].status
        if status in ("running-open", "running-closed"):
            break
        emulator.control.advance_clock(600)
    reqmgr2.force_complete_request(name)
    for _ in range(20):
        if reqmgr2.get_status_and_transitions([name])[name].status == "completed":
            break
        emulator.control.advance_clock(600)
    reqmgr2.close_out_request(name, cascade=True)
    reqmgr2.announce_request(name)
    statuses = [t[0] for t in reqmgr2.get_status_and_transitions([name])[name].transitions]
    assert "force-complete" in statuses
    assert statuses[-2:] == ["closed-out", "announced"] or statuses[-1] == "normal-archived"


def test_update_priority_reports_changed(reqmgr2: ReqMgr2Hook) -> None:
    name = reqmgr2.create_request(stepchain())
    result = reqmgr2.update_priority(name, 123456)
    assert isinstance(result, EditResult)
    assert result.changed == ("RequestPriority",) and result.applied
    again = reqmgr2.update_priority(name, 123456)
    assert again.unchanged == ("RequestPriority",) and again.changed == ()
    assert (reqmgr2.get_request(name) or {})["RequestPriority"] == 123456


def test_priority_must_be_a_strict_int(reqmgr2: ReqMgr2Hook, emulator: Any) -> None:
    since = emulator.control.log_index()
    for bad in ("5000", 5000.0, True, -1, 1_000_000):
        with pytest.raises(ValidationError):
            reqmgr2.update_priority("operator_X_200101_000000_1", bad)  # type: ignore[arg-type]
    assert emulator.control.request_log(since=since, path_prefix="/reqmgr2") == []


def test_edits_not_allowed_in_the_status_are_reported_dropped(reqmgr2: ReqMgr2Hook) -> None:
    name = reqmgr2.create_request(stepchain())
    # In 'new' only RequestPriority is editable: the server answers OK and drops the rest.
    result = reqmgr2.update_request(name, {"RequestPriority": 90000, "Team": "production"})
    assert result.answer == "OK"
    assert result.changed == ("RequestPriority",)
    assert result.dropped == ("Team",)
    assert not result.applied
    assert result.status == "new"
    with pytest.raises(LogicalError, match="ignored Team"):
        reqmgr2.update_request(name, {"Team": "production"}, strict=True)


def test_site_lists_in_assignment_approved(reqmgr2: ReqMgr2Hook) -> None:
    name = reqmgr2.create_request(stepchain())
    reqmgr2.approve_request(name)
    result = reqmgr2.update_site_lists(name, whitelist=["T1_US_FNAL", "T2_CH_CERN"], blacklist=["T2_US_MIT"])
    assert set(result.changed) == {"SiteWhitelist", "SiteBlacklist"}
    doc = reqmgr2.get_request(name) or {}
    assert doc["SiteWhitelist"] == ["T1_US_FNAL", "T2_CH_CERN"]
    with pytest.raises(ValidationError, match="also in SiteWhitelist"):
        reqmgr2.update_site_lists(name, whitelist=["T1_US_FNAL"], blacklist=["T1_US_FNAL"])
    with pytest.raises(ValidationError):
        reqmgr2.update_site_lists(name)


def test_update_request_stats(reqmgr2: ReqMgr2Hook) -> None:
    name = reqmgr2.create_request(stepchain())
    reqmgr2.update_request_stats(
        name, {"total_jobs": 10, "input_lumis": 5, "input_events": 1000, "input_num_files": 2}
    )
    doc = reqmgr2.get_request(name) or {}
    assert doc.get("TotalEstimatedJobs") == 10
    with pytest.raises(ValidationError):
        reqmgr2.update_request_stats(name, {"total_jobs": 1})


def test_edit_of_unknown_request_is_not_found(reqmgr2: ReqMgr2Hook) -> None:
    with pytest.raises(NotFound):
        reqmgr2.update_priority("operator_NoSuch_200101_000000_1", 1)


@pytest.mark.parametrize(
    "kind",
    ["wmagentconfig", "campaignconfig", "unifiedconfig", "transferinfo", "cmsswversions", "parentlocks"],
)
def test_aux_document_lifecycle(reqmgr2: ReqMgr2Hook, kind: str) -> None:
    name = f"doc{uuid.uuid4().hex[:8]}"
    unified = {k: {"value": ["RAW"], "description": "d"} for k in ("tiers_to_DDM", "tiers_no_DDM",
                                                                    "tiers_with_no_custodial")}
    body: dict[str, Any] = unified if kind == "unifiedconfig" else {"key": [1, 2]}
    assert reqmgr2.get_aux_doc(kind, name) is None
    with pytest.raises(NotFound):
        reqmgr2.get_aux_doc(kind, name, missing_ok=False)
    created = reqmgr2.create_aux_doc(kind, name, body)
    assert created.get("ok") is True
    with pytest.raises(LogicalError, match="conflict"):
        reqmgr2.create_aux_doc(kind, name, body)
    got = reqmgr2.get_aux_doc(kind, name)
    assert got is not None and all(got[k] == v for k, v in body.items())
    # unifiedconfig only takes its three schema keys: change a value there instead of adding a key
    field, extra = ("extra", "x")
    if kind == "unifiedconfig":
        field, extra = "tiers_no_DDM", {"value": ["AOD"], "description": "x"}
    assert reqmgr2.replace_aux_doc(kind, name, dict(body, **{field: extra})).get("ok") is True
    assert (reqmgr2.get_aux_doc(kind, name) or {}).get(field) == extra
    assert reqmgr2.delete_aux_doc(kind, name) is True
    assert reqmgr2.delete_aux_doc(kind, name) is False
    assert reqmgr2.get_aux_doc(kind, name) is None


@pytest.mark.parametrize("kind", ["campaignconfig", "transferinfo"])
def test_all_docs(reqmgr2: ReqMgr2Hook, kind: str) -> None:
    names = [f"all{uuid.uuid4().hex[:8]}" for _ in range(2)]
    for n in names:
        reqmgr2.replace_aux_doc(kind, n, {"workflowName": n})
    docs = reqmgr2.get_all_aux_docs(kind)
    ids = {d.get("_id") for d in docs}
    assert all(any(str(i).endswith(n) for i in ids) for n in names)


def test_unified_config_schema_error_is_a_bad_request(reqmgr2: ReqMgr2Hook) -> None:
    from airflow_provider_poms.http.errors import BadRequest

    with pytest.raises(BadRequest) as info:
        reqmgr2.replace_aux_doc("unifiedconfig", f"bad{uuid.uuid4().hex[:6]}", {"key": "not-an-object"})
    assert info.value.rest_status == "1202"


def test_aux_argument_checks(reqmgr2: ReqMgr2Hook) -> None:
    with pytest.raises(ValidationError, match="unknown aux document kind"):
        reqmgr2.get_aux_doc("team", "x")
    with pytest.raises(ValidationError, match="non-empty"):
        reqmgr2.create_aux_doc("wmagentconfig", "x", {})


def test_parentlocks(reqmgr2: ReqMgr2Hook) -> None:
    # The bare PARENT_LOCKS document is normally written by a server thread; here by PUT.
    assert reqmgr2.replace_aux_doc("parentlocks", None, {"parentlocks": ["/Cosmics/Run2015-v1/RAW"]})["ok"]
    try:
        assert reqmgr2.get_parentlocks() == ["/Cosmics/Run2015-v1/RAW"]
    finally:
        assert reqmgr2.delete_aux_doc("parentlocks", None) is True
    assert reqmgr2.get_parentlocks() == []


async def test_async_create_and_status(make_reqmgr2_hook: Callable[..., ReqMgr2Hook]) -> None:
    hook = make_reqmgr2_hook()
    name = await hook.acreate_request(stepchain())
    await hook.achange_status(name, "assignment-approved")
    states = await hook.aget_status_and_transitions([name])
    assert states[name].status == "assignment-approved"
