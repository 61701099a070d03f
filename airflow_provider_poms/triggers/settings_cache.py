"""Connection settings resolved once per triggerer process, not once per trigger.

A triggerer may run hundreds of waiting triggers on one connection. Each used to build its own hook
and read the Airflow connection (a secrets-backend or API-server round trip) before its first poll;
500 triggers meant 500 identical lookups at every triggerer start. Here the settings are cached per
(hook class, connection id) for ``SETTINGS_TTL`` seconds, and triggers that start together wait for
the one lookup already in flight instead of starting their own.

The TTL is short so a rotated connection (new host, new credential paths, new literal token) is
picked up by triggers that start afterwards; a token *file* is re-read on change by
:mod:`airflow_provider_poms.http.auth` whatever the cache holds. Failed lookups are never cached:
the next trigger asks again.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from airflow_provider_poms.hooks.base import ServiceHook
    from airflow_provider_poms.http.settings import ConnectionSettings

__all__ = ["SETTINGS_TTL", "cached_settings", "clear_settings_cache"]

#: Seconds a resolved connection is reused by triggers that start later.
SETTINGS_TTL = 60.0

_Key = tuple[str, str]
_resolved: dict[_Key, tuple[float, ConnectionSettings]] = {}
# One in-flight lookup per key and event loop (a Task belongs to the loop that created it).
_pending: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, dict[_Key, asyncio.Task[ConnectionSettings]]
] = weakref.WeakKeyDictionary()


def clear_settings_cache() -> None:
    """Forget every resolved connection (tests; a process that knows its connections changed)."""
    _resolved.clear()


async def cached_settings(
    hook_class: type[ServiceHook],
    conn_id: str,
    *,
    ttl: float = SETTINGS_TTL,
    clock: Callable[[], float] = time.monotonic,
) -> ConnectionSettings:
    """The connection's settings, from the cache when younger than ``ttl`` seconds.

    Concurrent callers for the same connection share one lookup; its failure reaches every one of
    them and leaves nothing cached.
    """
    key = (f"{hook_class.__module__}.{hook_class.__qualname__}", conn_id)
    hit = _resolved.get(key)
    if hit is not None and clock() - hit[0] < ttl:
        return hit[1]
    per_loop = _pending.setdefault(asyncio.get_running_loop(), {})
    task = per_loop.get(key)
    if task is None:
        task = asyncio.ensure_future(_lookup(hook_class, conn_id, key, clock))
        per_loop[key] = task
        task.add_done_callback(lambda _done: per_loop.pop(key, None))
    # shield: one cancelled trigger must not cancel the lookup the others are waiting for
    return await asyncio.shield(task)


async def _lookup(
    hook_class: type[ServiceHook], conn_id: str, key: _Key, clock: Callable[[], float]
) -> ConnectionSettings:
    settings = await hook_class(conn_id).aget_settings()
    _resolved[key] = (clock(), settings)
    return settings
