"""Deferrable wait on one or more ReqMgr2 requests.

All waiting triggers of a triggerer share one batched ``GET request?name=..&mask=RequestStatus
&mask=RequestTransition`` per connection and interval (see :mod:`.batching`). Success is judged from
``RequestTransition``, so a target passed between two polls (or while the triggerer was restarting)
counts as reached; the trigger fails at once when a request sits where the transition table offers
no path to any target.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any, cast

from airflow_provider_poms.triggers.base import SharedPollTrigger, page_link
from airflow_provider_poms.triggers.batching import PollResult, Split
from airflow_provider_poms.triggers.verdict import (
    Judgement,
    describe_duration,
    judge_reqmgr2,
    log_new_steps,
    reqmgr2_snapshot,
)


class ReqMgr2RequestTrigger(SharedPollTrigger):
    """Fires when every request reached a target status, or one of them can no longer get there."""

    service = "reqmgr2"
    ids_kwarg = "request_names"
    conn_kwarg = "reqmgr2_conn_id"
    hook_path = "airflow_provider_poms.hooks.reqmgr2.ReqMgr2Hook"
    fetch_method = "aget_status_and_transitions"

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

    def _splitter(self, hook: Any) -> Split:
        """One GET per fetch call, so the poller can keep a few of a round's GETs in flight."""
        return cast("Split", hook.status_chunks)

    def _judge(self, result: PollResult) -> Judgement:
        snaps = {name: reqmgr2_snapshot(name, result.states.get(name)) for name in self.ids}
        return judge_reqmgr2(snaps, self.target_statuses, self.failure_statuses)

    def _log_changes(self, judgement: Judgement, hook: Any) -> None:
        waited = describe_duration(self.elapsed())
        for name, snap in judgement.snapshots.items():
            link = functools.partial(page_link, functools.partial(hook.request_url, name))
            log_new_steps(self.log, "request", name, snap, self.seen, waited, link)
        if judgement.done:
            self.log.info("%s after %s", judgement.message, waited)
