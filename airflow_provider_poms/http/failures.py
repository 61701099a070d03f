"""Readable transport errors, shared by the requests and httpx edges.

Each edge only says *what kind* of failure happened (connect, TLS, timeout, reset, mid-body) and
whether the request may have left; the wording and the ``maybe_sent`` rule live here once.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from airflow_provider_poms.http.errors import (
    RequestTimeout,
    TLSError,
    TransportError,
    TruncatedResponse,
)

if TYPE_CHECKING:
    from airflow_provider_poms.http.settings import ConnectionSettings

__all__ = [
    "causes",
    "connect_failed",
    "find_ssl_error",
    "is_tls_config_problem",
    "read_timeout",
    "send_failed",
    "tls_failed",
    "truncated",
]


def causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception and everything it wraps (``__cause__``/``__context__``/``reason``/args)."""
    seen: set[int] = set()
    stack: list[BaseException] = [exc]
    while stack:
        cur = stack.pop()
        if id(cur) in seen:
            continue
        seen.add(id(cur))
        yield cur
        for nxt in (cur.__cause__, cur.__context__, getattr(cur, "reason", None), *cur.args):
            if isinstance(nxt, BaseException):
                stack.append(nxt)


def find_ssl_error(exc: BaseException) -> ssl.SSLError | None:
    for cur in causes(exc):
        if isinstance(cur, ssl.SSLError):
            return cur
    text = str(exc)
    if "CERTIFICATE_VERIFY_FAILED" in text or "SSLError" in text:
        return ssl.SSLError(text)
    return None


_CONFIG_MARKERS = (
    "CERTIFICATE_VERIFY_FAILED",
    "ALERT",
    "WRONG_VERSION_NUMBER",
    "NO_PROTOCOLS_AVAILABLE",
    "UNSUPPORTED_PROTOCOL",
    "NO_SHARED_CIPHER",
    "CERTIFICATE_REQUIRED",
)


def is_tls_config_problem(exc: BaseException) -> bool:
    """True when TLS failed because of trust or credentials (retrying cannot help).

    An aborted connection also surfaces as an ``ssl.SSLError`` (EOF, "operation did not complete",
    zero return); those are ordinary transport failures and are *not* configuration problems.
    """
    err = find_ssl_error(exc)
    if err is None:
        return False
    if isinstance(err, ssl.SSLCertVerificationError):
        return True
    if isinstance(
        err,
        ssl.SSLEOFError
        | ssl.SSLZeroReturnError
        | ssl.SSLWantReadError
        | ssl.SSLWantWriteError
        | ssl.SSLSyscallError,
    ):
        return False
    text = f"{err.reason or ''} {err}".upper()
    return any(marker in text for marker in _CONFIG_MARKERS)


def _host(url: str) -> str:
    return urlsplit(url).netloc


def _reason(exc: BaseException) -> str:
    err = find_ssl_error(exc)
    if err is not None:
        if isinstance(err, ssl.SSLCertVerificationError) and err.verify_message:
            return err.verify_message
        return err.reason or str(err)
    text = str(exc) or type(exc).__name__
    return " ".join(text.split())[:300]


def tls_failed(exc: BaseException, url: str, settings: ConnectionSettings, *, handshake: bool) -> TLSError:
    """A TLS problem is a configuration problem: say which setting to look at."""
    err = find_ssl_error(exc)
    verify_failed = isinstance(err, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(exc)
    if verify_failed:
        trusted = f"ca_cert={settings.ca_cert}" if settings.ca_cert else "the system/certifi CAs"
        message = (
            f"server certificate of {_host(url)} is not trusted ({_reason(exc)}); "
            f"trusted: {trusted}; set ca_cert to the CA bundle or directory that signed it"
        )
        return TLSError(message, url=url, maybe_sent=False)
    message = (
        f"TLS with {_host(url)} failed ({_reason(exc)}); check the client certificate/proxy "
        f"({settings.auth_kind}) and that it is not expired"
    )
    # Under TLS 1.3 a refused client certificate shows up after the request was written.
    return TLSError(message, url=url, maybe_sent=not handshake)


def connect_failed(
    exc: BaseException, url: str, settings: ConnectionSettings, *, timeout: bool
) -> TransportError:
    """Nothing was sent: safe to retry any request."""
    if timeout:
        return RequestTimeout(
            f"could not connect to {_host(url)} within {settings.connect_timeout:g} s",
            url=url,
            maybe_sent=False,
        )
    return TransportError(f"could not connect to {_host(url)}: {_reason(exc)}", url=url, maybe_sent=False)


def read_timeout(url: str, settings: ConnectionSettings) -> RequestTimeout:
    return RequestTimeout(
        f"no answer from {_host(url)} within {settings.read_timeout:g} s (read_timeout); "
        "the server may still have acted on the request",
        url=url,
        maybe_sent=True,
    )


def send_failed(exc: BaseException, url: str) -> TransportError:
    """Connection dropped after the request (or part of it) was written."""
    return TransportError(
        f"connection to {_host(url)} dropped before the answer arrived ({_reason(exc)}); "
        "the server may have acted on the request",
        url=url,
        maybe_sent=True,
    )


def truncated(exc: BaseException, url: str, received: int) -> TruncatedResponse:
    return TruncatedResponse(
        f"answer from {_host(url)} cut off after {received} bytes ({_reason(exc)})",
        url=url,
        maybe_sent=True,
    )
