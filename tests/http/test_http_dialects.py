"""Error mapping of both services from synthetic answers (real wire shapes from the references)."""

from __future__ import annotations

import pytest

from airflow_provider_poms.http.dialects import (
    PomsDialect,
    ReqMgr2Dialect,
    html_message,
)
from airflow_provider_poms.http.errors import (
    ApiError,
    AuthenticationError,
    BadRequest,
    InvalidTransition,
    NoMoreSplits,
    NotFound,
    PermissionDenied,
    RateLimited,
    ServerError,
    StageHeld,
)
from airflow_provider_poms.http.protocol import ApiRequest, ApiResponse

REQ = ApiRequest("PUT", "data/request/pdmvserv_X", json={"RequestStatus": "new"}, operation="change status")


def cherrypy(status: str, message: str) -> bytes:
    return (
        f"<html><head><title>{status}</title></head><body><h2>{status}</h2>"
        f'<p>{message}</p><pre id="traceback"></pre><div id="powered_by">Powered by CherryPy 18.10</div>'
        "</body></html>"
    ).encode()


def answer(status: int, headers: dict[str, str] | None = None, body: bytes = b"") -> ApiResponse:
    return ApiResponse(status, headers or {}, body, "https://h/reqmgr2/data/request/pdmvserv_X")


def test_html_message_takes_the_p_and_unescapes() -> None:
    assert (
        html_message(cherrypy("400 Bad Request", "from &#x27;a&#x27; to &lt;b&gt;").decode())
        == "from 'a' to <b>"
    )
    assert (
        html_message("<html><title>t</title><body><h1>502 Bad Gateway</h1></body></html>")
        == "502 Bad Gateway"
    )


def test_reqmgr2_success_is_none() -> None:
    assert ReqMgr2Dialect().error_for(REQ, answer(200, {"Content-Type": "application/json"}, b"{}")) is None


def test_reqmgr2_wrapped_transition_error_1102_lowercase_headers() -> None:
    detail = "Invalid spec parameter value: InvalidStateTransition: from 'normal-archived' to 'new'..."
    headers = {
        "x-rest-status": "1102",
        "x-error-http": "400",
        "x-error-id": "0123456789abcdef0123456789abcdef",
        "x-error-detail": detail,
        "content-type": "text/html;charset=utf-8",
    }
    body = cherrypy(
        "400 Bad Request",
        "Invalid spec parameter value: InvalidStateTransition: Invalid status transition for request: "
        "pdmvserv_X, from &#x27;normal-archived&#x27; to &#x27;new&#x27;",
    )
    err = ReqMgr2Dialect().error_for(REQ, answer(400, headers, body))
    assert isinstance(err, InvalidTransition) and isinstance(err, BadRequest)
    assert err.rest_status == "1102" and err.error_detail == detail
    assert err.error_id == "0123456789abcdef0123456789abcdef"
    assert "from 'normal-archived' to 'new'" in (err.server_message or "")
    text = str(err)
    assert "\n" not in text and text.startswith("change status failed: HTTP 400 (X-REST-Status 1102)")


def test_reqmgr2_transition_error_1101() -> None:
    headers = {"X-Rest-Status": "1101", "X-Error-Detail": "Invalid status transition for request: N"}
    assert isinstance(ReqMgr2Dialect().error_for(REQ, answer(400, headers)), InvalidTransition)


def test_reqmgr2_other_validation_error_is_bad_request() -> None:
    headers = {"X-Rest-Status": "1102", "X-Error-Detail": "Invalid spec parameter value: RequestPriority"}
    err = ReqMgr2Dialect().error_for(REQ, answer(400, headers, cherrypy("400 Bad Request", "Invalid spec")))
    assert type(err) is BadRequest


def test_reqmgr2_403_role_failure_has_no_error_headers() -> None:
    body = cherrypy("403 Forbidden", "You are not allowed to access this resource.")
    err = ReqMgr2Dialect().error_for(REQ, answer(403, {"Content-Type": "text/html"}, body))
    assert isinstance(err, PermissionDenied)
    assert err.server_message == "You are not allowed to access this resource."
    assert err.rest_status is None


def test_reqmgr2_401_empty_body_is_authentication() -> None:
    err = ReqMgr2Dialect().error_for(REQ, answer(401))
    assert isinstance(err, AuthenticationError)
    assert "credentials" in str(err)


