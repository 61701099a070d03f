"""Property-based tests of the response parsing (issue 8 part 5).

Why properties: the example tests pin the answers the real servers gave; these check that the
parsers hold for *any* rows, messages, ids and byte framing the servers could send, including the
awkward ones nobody thinks of (HTML metacharacters, CR/LF in a message, a gzip stream cut one byte
short, a chunk boundary inside the gzip header). Encoders come from the emulator's wire module where
it has one (so provider and emulator are checked against each other) and from the standard library.
"""

from __future__ import annotations

import gzip
import json
import zlib
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from airflow_provider_poms.emulator.reqmgr2 import wire
from airflow_provider_poms.hooks.poms_wire import parse_task_id, submission_id_from_location
from airflow_provider_poms.hooks.reqmgr2_wire import _result
from airflow_provider_poms.http.dialects import html_message, poms_error, reqmgr2_error
from airflow_provider_poms.http.errors import (
    ApiError,
    AuthenticationError,
    InvalidResponse,
    LogicalError,
    NotFound,
    PermissionDenied,
    ProviderError,
    ResponseTooLarge,
    ServerError,
    TruncatedResponse,
)
from airflow_provider_poms.http.gzip import BodyDecoder
from airflow_provider_poms.http.protocol import ApiRequest, ApiResponse

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
URL = "https://emulator.invalid/reqmgr2/data/request"
REQUEST = ApiRequest("GET", "data/request", operation="property read")

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
json_values = st.recursive(
    json_scalars | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
messages = st.text(min_size=1, max_size=300).filter(lambda t: t.strip() != "")


def _response(status: int, body: bytes, headers: dict[str, str] | None = None) -> ApiResponse:
    return ApiResponse(status, headers or {"Content-Type": "application/json"}, body, URL)


# ---------------------------------------------------------------------------------- envelopes


@FAST
@given(rows=st.lists(json_values, max_size=8))
def test_reqmgr2_envelope_round_trips_any_rows(rows: list[Any]) -> None:
    """The emulator's byte-exact ``{"result": [`` framing unwraps to exactly the rows."""
    body = wire.envelope(wire.Rows(rows), "application/json")
    assert _result(_response(200, body)) == rows


@FAST
@given(value=json_values.filter(lambda v: not (isinstance(v, dict) and isinstance(v.get("result"), list))))
def test_anything_but_an_envelope_is_a_logical_error(value: Any) -> None:
    with pytest.raises(LogicalError, match="envelope"):
        _result(_response(200, json.dumps(value).encode()))


@FAST
@given(body=st.binary(max_size=200))
def test_broken_json_is_an_invalid_response_never_a_crash(body: bytes) -> None:
    try:
        json.loads(body)
    except ValueError:
        with pytest.raises(InvalidResponse, match="not valid JSON"):
            _result(_response(200, body))
    else:
        assume(False)


# ---------------------------------------------------------------------------------- errors

STATUS_CLASS = {
    401: AuthenticationError,
    403: PermissionDenied,
    404: NotFound,
    500: ServerError,
    503: ServerError,
}


@FAST
@given(
    status=st.sampled_from([400, 401, 403, 404, 405, 406, 412, 500, 502, 503, 504]),
    message=messages,
    rest_status=st.sampled_from(["302", "1102", "205", "400"]),
)
def test_reqmgr2_error_page_keeps_the_message_on_one_line(
    status: int, message: str, rest_status: str
) -> None:
    """CherryPy's page + the X-Error headers (values as the server writes them) -> the right class,
    the full message (unescaped, whitespace folded) and a one-line ``str``."""
    headers = {
        "Content-Type": "text/html;charset=utf-8",
        "X-Rest-Status": rest_status,
        "X-Error-Http": str(status),
        "X-Error-Id": wire.new_error_id(),
        "X-Error-Detail": wire.error_header_value(message),
    }
    err = reqmgr2_error(REQUEST, _response(status, wire.error_page(status, message), headers))
    assert isinstance(err, ApiError)
    assert err.status == status
    if status in STATUS_CLASS:
        assert isinstance(err, STATUS_CLASS[status])
    folded = " ".join(message.split())
    assert err.server_message == folded
    assert "\n" not in str(err) and "\r" not in str(err)
    assert err.error_id == headers["X-Error-Id"]


@FAST
@given(message=messages)
def test_html_message_inverts_html_escaping(message: str) -> None:
    """Whatever the text, what CherryPy escapes into the ``<p>`` comes back unchanged (folded)."""
    assert html_message(wire.error_page(400, message).decode("utf-8")) == " ".join(message.split())


@FAST
@given(
    status=st.integers(min_value=400, max_value=599),
    body=st.text(max_size=300),
    html=st.booleans(),
)
def test_poms_errors_are_typed_and_one_line(status: int, body: str, html: bool) -> None:
    """Any POMS 4xx/5xx answer (plain text or an HTML page) is an ApiError, never a crash."""
    ctype = "text/html; charset=utf-8" if html else "text/plain; charset=utf-8"
    raw = f"<html><body><p>{body}</p></body></html>" if html else body
    err = poms_error(
        ApiRequest("POST", "launch_jobs", form=(("campaign_stage_id", "1"),), idempotent=False),
        ApiResponse(status, {"Content-Type": ctype}, raw.encode(), "https://poms.invalid/poms/launch_jobs"),
    )
    assert isinstance(err, ApiError) and err.status == status
    assert "\n" not in str(err)


# ---------------------------------------------------------------------------------- Location / Task=

ids = st.integers(min_value=1, max_value=10**12)
users = st.from_regex(r"[a-z][a-z0-9_]{0,12}", fullmatch=True)


@FAST
@given(
    sid=ids,
    csid=ids,
    noise=st.dictionaries(st.from_regex(r"[a-z]{1,8}", fullmatch=True), st.text(max_size=10), max_size=3),
    form=st.sampled_from(["submission_id", "fname"]),
    user=users,
    stamp=st.from_regex(r"20[0-9]{6}_[0-9]{6}", fullmatch=True),
    host=st.sampled_from(["https://pomsgpvm01.fnal.gov:8443", "https://localhost", ""]),
)
def test_launch_location_yields_the_submission_id(
    sid: int, csid: int, noise: dict[str, str], form: str, user: str, stamp: str, host: str
) -> None:
    """Both server lines' redirects, any parameter order and extra parameters, URL-encoded."""
    params = {k: v for k, v in noise.items() if k not in ("submission_id", "fname")}
    params["campaign_stage_id"] = str(csid)
    params[form] = str(sid) if form == "submission_id" else f"{stamp}_{user}_{sid}"
    location = f"{host}/poms/campaign_stage_info/samdev/production?{urlencode(params)}"
    assert submission_id_from_location(location) == sid


@FAST
@given(location=st.text(max_size=120).filter(lambda t: "submission_id=" not in t and "fname=" not in t))
def test_location_without_an_id_is_a_logical_error(location: str) -> None:
    with pytest.raises(LogicalError, match="no submission id"):
        submission_id_from_location(location)


@FAST
@given(task=ids, before=st.sampled_from(["", " ", "\n"]), after=st.sampled_from(["", "\n", "\r\n", "  "]))
def test_task_answer_yields_the_id(task: int, before: str, after: str) -> None:
    response = ApiResponse(200, {"Content-Type": "text/html"}, f"{before}Task={task}{after}".encode(), URL)
    assert parse_task_id(response) == task


@FAST
@given(text=st.text(max_size=40).filter(lambda t: not t.strip().removeprefix("Task=").strip().isdigit()))
def test_task_answer_that_is_not_an_id_is_refused(text: str) -> None:
    with pytest.raises(LogicalError, match="Task="):
        parse_task_id(ApiResponse(200, {"Content-Type": "text/plain"}, text.encode(), URL))


# ---------------------------------------------------------------------------------- gzip framing


def _encode(payload: bytes, how: str) -> tuple[str, bytes]:
    if how == "gzip":
        return "gzip", gzip.compress(payload)
    if how == "gzip-members":
        half = len(payload) // 2
        return "gzip", gzip.compress(payload[:half]) + gzip.compress(payload[half:])
    if how == "deflate-raw":  # what WMCore sends as "deflate"
        c = zlib.compressobj(wbits=-15)
        return "deflate", c.compress(payload) + c.flush()
    if how == "deflate-zlib":
        return "deflate", zlib.compress(payload)
    return "identity", payload


def _decode(encoding: str, raw: bytes, cuts: list[int], cap: int) -> bytes:
    decoder = BodyDecoder(encoding, cap, URL)
    points = sorted({min(c, len(raw)) for c in cuts})
    start = 0
    for point in [*points, len(raw)]:
        decoder.feed(raw[start:point])
        start = point
    return decoder.finish()


encodings = st.sampled_from(["gzip", "gzip-members", "deflate-raw", "deflate-zlib", "identity"])


@FAST
@given(payload=st.binary(max_size=4000), how=encodings, cuts=st.lists(st.integers(0, 5000), max_size=6))
def test_any_framing_and_chunking_decodes_to_the_payload(payload: bytes, how: str, cuts: list[int]) -> None:
    """Chunk boundaries anywhere (inside the gzip header too) never change the result."""
    encoding, raw = _encode(payload, how)
    assert _decode(encoding, raw, cuts, 1 << 20) == payload


@FAST
@given(payload=st.binary(min_size=1, max_size=3000), how=encodings, cap=st.integers(1, 3000))
def test_cap_is_exact(payload: bytes, how: str, cap: int) -> None:
    """At most ``cap`` bytes pass: one more is ResponseTooLarge, whatever the encoding."""
    encoding, raw = _encode(payload, how)
    if len(payload) > cap:
        with pytest.raises(ResponseTooLarge):
            _decode(encoding, raw, [], cap)
    else:
        assert _decode(encoding, raw, [], cap) == payload


@FAST
@given(payload=st.binary(max_size=3000), cut=st.integers(min_value=1, max_value=10_000))
def test_a_cut_gzip_stream_is_never_taken_for_a_whole_body(payload: bytes, cut: int) -> None:
    raw = gzip.compress(payload)
    keep = 1 + cut % (len(raw) - 1)  # 1 .. len-1 bytes kept: always short (none at all is no body)
    with pytest.raises((TruncatedResponse, ProviderError)) as info:
        _decode("gzip", raw[:keep], [], 1 << 20)
    assert not isinstance(info.value, ResponseTooLarge)
