"""What only AsyncTransport (httpx) has, over real HTTPS: one shared pool per event loop.

Everything both transports do alike (auth, TLS, gzip, retries, no duplicate writes) is tested once
per transport in test_http_wire_transports.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from airflow_provider_poms.http.aio import AsyncTransport, shared_async_transport
from airflow_provider_poms.http.dialects import PomsDialect, ReqMgr2Dialect
from airflow_provider_poms.http.errors import BadRequest
from airflow_provider_poms.http.protocol import ApiRequest
from airflow_provider_poms.http.settings import ConnectionSettings

INFO = ApiRequest("GET", "data/info", operation="reqmgr2 info")
Settings = Callable[..., ConnectionSettings]


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
