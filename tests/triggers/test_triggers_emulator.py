"""Triggers over real HTTPS against the emulator: resuming after a rebuild, and polling that scales.

Triggers find their connection through ``BaseHook.aget_connection`` like in a triggerer; here the
connections are ``AIRFLOW_CONN_*`` environment variables built from the emulator's connection.json.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qsl

import pytest
from airflow.sdk.serde import deserialize, serialize
from airflow.triggers.base import TriggerEvent

from airflow_provider_poms.emulator.connfile import airflow_connections
from airflow_provider_poms.emulator.reqmgr2.samples import assignment_body, stepchain_spec
from airflow_provider_poms.hooks.poms import PomsHook
from airflow_provider_poms.hooks.reqmgr2 import ReqMgr2Hook
from airflow_provider_poms.triggers import batching
from airflow_provider_poms.triggers.poms import PomsSubmissionTrigger
from airflow_provider_poms.triggers.reqmgr2 import ReqMgr2RequestTrigger


def _import(classpath: str) -> Any:
    module, _, name = classpath.rpartition(".")
    return getattr(__import__(module, fromlist=[name]), name)


def rebuild(trigger: Any) -> Any:
    """What the triggerer does after a restart: classpath + kwargs through Airflow's serde."""
    classpath, kwargs = trigger.serialize()
    return _import(classpath)(**deserialize(serialize(kwargs)))


async def first_event(trigger: Any, timeout: float = 60) -> TriggerEvent:
    async def run() -> TriggerEvent:
        async for event in trigger.run():
            return event
        raise AssertionError("the trigger ended without an event")

    return await asyncio.wait_for(run(), timeout)


