"""The shared poller: one batched fetch per interval for all subscribers, robust to cancel and errors.

These use an in-memory fetch function (the HTTP side is covered by the emulator tests in
test_triggers_emulator.py); what is tested here is the scheduling and fan-out logic.
"""

from __future__ import annotations

import asyncio
import gc
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


class SlowService:
    """A fetch that takes a while and records how many calls were in flight at once."""

    def __init__(self, fail_chunk_with: str | None = None, delay: float = 0.01) -> None:
        self.in_flight = 0
        self.peak = 0
        self.started: list[list[Any]] = []
        self.cancelled = 0
        self.fail_chunk_with = fail_chunk_with
        self.delay = delay

    async def fetch(self, ids: Sequence[Any]) -> Mapping[Any, Any]:
        self.started.append(list(ids))
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            # uneven delays: chunks finish out of order
            await asyncio.sleep(self.delay * (1 + len(self.started) % 3))
            if self.fail_chunk_with is not None and self.fail_chunk_with in ids:
                raise RuntimeError(f"chunk with {self.fail_chunk_with} failed")
            return {i: f"state-of-{i}" for i in ids if not str(i).startswith("missing")}
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        finally:
            self.in_flight -= 1


IDS = [f"id{i:02d}" for i in range(20)] + ["missing-x"]


async def _one_round(service: SlowService, max_in_flight: int) -> tuple[SharedPoller, list[Any]]:
    poller = SharedPoller("k", service.fetch, 60, chunk_size=2, coalesce=0, max_in_flight=max_in_flight)
    subs = [poller.subscribe(IDS[i : i + 3]) for i in range(0, len(IDS), 3)]
    results = await asyncio.wait_for(asyncio.gather(*(s.next() for s in subs)), 5)
    for s in subs:
        s.close()
    return poller, [(r.states, r.missing, r.error) for r in results]


async def test_chunks_of_a_round_run_concurrently_up_to_the_bound() -> None:
    assert SharedPoller("k", FakeService().fetch, 1).max_in_flight == batching.DEFAULT_MAX_IN_FLIGHT
    service = SlowService()
    poller, _ = await _one_round(service, max_in_flight=3)
    assert service.peak == 3  # concurrent, and never above the bound
    assert poller.calls == len(service.started) == 11  # one call per chunk of 2 (21 ids)
    assert sorted(i for chunk in service.started for i in chunk) == sorted(IDS)


async def test_concurrent_round_gives_the_same_results_as_one_by_one() -> None:
    sequential, concurrent = SlowService(), SlowService()
    seq_poller, seq_results = await _one_round(sequential, max_in_flight=1)
    con_poller, con_results = await _one_round(concurrent, max_in_flight=4)
    assert sequential.peak == 1 and concurrent.peak == 4
    assert con_results == seq_results
    assert con_poller.calls == seq_poller.calls == 11 and con_poller.batches == seq_poller.batches == 1
    assert all(r[2] is None for r in con_results) and con_results[-1][1] == frozenset({"missing-x"})


async def test_a_failing_chunk_fails_the_round_cancels_the_rest_and_leaves_nothing_behind() -> None:
    unretrieved: list[dict[str, Any]] = []
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda loop, ctx: unretrieved.append(ctx))
    service = SlowService(fail_chunk_with="id00", delay=0.05)  # the first chunk fails, others in flight
    poller = SharedPoller("k", service.fetch, 60, chunk_size=2, coalesce=0, max_in_flight=4, max_failures=1)
    before = asyncio.all_tasks()
    sub = poller.subscribe(IDS)
    result = await asyncio.wait_for(sub.next(), 5)
    # as before: the round fails as a whole (no partial delivery) with the chunk's error
    assert result.states == {} and result.error is not None and "chunk with id00 failed" in result.error
    assert poller.batches == 0 and poller.consecutive_failures == 1
    assert service.in_flight == 0 and service.cancelled >= 1  # the others were cancelled and awaited
    assert poller.calls == len(service.started) < 11  # chunks not yet started were never sent
    sub.close()
    await asyncio.sleep(0.01)
    assert asyncio.all_tasks() == before  # no chunk task (nor the poller) left behind
    gc.collect()
    loop.set_exception_handler(None)
    assert not unretrieved  # no "Task exception was never retrieved"


async def test_one_by_one_a_failing_chunk_still_stops_the_round_where_it_failed() -> None:
    service = SlowService(fail_chunk_with="id04")  # the third chunk
    poller = SharedPoller("k", service.fetch, 60, chunk_size=2, coalesce=0, max_in_flight=1, max_failures=1)
    sub = poller.subscribe(IDS)
    result = await asyncio.wait_for(sub.next(), 5)
    assert result.error is not None and poller.calls == 3 and service.cancelled == 0
    sub.close()


async def test_failed_round_is_retried_and_then_delivers_every_chunk() -> None:
    service = SlowService(fail_chunk_with="id10")
    poller = SharedPoller("k", service.fetch, 0.05, chunk_size=2, coalesce=0, max_failures=3)
    sub = poller.subscribe(IDS)
    await asyncio.sleep(0.02)
    service.fail_chunk_with = None  # the server recovers before the next round
    result = await asyncio.wait_for(sub.next(), 5)
    assert result.error is None and len(result.states) == 20 and poller.consecutive_failures == 0
    sub.close()


async def test_cancelling_the_poller_mid_round_cancels_its_chunks() -> None:
    service = SlowService(delay=0.2)
    poller = SharedPoller("k", service.fetch, 60, chunk_size=2, coalesce=0)
    before = asyncio.all_tasks()
    sub = poller.subscribe(IDS)
    await asyncio.sleep(0.05)
    assert service.in_flight == batching.DEFAULT_MAX_IN_FLIGHT
    sub.close()  # the last subscriber leaves: the poller task is cancelled
    await asyncio.sleep(0.01)
    assert service.in_flight == 0 and service.cancelled == batching.DEFAULT_MAX_IN_FLIGHT
    assert asyncio.all_tasks() == before


def test_reqmgr2_split_is_one_get_per_chunk() -> None:
    from airflow_provider_poms.hooks.reqmgr2 import ReqMgr2Hook
    from airflow_provider_poms.hooks.reqmgr2_wire import _build_by_names

    mask = ("RequestStatus", "RequestTransition")
    names = [f"user_Run{i:05d}_StepChain_Task_{i * 7919:08d}" for i in range(1200)]
    chunks = ReqMgr2Hook.status_chunks(names)
    gets = _build_by_names(names, mask)
    assert len(gets) > 1 and len(chunks) == len(gets)  # the same GETs as one call would send
    assert [n for c in chunks for n in c] == names
    for chunk, get in zip(chunks, gets, strict=True):
        (alone,) = _build_by_names(chunk, mask)  # each chunk is exactly one GET
        assert (alone.method, alone.path, alone.params) == (get.method, get.path, get.params)
    assert ReqMgr2Hook.status_chunks(names[:3]) == [names[:3]] and ReqMgr2Hook.status_chunks([]) == []
