"""Read APIs and result shapes, content negotiation, compression, caching and transport errors."""

from __future__ import annotations

from .base import (
    JSON,
    JSON_BODY,
    Case,
    _clean,
    _doc_values,
    _get,
    _masked_status,
    _named,
)

CASES: list[Case] = [
    # ---- read APIs and shapes
    Case("info", _get("info")),
    Case("status-list", _get("status"), value=lambda r: r),
    Case("status-transitions", _get("status?transition=true"), value=lambda r: r),
    Case("status-transition-bad-value", _get("status?transition=maybe")),
    Case("type-list", _get("type"), value=lambda r: r),
    Case("request-by-name", _named(""), value=_doc_values),
    Case("request-by-path", lambda c: c.op.send("GET", f"request/{c.shared_new}", JSON)),
    Case(
        "request-mask",
        lambda c: c.op.send(
            "GET", f"request?name={c.shared_new}&mask=RequestStatus&mask=RequestPriority", JSON
        ),
        value=_masked_status,
    ),
    Case(
        "request-mask-transition",
        lambda c: c.op.send(
            "GET", f"request?name={c.shared_new}&mask=RequestStatus&mask=RequestTransition", JSON
        ),
        value=lambda r: _clean(_masked_status(r)),
    ),
    Case(
        "request-mask-missing-field",
        _named("&mask=NoSuchField"),
        value=_masked_status,
    ),
    Case(
        "request-detail-false",
        _named("&detail=false"),
        value=lambda r: ["<NAME>" for _ in r],
    ),
    Case("request-common-dict", _named("&common_dict=1")),
    Case(
        "request-common-dict-bad",
        _named("&common_dict=x"),
    ),
    Case("request-unknown-name", _get("request?name=no_such_request_xyz"), value=lambda r: r),
    Case("request-no-filter", _get("request"), value=lambda r: r),
    Case(
        "request-unknown-param",
        _named("&no_such_param=1&detail=false"),
        value=lambda r: len(r),
    ),
    Case(
        "request-path-with-query",
        lambda c: c.op.send("GET", f"request/{c.shared_new}?mask=RequestStatus", JSON),
    ),
    Case("request-archived-detail", _get("request?status=normal-archived")),
    Case(
        "request-assigned-doc",
        lambda c: c.op.send("GET", f"request?name={c.assigned()}", JSON),
        value=_doc_values,
    ),
    Case(
        "request-clone-doc",
        lambda c: c.op.send("GET", f"request?name={c.cloned()}", JSON),
        value=_doc_values,
    ),
    Case("request-head", lambda c: c.op.send("HEAD", f"request?name={c.shared_new}", JSON)),
    # ---- content negotiation, compression, caching
    Case("no-accept-header", lambda c: c.op.send("GET", "status", {})),
    Case("accept-html", _get("status", {"Accept": "text/html"})),
    Case("accept-any", _get("status", {"Accept": "*/*"}), value=lambda r: r),
    Case("accept-json-and-plain", _get("status", {"Accept": "application/json, text/plain"})),
    Case("accept-json-q", _get("status", {"Accept": "text/plain;q=0.5, application/json"})),
    Case(
        "gzip", _get("status", {"Accept": "application/json", "Accept-Encoding": "gzip"}), value=lambda r: r
    ),
    Case("gzip-q0", _get("status", {"Accept": "application/json", "Accept-Encoding": "gzip;q=0"})),
    Case(
        "deflate",
        _get("status", {"Accept": "application/json", "Accept-Encoding": "deflate"}),
        value=lambda r: r,
    ),
    Case("encoding-br", _get("status", {"Accept": "application/json", "Accept-Encoding": "br"})),
    Case("gzip-error", _get("team", {"Accept": "application/json", "Accept-Encoding": "gzip"})),
    Case(
        "etag-304",
        lambda c: c.op.send("GET", "status", {"Accept": "application/json", "If-None-Match": c.etag}),
    ),
    Case("info-no-store", _get("info")),
    # ---- transport errors
    Case("unknown-api-team", _get("team")),
    Case("no-api", _get("")),
    Case("method-patch", lambda c: c.op.send("PATCH", "request", JSON_BODY, {})),
    Case("api-method-mismatch", lambda c: c.op.send("DELETE", "status", JSON)),
    Case(
        "put-with-query",
        lambda c: c.op.send(
            "PUT", f"request/{c.shared_new}?RequestPriority=5", JSON_BODY, {"RequestPriority": 5}
        ),
    ),
    Case("post-with-query", lambda c: c.op.send("POST", "request?x=1", JSON_BODY, {})),
    Case("workload-config-no-arg", _get("workload_config")),
    Case("splitting-unknown", _get("splitting/no_such_request_xyz")),
    Case("status-path-form", _get("status/new")),
    # ---- more negotiation and edge requests
    Case("accept-json-q-order", _get("status", {"Accept": "application/json;q=0.9, text/plain;q=0.8"})),
    Case("accept-plain-only", _get("status", {"Accept": "text/plain"}), value=lambda r: r),
    Case("accept-wildcard-type", _get("status", {"Accept": "application/*"})),
    Case(
        "encoding-deflate-gzip",
        _get("status", {"Accept": "application/json", "Accept-Encoding": "deflate, gzip"}),
    ),
    Case(
        "encoding-q-ignored",
        _get("status", {"Accept": "application/json", "Accept-Encoding": "deflate;q=1.0, gzip;q=0.5"}),
    ),
    Case("head-status", lambda c: c.op.send("HEAD", "status", JSON)),
    Case("method-options", lambda c: c.op.send("OPTIONS", "request", JSON)),
    Case("request-trailing-slash", lambda c: c.op.send("GET", f"request/{c.shared_new}/", JSON)),
    Case("request-empty-name", _get("request?name="), value=lambda r: r),
    Case("request-detail-false-no-filter", _get("request?detail=false"), value=lambda r: r),
    Case("request-bogus-status", _get("request?status=bogus&detail=false"), value=lambda r: r),
    Case("request-mask-mixed", _named("&mask=RequestStatus&mask=NoSuchField"), value=_masked_status),
    Case("info-with-param", _get("info?x=1")),
]
