"""A raw HTTPS client for the differential check: sends exactly the headers it is given.

Common clients add headers of their own (requests adds ``Accept: */*``, http.client adds
``Accept-Encoding: identity``), which would hide exactly the transport behaviour this tier compares
(406 without Accept, gzip negotiation). This client adds only ``Host`` and, for bodies,
``Content-Length``.
"""

from __future__ import annotations

import http.client
import json
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from .targets import Target


@dataclass(frozen=True)
class RawResponse:
    status: int
    reason: str
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def header(self, name: str) -> str | None:
        low = name.lower()
        values = [v for k, v in self.headers if k.lower() == low]
        return ", ".join(values) if values else None

    def json(self) -> Any:
        return json.loads(self.body)


class RawClient:
    """One keep-alive-free connection per request (simplest to reason about across both targets)."""

    def __init__(self, target: Target, identity: str = "operator") -> None:
        self.target = target
        self.identity = identity
        parts = urlsplit(target.base_url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 443
        self.prefix = parts.path.rstrip("/")  # "/reqmgr2"
        self._ctx = target.ssl_context(identity)

    def as_identity(self, identity: str) -> RawClient:
        return RawClient(self.target, identity)

    def send(
        self,
        method: str,
        path: str,
        headers: dict[str, str] | None = None,
        body: bytes | str | dict[str, Any] | list[Any] | None = None,
    ) -> RawResponse:
        """``path`` is relative to ``<base>/data/`` (e.g. ``request?name=x``)."""
        if isinstance(body, dict | list):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode()
        conn = http.client.HTTPSConnection(self.host, self.port, context=self._ctx, timeout=120)
        try:
            conn.putrequest(method, f"{self.prefix}/data/{path}", skip_accept_encoding=True)
            for name, value in (headers or {}).items():
                conn.putheader(name, value)
            if body is not None:
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body)
            resp = conn.getresponse()
            data = resp.read()
            return RawResponse(resp.status, resp.reason, tuple(resp.getheaders()), data)
        finally:
            conn.close()

    def send_bytes(self, head: str, body: bytes = b"") -> RawResponse:
        """Send a hand-framed request: ``head`` is the request line and headers without Host or the
        blank line (``{prefix}`` in it becomes the base path, e.g. /reqmgr2). For framing that no
        client library produces on purpose, such as the official client's empty POST
        (Transfer-Encoding: chunked *and* Content-Length: 0 *and* Expect: 100-continue)."""
        raw = head.replace("{prefix}", self.prefix).rstrip("\r\n").replace("\n", "\r\n")
        raw += f"\r\nHost: {self.host}:{self.port}\r\n\r\n"
        sock = socket.create_connection((self.host, self.port), timeout=120)
        with self._ctx.wrap_socket(sock, server_hostname=self.host) as tls:
            tls.sendall(raw.encode() + body)
            resp = http.client.HTTPResponse(tls, method=head.split(" ", 1)[0])
            resp.begin()
            data = resp.read()
            return RawResponse(resp.status, resp.reason, tuple(resp.getheaders()), data)

    # conveniences used by scenarios and cases
    def get_json(self, path: str) -> Any:
        resp = self.send("GET", path, {"Accept": "application/json"})
        if resp.status != 200:
            raise AssertionError(f"GET {path}: {resp.status} {resp.header('X-Error-Detail')}")
        return resp.json()["result"]

    def put_json(self, path: str, body: dict[str, Any]) -> RawResponse:
        return self.send(
            "PUT", path, {"Accept": "application/json", "Content-Type": "application/json"}, body
        )

    def post_json(self, path: str, body: Any) -> RawResponse:
        return self.send(
            "POST", path, {"Accept": "application/json", "Content-Type": "application/json"}, body
        )
