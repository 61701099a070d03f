"""Typed exceptions of the provider.

Every error carries what a person (or a retry decision, or the duplicate-safety check of a
create/launch) needs: the operation in words, the URL, the HTTP status and the server's own
diagnostics (ReqMgr2's ``X-REST-Status`` / ``X-Error-*`` headers, the message of the HTML ``<p>`` or
POMS' plain-text body). ``str(err)`` is one line that says what failed and why; it never contains a
token or key material because the core never puts them into an error.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ApiError",
    "AuthenticationError",
    "BadRequest",
    "ConfigurationError",
    "InvalidResponse",
    "InvalidTransition",
    "LogicalError",
    "NoMoreSplits",
    "NotFound",
    "PermissionDenied",
    "ProviderError",
    "RateLimited",
    "RequestTimeout",
    "ResponseTooLarge",
    "ServerError",
    "StageHeld",
    "TLSError",
    "TimeoutError_",
    "TransportError",
    "TruncatedResponse",
    "ValidationError",
]

_MAX_MESSAGE = 500


def _one_line(text: str | None, limit: int = _MAX_MESSAGE) -> str:
    """Collapse whitespace so a server message never breaks a log line, and keep it bounded."""
    if not text:
        return ""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


class ProviderError(Exception):
    """Base class of everything this provider raises on purpose.

    ``maybe_sent`` tells whether the server may have acted on the request: False when the failure
    happened before any byte left (bad settings, connect error), True when the request was sent
    and the outcome is unknown or was an error answer from a gateway.
    """

    default_message = "call failed"

    def __init__(
        self,
        message: str = "",
        *,
        operation: str = "",
        url: str = "",
        status: int | None = None,
        rest_status: str | None = None,
        error_detail: str | None = None,
        error_info: str | None = None,
        error_id: str | None = None,
        server_message: str | None = None,
        maybe_sent: bool = False,
    ) -> None:
        self.message = message or self.default_message
        self.operation = operation
        self.url = url
        self.status = status
        self.rest_status = rest_status
        self.error_detail = error_detail
        self.error_info = error_info
        self.error_id = error_id
        self.server_message = server_message
        self.maybe_sent = maybe_sent
        super().__init__(self.message)

    def __str__(self) -> str:
        parts: list[str] = []
        head = f"{self.operation} failed" if self.operation else ""
        if self.status is not None:
            head = f"{head}: HTTP {self.status}" if head else f"HTTP {self.status}"
        if self.rest_status:
            head += f" (X-REST-Status {self.rest_status})"
        if head:
            parts.append(head)
        parts.append(_one_line(self.message))
        if self.error_info and _one_line(self.error_info) not in parts[-1]:
            parts.append(_one_line(self.error_info))
        text = ": ".join(p for p in parts if p)
        if self.url:
            text += f" [{self.url}]"
        if self.error_id:
            text += f" (error id {self.error_id})"
        return text

    def details(self) -> dict[str, Any]:
        """Plain data for XCom / trigger events (no exception objects cross process boundaries)."""
        return {
            "type": type(self).__name__,
            "message": self.message,
            "operation": self.operation,
            "url": self.url,
            "status": self.status,
            "rest_status": self.rest_status,
            "error_detail": self.error_detail,
            "error_info": self.error_info,
            "error_id": self.error_id,
            "server_message": self.server_message,
            "maybe_sent": self.maybe_sent,
        }


class ConfigurationError(ProviderError):
    """The connection settings are unusable (raised before any network I/O)."""

    default_message = "invalid connection settings"


class ValidationError(ProviderError):
    """The caller's input is invalid (raised before any network I/O).

    ``problems`` lists every problem as ``(json_path, message)`` so a user fixes them all at once.
    """

    default_message = "invalid input"

    def __init__(self, message: str = "", *, problems: list[tuple[str, str]] | None = None, **kw: Any):
        self.problems = list(problems or [])
        if not message and self.problems:
            shown = "; ".join(f"{path or '$'}: {msg}" for path, msg in self.problems[:10])
            more = f" (+{len(self.problems) - 10} more)" if len(self.problems) > 10 else ""
            message = f"{len(self.problems)} problem(s): {shown}{more}"
        super().__init__(message, **kw)


class TransportError(ProviderError):
    """The exchange itself failed: connect error, reset, timeout, truncated or unreadable body.

    ``maybe_sent=True`` means the server may have received (and acted on) the request; a caller of a
    non-idempotent operation must check the server's state before sending again.
    """

    default_message = "connection failed"


class RequestTimeout(TransportError):
    """Connect or read timeout."""

    default_message = "timed out"


TimeoutError_ = RequestTimeout


class TLSError(TransportError):
    """TLS handshake failed (server certificate not trusted, client certificate refused...).

    Not retried: it is a configuration problem, and the message says which setting to check.
    """

    default_message = "TLS handshake failed"


class TruncatedResponse(TransportError):
    """The body ended early (short gzip stream, connection closed mid-body)."""

    default_message = "response body truncated"


class InvalidResponse(TransportError):
    """The server answered success but the body is not what the protocol promises (bad JSON)."""

    default_message = "invalid response body"


class ResponseTooLarge(ProviderError):
    """The (decompressed) body is larger than ``max_response_bytes``."""

    default_message = "response too large"


class ApiError(ProviderError):
    """The server answered with a failure."""

    default_message = "the server reported an error"


class AuthenticationError(ApiError):
    """Credentials not accepted (401 at the front-end, POMS 303 to /poms/auth/)."""

    default_message = "authentication failed"


class PermissionDenied(ApiError):
    """Authenticated, but not allowed (ReqMgr2 403, POMS 401 PermissionError)."""

    default_message = "permission denied"


class NotFound(ApiError):
    default_message = "not found"


class BadRequest(ApiError):
    default_message = "bad request"


class InvalidTransition(BadRequest):
    """ReqMgr2 refused a status change (InvalidStateTransition)."""

    default_message = "invalid status transition"


class NoMoreSplits(BadRequest):
    """POMS: the stage's split type is exhausted; nothing was launched."""

    default_message = "no more splits in this campaign stage"


class StageHeld(ApiError):
    """POMS 423: the launch was queued because the stage (or all launches) is held."""

    default_message = "launches are held; the request was queued"


class RateLimited(ApiError):
    """429 Too Many Requests; ``retry_after`` in seconds when the server said."""

    default_message = "rate limited"

    def __init__(self, message: str = "", *, retry_after: float | None = None, **kw: Any) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kw)


class ServerError(ApiError):
    """5xx (including ReqMgr2's 500 "Server error")."""

    default_message = "server error"


class LogicalError(ApiError):
    """HTTP 200 whose content says the call failed (POMS upload_wf status 400, empty create result)."""

    default_message = "the server reported a failure inside a successful answer"
