"""Multi-step cases: aux-document round trips, name/campaign filters, read-only service APIs."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ..rawhttp import RawResponse
from ..specs import stepchain, unique_tag
from .base import (
    JSON,
    JSON_BODY,
    Case,
    CaseContext,
    _aux_rows,
    _clean,
    _get,
    _masked_status,
    _names_only,
    _ok_rows,
    _only_docs,
    _put_new,
    _tasks,
)


def _aux_roundtrip(api: str, body: dict[str, Any], final: str) -> Callable[[CaseContext], RawResponse]:
    """POST a fresh aux document, then do ``final`` on it: get | conflict | put | delete | all."""

    def run(c: CaseContext) -> RawResponse:
        doc = unique_tag("Aux")
        c.aux_docs.add(doc)
        first = c.op.post_json(f"{api}/{doc}", body)
        assert first.status == 200, first.header("X-Error-Detail")
        if final == "get":
            return c.op.send("GET", f"{api}/{doc}", JSON)
        if final == "conflict":
            return c.op.post_json(f"{api}/{doc}", body)
        if final == "put":
            return c.op.put_json(f"{api}/{doc}", {**body, "Extra": 1})
        if final == "delete":
            return c.op.send("DELETE", f"{api}/{doc}", JSON)
        # ALL_DOCS reads a CouchDB view with stale=update_after: the first read after a write may
        # not show it yet (seen on the real server); the second read is what a poller converges to.
        c.op.send("GET", f"{api}/ALL_DOCS", JSON)
        time.sleep(0.5)
        return _only_docs(c.op.send("GET", f"{api}/ALL_DOCS", JSON), c.aux_docs)

    return run


def _two_names(c: CaseContext) -> RawResponse:
    a, b = c.create(), c.create()
    return c.op.send("GET", f"request?name={a}&name={b}&mask=RequestStatus", JSON)


def _campaign_query(query: str) -> Callable[[CaseContext], RawResponse]:
    """A request with a fresh campaign, then ``GET request?campaign=<it>&<query>``."""

    def run(c: CaseContext) -> RawResponse:
        campaign = unique_tag("DiffCamp")
        c.create(Campaign=campaign)
        return c.op.send("GET", f"request?campaign={campaign}&{query}", JSON)

    return run


def _stats_update(c: CaseContext) -> RawResponse:
    name = c.assigned()
    body = {"total_jobs": 10, "input_lumis": 20, "input_events": 3000, "input_num_files": 4}
    return c.op.put_json(f"request/{name}", body)


def _bynames(c: CaseContext) -> RawResponse:
    return c.op.post_json("request/bynames", [c.shared_new, "no_such_request_xyz"])


CASES: list[Case] = [
    Case(
        "aux-campaign-get",
        _aux_roundtrip("campaignconfig", {"CampaignName": "x", "Secondaries": {}}, "get"),
        value=_clean,
    ),
    Case(
        "aux-campaign-conflict",
        _aux_roundtrip("campaignconfig", {"CampaignName": "x"}, "conflict"),
        value=_aux_rows,
    ),
    Case("aux-campaign-put", _aux_roundtrip("campaignconfig", {"CampaignName": "x"}, "put"), value=_aux_rows),
    Case(
        "aux-campaign-delete",
        _aux_roundtrip("campaignconfig", {"CampaignName": "x"}, "delete"),
        value=lambda r: r,
    ),
    Case("aux-campaign-all-docs", _aux_roundtrip("campaignconfig", {"CampaignName": "x"}, "all")),
    Case("aux-wmagent-get", _aux_roundtrip("wmagentconfig", {"UserDrainMode": False}, "get"), value=_clean),
    Case(
        "aux-transfer-all-docs", _aux_roundtrip("transferinfo", {"workflowName": "w", "transfers": []}, "all")
    ),
    Case("aux-unified-bad-schema", lambda c: c.op.post_json(f"unifiedconfig/{unique_tag('U')}", {"nope": 1})),
    Case("aux-not-json", lambda c: c.op.send("POST", f"campaignconfig/{unique_tag('C')}", JSON_BODY, b"{x")),
    Case(
        "parentlocks-post-get",
        _aux_roundtrip("parentlocks", {"parentlocks": ["/a/b/RAW"]}, "get"),
        value=_clean,
    ),
    Case("request-two-names-mask", _two_names, value=_masked_status),
    Case("request-campaign-detail-false", _campaign_query("detail=false"), value=_names_only),
    Case("request-campaign-status", _campaign_query("status=new&detail=false"), value=_names_only),
    Case("request-campaign-status-none", _campaign_query("status=assigned&detail=false"), value=lambda r: r),
    Case("request-campaign-active", _campaign_query("status=ACTIVE&detail=false"), value=_names_only),
    Case("request-campaign-mask-das", _campaign_query("mask=DAS")),
    Case("request-campaign-detail-FALSE", _campaign_query("detail=FALSE"), value=_names_only),
    Case("request-team-alone", _get("request?team=production"), value=lambda r: r),
    Case("request-requestor-alone", _get("request?requestor=operator"), value=lambda r: r),
    Case("request-bynames", _bynames),
    Case(
        "request-if-match",
        lambda c: c.op.send("GET", "status", {"Accept": "application/json", "If-Match": c.etag}),
    ),
    Case("put-workqueue-stats", _stats_update, value=_ok_rows),
    Case(
        "put-name-path-wins",
        lambda c: c.op.put_json(
            f"request/{c.create()}", {"RequestName": "no_such_request_xyz", "RequestPriority": 4242}
        ),
        value=_ok_rows,
    ),
    Case(
        "put-cascade-rejected",
        lambda c: c.op.put_json(f"request/{c.create()}", {"RequestStatus": "rejected", "cascade": True}),
        value=_ok_rows,
    ),
    Case("put-abort-from-new", _put_new({"RequestStatus": "aborted"})),
    Case(
        "put-form-body",
        lambda c: c.op.send(
            "PUT",
            f"request/{c.shared_new}",
            {"Accept": "application/json", "Content-Type": "application/x-www-form-urlencoded"},
            b"RequestPriority=5",
        ),
    ),
    Case(
        "create-bad-request-string",
        lambda c: c.op.post_json("request", stepchain(c.target, "bad string with spaces!")),
    ),
    Case(
        "create-unknown-cmssw",
        lambda c: c.op.post_json("request", stepchain(c.target, unique_tag(), CMSSWVersion="CMSSW_0_0_0")),
    ),
    Case("spec-template", _get("spec_template?name=StepChain")),
    Case("workload-config", lambda c: c.op.send("GET", f"workload_config/{c.shared_new}", JSON)),
    Case("splitting", lambda c: c.op.send("GET", f"splitting/{c.shared_new}", JSON), value=_tasks),
    Case("proc-status", _get("proc_status")),
    Case("app-config", _get("app_config/EDITABLE_SPLITTING_PARAM_CONFIG")),
    Case("cmsswversions", _get("cmsswversions")),
    Case("about", _get("about")),
]
