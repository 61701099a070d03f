"""ReqMgr2Hook over every auth mode and gzip setting, and each error kind mapped (real HTTPS)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from airflow_provider_poms.hooks.reqmgr2 import ReqMgr2Hook
from airflow_provider_poms.hooks.reqmgr2_wire import _build_simple
from airflow_provider_poms.http.errors import (
    AuthenticationError,
    InvalidTransition,
    PermissionDenied,
    RateLimited,
    ServerError,
)
from airflow_provider_poms.http.settings import ConnectionSettings

from .reqmgr2_helpers import assignment, stepchain


@pytest.mark.parametrize("auth", ["cert", "proxy", "token"])
@pytest.mark.parametrize("gzip", [True, False], ids=["gzip", "identity"])
def test_auth_modes_and_gzip(make_reqmgr2_hook: Callable[..., ReqMgr2Hook], auth: str, gzip: bool) -> None:
    hook = make_reqmgr2_hook("operator", auth, gzip=gzip)
    response = hook.send(_build_simple("data/status", "list statuses"))
    assert response.headers.get("Content-Encoding") == ("gzip" if gzip else None)
    name = hook.create_request(stepchain())
    assert name.startswith("operator_")
    hook.approve_request(name)
    state = hook.get_status_and_transitions([name])[name]
    assert state.status == "assignment-approved"
    assert hook.get_statuses()[0] == "new"


def test_requestor_lacks_the_ops_role_to_assign(make_reqmgr2_hook: Callable[..., ReqMgr2Hook]) -> None:
    requestor = make_reqmgr2_hook("requestor")
    name = requestor.create_request(stepchain())  # ppd level: allowed
    assert name.startswith("requestor_")
    requestor.approve_request(name)  # ppd level: allowed
    with pytest.raises(PermissionDenied) as info:
        requestor.assign_request(name, assignment())  # ops level: refused
    assert info.value.status == 403
    assert "not allowed" in str(info.value)
    assert requestor.get_status_and_transitions([name])[name].status == "assignment-approved"


def test_outsider_can_read_but_not_create(make_reqmgr2_hook: Callable[..., ReqMgr2Hook]) -> None:
    outsider = make_reqmgr2_hook("outsider")
    assert outsider.get_request_types()
    with pytest.raises(PermissionDenied) as info:
        outsider.create_request(stepchain())
    assert info.value.status == 403
    assert not info.value.maybe_sent


def test_unknown_token_is_an_authentication_error(emulator: Any) -> None:
    settings = ConnectionSettings(
        base_url=emulator.conn["reqmgr2_url"],
        ca_cert=emulator.conn["ca_cert"],
        token="not-a-valid-token",
        max_retries=0,
    )
    hook = ReqMgr2Hook(settings=settings)
    try:
        with pytest.raises(AuthenticationError) as info:
            hook.get_statuses()
        assert info.value.status == 401
        assert "not-a-valid-token" not in str(info.value)
        ok, message = hook.test_connection()
        assert not ok and "401" in message
    finally:
        hook.close()


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_on_reads_is_retried(reqmgr2: ReqMgr2Hook, emulator: Any, status: int) -> None:
    emulator.control.reset_fault_stats()
    emulator.control.add_fault("http", path="/reqmgr2/data/status", method="GET", status=status, count=2)
    assert reqmgr2.get_statuses()[0] == "new"
    assert emulator.control.fault_stats().get(f"http_{status}") == 2


def test_429_honours_retry_after(reqmgr2: ReqMgr2Hook, emulator: Any) -> None:
    emulator.control.add_fault(
        "http", path="/reqmgr2/data/type", method="GET", status=429, count=1, retry_after=0
    )
    assert "StepChain" in reqmgr2.get_request_types()


def test_persistent_5xx_ends_in_server_error(
    make_reqmgr2_hook: Callable[..., ReqMgr2Hook], emulator: Any
) -> None:
    hook = make_reqmgr2_hook(max_retries=2)
    emulator.control.add_fault("http", path="/reqmgr2/data/info", method="GET", status=503, count=5)
    with pytest.raises(ServerError) as info:
        hook.get_info()
    assert info.value.status == 503


def test_429_exhausted_is_rate_limited(make_reqmgr2_hook: Callable[..., ReqMgr2Hook], emulator: Any) -> None:
    hook = make_reqmgr2_hook(max_retries=0)
    emulator.control.add_fault(
        "http", path="/reqmgr2/data/type", method="GET", status=429, count=1, retry_after=7
    )
    with pytest.raises(RateLimited) as info:
        hook.get_request_types()
    assert info.value.retry_after == 7


@pytest.mark.parametrize("kind", ["reset_before", "reset_after", "invalid_json", "truncated_gzip"])
def test_broken_answers_to_reads_are_retried(reqmgr2: ReqMgr2Hook, emulator: Any, kind: str) -> None:
    name = reqmgr2.create_request(stepchain())
    emulator.control.add_fault(kind, path="/reqmgr2/data/request", method="GET", count=1)
    assert reqmgr2.get_status_and_transitions([name])[name].status == "new"


def test_status_put_retried_after_it_landed_is_not_an_error(reqmgr2: ReqMgr2Hook, emulator: Any) -> None:
    """A status PUT is retried; if the first attempt was applied, the retry is refused as an
    invalid transition. The hook sees the request already in the target status: success."""
    name = reqmgr2.create_request(stepchain())
    emulator.control.add_fault("reset_after", path=f"/reqmgr2/data/request/{name}", method="PUT", count=1)
    reqmgr2.approve_request(name)
    assert reqmgr2.get_status_and_transitions([name])[name].status == "assignment-approved"
    log = emulator.control.request_log(path_prefix=f"/reqmgr2/data/request/{name}", writes_only=True)
    assert len(log) == 2  # the lost answer, then the retry the server refused


def test_real_invalid_transition_still_raises(reqmgr2: ReqMgr2Hook) -> None:
    name = reqmgr2.create_request(stepchain())
    reqmgr2.reject_request(name)
    with pytest.raises(InvalidTransition, match="cannot go to 'assignment-approved'"):
        reqmgr2.approve_request(name)


def test_server_certificate_is_verified_by_default(emulator: Any) -> None:
    """Trusting only the public CAs (not the emulator's own CA) must fail the handshake clearly."""
    import certifi

    from airflow_provider_poms.http.errors import TLSError

    hook = ReqMgr2Hook(settings=emulator.settings("reqmgr2", ca_cert=certifi.where(), max_retries=0))
    try:
        assert hook.get_settings().verify is True
        with pytest.raises(TLSError) as info:
            hook.get_statuses()
        assert not info.value.maybe_sent
    finally:
        hook.close()
