"""Airflow's task lifecycle without Airflow's processes, for chaos and restart runs.

What Airflow does with an operator, reproduced closely enough to test retry and deferral semantics:

- a *try* calls ``operator.execute(context)`` on a worker thread;
- ``TaskDeferred`` hands the trigger (rebuilt from ``serialize()``, as the triggerer does) to one
  asyncio loop shared by every trigger; its first event resumes the task with
  ``execute_complete(context, event)`` on a worker, in the same try;
- any other exception starts the next try (``try_number + 1``) after ``retry_delay`` while tries
  remain; ``AirflowFailException``/``AirflowSensorTimeout`` fail at once, like in Airflow;
- the task state store (a dict per task instance) and XCom survive across tries.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from airflow.sdk.exceptions import (
    AirflowFailException,
    AirflowSensorTimeout,
    AirflowSkipException,
    TaskDeferred,
)

log = logging.getLogger("chaos")


class MemoryStore:
    """``task_state_store`` of one task instance: survives its tries (like Airflow's)."""

    def __init__(self) -> None:
        self._data: dict[str, Any] = {}
        self._lock = threading.Lock()

    def get(self, key: str, default: Any = None) -> Any:
        with self._lock:
            return self._data.get(key, default)

    def set(self, key: str, value: Any, *, retention: Any = None) -> None:
        with self._lock:
            self._data[key] = value

    def delete(self, key: str) -> None:
        with self._lock:
            self._data.pop(key, None)


class FakeTI:
    """The parts of a task instance the provider's operators use."""

    def __init__(self, dag_id: str, run_id: str, task_id: str) -> None:
        self.dag_id, self.run_id, self.task_id = dag_id, run_id, task_id
        self.map_index = -1
        self.try_number = 1
        self.xcom: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcom[key] = value


@dataclass
class Task:
    """One task instance: builds its operator from the upstream results, then tries until done."""

    dag_id: str
    run_id: str
    task_id: str
    build: Callable[[dict[str, Any]], Any]
    retries: int = 8
    retry_delay: float = 1.0
    ti: FakeTI = field(init=False)
    store: MemoryStore = field(default_factory=MemoryStore)
    state: str = "pending"  # pending running deferred success failed skipped
    result: Any = None
    error: BaseException | None = None
    operator: Any = None

    def __post_init__(self) -> None:
        self.ti = FakeTI(self.dag_id, self.run_id, self.task_id)

    def context(self) -> dict[str, Any]:
        return {
            "ti": self.ti,
            "task_instance": self.ti,
            "run_id": self.run_id,
            "task_state_store": self.store,
        }


class Triggerer:
    """One asyncio loop in its own thread that runs every deferred trigger, like Airflow's triggerer."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="triggerer", daemon=True)
        self.thread.start()

    def submit(self, trigger: Any, done: Callable[[dict[str, Any]], None]) -> None:
        classpath, kwargs = trigger.serialize()
        module, _, name = classpath.rpartition(".")
        rebuilt = getattr(importlib.import_module(module), name)(**kwargs)

        async def run() -> None:
            payload: dict[str, Any] = {"status": "error", "message": "trigger ended without an event"}
            try:
                async for event in rebuilt.run():
                    payload = event.payload
                    break
            except Exception as exc:  # a crashing trigger fails the task like Airflow does
                payload = {"status": "error", "message": f"{type(exc).__name__}: {exc}"}
            done(payload)

        asyncio.run_coroutine_threadsafe(run(), self.loop)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


class Runner:
    """Worker pool + triggerer + retry timer; ``start(task, then)`` runs a task to its end state."""

    def __init__(self, workers: int) -> None:
        self.pool = ThreadPoolExecutor(workers, thread_name_prefix="worker")
        self.triggerer = Triggerer()
        self.stats: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._open = 0
        self._idle = threading.Condition(self._lock)

    def start(self, task: Task, then: Callable[[Task], None], upstream: dict[str, Any]) -> None:
        with self._lock:
            self._open += 1
        task.operator = None
        self.pool.submit(self._try, task, then, upstream, None)

    def _try(self, task: Task, then: Callable[[Task], None], up: dict[str, Any], event: Any) -> None:
        task.state = "running"
        try:
            if event is None:
                task.operator = task.build(up)
                result = task.operator.execute(task.context())
            else:
                result = getattr(task.operator, event[0])(task.context(), event[1])
        except TaskDeferred as deferred:
            task.state = "deferred"
            self.stats["deferrals"] += 1
            method = deferred.method_name

            def resume(payload: dict[str, Any]) -> None:
                self.stats[f"trigger_{payload.get('status')}"] += 1
                self.pool.submit(self._try, task, then, up, (method, payload))

            self.triggerer.submit(deferred.trigger, resume)
            return
        except (AirflowFailException, AirflowSensorTimeout) as exc:
            self._finish(task, then, "failed", error=exc)
            return
        except AirflowSkipException as exc:
            self._finish(task, then, "skipped", error=exc)
            return
        except Exception as exc:
            if task.ti.try_number <= task.retries:
                log.info("%s/%s try %d failed: %s", task.run_id, task.task_id, task.ti.try_number, exc)
                task.ti.try_number += 1
                self.stats["task_retries"] += 1
                timer = threading.Timer(
                    task.retry_delay, lambda: self.pool.submit(self._try, task, then, up, None)
                )
                timer.daemon = True
                timer.start()
                return
            self._finish(task, then, "failed", error=exc)
            return
        self._finish(task, then, "success", result=result)

    def _finish(
        self, task: Task, then: Callable[[Task], None], state: str, *, result: Any = None, error: Any = None
    ) -> None:
        task.state, task.result, task.error = state, result, error
        try:
            then(task)
        finally:
            with self._lock:
                self._open -= 1
                self._idle.notify_all()

    def wait(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._open:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._idle.wait(min(remaining, 1.0))
        return True

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.triggerer.stop()


class Pipeline:
    """A chain of tasks (one DAG run): each starts when the previous one succeeded."""

    def __init__(self, runner: Runner, kind: str, run_id: str, tasks: list[Task], expect: str) -> None:
        self.runner, self.kind, self.run_id, self.tasks, self.expect = runner, kind, run_id, tasks, expect
        self.results: dict[str, Any] = {}
        self.done = threading.Event()

    def start(self) -> None:
        self._run(0)

    def _run(self, index: int) -> None:
        if index >= len(self.tasks):
            self.done.set()
            return

        def then(task: Task) -> None:
            self.results[task.task_id] = task.result
            if task.state == "success":
                self._run(index + 1)
            else:
                self.done.set()

        self.runner.start(self.tasks[index], then, dict(self.results))

    @property
    def last(self) -> Task:
        ran = [t for t in self.tasks if t.state != "pending"]
        return ran[-1] if ran else self.tasks[0]


@contextlib.contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables for the run and restore them afterwards."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old
