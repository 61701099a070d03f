"""Limits and safe defaults over real HTTPS (issue 8 part 4).

Why a hostile server of our own: the emulator answers like the real services, which never send a
gzip bomb, a 64 MiB body or a redirect to another host. A small TLS server in this module (the
emulator's server certificate, so ``ca_cert`` is the emulator's CA) plays the hostile or broken
peer, and a second one plays "another host" to prove nothing ever reaches it.

The unit tests of the decoder (tests/http/test_http_gzip.py) prove the cap on bytes in memory;
these prove it end to end through both transports, with the memory measured (tracemalloc peak and
RSS growth) and the number of bytes the server managed to push before the client hung up.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import logging
import os
import shutil
import ssl
import stat
import threading
import tracemalloc
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import psutil
import pytest

from airflow_provider_poms.emulator.__main__ import parse_args
from airflow_provider_poms.emulator.testing import EmulatorProcess
from airflow_provider_poms.hooks.reqmgr2 import ReqMgr2Hook
from airflow_provider_poms.http.aio import AsyncTransport
from airflow_provider_poms.http.auth import Credentials
from airflow_provider_poms.http.dialects import PomsDialect, ReqMgr2Dialect
from airflow_provider_poms.http.errors import ApiError, ResponseTooLarge
from airflow_provider_poms.http.protocol import ApiRequest
from airflow_provider_poms.http.settings import ConnectionSettings
from airflow_provider_poms.http.sync import SyncTransport

MiB = 1 << 20
CAP = 1 * MiB
BIG = 64 * MiB
SECRET = "limits-test-token-0b7d41e5a9c3"


def _bomb() -> bytes:
    """256 MiB of zeros in ~256 KiB of gzip (four 64 MiB members)."""
    return gzip.compress(b"\0" * (64 * MiB), compresslevel=9) * 4


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _route(self) -> None:
        srv = self.server
        srv.hits.append((self.command, self.path, self.headers.get("Authorization")))
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        if self.path.endswith("/bomb"):
            body = srv.bomb
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif self.path.endswith("/big"):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(BIG))
            self.end_headers()
            chunk = b" " * (64 * 1024)
            try:
                for _ in range(BIG // len(chunk)):
                    self.wfile.write(chunk)
                    srv.sent += len(chunk)
            except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
                self.close_connection = True
        elif "/redirect/" in self.path:
            code = int(self.path.rsplit("/", 1)[-1])
            self.send_response(code)
            self.send_header("Location", f"https://localhost:{srv.target_port}/stolen")
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            body = b'{"result": []}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = _route


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, pki: Path, target_port: int = 0, bomb: bytes = b"") -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(pki / "server.pem", pki / "server-key.pem")
        self.socket = ctx.wrap_socket(self.socket, server_side=True)
        self.hits: list[tuple[str, str, str | None]] = []
        self.sent = 0
        self.bomb = bomb
        self.target_port = target_port

    @property
    def port(self) -> int:
        return int(self.server_address[1])


@pytest.fixture(scope="module")
def servers(emulator: EmulatorProcess) -> Iterator[tuple[_Server, _Server]]:
    """(hostile server at 127.0.0.1, "another host" reached as localhost)."""
    pki = Path(emulator.state_dir) / "pki"
    other = _Server(pki)
    hostile = _Server(pki, target_port=other.port, bomb=_bomb())
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in (hostile, other)]
    for t in threads:
        t.start()
    yield hostile, other
    for s in (hostile, other):
        s.shutdown()
        s.server_close()


def _settings(emulator: EmulatorProcess, server: _Server, service: str = "reqmgr2") -> ConnectionSettings:
    return ConnectionSettings(
        base_url=f"https://127.0.0.1:{server.port}/{service}",
        ca_cert=str(emulator.conn["ca_cert"]),
        token=SECRET,
        max_response_bytes=CAP,
        max_retries=0,
        read_timeout=30.0,
    )


def _measured(call: Any) -> tuple[BaseException, int, int]:
    """(error raised, tracemalloc peak, RSS growth) of ``call()``."""
    rss = psutil.Process().memory_info().rss
    tracemalloc.start()
    try:
        with pytest.raises(ResponseTooLarge) as info:
            call()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return info.value, peak, psutil.Process().memory_info().rss - rss


@pytest.mark.parametrize("path", ["data/bomb", "data/big"])
def test_sync_transport_stops_at_the_cap_with_bounded_memory(
    emulator: EmulatorProcess, servers: tuple[_Server, _Server], path: str
) -> None:
    hostile, _ = servers
    hostile.sent = 0
    transport = SyncTransport(_settings(emulator, hostile), ReqMgr2Dialect())
    try:
        error, peak, rss_growth = _measured(lambda: transport.send(ApiRequest("GET", path)))
    finally:
        transport.close()
    assert "1048576" in str(error) or "1 MiB" in str(error) or "max_response" in str(error), str(error)
    assert peak < CAP + 4 * MiB, f"tracemalloc peak {peak / MiB:.1f} MiB"
    assert rss_growth < 48 * MiB, f"RSS grew {rss_growth / MiB:.1f} MiB"
    if path.endswith("big"):
        # The client hung up long before the 64 MiB were written (socket buffers aside).
        assert hostile.sent < BIG // 2, hostile.sent


@pytest.mark.parametrize("path", ["data/bomb", "data/big"])
def test_async_transport_stops_at_the_cap_with_bounded_memory(
    emulator: EmulatorProcess, servers: tuple[_Server, _Server], path: str
) -> None:
    hostile, _ = servers

    async def scenario() -> None:
        transport = AsyncTransport(_settings(emulator, hostile), ReqMgr2Dialect())
        try:
            await transport.send(ApiRequest("GET", path))
        finally:
            await transport.aclose()

    _, peak, rss_growth = _measured(lambda: asyncio.run(scenario()))
    assert peak < CAP + 4 * MiB, f"tracemalloc peak {peak / MiB:.1f} MiB"
    assert rss_growth < 48 * MiB, f"RSS grew {rss_growth / MiB:.1f} MiB"


@pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_no_redirect_is_followed_to_another_host(
    emulator: EmulatorProcess, servers: tuple[_Server, _Server], code: int, method: str
) -> None:
    """The credentials never travel to the Location's host, sync or async."""
    hostile, other = servers
    other.hits.clear()
    path = f"data/redirect/{code}"
    request = ApiRequest(method, path, json={"x": 1}) if method == "POST" else ApiRequest(method, path)
    transport = SyncTransport(_settings(emulator, hostile), ReqMgr2Dialect())
    try:
        with pytest.raises(ApiError, match="never followed"):
            transport.send(request)
    finally:
        transport.close()

    async def scenario() -> None:
        atransport = AsyncTransport(_settings(emulator, hostile), ReqMgr2Dialect())
        try:
            await atransport.send(request)
        finally:
            await atransport.aclose()

    with pytest.raises(ApiError, match="never followed"):
        asyncio.run(scenario())
    assert other.hits == []
    assert [h for h in hostile.hits if h[1].endswith(f"/redirect/{code}")], "the hostile server saw nothing"