@pytest.fixture
def conns(emulator: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, conn in airflow_connections(emulator.conn).items():
        monkeypatch.setenv(name, json.dumps(conn))
    monkeypatch.setenv(batching.TESTING_MIN_INTERVAL_ENV, "0.2")
    yield


@pytest.fixture
def reqmgr2(emulator: Any) -> ReqMgr2Hook:
    return ReqMgr2Hook(settings=emulator.settings("reqmgr2"))


def _assigned_request(reqmgr2: ReqMgr2Hook, tag: str) -> str:
    name = reqmgr2.create_request(stepchain_spec(f"AFtrig_{tag}"))
    reqmgr2.approve_request(name)
    reqmgr2.assign_request(name, assignment_body())
    return name


async def test_reqmgr2_trigger_rebuilt_mid_wait_still_counts_what_passed_meanwhile(
    conns: None, reqmgr2: ReqMgr2Hook
) -> None:
    name = _assigned_request(reqmgr2, uuid.uuid4().hex[:8])
    trigger = ReqMgr2RequestTrigger(
        request_names=[name], target_statuses=["running-closed"], poll_interval=0.2
    )
    first = asyncio.create_task(first_event(trigger))
    while not trigger.seen.get(name):  # it has polled and logged the path so far
        await asyncio.sleep(0.05)
    first.cancel()  # the triggerer goes away mid-wait
    with pytest.raises(asyncio.CancelledError):
        await first
    assert not batching.active_pollers(), "a cancelled trigger leaves no poller behind"

    seen_before = dict(trigger.seen)
    # the request moves on while nobody watches: running-closed comes and goes
    await asyncio.sleep(8)
    resumed = rebuild(trigger)
    assert resumed.seen == seen_before and resumed.started_at == trigger.started_at
    event = await first_event(resumed)
    assert event.payload["status"] == "success", event.payload
    assert "reached running-closed" in event.payload["message"]
    assert "(now completed)" in event.payload["message"]
    assert event.payload["snapshots"][name]["status"] == "completed"


async def test_reqmgr2_trigger_fails_fast_when_target_becomes_unreachable(
    conns: None, reqmgr2: ReqMgr2Hook, emulator: Any
) -> None:
    tag = uuid.uuid4().hex[:8]
    emulator.control.script_reqmgr2(f"*AFtrig_{tag}*", "acquired", "abort")
    name = _assigned_request(reqmgr2, tag)
    trigger = ReqMgr2RequestTrigger(
        request_names=[name], target_statuses=["completed"], poll_interval=0.2, deadline=time.time() + 60
    )
    event = await first_event(trigger)
    assert event.payload["status"] == "failure"
    assert "path taken: new (" in event.payload["message"] and "-> aborted (" in event.payload["message"]


async def test_trigger_timeout_and_connection_errors_become_events(conns: None, reqmgr2: ReqMgr2Hook) -> None:
    name = reqmgr2.create_request(stepchain_spec(f"AFtrig_{uuid.uuid4().hex[:8]}"))
    trigger = ReqMgr2RequestTrigger(
        request_names=[name], target_statuses=["completed"], poll_interval=0.2, deadline=time.time() + 1.5
    )
    event = await first_event(trigger)
    assert event.payload["status"] == "timeout" and "not done by the deadline" in event.payload["message"]

    ghost = ReqMgr2RequestTrigger(
        request_names=["operator_NoSuchRequest_261122_000000_1"],
        target_statuses=["completed"],
        poll_interval=0.2,
    )
    event = await first_event(ghost)
    assert event.payload["status"] == "failure" and "does not exist" in event.payload["message"]

    broken = ReqMgr2RequestTrigger(
        request_names=[name], target_statuses=["completed"], reqmgr2_conn_id="no_such_connection"
    )
    event = await first_event(broken)
    assert event.payload["status"] == "error" and "no_such_connection" in event.payload["message"]


async def test_poms_trigger_reports_held_then_fires_on_located(
    conns: None, emulator: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    poms = PomsHook(settings=emulator.settings("poms", experiment="samdev", role="production"))
    emulator.control.script_poms("next", ["Idle", "Held"])
    stage = poms.get_campaign_stage_id("samdev", "demo_campaign", "stage1")
    sid = poms.launch_campaign_stage_jobs(stage).submission_id
    while poms.get_submission_status(sid).status != "Held":
        await asyncio.sleep(0.1)
    trigger = PomsSubmissionTrigger(
        submission_ids=[sid], target_statuses=["Located"], failure_statuses=["Failed"], poll_interval=0.2
    )
    task = asyncio.create_task(first_event(trigger))
    await asyncio.sleep(1.0)
    assert not task.done()
    assert trigger.held_since is not None  # Held seen and timed (survives serialize())
    assert rebuild(trigger).held_since == trigger.held_since
    await asyncio.to_thread(poms.update_submission, sid, status="Located")
    event = await task
    assert (
        event.payload["status"] == "success"
        and f"submission {sid} reached Located" in event.payload["message"]
    )
    logged = capsys.readouterr().out  # Airflow's structlog writes the trigger log to stdout here
    assert f"submission {sid} is Held: it will not progress until someone acts" in logged
    assert f"submission {sid} -> Located at" in logged


def _count_polls(entries: list[dict[str, Any]]) -> tuple[int, int]:
    """(GET calls with the status mask, names asked in them)."""
    calls = names = 0
    for entry in entries:
        query = dict.fromkeys(k for k, _ in parse_qsl(entry.get("query") or ""))
        if entry["method"] == "GET" and "mask" in query:
            calls += 1
            names += sum(1 for k, _ in parse_qsl(entry.get("query") or "") if k == "name")
    return calls, names


async def test_500_waiting_triggers_share_a_handful_of_polls_per_interval(
    conns: None, reqmgr2: ReqMgr2Hook, emulator: Any
) -> None:
    count = 500
    tag = uuid.uuid4().hex[:6]
    with ThreadPoolExecutor(4) as pool:
        names = list(
            pool.map(
                lambda i: reqmgr2.create_request(stepchain_spec(f"AF{tag}_{i}"), dedupe=False), range(count)
            )
        )
    interval = 1.0
    triggers = [
        ReqMgr2RequestTrigger(
            request_names=[n], target_statuses=["assignment-approved"], poll_interval=interval
        )
        for n in names
    ]
    since = emulator.control.log_index()
    started = time.monotonic()
    tasks = [asyncio.create_task(first_event(t, timeout=240)) for t in triggers]
    await asyncio.sleep(5)  # only the 500 waiting triggers talk to the server meanwhile
    waited = time.monotonic() - started
    assert not any(t.done() for t in tasks)
    [poller] = batching.active_pollers()
    assert len(poller.subscribers) == count
    batches = poller.batches  # finished batches; one more may be in flight while the log is read
    during_wait = emulator.control.request_log(since)
    finished = poller.batches
    calls, asked = _count_polls(during_wait)
    assert calls == len(during_wait), "nothing but batched status polls reached the server"
    print(
        f"{count} triggers waited {waited:.1f}s: {batches} batches, {calls} HTTP calls, {asked} names asked"
    )
    assert 2 <= batches <= waited / interval + 1
    assert calls / (finished + 1) <= 8, "a handful of calls per interval (URL-length chunks of one batch)"
    per_name = Counter(v for e in during_wait for k, v in parse_qsl(e.get("query") or "") if k == "name")
    assert set(per_name) == set(names)
    assert {n for n, times in per_name.items() if not batches <= times <= finished + 1} == set(), (
        "each waiting request asked for exactly once per interval (the last batch may be half done)"
    )

    with ThreadPoolExecutor(4) as pool:
        await asyncio.to_thread(lambda: list(pool.map(reqmgr2.approve_request, names)))
    events = await asyncio.gather(*tasks)
    assert all(e.payload["status"] == "success" for e in events), "every trigger fired"
    assert {n for e in events for n in e.payload["ids"]} == set(names)
    assert not batching.active_pollers()
