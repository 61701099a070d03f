"""Plain-data parts: errors, URL/body encoding, ApiResponse."""

from __future__ import annotations

import json
from email.parser import BytesParser
from email.policy import HTTP

import pytest

from airflow_provider_poms.http.dialects import PomsDialect, ReqMgr2Dialect
from airflow_provider_poms.http.errors import (
    InvalidResponse,
    ProviderError,
    RequestTimeout,
    TimeoutError_,
    TransportError,
    ValidationError,
)
from airflow_provider_poms.http.protocol import (
    NO_BODY,
    ApiRequest,
    ApiResponse,
    build_url,
    encode_body,
    finish_response,
    prepare,
)
from airflow_provider_poms.http.settings import ConnectionSettings


def test_error_str_is_one_readable_line() -> None:
    err = ProviderError(
        "Invalid spec parameter value:\n  RequestPriority must be an integer",
        operation="create request",
        url="https://h/reqmgr2/data/request",
        status=400,
        rest_status="1102",
        error_id="abc123",
    )
    text = str(err)
    assert "\n" not in text
    assert text.startswith("create request failed: HTTP 400 (X-REST-Status 1102): Invalid spec")
    assert "[https://h/reqmgr2/data/request]" in text and "error id abc123" in text
    assert err.details()["rest_status"] == "1102"


def test_timeout_alias_and_hierarchy() -> None:
    assert TimeoutError_ is RequestTimeout
    assert issubclass(RequestTimeout, TransportError)
    assert RequestTimeout("x", maybe_sent=True).maybe_sent is True


def test_validation_error_lists_every_problem() -> None:
    err = ValidationError(problems=[("$.RequestPriority", "not an integer"), ("$.Campaign", "missing")])
    assert "2 problem(s)" in str(err)
    assert "$.RequestPriority: not an integer" in str(err) and "$.Campaign: missing" in str(err)


def test_build_url_encodes_query_values() -> None:
    url = build_url("https://h/reqmgr2/data", "request", [("name", "a b/c&d"), ("mask", "RequestStatus")])
    assert url == "https://h/reqmgr2/data/request?name=a%20b%2Fc%26d&mask=RequestStatus"


def test_booleans_are_never_stringified() -> None:
    # poms_client's bug: False sent as "False", which POMS reads as true.
    with pytest.raises(ValueError, match="boolean"):
        encode_body(ApiRequest("POST", "launch_jobs", form=(("test_launch", False),)))  # type: ignore[arg-type]


def test_encode_json_form_and_multipart() -> None:
    body, ctype = encode_body(ApiRequest("POST", "request", json={"a": 1}))
    assert ctype == "application/json" and json.loads(body or b"") == {"a": 1}
    body, ctype = encode_body(ApiRequest("POST", "x", form=(("experiment", "samdev"), ("q", "a&b"))))
    assert ctype == "application/x-www-form-urlencoded" and body == b"experiment=samdev&q=a%26b"
    body, ctype = encode_body(
        ApiRequest("POST", "upload_wf", form=(("replace", "1"),), files=(("file", "c.ini", b"[campaign]\n"),))
    )
    assert ctype is not None and ctype.startswith("multipart/form-data; boundary=")
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + (body or b"")
    )
    parts = {p.get_param("name", header="content-disposition"): p for p in message.iter_parts()}
    assert parts["replace"].get_content() == "1"
    assert parts["file"].get_filename() == "c.ini" and parts["file"].get_content() == b"[campaign]\n"
    assert encode_body(ApiRequest("GET", "x")) == (None, None)
    assert ApiRequest("GET", "x").json is NO_BODY


def test_json_and_form_are_exclusive() -> None:
    with pytest.raises(ValueError):
        ApiRequest("POST", "x", json={}, form=())


def test_prepare_headers_per_dialect_and_gzip_setting() -> None:
    s = ConnectionSettings("https://h/reqmgr2")
    call = prepare(ApiRequest("PUT", "data/request/n", json={"RequestStatus": "x"}), s, ReqMgr2Dialect())
    assert call.url == "https://h/reqmgr2/data/request/n"
    assert call.headers["Accept"] == "application/json"
    assert call.headers["Content-Type"] == "application/json"
    assert call.headers["Cache-Control"] == "no-cache"
    assert call.headers["Accept-Encoding"] == "gzip"
    call = prepare(ApiRequest("POST", "show_campaigns"), s.with_changes(gzip=False), PomsDialect())
    assert call.headers["Accept-Encoding"] == "identity" and call.headers["Content-Length"] == "0"
    with pytest.raises(ValueError, match="credentials"):
        prepare(ApiRequest("GET", "x", headers=(("authorization", "Bearer x"),)), s, PomsDialect())


def test_response_headers_case_insensitive_and_json_cached() -> None:
    r = ApiResponse(200, {"x-rest-status": "100", "Content-Type": "application/json"}, b'{"result": []}', "u")
    assert r.headers["X-REST-Status"] == "100" and "X-Rest-Status" in r.headers
    assert r.json() is r.json()
    bad = ApiResponse(200, {"Content-Type": "application/json"}, b'{"result": [', "u")
    with pytest.raises(InvalidResponse, match="not valid JSON") as info:
        bad.json()
    assert info.value.maybe_sent


def test_finish_response_rejects_broken_json_only_on_success() -> None:
    with pytest.raises(InvalidResponse):
        finish_response("GET", 200, {"content-type": "application/json"}, b"<<", "u")
    # an error page is interpreted by the dialect, not parsed here
    assert finish_response("GET", 500, {"content-type": "application/json"}, b"<<", "u").status == 500
    assert finish_response("HEAD", 200, {"content-type": "application/json"}, b"", "u").body == b""


def test_request_accepts_lists_and_dicts_and_stores_tuples() -> None:
    r = ApiRequest("get", "request", params=[("status", "new"), ("status", "assigned")], form={"a": "1"})  # type: ignore[arg-type]
    assert r.method == "GET"
    assert r.params == (("status", "new"), ("status", "assigned")) and r.form == (("a", "1"),)
    with pytest.raises(ValueError, match="unsupported HTTP method"):
        ApiRequest("PATCH", "x")
