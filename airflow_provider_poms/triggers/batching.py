"""One poller per service and interval, shared by every waiting trigger of a triggerer process.

A triggerer may run thousands of triggers in one event loop. If each polled on its own, a thousand
waiting sensors would mean a thousand HTTP calls per interval. Instead each trigger *subscribes* the
ids it watches to a :class:`SharedPoller`, keyed by (event loop, service, connection settings key,
interval bucket). The poller makes one batched call per interval for the union of all ids (chunked
so URLs stay sane) and fans the result out to every subscriber.

Robustness rules:

- subscribers unsubscribe in ``finally`` (a cancelled trigger leaves nothing behind); the poller
  stops when its last subscriber leaves;
- a failed batch is retried at the next interval; only after ``max_failures`` consecutive failures
  do subscribers receive an error (they then end with an ``error`` event, which the task turns into a
  clear failure);
- the chunks of one round are fetched concurrently, at most ``max_in_flight`` at a time (see
  :data:`DEFAULT_MAX_IN_FLIGHT`); a round fails as a whole if any chunk fails (the other chunks
  are cancelled and awaited, nothing is delivered), exactly as when chunks went one by one;
- intervals below :func:`min_poll_interval` (10 s) are raised to it; only the testing knob
  ``AIRFLOW_PROVIDER_POMS_MIN_POLL_INTERVAL`` lowers the floor (the emulator's fast clock needs it).

Nothing here knows about HTTP: the fetch function (a hook's async batched getter) is passed in.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
import weakref
from collections.abc import Awaitable, Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

DEFAULT_MIN_POLL_INTERVAL = 10.0
TESTING_MIN_INTERVAL_ENV = "AIRFLOW_PROVIDER_POMS_MIN_POLL_INTERVAL"
#: Poll intervals are rounded down to one of these so triggers asking for 60 s and 61 s share a poller.
_BUCKETS = (0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600)
DEFAULT_MAX_FAILURES = 5
#: Chunks of one round fetched at the same time. One by one, a round of 35 chunks (5,000 ReqMgr2
#: waits) took over a second, which late events pay for; a few in flight hide the round trips.
#: Kept small because every triggerer polls the same production server, and well under the async
#: transport's pool (``http/aio.py``: 20 connections per loop and service, shared by all pollers).
DEFAULT_MAX_IN_FLIGHT = 4

Fetch = Callable[[Sequence[Any]], Awaitable[Mapping[Any, Any]]]
#: Splits a round's ids into the chunks of one fetch each (default: ``chunk_size`` ids per chunk).
Split = Callable[[Sequence[Any]], Sequence[Sequence[Any]]]


def min_poll_interval() -> float:
    """The floor for poll intervals: 10 s, unless the testing knob says otherwise."""
    raw = os.environ.get(TESTING_MIN_INTERVAL_ENV)
    if raw:
        try:
            value = float(raw)
        except ValueError:
            log.warning("%s=%r is not a number; using %s s", TESTING_MIN_INTERVAL_ENV, raw, 10)
        else:
            if value > 0:
                return value
    return DEFAULT_MIN_POLL_INTERVAL


def interval_bucket(requested: float) -> float:
    """The shared interval for a requested one: clamped to the floor, rounded down to a bucket."""
    floor = min_poll_interval()
    requested = max(float(requested), floor)
    candidates = [b for b in _BUCKETS if floor <= b <= requested]
    return float(max(candidates)) if candidates else floor


@dataclass(frozen=True)
class PollResult:
    """What one subscriber receives after a batch: its ids' states, or an error."""

    states: Mapping[Any, Any] = field(default_factory=dict)
    missing: frozenset[Any] = frozenset()
    error: str | None = None
    polled_at: float = 0.0