def test_reqmgr2_unknown_api_is_not_found_with_info() -> None:
    headers = {
        "X-Rest-Status": "207",
        "X-Error-Detail": "API not supported",
        "X-Error-Info": "valid: request",
    }
    err = ReqMgr2Dialect().error_for(
        REQ, answer(404, headers, cherrypy("404 Not Found", "API not supported"))
    )
    assert isinstance(err, NotFound) and err.error_info == "valid: request"
    assert "valid: request" in str(err)


def test_reqmgr2_server_error_is_retryable_other_500_not() -> None:
    d = ReqMgr2Dialect()
    generic = answer(
        500, {"X-Error-Detail": "Server error"}, cherrypy("500 Internal Server Error", "Server error")
    )
    assert isinstance(d.error_for(REQ, generic), ServerError) and d.is_retryable(REQ, generic)
    plain = answer(500, {}, cherrypy("500 Internal Server Error", "Server error"))
    assert d.is_retryable(REQ, plain)
    specific = answer(500, {}, cherrypy("500 Internal Server Error", "MSTransferor down"))
    assert not d.is_retryable(REQ, specific)


def test_reqmgr2_gateway_page_and_throttle() -> None:
    bad_gateway = (
        b"<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>"
    )
    err = ReqMgr2Dialect().error_for(REQ, answer(502, {"Content-Type": "text/html"}, bad_gateway))
    assert isinstance(err, ServerError) and err.message == "502 Bad Gateway"
    err = ReqMgr2Dialect().error_for(REQ, answer(429, {"Retry-After": "3"}))
    assert isinstance(err, RateLimited) and err.retry_after == 3.0


def test_reqmgr2_redirect_is_never_success() -> None:
    err = ReqMgr2Dialect().error_for(REQ, answer(302, {"Location": "https://sso.example/login"}))
    assert type(err) is ApiError and "never followed" in str(err)


POMS = ApiRequest(
    "POST", "launch_jobs", form=(("campaign_stage_id", "12"),), idempotent=False, operation="launch"
)


def poms(status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> ApiResponse:
    return ApiResponse(status, headers or {"Content-Type": "text/plain"}, body, "https://h/poms/launch_jobs")


def test_poms_launch_redirect_is_an_answer() -> None:
    loc = "https://h/poms/list_launch_file/samdev/production?campaign_stage_id=12&submission_id=77"
    assert PomsDialect().error_for(POMS, poms(303, headers={"Location": loc})) is None
    assert PomsDialect().error_for(POMS, poms(202)) is None


def test_poms_redirect_to_auth_is_authentication() -> None:
    loc = "https://h/poms/auth/samdev/analysis?redir=/poms/launch_jobs"
    err = PomsDialect().error_for(POMS, poms(303, headers={"Location": loc}))
    assert isinstance(err, AuthenticationError) and "/poms/auth/samdev/analysis" in str(err)


def test_poms_401_permission_error_vs_frontend() -> None:
    err = PomsDialect().error_for(POMS, poms(401, b"PermissionError('samdev analysis cannot launch')"))
    assert isinstance(err, PermissionDenied) and "cannot launch" in str(err)
    assert isinstance(PomsDialect().error_for(POMS, poms(401)), AuthenticationError)


def test_poms_held_and_no_more_splits() -> None:
    held = PomsDialect().error_for(POMS, poms(423, b"Campaign stage s1 launches currently held.... queuing"))
    assert isinstance(held, StageHeld) and "queuing" in str(held)
    body = b"Unknown error AssertionError('No more splits in this campaign.')"
    dry = PomsDialect().error_for(POMS, poms(400, body))
    assert isinstance(dry, NoMoreSplits) and dry.server_message == body.decode()
    other = PomsDialect().error_for(POMS, poms(400, b"Missing form field: 'campaign_stage_id'"))
    assert type(other) is BadRequest


@pytest.mark.parametrize(
    ("status", "cls"), [(404, NotFound), (429, RateLimited), (500, ServerError), (503, ServerError)]
)
def test_poms_generic_statuses(status: int, cls: type[ApiError]) -> None:
    assert type(PomsDialect().error_for(POMS, poms(status, b"x"))) is cls


def test_poms_html_error_body_reduced_to_message() -> None:
    err = PomsDialect().error_for(POMS, poms(400, cherrypy("400 Bad Request", "Invalid argument: x"), {}))
    assert err is not None and err.message == "Invalid argument: x"
