"""Requests moved through statuses first, TaskChains, and filters after assignment."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..diffcheck import normalize_text
from ..rawhttp import RawResponse
from ..specs import ASSIGNMENT, stepchain, unique_tag
from .base import (
    JSON,
    Case,
    CaseContext,
    _doc_values,
    _get,
    _masked_status,
    _named,
    _ok_rows,
    _put_new,
)

TO_COMPLETED = ["staging", "staged", "acquired", "running-open", "running-closed", "completed"]


def _moved(c: CaseContext, path: list[str]) -> str:
    """An assigned request moved by the operator along ``path`` (each PUT must succeed)."""
    name = c.assigned()
    for status in path:
        resp = c.op.put_json(f"request/{name}", {"RequestStatus": status})
        assert resp.status == 200, f"{c.target.name}: {status}: {resp.header('X-Error-Detail')}"
    return name


def _put_after(path: list[str], body: dict[str, Any]) -> Callable[[CaseContext], RawResponse]:
    return lambda c: c.op.put_json(f"request/{_moved(c, path)}", body)


def _get_after(path: list[str]) -> Callable[[CaseContext], RawResponse]:
    return lambda c: c.op.send("GET", f"request?name={_moved(c, path)}", JSON)


def _taskchain(c: CaseContext, **top: Any) -> dict[str, Any]:
    spec = stepchain(c.target, unique_tag("DiffTC"))
    for key in ("StepChain", "Step1", "PrimaryDataset"):  # a TaskChain names its dataset per task
        spec.pop(key)
    spec.update(
        RequestType="TaskChain",
        TaskChain=1,
        Task1={
            "TaskName": "GENSIM",
            "ConfigCacheID": "cfg0001",
            "RequestNumEvents": 10000,
            "EventsPerLumi": 100,
            "EventsPerJob": 500,
            "Seeding": "AutomaticSeeding",
            "SplittingAlgo": "EventBased",
            "PrimaryDataset": "DYJetsToLL_Test",
        },
        **top,
    )
    return spec


def _created_taskchain(c: CaseContext) -> RawResponse:
    resp = c.op.post_json("request", _taskchain(c))
    assert resp.status == 200, resp.header("X-Error-Detail")
    if resp.status != 200:
        return resp
    name = str(resp.json()["result"][0]["request"])
    c.names.add(name)
    return c.op.send("GET", f"request?name={name}", JSON)


def _filter_after_assign(query: str) -> Callable[[CaseContext], RawResponse]:
    """Assign a request of a fresh campaign, then query with ``campaign=<it>&<query>``."""

    def run(c: CaseContext) -> RawResponse:
        campaign = unique_tag("DiffF")
        name = c.approved_in(campaign)
        resp = c.op.put_json(f"request/{name}", dict(ASSIGNMENT))
        assert resp.status == 200, resp.header("X-Error-Detail")
        return c.op.send("GET", f"request?{query.replace('{campaign}', campaign)}", JSON)

    return run


CASES: list[Case] = [
    Case("put-abort-from-assigned", _put_after([], {"RequestStatus": "aborted"}), value=_ok_rows),
    Case("doc-after-abort", _get_after(["aborted"]), value=_doc_values),
    Case(
        "put-force-complete",
        _put_after(["staging", "staged", "acquired", "running-open"], {"RequestStatus": "force-complete"}),
        value=_ok_rows,
    ),
    Case("put-priority-assigned", _put_after([], {"RequestPriority": 999}), value=_ok_rows),
    Case(
        "put-sites-running-open",
        _put_after(["staging", "staged", "acquired", "running-open"], {"SiteWhitelist": ["T2_CH_CERN"]}),
        value=_ok_rows,
    ),
    Case(
        "doc-after-sites-running-open",
        lambda c: c.op.send(
            "GET",
            "request?name="
            + _ensure(
                c,
                _put_after(
                    ["staging", "staged", "acquired", "running-open"],
                    {"SiteWhitelist": ["T2_CH_CERN"], "SiteBlacklist": ["T1_US_FNAL"]},
                ),
            ),
            JSON,
        ),
        value=_doc_values,
    ),
    Case("put-assign-from-new", _put_new(dict(ASSIGNMENT))),
    Case(
        "put-assign-unknown-arg",
        lambda c: c.op.put_json(f"request/{c.approved()}", {**ASSIGNMENT, "NoSuchAssignArg": 1}),
    ),
    Case(
        "put-assign-bad-site",
        lambda c: c.op.put_json(f"request/{c.approved()}", {**ASSIGNMENT, "SiteWhitelist": ["not a site"]}),
    ),
    Case(
        "put-approve-priority-string",
        lambda c: c.op.put_json(
            f"request/{c.create()}", {"RequestStatus": "assignment-approved", "RequestPriority": "5"}
        ),
    ),
    Case(
        "put-requestor-rejects-operators",
        lambda c: c.rq.put_json(f"request/{c.create()}", {"RequestStatus": "rejected"}),
        value=_ok_rows,
    ),
    Case(
        "put-requestor-closes-out",
        lambda c: c.rq.put_json(
            f"request/{_moved(c, TO_COMPLETED)}",
            {"RequestStatus": "closed-out"},
        ),
    ),
    Case("delete-request", lambda c: c.op.send("DELETE", f"request/{c.shared_new}", JSON)),
    Case(
        "clone-rejected",
        lambda c: c.op.post_json(f"request/clone/{_moved_reject(c)}", {}),
        value=lambda r: len(r),
    ),
    Case(
        "clone-override-string",
        lambda c: c.op.post_json(
            f"request/clone/{c.shared_new}", {"RequestString": "DiffOverride", "ProcessingVersion": 7}
        ),
        value=lambda r: [normalize_text(str(row.get("request"))) for row in r],
    ),
    Case("taskchain-create-doc", _created_taskchain, value=_doc_values),
    Case(
        "taskchain-task-unknown-arg",
        lambda c: c.op.post_json("request", _taskchain(c, PrimaryDataset="DYJetsToLL_Test")),
    ),
    Case("status-transition-false", _get("status?transition=false"), value=lambda r: r),
    Case("type-extra-param", _get("type?foo=1")),
    Case("request-nostale", _named("&_nostale=true&detail=false"), value=lambda r: len(r)),
    Case("request-common-dict-0", _named("&common_dict=0&mask=RequestStatus"), value=_masked_status),
    Case(
        "filter-status-team",
        _filter_after_assign("status=assigned&team=production&detail=false"),
        value=lambda r: len(r) >= 1,
        count_rows=False,
    ),
    Case(
        "filter-campaign-assigned",
        _filter_after_assign("campaign={campaign}&status=assigned&detail=false"),
        value=lambda r: len(r),
    ),
    Case(
        "filter-outputdataset",
        _filter_after_assign(
            "outputdataset=/DYJetsToLL_Test/Integ_Test-TEST-v1/GEN-SIM&campaign={campaign}&detail=false"
        ),
        value=lambda r: len(r),
    ),
    Case(
        "filter-type-campaign",
        _filter_after_assign("request_type=StepChain&campaign={campaign}&detail=false"),
        value=lambda r: len(r),
    ),
    Case(
        "filter-status-requestor",
        _filter_after_assign("status=assigned&requestor=operator&detail=false"),
        value=lambda r: len(r) >= 1,
        count_rows=False,
    ),
]


def _ensure(c: CaseContext, run: Callable[[CaseContext], RawResponse]) -> str:
    """Run a write case and return the request it wrote to (read from its OK row)."""
    resp = run(c)
    assert resp.status == 200, resp.header("X-Error-Detail")
    return str(next(iter(resp.json()["result"][0])))


def _moved_reject(c: CaseContext) -> str:
    name = c.create()
    resp = c.op.put_json(f"request/{name}", {"RequestStatus": "rejected"})
    assert resp.status == 200, resp.header("X-Error-Detail")
    return name