class Subscription:
    """A trigger's mailbox: the latest result for its ids (older unread results are superseded)."""

    def __init__(self, poller: SharedPoller, ids: Iterable[Any]) -> None:
        self.poller = poller
        self.ids = frozenset(ids)
        self._latest: PollResult | None = None
        self._ready = asyncio.Event()

    def _deliver(self, result: PollResult) -> None:
        self._latest = result
        self._ready.set()

    async def next(self) -> PollResult:
        """Wait for the next batch that concerns this subscription."""
        await self._ready.wait()
        self._ready.clear()
        assert self._latest is not None
        return self._latest

    def close(self) -> None:
        self.poller.unsubscribe(self)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SharedPoller:
    """Polls the union of its subscribers' ids every ``interval`` seconds with batched calls."""

    def __init__(
        self,
        key: Hashable,
        fetch: Fetch,
        interval: float,
        *,
        chunk_size: int = 100,
        max_failures: int = DEFAULT_MAX_FAILURES,
        coalesce: float = 0.05,
        max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
        split: Split | None = None,
    ) -> None:
        self.key = key
        self.fetch = fetch
        self.interval = interval
        self.chunk_size = max(1, chunk_size)
        self.max_in_flight = max(1, max_in_flight)
        self.split = split or self._chunks
        self.max_failures = max(1, max_failures)
        self.coalesce = coalesce
        self.subscribers: set[Subscription] = set()
        self.batches = 0  # completed polling rounds (for tests and logs)
        self.calls = 0  # fetch calls made (one per chunk)
        self.consecutive_failures = 0
        self._task: asyncio.Task[None] | None = None

    def subscribe(self, ids: Iterable[Any]) -> Subscription:
        sub = Subscription(self, ids)
        self.subscribers.add(sub)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name=f"poller {self.key!r}")
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        self.subscribers.discard(sub)
        if not self.subscribers:
            _forget(self)
            if self._task is not None and not self._task.done():
                self._task.cancel()

    def _wanted(self) -> list[Any]:
        ids: set[Any] = set()
        for sub in self.subscribers:
            ids |= sub.ids
        return sorted(ids, key=str)

    def _chunks(self, ids: Sequence[Any]) -> list[Sequence[Any]]:
        return [ids[start : start + self.chunk_size] for start in range(0, len(ids), self.chunk_size)]

    async def _fetch_round(self, chunks: Sequence[Sequence[Any]]) -> dict[Any, Any]:
        """All chunks, at most ``max_in_flight`` at once; the first failure fails the round.

        After a failure no further chunk is sent and those in flight are cancelled. Every chunk
        task is awaited before this returns or raises (also when the poller itself is cancelled),
        so a round leaves no task behind and no exception unretrieved. (Not a ``TaskGroup``: on
        Python 3.11 it leaves the poller task marked as cancelling after a child fails.)
        """
        gate = asyncio.Semaphore(self.max_in_flight)
        failed = False

        async def one(chunk: Sequence[Any]) -> Mapping[Any, Any]:
            nonlocal failed
            async with gate:
                if failed:
                    return {}  # the round already failed: spare the server this call
                self.calls += 1
                try:
                    return await self.fetch(chunk)
                except Exception:
                    failed = True
                    raise

        tasks = [asyncio.create_task(one(chunk)) for chunk in chunks]
        if not tasks:
            return {}
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        finally:
            for task in tasks:
                task.cancel()  # no-op for finished ones
            await asyncio.gather(*tasks, return_exceptions=True)  # wait for all; retrieves every error
        errors = [e for t in tasks if not t.cancelled() and (e := t.exception()) is not None]
        if errors:
            raise errors[0]  # the first failed chunk in chunk order, as when chunks went in turn
        states: dict[Any, Any] = {}
        for task in tasks:  # in chunk order, as before
            states.update(task.result())
        return states

    async def _poll_once(self) -> None:
        wanted = self._wanted()
        if not wanted:
            return
        try:
            states = await self._fetch_round(self.split(wanted))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.consecutive_failures += 1
            log.warning(
                "batched poll %r failed (%d/%d in a row): %s",
                self.key,
                self.consecutive_failures,
                self.max_failures,
                exc,
            )
            if self.consecutive_failures >= self.max_failures:
                message = f"{self.consecutive_failures} polls in a row failed; last error: {exc}"
                for sub in list(self.subscribers):
                    sub._deliver(PollResult(error=message, polled_at=time.time()))
            return
        self.consecutive_failures = 0
        self.batches += 1
        now = time.time()
        for sub in list(self.subscribers):
            mine = {i: states[i] for i in sub.ids if i in states}
            sub._deliver(PollResult(mine, frozenset(sub.ids - mine.keys()), None, now))

    async def _run(self) -> None:
        # A short pause gathers triggers that start together into the first batch.
        await asyncio.sleep(self.coalesce)
        loop = asyncio.get_running_loop()
        while self.subscribers:
            began = loop.time()
            await self._poll_once()
            # Fixed rate: one batch per interval; a slow batch still leaves the server a short breather.
            spent = loop.time() - began
            await asyncio.sleep(max(self.interval - spent, self.interval * 0.1))


# Pollers live per event loop (a triggerer has one; tests create many).
_REGISTRY: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[Hashable, SharedPoller]] = (
    weakref.WeakKeyDictionary()
)


def _forget(poller: SharedPoller) -> None:
    with contextlib.suppress(RuntimeError):
        loop = asyncio.get_running_loop()
        pollers = _REGISTRY.get(loop, {})
        if pollers.get(poller.key) is poller:
            del pollers[poller.key]


def shared_poller(
    service: str,
    settings_key: Hashable,
    poll_interval: float,
    fetch: Fetch,
    **options: Any,
) -> SharedPoller:
    """The poller of this event loop for (service, connection settings, interval bucket).

    ``fetch`` is used only when the poller is created; every subscriber with the same key talks to
    the same server with the same credentials, so any of their fetch functions will do.
    """
    loop = asyncio.get_running_loop()
    bucket = interval_bucket(poll_interval)
    key = (service, settings_key, bucket)
    pollers = _REGISTRY.setdefault(loop, {})
    poller = pollers.get(key)
    if poller is None:
        poller = SharedPoller(key, fetch, bucket, **options)
        pollers[key] = poller
    return poller


def active_pollers() -> list[SharedPoller]:
    """Pollers of the running loop (for tests and diagnostics)."""
    return list(_REGISTRY.get(asyncio.get_running_loop(), {}).values())
