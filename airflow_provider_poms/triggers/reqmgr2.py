"""Deferrable wait on one or more ReqMgr2 requests.

All waiting triggers of a triggerer share one batched ``GET request?name=..&mask=RequestStatus
&mask=RequestTransition`` per connection and interval (see :mod:`.batching`). Success is judged from
``RequestTransition``, so a target passed between two polls (or while the triggerer was restarting)
counts as reached; the trigger fails at once when a request sits where the transition table offers
no path to any target.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from airflow_provider_poms.triggers.base import SharedPollTrigger
from airflow_provider_poms.triggers.batching import PollResult
from airflow_provider_poms.triggers.verdict import (
    Judgement,
    describe_duration,
    describe_time,
    judge_reqmgr2,
    new_steps,
    reqmgr2_snapshot,
)


class ReqMgr2RequestTrigger(SharedPollTrigger):
    """Fires when every request reached a target status, or one of them can no longer get there."""

    service = "reqmgr2"
    #: Names per fetch; the hook itself splits them into GETs whose query stays under its URL limit.
    chunk_size = 5000

    def __init__(
        self,
        *,
        request_names: Sequence[str],
        target_statuses: Sequence[str],
        failure_statuses: Sequence[str] = (),
        reqmgr2_conn_id: str = "reqmgr2_default",
        poll_interval: float = 60.0,
        deadline: float | None = None,
        started_at: float | None = None,
        seen: Mapping[str, int] | None = None,
    ) -> None:
        super().__init__(
            conn_id=reqmgr2_conn_id,
            ids=list(request_names),
            target_statuses=list(target_statuses),
            failure_statuses=list(failure_statuses),
            poll_interval=poll_interval,
            deadline=deadline,
            started_at=started_at,
            seen=seen,
        )

    def serialize(self) -> tuple[str, dict[str, Any]]:
        kwargs = self._kwargs()
        kwargs["request_names"] = kwargs.pop("ids")
        kwargs["reqmgr2_conn_id"] = self.conn_id
        return f"{type(self).__module__}.{type(self).__qualname__}", kwargs

    def _make_hook(self) -> Any:
        from airflow_provider_poms.hooks.reqmgr2 import ReqMgr2Hook

        return ReqMgr2Hook(reqmgr2_conn_id=self.conn_id)

    def _fetcher(self, hook: Any) -> Any:
        return hook.aget_status_and_transitions

    def _judge(self, result: PollResult) -> Judgement:
        snaps = {name: reqmgr2_snapshot(name, result.states.get(name)) for name in self.ids}
        return judge_reqmgr2(snaps, self.target_statuses, self.failure_statuses)

    def _log_changes(self, judgement: Judgement, hook: Any) -> None:
        waited = describe_duration(self.elapsed())
        for name, snap in judgement.snapshots.items():
            fresh = new_steps(snap, self.seen.get(name, 0), "transitions")
            for status, when, dn in fresh:
                self.log.info(
                    "request %s -> %s at %s%s (waiting %s) %s",
                    name,
                    status,
                    describe_time(when),
                    f" by {dn}" if dn else "",
                    waited,
                    _request_url(hook, name),
                )
            if snap is not None:
                self.seen[name] = len(snap.get("transitions") or [])
        if judgement.done:
            self.log.info("%s after %s", judgement.message, waited)


def _request_url(hook: Any, name: str) -> str:
    try:
        return str(hook.request_url(name))
    except Exception:  # a link is a courtesy in a log line, never a reason to fail
        return ""
