"""The wait loop shared by the POMS and ReqMgr2 triggers.

A trigger subscribes its ids to the process-wide :mod:`~airflow_provider_poms.triggers.batching`
poller of its service, judges every batch it receives with the functions of
:mod:`~airflow_provider_poms.triggers.verdict`, logs what changed, and yields exactly one event:

``{"status": "success" | "failure" | "error" | "timeout", "message": str, "snapshots": {...},
"elapsed": seconds, "ids": [...]}``

Everything the trigger needs after a triggerer restart is in its kwargs (plain data): connection id,
ids, targets, failures, poll interval, the deadline as an epoch float, when the wait started, and how
much history was already logged. Success is judged from the service's full history, so a target
passed while the triggerer was down still counts.
"""

from __future__ import annotations

import asyncio
import importlib
import time
from collections.abc import AsyncIterator, Callable, Mapping
from typing import TYPE_CHECKING, Any, cast

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_poms.triggers.batching import PollResult, Split, shared_poller
from airflow_provider_poms.triggers.settings_cache import cached_settings
from airflow_provider_poms.triggers.verdict import (
    FAILURE,
    Judgement,
    describe_duration,
)

if TYPE_CHECKING:
    from airflow_provider_poms.hooks.base import ServiceHook

EVENT_STATUSES = frozenset({"success", "failure", "error", "timeout"})
#: An id absent from this many batches in a row is reported as missing (not found).
MISSING_TOLERANCE = 3


def page_link(make: Callable[[], Any]) -> str:
    """A web page for a log line, or "" when it cannot be made: a link never fails a wait."""
    try:
        return str(make())
    except Exception:
        return ""


class SharedPollTrigger(BaseTrigger):
    """Base of the two triggers; subclasses say how to build the hook, fetch, snapshot and judge."""

    service = ""
    chunk_size = 100
    #: The subclass's own names for the watched ids and the connection id in its kwargs.
    ids_kwarg = "ids"
    conn_kwarg = "conn_id"
    #: The hook (imported when the wait starts) and its batched async status method.
    hook_path = ""
    fetch_method = ""

    def __init__(
        self,
        *,
        conn_id: str,
        ids: list[Any],
        target_statuses: list[str],
        failure_statuses: list[str],
        poll_interval: float = 60.0,
        deadline: float | None = None,
        started_at: float | None = None,
        seen: Mapping[str, int] | None = None,
    ) -> None:
        super().__init__()
        self.conn_id = conn_id
        self.ids = list(ids)
        self.target_statuses = list(target_statuses)
        self.failure_statuses = list(failure_statuses)
        self.poll_interval = float(poll_interval)
        self.deadline = float(deadline) if deadline is not None else None
        self.started_at = float(started_at) if started_at is not None else time.time()
        self.seen: dict[str, int] = {str(k): int(v) for k, v in (seen or {}).items()}
        self._missing: dict[str, int] = {}

    # -- subclass hooks -------------------------------------------------------------------
    def _kwargs(self) -> dict[str, Any]:
        return {
            "ids": list(self.ids),
            "target_statuses": list(self.target_statuses),
            "failure_statuses": list(self.failure_statuses),
            "poll_interval": self.poll_interval,
            "deadline": self.deadline,
            "started_at": self.started_at,
            "seen": dict(self.seen),
        }

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Classpath and plain-data kwargs: all the trigger needs after a triggerer restart."""
        kwargs = self._kwargs()
        kwargs[self.ids_kwarg] = kwargs.pop("ids")
        kwargs[self.conn_kwarg] = self.conn_id
        return f"{type(self).__module__}.{type(self).__qualname__}", kwargs

    def _hook_class(self) -> type[ServiceHook]:
        module, _, name = self.hook_path.rpartition(".")
        return cast("type[ServiceHook]", getattr(importlib.import_module(module), name))

    def _fetcher(self, hook: Any) -> Any:
        return getattr(hook, self.fetch_method)

    def _splitter(self, hook: Any) -> Split | None:
        """How the poller splits a round into fetch calls (None: ``chunk_size`` ids per call)."""
        return None

    def _judge(self, result: PollResult) -> Judgement:
        raise NotImplementedError

    def _log_changes(self, judgement: Judgement, hook: Any) -> None:
        raise NotImplementedError

    async def _enrich(self, judgement: Judgement, hook: Any) -> None:
        """Add what the batched poll does not carry (the POMS trigger: progress numbers)."""

    def _extra_check(self, judgement: Judgement) -> Judgement:
        """A last word on a judgement (the POMS trigger fails a submission Held for too long)."""
        return judgement

    # -- the loop -------------------------------------------------------------------------
    def elapsed(self) -> float:
        return time.time() - self.started_at

    def _event(self, status: str, message: str, snapshots: Mapping[str, Any] | None = None) -> TriggerEvent:
        return TriggerEvent(
            {
                "status": status,
                "message": message,
                "snapshots": dict(snapshots or {}),
                "elapsed": round(self.elapsed(), 3),
                "ids": list(self.ids),
            }
        )

    def _note_missing(self, result: PollResult) -> PollResult:
        """Tolerate a few batches without an id before calling it missing (for eventual consistency)."""
        for ident in result.missing:
            self._missing[str(ident)] = self._missing.get(str(ident), 0) + 1
        for ident in result.states:
            self._missing.pop(str(ident), None)
        return result

    def _missing_for_long(self) -> bool:
        return any(count >= MISSING_TOLERANCE for count in self._missing.values())

    async def _wait(self) -> TriggerEvent:
        # One connection lookup per process and TTL, however many triggers wait (settings_cache).
        hook_class = self._hook_class()
        settings = await cached_settings(hook_class, self.conn_id)
        hook = hook_class(self.conn_id, settings=settings)
        poller = shared_poller(
            self.service,
            settings.key(),
            self.poll_interval,
            self._fetcher(hook),
            chunk_size=self.chunk_size,
            split=self._splitter(hook),
        )
        with poller.subscribe(self.ids) as sub:
            while True:
                remaining = None if self.deadline is None else self.deadline - time.time()
                if remaining is not None and remaining <= 0:
                    return self._timeout_event()
                try:
                    result = await asyncio.wait_for(sub.next(), remaining)
                except TimeoutError:
                    return self._timeout_event()
                if result.error:
                    return self._event("error", f"{self.service}: {result.error}")
                self._note_missing(result)
                if result.missing and not self._missing_for_long():
                    continue
                judgement = self._judge(result)
                await self._enrich(judgement, hook)
                judgement = self._extra_check(judgement)
                self._log_changes(judgement, hook)
                if judgement.done:
                    status = "failure" if judgement.outcome == FAILURE else "success"
                    return self._event(status, judgement.message, judgement.snapshots)

    def _timeout_event(self) -> TriggerEvent:
        return self._event(
            "timeout",
            f"gave up after {describe_duration(self.elapsed())}: {self.ids} not done by the deadline",
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        try:
            event = await self._wait()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # any crash becomes a clean task failure with the reason
            self.log.exception("trigger failed")
            event = self._event("error", f"{type(exc).__name__}: {exc}")
        yield event
