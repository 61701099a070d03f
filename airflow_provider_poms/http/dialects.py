"""What an answer means, per service: ReqMgr2 (WMCore REST) and POMS (CherryPy handlers).

Plain functions on ``ApiResponse`` data; the two ``Dialect`` classes only bundle them. Messages are
taken from the server (ReqMgr2's ``X-Error-*`` headers or the HTML ``<p>``, POMS' plain-text body)
so the user reads the server's reason, in one line.
"""

from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

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
from airflow_provider_poms.http.retry import parse_retry_after

if TYPE_CHECKING:
    from airflow_provider_poms.http.settings import ConnectionSettings

__all__ = [
    "PomsDialect",
    "ReqMgr2Dialect",
    "html_message",
    "poms_error",
    "reqmgr2_diagnostics",
    "reqmgr2_error",
]

_P_RE = re.compile(r"<p>(.*?)</p>", re.IGNORECASE | re.DOTALL)
_TAG_RE = re.compile(r"<[^>]+>")
_TITLE_RE = re.compile(r"<(script|style|title|head)\b.*?</\1>", re.IGNORECASE | re.DOTALL)


def html_message(body: str) -> str:
    """The human message of an HTML error page (CherryPy puts it in the first ``<p>``)."""
    match = _P_RE.search(body)
    text = match.group(1) if match else _TITLE_RE.sub(" ", body)
    text = html.unescape(_TAG_RE.sub(" ", text))
    return " ".join(text.split())


def _body_message(response: ApiResponse) -> str:
    """Plain text or the message of an HTML page; empty for an empty body."""
    text = response.text().strip()
    if not text:
        return ""
    if response.content_type == "text/html" or text.lstrip().startswith("<"):
        return html_message(text)
    return " ".join(text.split())


def _status_class(status: int) -> type[ApiError]:
    if status == 401:
        return AuthenticationError
    if status == 403:
        return PermissionDenied
    if status == 404:
        return NotFound
    if status == 400:
        return BadRequest
    if status == 429:
        return RateLimited
    if status >= 500:
        return ServerError
    return ApiError


def _make(
    cls: type[ApiError], message: str, request: ApiRequest, response: ApiResponse, **kw: Any
) -> ApiError:
    if cls is RateLimited:
        kw["retry_after"] = parse_retry_after(response.headers.get("Retry-After"))
    return cls(message, operation=request.label, url=response.url, status=response.status, **kw)


def _redirect_error(request: ApiRequest, response: ApiResponse) -> ApiError:
    location = response.headers.get("Location", "")
    return _make(
        ApiError,
        f"unexpected redirect to {location or '(no Location)'}; redirects are never followed",
        request,
        response,
    )


# -- ReqMgr2 ---------------------------------------------------------------------------------

_TRANSITION_MARKERS = ("InvalidStateTransition", "Invalid status transition")


def reqmgr2_diagnostics(response: ApiResponse) -> dict[str, str | None]:
    """``X-Rest-Status`` / ``X-Error-*`` (case-insensitive) plus the HTML ``<p>`` message."""
    h = response.headers
    return {
        "rest_status": h.get("X-Rest-Status"),
        "error_detail": h.get("X-Error-Detail"),
        "error_info": h.get("X-Error-Info"),
        "error_id": h.get("X-Error-Id"),
        "server_message": _body_message(response) or None,
    }


def reqmgr2_error(request: ApiRequest, response: ApiResponse) -> ApiError | None:
    """Map a ReqMgr2 answer to an exception; None for success (200; 2xx in general)."""
    status = response.status
    if 200 <= status < 300:
        return None
    if 300 <= status < 400:
        return _redirect_error(request, response)
    diag = reqmgr2_diagnostics(response)
    detail, server_message = diag["error_detail"], diag["server_message"]
    # The <p> carries the full message; X-Error-Detail is truncated to 200 characters.
    message = server_message or detail or ""
    cls = _status_class(status)
    if status == 401 and not message:
        message = (
            "the front-end did not accept this connection's credentials "
            "(certificate/proxy unknown or expired, or token invalid)"
        )
    elif status == 403 and not message:
        message = "not allowed: the identity lacks the role/group this action needs"
    if status == 400 or diag["rest_status"] in ("1101", "1102"):
        haystack = f"{detail or ''} {server_message or ''}"
        if any(marker in haystack for marker in _TRANSITION_MARKERS):
            cls = InvalidTransition
    if not message:
        message = f"HTTP {status} with no message"
    return _make(cls, message, request, response, **diag)


