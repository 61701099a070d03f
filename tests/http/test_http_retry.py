"""Retry decisions: what is retried, for which requests, and how long to wait."""

from __future__ import annotations

import email.utils

import pytest

from airflow_provider_poms.http.dialects import PomsDialect, ReqMgr2Dialect
from airflow_provider_poms.http.errors import (
    BadRequest,
    InvalidResponse,
    RateLimited,
    ServerError,
    TLSError,
    TransportError,
    TruncatedResponse,
)
from airflow_provider_poms.http.protocol import ApiRequest, ApiResponse
from airflow_provider_poms.http.retry import RetryPolicy, conclude, parse_retry_after

READ = ApiRequest("GET", "data/request", operation="get request")
WRITE = ApiRequest("POST", "data/request", json={}, idempotent=False, operation="create request")
POLICY = RetryPolicy(max_retries=3, backoff=1.0, jitter=0.0)


def answer(status: int, headers: dict[str, str] | None = None, body: bytes = b"") -> ApiResponse:
    return ApiResponse(status, headers or {}, body, "https://h/x")


SERVER_ERROR = answer(500, {"X-Error-Detail": "Server error", "X-Rest-Status": "400"}, b"<p>Server error</p>")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        (" 5 ", 5.0),
        ("0", 0.0),
        ("1.5", 1.5),
        ("-3", None),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_retry_after_seconds(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value) == expected


def test_parse_retry_after_http_date() -> None:
    now = 1_800_000_000.0
    assert parse_retry_after(email.utils.formatdate(now + 30, usegmt=True), now=now) == pytest.approx(30)
    assert parse_retry_after(email.utils.formatdate(now - 30, usegmt=True), now=now) == 0.0


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_idempotent_retried_on_gateway_and_throttle(status: int) -> None:
    assert POLICY.start(READ, ReqMgr2Dialect()).next_delay(answer(status)) == 1.0


def test_reqmgr2_server_error_retried_for_reads_not_for_creates() -> None:
    assert POLICY.start(READ, ReqMgr2Dialect()).next_delay(SERVER_ERROR) == 1.0
    assert POLICY.start(WRITE, ReqMgr2Dialect()).next_delay(SERVER_ERROR) is None
    # a 500 that is not the generic "Server error" is a definite answer
    other = answer(500, {"X-Error-Detail": "MSTransferor failed"})
    assert POLICY.start(READ, ReqMgr2Dialect()).next_delay(other) is None


def test_poms_500_retried_for_reads() -> None:
    assert POLICY.start(READ, PomsDialect()).next_delay(answer(500, body=b"boom")) == 1.0


@pytest.mark.parametrize("status", [200, 303, 400, 401, 403, 404, 423])
def test_definite_answers_not_retried(status: int) -> None:
    assert POLICY.start(READ, PomsDialect()).next_delay(answer(status)) is None


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_write_never_retried_on_an_answer(status: int) -> None:
    assert POLICY.start(WRITE, ReqMgr2Dialect()).next_delay(answer(status)) is None


def test_write_retried_only_when_nothing_was_sent() -> None:
    attempt = POLICY.start(WRITE, ReqMgr2Dialect())
    assert attempt.next_delay(TransportError("refused", maybe_sent=False)) == 1.0
    for ambiguous in (
        TransportError("reset", maybe_sent=True),
        TruncatedResponse("cut", maybe_sent=True),
        InvalidResponse("garbled", maybe_sent=True),
    ):
        assert POLICY.start(WRITE, ReqMgr2Dialect()).next_delay(ambiguous) is None


def test_reads_retried_on_any_transport_failure_but_tls() -> None:
    for failure in (TransportError("reset", maybe_sent=True), TruncatedResponse("cut"), InvalidResponse("x")):
        assert POLICY.start(READ, ReqMgr2Dialect()).next_delay(failure) == 1.0
    assert POLICY.start(READ, ReqMgr2Dialect()).next_delay(TLSError("untrusted")) is None


def test_backoff_doubles_caps_and_stops() -> None:
    policy = RetryPolicy(max_retries=4, backoff=10.0, max_backoff=25.0, jitter=0.0)
    attempt = policy.start(READ, ReqMgr2Dialect())
    delays = [attempt.next_delay(answer(503)) for _ in range(5)]
    assert delays == [10.0, 20.0, 25.0, 25.0, None]
    assert attempt.retries == 4


def test_jitter_stays_within_bounds() -> None:
    low = RetryPolicy(backoff=4.0, jitter=0.5, rng=lambda: 0.0)
    high = RetryPolicy(backoff=4.0, jitter=0.5, rng=lambda: 0.999999)
    assert low.backoff_delay(1) == 2.0
    assert 3.99 < high.backoff_delay(1) <= 4.0


def test_retry_after_is_honoured_and_bounded() -> None:
    policy = RetryPolicy(max_retries=3, backoff=0.1, jitter=0.0, max_retry_after=60)
    assert policy.start(READ, ReqMgr2Dialect()).next_delay(answer(429, {"Retry-After": "7"})) == 7.0
    assert policy.start(READ, ReqMgr2Dialect()).next_delay(answer(503, {"retry-after": "2"})) == 2.0
    # longer than we are willing to sleep: reported to the caller instead
    assert policy.start(READ, ReqMgr2Dialect()).next_delay(answer(429, {"Retry-After": "3600"})) is None


def test_zero_retries_means_one_attempt() -> None:
    attempt = RetryPolicy(max_retries=0).start(READ, ReqMgr2Dialect())
    assert attempt.next_delay(answer(503)) is None


def test_conclude_raises_typed_errors_with_context() -> None:
    with pytest.raises(RateLimited) as info:
        conclude(READ, answer(429, {"Retry-After": "9"}), PomsDialect(), retries=2)
    assert info.value.retry_after == 9.0 and "after 2 retries" in str(info.value)
    assert info.value.operation == "get request" and info.value.status == 429
    with pytest.raises(BadRequest):
        conclude(READ, answer(400, body=b"Invalid argument: x"), PomsDialect())
    ok = answer(200, {"Content-Type": "application/json"}, b"{}")
    assert conclude(READ, ok, PomsDialect()) is ok


def test_conclude_marks_gateway_answers_to_writes_as_ambiguous() -> None:
    with pytest.raises(ServerError) as info:
        conclude(WRITE, answer(504), ReqMgr2Dialect())
    assert info.value.maybe_sent
    with pytest.raises(ServerError) as info:
        conclude(READ, answer(504), ReqMgr2Dialect())
    assert not info.value.maybe_sent
    with pytest.raises(ServerError) as info:
        conclude(WRITE, answer(503), ReqMgr2Dialect())
    assert not info.value.maybe_sent  # 503: the service refused, it did not act


def test_conclude_names_the_operation_on_transport_errors() -> None:
    with pytest.raises(TransportError) as info:
        conclude(WRITE, TransportError("reset", maybe_sent=True), ReqMgr2Dialect())
    assert str(info.value).startswith("create request failed: reset")
