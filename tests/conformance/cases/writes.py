"""Create, PUT and clone decision tables, priority typing, role checks, first aux-document cases."""

from __future__ import annotations

from ..specs import ASSIGNMENT, stepchain, unique_tag
from .base import (
    JSON_BODY,
    Case,
    _get,
    _ok_rows,
    _put_new,
)

CASES: list[Case] = [
    # ---- create decision table
    Case(
        "create-ok",
        lambda c: c.op.post_json("request", stepchain(c.target, unique_tag("DiffC"))),
        value=lambda r: [list(row) for row in r],
    ),
    Case(
        "create-missing-type",
        lambda c: c.op.post_json(
            "request", {k: v for k, v in stepchain(c.target, unique_tag()).items() if k != "RequestType"}
        ),
    ),
    Case(
        "create-missing-priority",
        lambda c: c.op.post_json(
            "request", {k: v for k, v in stepchain(c.target, unique_tag()).items() if k != "RequestPriority"}
        ),
    ),
    Case(
        "create-bad-type",
        lambda c: c.op.post_json("request", stepchain(c.target, unique_tag(), RequestType="NoSuchType")),
    ),
    Case(
        "create-unknown-arg",
        lambda c: c.op.post_json("request", stepchain(c.target, unique_tag(), NoSuchArgument=1)),
    ),
    Case("create-list-body", lambda c: c.op.post_json("request", [stepchain(c.target, unique_tag())])),
    Case(
        "create-requestor",
        lambda c: c.rq.post_json("request", stepchain(c.target, unique_tag("DiffR"))),
        value=lambda r: [list(row) for row in r],
    ),
    # ---- PUT decision table
    Case(
        "put-priority-ok",
        lambda c: c.op.put_json(f"request/{c.create()}", {"RequestPriority": 123456}),
        value=_ok_rows,
    ),
    Case("put-priority-string", _put_new({"RequestPriority": "high"})),
    Case("put-priority-float", _put_new({"RequestPriority": 5.0})),
    Case("put-priority-range", _put_new({"RequestPriority": 1000000})),
    Case("put-empty-body", _put_new({}), value=_ok_rows),
    Case("put-unknown-key", _put_new({"NoSuchKey": 1})),
    Case(
        "put-bad-transition",
        _put_new({"RequestStatus": "announced"}),
    ),
    Case("put-unknown-status", _put_new({"RequestStatus": "bogus"})),
    Case(
        "put-approve-extra-key",
        _put_new({"RequestStatus": "assignment-approved", "Team": "production"}),
    ),
    Case(
        "put-status-in-body",
        lambda c: c.op.put_json(
            "request", {"RequestName": c.create(), "RequestStatus": "assignment-approved"}
        ),
        value=_ok_rows,
    ),
    Case("put-unknown-name", lambda c: c.op.put_json("request/no_such_request_xyz", {"RequestPriority": 5})),
    Case(
        "put-assign-missing-team",
        lambda c: c.op.put_json(
            f"request/{c.approved()}", {k: v for k, v in ASSIGNMENT.items() if k != "Team"}
        ),
    ),
    Case(
        "put-assign-site-both-lists",
        lambda c: c.op.put_json(f"request/{c.approved()}", {**ASSIGNMENT, "SiteBlacklist": ["T1_US_FNAL"]}),
    ),
    Case(
        "put-assign-ok", lambda c: c.op.put_json(f"request/{c.approved()}", dict(ASSIGNMENT)), value=_ok_rows
    ),
    Case("put-requestor-assign-403", lambda c: c.rq.put_json(f"request/{c.approved()}", dict(ASSIGNMENT))),
    Case(
        "put-requestor-approve",
        lambda c: c.rq.put_json(f"request/{c.create()}", {"RequestStatus": "assignment-approved"}),
        value=_ok_rows,
    ),
    Case(
        "put-requestor-priority",
        lambda c: c.rq.put_json(f"request/{c.create()}", {"RequestPriority": 7}),
        value=_ok_rows,
    ),
    Case(
        "put-staging-extra-key",
        _put_new({"RequestStatus": "staging", "Team": "x"}),
    ),
    Case("put-not-json", lambda c: c.op.send("PUT", f"request/{c.shared_new}", JSON_BODY, b"{not json")),
    Case(
        "put-reject-drops-keys",
        lambda c: c.op.put_json(f"request/{c.create()}", {"RequestStatus": "rejected", "RequestPriority": 5}),
        value=_ok_rows,
    ),
    # ---- clone
    Case(
        "clone-ok",
        lambda c: c.op.post_json(f"request/clone/{c.shared_new}", {"RequestPriority": 5}),
        value=lambda r: [list(row) for row in r],
    ),
    Case("clone-unknown", lambda c: c.op.post_json("request/clone/no_such_request_xyz", {})),
    Case(
        "clone-bad-override",
        lambda c: c.op.post_json(f"request/clone/{c.shared_new}", {"RequestPriority": -1}),
    ),
    Case(
        "clone-unknown-empty-body",
        lambda c: c.op.send("POST", "request/clone/no_such_request_xyz", JSON_BODY, b""),
    ),
    Case(
        "clone-empty-body",
        lambda c: c.op.send("POST", f"request/clone/{c.shared_new}", JSON_BODY, b""),
        value=lambda r: [list(row) for row in r],
    ),
    # exactly the bytes WMCore's ReqMgr.cloneRequest(name, {}) sends (pycurl, captured)
    Case(
        "clone-wmcore-empty-post-framing",
        lambda c: c.op.send_bytes(
            "POST {prefix}/data/request/clone/no_such_request_xyz HTTP/1.1\n"
            "Transfer-Encoding: chunked\nContent-type: application/json\n"
            "User-Agent: WMCore.Services.Requests/v002\nAccept: application/json\n"
            "Accept-Encoding: gzip,deflate,identity\nContent-Length: 0\nExpect: 100-continue",
            b"0\r\n\r\n",
        ),
    ),
    # ---- priority typing after the status decides which check runs
    Case(
        "put-approve-priority-float",
        lambda c: c.op.put_json(
            f"request/{c.create()}", {"RequestStatus": "assignment-approved", "RequestPriority": 5.0}
        ),
    ),
    Case(
        "put-approved-priority-float",
        lambda c: c.op.put_json(f"request/{c.approved()}", {"RequestPriority": 5.0}),
    ),
    Case(
        "put-approved-priority-string",
        lambda c: c.op.put_json(f"request/{c.approved()}", {"RequestPriority": "7"}),
    ),
    # ---- auxiliary documents
    Case("parentlocks-absent", _get("parentlocks")),
    Case("wmagentconfig-unknown", _get("wmagentconfig/no_such_agent")),
    Case(
        "campaignconfig-post",
        lambda c: c.op.post_json(
            f"campaignconfig/{unique_tag('Camp')}", {"CampaignName": "x", "Secondaries": {}}
        ),
    ),
    Case("campaignconfig-empty-body", lambda c: c.op.post_json(f"campaignconfig/{unique_tag('Camp')}", {})),
    # ---- more write edges
    Case("put-no-name", lambda c: c.op.put_json("request", {"RequestPriority": 5})),
    Case(
        "put-assign-no-whitelist",
        lambda c: c.op.put_json(
            f"request/{c.approved()}", {k: v for k, v in ASSIGNMENT.items() if k != "SiteWhitelist"}
        ),
    ),
    Case(
        "put-priority-zero",
        lambda c: c.op.put_json(f"request/{c.create()}", {"RequestPriority": 0}),
        value=_ok_rows,
    ),
    Case(
        "put-priority-max",
        lambda c: c.op.put_json(f"request/{c.create()}", {"RequestPriority": 999999}),
        value=_ok_rows,
    ),
    Case("put-priority-negative", _put_new({"RequestPriority": -1})),
    Case("post-empty-body", lambda c: c.op.send("POST", "request", JSON_BODY, b"")),
    Case(
        "post-text-plain-body",
        lambda c: c.op.send(
            "POST",
            "request",
            {"Accept": "application/json", "Content-Type": "text/plain"},
            stepchain(c.target, unique_tag("DiffTP")),
        ),
    ),
    Case(
        "create-unicode-string",
        lambda c: c.op.post_json("request", stepchain(c.target, "Diff_\u00e9t\u00e9")),
    ),
    Case(
        "create-requeststring-too-long", lambda c: c.op.post_json("request", stepchain(c.target, "D" * 120))
    ),
]