def test_poms_303_to_another_host_is_read_not_followed(
    emulator: EmulatorProcess, servers: tuple[_Server, _Server]
) -> None:
    """POMS' launch answer is a 303; even pointing elsewhere it is parsed, never fetched."""
    hostile, other = servers
    other.hits.clear()
    transport = SyncTransport(_settings(emulator, hostile, "poms"), PomsDialect())
    try:
        try:
            response = transport.send(ApiRequest("POST", "redirect/303", form=(("a", "1"),)))
        except ApiError as exc:  # a 303 not to the POMS pages may also be refused: never followed
            response = None
            assert "303" in str(exc)
    finally:
        transport.close()
    if response is not None:
        assert response.status == 303
        assert response.headers["Location"].startswith("https://localhost:")
    assert other.hits == []


def test_world_readable_token_file_warns_without_showing_the_token(
    emulator: EmulatorProcess, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Mode 0644 works but draws a warning naming the file and the fix; 0600 is silent."""
    token_file = tmp_path / "token"
    shutil.copyfile(emulator.conn["identities"]["operator"]["token"], token_file)
    token = token_file.read_text().strip()
    for mode, warned in ((0o644, True), (0o600, False)):
        token_file.chmod(mode)
        caplog.clear()
        hook = ReqMgr2Hook(settings=emulator.settings("reqmgr2", auth="token", token_file=str(token_file)))
        try:
            with caplog.at_level(logging.WARNING, logger="airflow_provider_poms"):
                assert hook.get_info()  # the call itself works either way
        finally:
            hook.close()
        warnings = [r.getMessage() for r in caplog.records if "readable by group/others" in r.getMessage()]
        assert bool(warnings) is warned, (oct(mode), warnings)
        if warned:
            assert str(token_file) in warnings[0] and "chmod 600" in warnings[0]
            assert oct(stat.S_IMODE(token_file.stat().st_mode)) in warnings[0]
        assert token not in caplog.text


def test_certificate_verification_is_on_by_default(emulator: EmulatorProcess) -> None:
    """A connection that says nothing about verification verifies, in both transports."""
    from airflow.sdk import Connection

    conn = Connection(
        conn_id="limits",
        conn_type="reqmgr2",
        host=emulator.conn["reqmgr2_url"],
        extra=json.dumps({"token_file": emulator.conn["identities"]["operator"]["token"]}),
    )
    settings = ConnectionSettings.from_connection(conn, environ={})
    assert settings.verify is True
    creds = Credentials(settings)
    assert creds.requests_verify() is True  # requests: the system/certifi CAs, never False
    ctx = creds.ssl_context()
    assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname


def test_control_api_is_off_by_default_and_bound_to_loopback(emulator: EmulatorProcess) -> None:
    """The CLI's defaults: no --control, host 127.0.0.1; the running emulator listens on loopback only."""
    defaults = parse_args(["--state-dir", os.devnull])
    assert defaults.control is False
    assert defaults.host == "127.0.0.1"
    server = psutil.Process(int(emulator.conn["pid"]))
    listening = [c.laddr for c in server.net_connections(kind="inet") if c.status == psutil.CONN_LISTEN]
    assert listening, "the emulator listens on nothing?"
    assert {addr.ip for addr in listening} <= {"127.0.0.1", "::1"}, listening