def reqmgr2_is_retryable(request: ApiRequest, response: ApiResponse) -> bool:
    """ReqMgr2's generic 500 "Server error" (unexpected handler exception, CouchDB conflict...)."""
    if response.status != 500:
        return False
    detail = response.headers.get("X-Error-Detail")
    if detail is not None:
        return detail.strip() == "Server error"
    return "Server error" in _body_message(response)


class ReqMgr2Dialect:
    """Always ``Accept: application/json``; GETs never served from an HTTP cache."""

    name = "reqmgr2"

    def default_headers(self, settings: ConnectionSettings) -> dict[str, str]:
        return {"Accept": "application/json", "Cache-Control": "no-cache", "Pragma": "no-cache"}

    def error_for(self, request: ApiRequest, response: ApiResponse) -> ApiError | None:
        return reqmgr2_error(request, response)

    def is_retryable(self, request: ApiRequest, response: ApiResponse) -> bool:
        return reqmgr2_is_retryable(request, response)

    def __repr__(self) -> str:
        return "ReqMgr2Dialect()"


# -- POMS ------------------------------------------------------------------------------------


def poms_auth_redirect(response: ApiResponse) -> bool:
    """POMS answers 303 to ``/poms/auth/<exp>/<role>?redir=...`` when credentials are missing/stale."""
    location = response.headers.get("Location", "")
    return "/auth/" in urlsplit(location).path


def poms_error(request: ApiRequest, response: ApiResponse) -> ApiError | None:
    """Map a POMS answer to an exception; 200, 202 and 303 (not to /auth/) are answers."""
    status = response.status
    if status == 303:
        if poms_auth_redirect(response):
            location = urlsplit(response.headers.get("Location", ""))
            return _make(
                AuthenticationError,
                "POMS wants fresh credentials for this experiment/role "
                f"(redirect to {location.path}): upload a valid proxy/vault token or use a managed token",
                request,
                response,
            )
        return None
    if 200 <= status < 300:
        return None
    if 300 <= status < 400:
        return _redirect_error(request, response)
    message = _body_message(response)
    cls = _status_class(status)
    if status == 401:
        cls = PermissionDenied if "PermissionError" in message else AuthenticationError
        if not message:
            message = "credentials not accepted (certificate/proxy unknown or token invalid)"
    elif status == 423:
        cls = StageHeld
    elif status == 400:
        if "No more splits" in message:
            cls = NoMoreSplits
        elif "Not Authorized" in message:
            cls = PermissionDenied
    if not message:
        message = f"HTTP {status} with no message"
    return _make(cls, message, request, response, server_message=message or None)


def poms_is_retryable(request: ApiRequest, response: ApiResponse) -> bool:
    """An uncaught server exception (500) is worth another try for reads."""
    return response.status == 500


class PomsDialect:
    """Form bodies, no caching, redirects are answers."""

    name = "poms"

    def default_headers(self, settings: ConnectionSettings) -> dict[str, str]:
        return {"Accept": "application/json, text/plain;q=0.9, */*;q=0.8", "Cache-Control": "no-cache"}

    def error_for(self, request: ApiRequest, response: ApiResponse) -> ApiError | None:
        return poms_error(request, response)

    def is_retryable(self, request: ApiRequest, response: ApiResponse) -> bool:
        return poms_is_retryable(request, response)

    def __repr__(self) -> str:
        return "PomsDialect()"
