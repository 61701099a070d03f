"""The shared poller: one batched fetch per interval for all subscribers, robust to cancel and errors.

These use an in-memory fetch function (the HTTP side is covered by the emulator tests in
test_triggers_emulator.py); what is tested here is the scheduling and fan-out logic.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from airflow_provider_poms.triggers import batching
from airflow_provider_poms.triggers.batching import (
    SharedPoller,
    active_pollers,
    interval_bucket,
    min_poll_interval,
    shared_poller,
)


class FakeService:
    def __init__(self, fail_times: int = 0) -> None:
        self.calls: list[list[Any]] = []
        self.fail_times = fail_times

    async def fetch(self, ids: Sequence[Any]) -> Mapping[Any, Any]:
        self.calls.append(list(ids))
        if self.fail_times > 0:
            self.fail_times -= 1
            raise RuntimeError("boom")
        return {i: f"state-of-{i}" for i in ids if not str(i).startswith("missing")}


@pytest.fixture(autouse=True)
def fast_floor(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(batching.TESTING_MIN_INTERVAL_ENV, "0.05")


def test_interval_floor_and_buckets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(batching.TESTING_MIN_INTERVAL_ENV)
    assert min_poll_interval() == 10.0
    assert interval_bucket(1) == 10.0  # never below the floor without the testing knob
    assert interval_bucket(61) == 60.0
    assert interval_bucket(59) == 30.0
    monkeypatch.setenv(batching.TESTING_MIN_INTERVAL_ENV, "0.2")
    assert interval_bucket(0.01) == 0.2
    monkeypatch.setenv(batching.TESTING_MIN_INTERVAL_ENV, "nonsense")
    assert min_poll_interval() == 10.0


async def test_many_subscribers_share_one_call_per_interval() -> None:
    service = FakeService()
    poller = shared_poller("svc", ("k",), 0.05, service.fetch, chunk_size=1000)
    subs = [poller.subscribe([f"id{i}"]) for i in range(600)]
    results = await asyncio.gather(*(s.next() for s in subs))
    assert len(service.calls) == 1 and len(service.calls[0]) == 600
    assert all(r.states == {f"id{i}": f"state-of-id{i}"} for i, r in enumerate(results))
    # the same key returns the same poller; a different interval bucket another one
    assert shared_poller("svc", ("k",), 0.05, service.fetch) is poller
    assert shared_poller("svc", ("k",), 5, service.fetch) is not poller
    for s in subs:
        s.close()
    assert poller not in active_pollers()


async def test_chunking_and_missing_ids() -> None:
    service = FakeService()
    poller = SharedPoller("k", service.fetch, 0.05, chunk_size=2, coalesce=0)
    sub = poller.subscribe(["a", "b", "c", "missing-d"])
    result = await sub.next()
    assert [len(c) for c in service.calls] == [2, 2]
    assert result.missing == frozenset({"missing-d"})
    sub.close()


async def test_errors_retried_then_reported_after_max_failures() -> None:
    service = FakeService(fail_times=2)
    poller = SharedPoller("k", service.fetch, 0.05, max_failures=3, coalesce=0)
    sub = poller.subscribe(["a"])
    result = await asyncio.wait_for(sub.next(), 5)
    assert result.error is None and result.states == {"a": "state-of-a"}  # two failures absorbed
    assert len(service.calls) == 3
    sub.close()

    service = FakeService(fail_times=100)
    poller = SharedPoller("k2", service.fetch, 0.05, max_failures=3, coalesce=0)
    sub = poller.subscribe(["a"])
    result = await asyncio.wait_for(sub.next(), 5)
    assert result.error is not None and "3 polls in a row failed" in result.error and "boom" in result.error
    sub.close()


async def test_cancelled_subscriber_unsubscribes_and_poller_stops() -> None:
    service = FakeService()
    poller = shared_poller("svc", ("cancel",), 0.05, service.fetch)

    async def waiter() -> None:
        with poller.subscribe(["x"]) as sub:
            while True:
                await sub.next()

    task = asyncio.create_task(waiter())
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not poller.subscribers
    assert poller not in active_pollers()
    calls = len(service.calls)
    await asyncio.sleep(0.2)
    assert len(service.calls) == calls  # no polling without subscribers
