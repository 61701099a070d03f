"""Applying a chosen fault on the wire (the decision is in ``faults.py``).

Each fault is what a client really meets in front of POMS or cmsweb: an error page from the
service or a front-end, a throttle, a connection dropped before or after the server did the
work, a response that never comes in time, a gzip stream cut short, a broken JSON body.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import html
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from airflow_provider_poms.emulator.core import LogEntry
from airflow_provider_poms.emulator.faults import FaultRule
from airflow_provider_poms.emulator.tls import abort_connection

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

REASONS = {429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
           503: "Service Unavailable", 504: "Gateway Timeout"}


def cherrypy_page(status: int, message: str) -> bytes:
    """The HTML error page CherryPy (ReqMgr2, POMS) sends; the message is in the ``<p>``."""
    title = f"{status} {REASONS.get(status, '')}".strip()
    return (
        '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" '
        '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">\n'
        '<html>\n<head>\n    <meta http-equiv="Content-Type" content="text/html; charset=utf-8"></meta>\n'
        f"    <title>{title}</title>\n</head>\n    <body>\n        <h2>{title}</h2>\n"
        f"        <p>{html.escape(message)}</p>\n        <pre id=\"traceback\"></pre>\n"
        '    <div id="powered_by">\n      <span>\n        Powered by <a href="http://www.cherrypy.dev">'
        "CherryPy 18.10.0</a>\n      </span>\n    </div>\n    </body>\n</html>\n"
    ).encode()


def frontend_page(status: int) -> bytes:
    """A plain front-end (Apache/nginx) error page, as a proxy in front of the service sends."""
    title = f"{status} {REASONS.get(status, '')}".strip()
    return (f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>"
            "\r\n</body>\r\n</html>\r\n").encode()


async def _respond(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


class _Capture:
    """An ASGI ``send`` that keeps the response instead of sending it."""

    def __init__(self) -> None:
        self.status: int | None = None
        self.headers: list[tuple[bytes, bytes]] = []
        self.body = bytearray()

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = int(message["status"])
            self.headers = [(bytes(k).lower(), bytes(v)) for k, v in message.get("headers", [])]
        elif message["type"] == "http.response.body":
            self.body += message.get("body", b"")

    def header(self, name: bytes) -> bytes | None:
        for k, v in self.headers:
            if k == name:
                return v
        return None

    def plain_body(self) -> bytes:
        """The body without its Content-Encoding (the service may have gzipped it)."""
        if self.header(b"content-encoding") == b"gzip":
            try:
                return gzip.decompress(bytes(self.body))
            except (OSError, EOFError):
                return bytes(self.body)
        return bytes(self.body)

    def headers_without(self, *names: bytes) -> list[tuple[bytes, bytes]]:
        return [(k, v) for k, v in self.headers if k not in names]


async def _buffered(receive: Receive) -> Receive:
    """Read the whole request body now; the returned ``receive`` hands it out again."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message.get("type") != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    pending = [{"type": "http.request", "body": b"".join(chunks), "more_body": False}]

    async def replay() -> Message:
        return pending.pop() if pending else await receive()

    return replay


async def _wait_disconnect(receive: Receive, timeout: float = 2.0) -> None:
    """Drain until uvicorn reports the disconnect, so it does not try to send a 500 itself."""
    async def drain() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(drain(), timeout)


async def apply_fault(rule: FaultRule, scope: Scope, receive: Receive, send: Send, app: App,
                      entry: LogEntry | None) -> None:
    """Serve this request with ``rule`` applied; ``entry`` (the request log line) is updated."""
    path = str(scope.get("path", ""))
    transport = scope.get("emulator.transport")
    kind = rule.kind

    def handled(status: int | None) -> None:
        if entry is not None:
            entry.handled = True
            entry.status = status

    if kind == "http":
        status = rule.status
        if status == 429:
            body = frontend_page(429)
            headers = [(b"content-type", b"text/html"), (b"retry-after", str(rule.retry_after).encode())]
        elif status == 500:
            body = cherrypy_page(500, "Server error")
            headers = [(b"content-type", b"text/html;charset=utf-8")]
            if path.startswith("/reqmgr2"):
                headers += [(b"x-rest-status", b"400"), (b"x-error-http", b"500"),
                            (b"x-error-id", secrets.token_hex(16).encode()),
                            (b"x-error-detail", b"Server error")]
        else:
            body = frontend_page(status)
            headers = [(b"content-type", b"text/html")]
        if entry is not None:
            entry.status = status
        await _respond(send, status, headers, body)
    elif kind == "reset_before":
        abort_connection(transport)
        await _wait_disconnect(receive)
    elif kind == "reset_after":
        cap = _Capture()
        await app(scope, receive, cap.send)
        handled(cap.status)
        abort_connection(transport)
        await _wait_disconnect(receive)
    elif kind == "delay":
        # The body is read first, as a real server does before its slow handler: a client that gives
        # up (or dies) during the wait still has its write committed afterwards.
        replay = await _buffered(receive)
        await asyncio.sleep(rule.seconds)
        cap = _Capture()
        await app(scope, replay, cap.send)
        handled(cap.status)
        await _respond(send, cap.status or 500, cap.headers_without(b"content-length"), bytes(cap.body))
    elif kind == "truncated_gzip":
        cap = _Capture()
        await app(scope, receive, cap.send)
        handled(cap.status)
        full = gzip.compress(cap.plain_body())
        cut = full[: 10 + (len(full) - 10) // 2]  # the 10-byte gzip header stays valid
        headers = cap.headers_without(b"content-length", b"content-encoding", b"etag")
        headers += [(b"content-encoding", b"gzip")]
        await _respond(send, cap.status or 200, headers, cut)
    elif kind == "invalid_json":
        cap = _Capture()
        await app(scope, receive, cap.send)
        handled(cap.status)
        plain = cap.plain_body() or b'{"result": ['
        broken = plain[: max(1, len(plain) // 2)] + b'\n<<"not json'
        headers = cap.headers_without(b"content-length", b"content-encoding", b"etag", b"content-type")
        headers += [(b"content-type", b"application/json")]
        if entry is not None:
            entry.status = 200
        await _respond(send, 200, headers, broken)
    else:  # pragma: no cover - FaultRule validates kinds
        raise ValueError(kind)
