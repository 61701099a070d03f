"""Triggers resolve their Airflow connection once per process and TTL, not once per trigger.

The connections are ``AIRFLOW_CONN_*`` environment variables built from the emulator's
connection.json (as in test_triggers_emulator.py); ``BaseHook.aget_connection`` is wrapped only to
count the lookups, the lookups themselves are Airflow's.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from airflow.sdk import BaseHook

from airflow_provider_poms.emulator.connfile import airflow_connections
from airflow_provider_poms.emulator.reqmgr2.samples import stepchain_spec
from airflow_provider_poms.hooks.poms import PomsHook
from airflow_provider_poms.hooks.reqmgr2 import ReqMgr2Hook
from airflow_provider_poms.triggers import batching
from airflow_provider_poms.triggers.reqmgr2 import ReqMgr2RequestTrigger
from airflow_provider_poms.triggers.settings_cache import cached_settings, clear_settings_cache


@pytest.fixture
def lookups(emulator: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Connections in the environment, an empty cache, and the list of ids Airflow was asked for."""
    for name, conn in airflow_connections(emulator.conn).items():
        monkeypatch.setenv(name, json.dumps(conn))
    monkeypatch.setenv(batching.TESTING_MIN_INTERVAL_ENV, "0.2")
    asked: list[str] = []
    real = BaseHook.aget_connection

    async def counting(cls: type, conn_id: str) -> Any:
        asked.append(conn_id)
        await asyncio.sleep(0.05)  # a slow secrets backend: concurrent triggers overlap
        return await real(conn_id)

    monkeypatch.setattr(BaseHook, "aget_connection", classmethod(counting))
    clear_settings_cache()
    yield asked
    clear_settings_cache()


async def test_concurrent_callers_share_one_lookup_and_ttl_expiry_looks_again(lookups: list[str]) -> None:
    now = [1000.0]
    results = await asyncio.gather(
        *(cached_settings(PomsHook, "poms_default", ttl=30, clock=lambda: now[0]) for _ in range(50))
    )
    assert lookups == ["poms_default"]
    assert len({id(s) for s in results}) == 1 and results[0].base_url.endswith("/poms")

    now[0] += 29
    await cached_settings(PomsHook, "poms_default", ttl=30, clock=lambda: now[0])
    assert lookups == ["poms_default"], "still fresh: served from the cache"
    now[0] += 2
    await cached_settings(PomsHook, "poms_default", ttl=30, clock=lambda: now[0])
    assert lookups == ["poms_default", "poms_default"], "expired: read again (rotated secrets)"

    # a different hook class on a different connection id has its own entry
    reqmgr2 = await cached_settings(ReqMgr2Hook, "reqmgr2_default", clock=lambda: now[0])
    assert reqmgr2.base_url.endswith("/reqmgr2") and lookups[-1] == "reqmgr2_default"


async def test_a_failed_lookup_reaches_every_waiter_and_is_not_cached(lookups: list[str]) -> None:
    outcomes = await asyncio.gather(
        *(cached_settings(PomsHook, "no_such_connection") for _ in range(5)), return_exceptions=True
    )
    assert lookups == ["no_such_connection"]
    assert all(isinstance(o, Exception) and "no_such_connection" in str(o) for o in outcomes)
    with pytest.raises(Exception, match="no_such_connection"):
        await cached_settings(PomsHook, "no_such_connection")
    assert lookups == ["no_such_connection"] * 2, "the failure was not remembered"


async def test_many_triggers_on_one_connection_make_one_lookup(
    lookups: list[str], emulator: Any
) -> None:
    reqmgr2 = ReqMgr2Hook(settings=emulator.settings("reqmgr2"))
    names = [reqmgr2.create_request(stepchain_spec(f"AFcache_{uuid.uuid4().hex[:6]}_{i}")) for i in range(3)]
    triggers = [
        ReqMgr2RequestTrigger(
            request_names=[names[i % len(names)]],
            target_statuses=["assignment-approved"],
            poll_interval=0.2,
            deadline=time.time() + 60,
        )
        for i in range(40)
    ]

    async def first(trigger: ReqMgr2RequestTrigger) -> Any:
        async for event in trigger.run():
            return event.payload
        raise AssertionError("no event")

    tasks = [asyncio.create_task(first(t)) for t in triggers]
    await asyncio.sleep(1.0)
    assert not any(t.done() for t in tasks), "still waiting for the approval"
    for name in names:
        await asyncio.to_thread(reqmgr2.approve_request, name)
    payloads = await asyncio.wait_for(asyncio.gather(*tasks), 60)
    assert all(p["status"] == "success" for p in payloads), payloads[:2]
    assert lookups == ["reqmgr2_default"], f"{len(lookups)} connection lookups for 40 triggers"
