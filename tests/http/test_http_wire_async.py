"""AsyncTransport (httpx) over real HTTPS: same behaviour as the sync edge, shared per event loop."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_poms.http.aio import AsyncTransport, shared_async_transport
from airflow_provider_poms.http.dialects import PomsDialect, ReqMgr2Dialect
from airflow_provider_poms.http.errors import (
    AuthenticationError,
    BadRequest,
    InvalidResponse,
    RequestTimeout,
    ResponseTooLarge,
    ServerError,
    TLSError,
    TransportError,
    TruncatedResponse,
)
from airflow_provider_poms.http.protocol import ApiRequest
from airflow_provider_poms.http.settings import ConnectionSettings

INFO = ApiRequest("GET", "data/info", operation="reqmgr2 info")
CAMPAIGNS = ApiRequest(
    "POST",
    "show_campaigns",
    form=(("experiment", "samdev"), ("role", "production"), ("fmt", "json")),
    operation="show campaigns",
)
CREATE = ApiRequest(
    "POST", "data/request", json={"RequestType": "StepChain"}, idempotent=False, operation="create request"
)

Settings = Callable[..., ConnectionSettings]


@pytest.mark.parametrize("auth", ["cert", "proxy", "token"])
async def test_every_auth_kind(auth: str, emu_settings: Settings, log_since: Any) -> None:
    async with AsyncTransport(emu_settings("reqmgr2", "requestor", auth), ReqMgr2Dialect()) as t:
        assert (await t.send(INFO)).json()["result"]
    async with AsyncTransport(emu_settings("poms", "operator", auth), PomsDialect()) as t:
        assert (await t.send(CAMPAIGNS)).json()["experiment"] == "samdev"
    assert [e["login"] for e in log_since()] == ["requestor", "operator"]


async def test_token_rotation(emulator: Any, emu_settings: Settings, tmp_path: Path, log_since: Any) -> None:
    idents = emulator.conn["identities"]
    token = tmp_path / "token"
    token.write_text(Path(idents["operator"]["token"]).read_text())
    token.chmod(0o600)
    settings = emu_settings("reqmgr2", auth="token").with_changes(token_file=str(token))
    async with AsyncTransport(settings, ReqMgr2Dialect()) as t:
        await t.send(INFO)
        token.write_text(Path(idents["requestor"]["token"]).read_text() + "\n\n")
        await t.send(INFO)
    assert [e["login"] for e in log_since()] == ["operator", "requestor"]


async def test_wrong_token(emulator: Any) -> None:
    settings = ConnectionSettings(
        emulator.conn["poms_url"], ca_cert=emulator.conn["ca_cert"], token="bogus-token"
    )
    async with AsyncTransport(settings, PomsDialect()) as t:
        with pytest.raises(AuthenticationError) as info:
            await t.send(CAMPAIGNS)
    assert info.value.status == 401


async def test_tls_default_and_wrong_ca(emulator: Any, other_ca: Path, emu_settings: Settings) -> None:
    default = ConnectionSettings(emulator.conn["reqmgr2_url"], proxy=emulator.conn["proxy"])
    async with AsyncTransport(default, ReqMgr2Dialect()) as t:
        with pytest.raises(TLSError, match="not trusted"):
            await t.send(INFO)
    started = time.monotonic()
    async with AsyncTransport(
        emu_settings("reqmgr2", ca_cert=str(other_ca), backoff=1.0), ReqMgr2Dialect()
    ) as t:
        with pytest.raises(TLSError) as info:
            await t.send(INFO)
    assert time.monotonic() - started < 5
    assert str(other_ca) in str(info.value) and not info.value.maybe_sent


async def test_hashed_ca_dir_and_verify_off(
    hashed_ca_dir: Path, emu_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    async with AsyncTransport(emu_settings("reqmgr2", ca_cert=str(hashed_ca_dir)), ReqMgr2Dialect()) as t:
        assert (await t.send(INFO)).status == 200
    off = emu_settings("reqmgr2").with_changes(ca_cert=None, verify=False)
    with caplog.at_level(logging.WARNING, logger="airflow_provider_poms.http.auth"):
        async with AsyncTransport(off, ReqMgr2Dialect()) as t:
            await t.send(INFO)
            await t.send(INFO)
    assert len([r for r in caplog.records if "verification is OFF" in r.getMessage()]) == 2


@pytest.mark.parametrize("gzip", [True, False])
async def test_gzip_on_and_off(gzip: bool, emu_settings: Settings) -> None:
    async with AsyncTransport(emu_settings("reqmgr2", gzip=gzip), ReqMgr2Dialect()) as t:
        response = await t.send(ApiRequest("GET", "data/request", params=(("name", "none"),)))
    assert response.json() == {"result": []}
    assert response.headers.get("Content-Encoding") == ("gzip" if gzip else None)


async def test_response_cap(emu_settings: Settings) -> None:
    async with AsyncTransport(emu_settings("poms", max_response_bytes=1024), PomsDialect()) as t:
        with pytest.raises(ResponseTooLarge):
            await t.send(CAMPAIGNS)


@pytest.mark.parametrize(
    "fault",
    [
        {"kind": "http", "status": 503},
        {"kind": "http", "status": 500},
        {"kind": "reset_before"},
        {"kind": "reset_after"},
        {"kind": "truncated_gzip"},
        {"kind": "invalid_json"},
    ],
)
async def test_reads_are_retried(
    fault: dict[str, Any], emulator: Any, emu_settings: Settings, log_since: Any
) -> None:
    emulator.control.add_fault(path="/reqmgr2/data/info", count=2, **fault)
    async with AsyncTransport(emu_settings("reqmgr2"), ReqMgr2Dialect()) as t:
        assert (await t.send(INFO)).json()["result"]
    assert [e["fault"] is not None for e in log_since("/reqmgr2/data/info")] == [True, True, False]


async def test_retry_after(emulator: Any, emu_settings: Settings) -> None:
    emulator.control.add_fault("http", path="/reqmgr2/data/info", status=429, retry_after=1, count=1)
    started = time.monotonic()
    async with AsyncTransport(emu_settings("reqmgr2"), ReqMgr2Dialect()) as t:
        await t.send(INFO)
    assert time.monotonic() - started >= 1.0


@pytest.mark.parametrize(
    ("kind", "error"),
    [
        ("reset_after", TransportError),
        ("reset_before", TransportError),
        ("truncated_gzip", TruncatedResponse),
        ("invalid_json", InvalidResponse),
    ],
)
@pytest.mark.parametrize("warm", [False, True], ids=["new-connection", "kept-alive-connection"])
async def test_non_idempotent_write_is_never_resent(
    warm: bool, kind: str, error: type[Exception], emulator: Any, emu_settings: Settings, log_since: Any
) -> None:
    emulator.control.add_fault(kind, path="/reqmgr2/data/request", method="POST", count=1)
    async with AsyncTransport(emu_settings("reqmgr2"), ReqMgr2Dialect()) as t:
        if warm:
            await t.send(INFO)
        with pytest.raises(error) as info:
            await t.send(CREATE)
    assert info.value.maybe_sent is True  # type: ignore[attr-defined]
    writes = log_since("/reqmgr2/data/request", writes_only=True)
    assert len(writes) == 1 and writes[0]["fault"] == kind


async def test_write_503_not_retried(emulator: Any, emu_settings: Settings, log_since: Any) -> None:
    emulator.control.add_fault("http", path="/reqmgr2/data/request", method="POST", status=503, count=1)
    async with AsyncTransport(emu_settings("reqmgr2"), ReqMgr2Dialect()) as t:
        with pytest.raises(ServerError):
            await t.send(CREATE)
    assert len(log_since("/reqmgr2/data/request", writes_only=True)) == 1


async def test_read_timeout(emulator: Any, emu_settings: Settings, log_since: Any) -> None:
    emulator.control.add_fault("delay", path="/reqmgr2/data/request", method="POST", seconds=1.5, count=1)
    async with AsyncTransport(emu_settings("reqmgr2", read_timeout=0.5), ReqMgr2Dialect()) as t:
        with pytest.raises(RequestTimeout) as info:
            await t.send(CREATE)
    assert info.value.maybe_sent
    assert len(log_since("/reqmgr2/data/request", writes_only=True)) == 1


async def test_shared_transport_one_pool_for_concurrent_calls(
    emu_settings: Settings, count_connects: Any
) -> None:
    settings = emu_settings("reqmgr2")
    first = shared_async_transport(settings, ReqMgr2Dialect())
    assert shared_async_transport(emu_settings("reqmgr2"), ReqMgr2Dialect()) is first
    assert shared_async_transport(settings, PomsDialect()) is not first
    assert (
        shared_async_transport(emu_settings("reqmgr2", identity="requestor"), ReqMgr2Dialect()) is not first
    )
    try:
        for _ in range(20):  # sequential: one connection, reused
            await first.send(INFO)
        with pytest.raises(BadRequest):
            await first.send(ApiRequest("PUT", "data/request/no-such-request", json={"RequestPriority": 1}))
        await first.send(INFO)
        assert count_connects.count == 1
        # 30 triggers polling at once share a bounded pool (20 connections at most)
        await asyncio.gather(
            *(shared_async_transport(settings, ReqMgr2Dialect()).send(INFO) for _ in range(30))
        )
        assert count_connects.count <= 20
    finally:
        await first.aclose()


def test_transport_per_event_loop(emu_settings: Settings) -> None:
    """A transport used from two loops (e.g. two asyncio.run calls) opens a pool per loop."""
    transport = AsyncTransport(emu_settings("reqmgr2"), ReqMgr2Dialect())
    assert asyncio.run(transport.send(INFO)).status == 200
    assert asyncio.run(transport.send(INFO)).status == 200
