"""A raw HTTP client for the emulator's ReqMgr2, for wire-level tests and debugging.

It sends exactly what it is told (headers included) and returns the ``requests.Response``
untouched, so tests can assert on status codes, headers and body bytes. Not the provider's hook.
"""

from __future__ import annotations

import json
from typing import Any

import requests

JSON_HEADERS = {"Accept": "application/json", "Content-Type": "application/json"}


class RawReqMgr2:
    """``session`` authenticates (client certificate or token); ``base`` is ``.../reqmgr2``."""

    def __init__(self, session: requests.Session, base: str, timeout: float = 30.0) -> None:
        self.session = session
        self.base = base.rstrip("/")
        self.timeout = timeout

    def url(self, path: str) -> str:
        return f"{self.base}/data/{path}"

    def call(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
        params: Any = None,
    ) -> requests.Response:
        hdrs = dict(JSON_HEADERS) if headers is None else headers
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        return self.session.request(
            method, self.url(path), data=data, headers=hdrs, params=params, timeout=self.timeout
        )

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.call("GET", path, **kw)

    def result(self, resp: requests.Response) -> Any:
        """The unwrapped ``result`` list of a 200 answer (asserting it is one)."""
        assert resp.status_code == 200, (resp.status_code, dict(resp.headers), resp.text[:500])
        return resp.json()["result"]

    def create(self, spec: dict[str, Any]) -> str:
        return str(self.result(self.call("POST", "request", body=spec))[0]["request"])

    def doc(self, name: str) -> dict[str, Any]:
        rows = self.result(self.get("request", params={"name": name}))
        assert rows, f"{name} not found"
        return dict(rows[0][name])

    def status(self, name: str) -> str:
        return str(self.doc(name)["RequestStatus"])

    def put(self, name: str, body: dict[str, Any]) -> requests.Response:
        return self.call("PUT", f"request/{name}", body=body)

    def move(self, name: str, *statuses: str) -> None:
        """PUT each status in turn, asserting each answers ``OK``."""
        for st in statuses:
            assert self.result(self.put(name, {"RequestStatus": st})) == [{name: "OK"}], st
