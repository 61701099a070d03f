"""Deferrable wait on POMS submissions.

Every waiting trigger of a triggerer shares one batched status call per connection and interval
(``PomsHook.aget_submission_statuses``, see :mod:`.batching`). Held and Awaiting Approval are logged as
warnings at every poll (a submission can sit there indefinitely); with ``fail_on_held_after`` a
submission held that long ends the wait with a failure. Progress (status, % complete, available
output) is logged whenever it changes.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Mapping, Sequence
from typing import Any

from airflow_provider_poms.triggers.base import SharedPollTrigger, page_link
from airflow_provider_poms.triggers.batching import PollResult
from airflow_provider_poms.triggers.poms_progress import ProgressTracker, afetch_progress, describe
from airflow_provider_poms.triggers.verdict import (
    FAILURE,
    Judgement,
    describe_duration,
    judge_poms,
    log_new_steps,
    poms_snapshot,
)


def held_too_long(
    judgement: Judgement, held_since: float | None, fail_on_held_after: float | None, now: float
) -> tuple[Judgement, float | None]:
    """Track how long the watched submissions have been Held (seen locally) and fail past the limit.

    Returns the (possibly changed) judgement and the new ``held_since``. Shared by sensor and trigger.
    """
    held = [s for s in judgement.snapshots.values() if s and s.get("status") == "Held"]
    if not held or judgement.done:
        return judgement, None
    since = held_since if held_since is not None else now
    if fail_on_held_after is not None and now - since >= fail_on_held_after:
        ids = ", ".join(str(s["submission_id"]) for s in held)
        message = (
            f"submission {ids} has been Held for {describe_duration(now - since)} "
            f"(fail_on_held_after={fail_on_held_after:g}s); release the jobs or raise the limit"
        )
        return Judgement(FAILURE, message, judgement.snapshots, judgement.attention), since
    return judgement, since


class PomsSubmissionTrigger(SharedPollTrigger):
    """Fires when the submission reached a target status or entered a failure status."""

    service = "poms"
    chunk_size = 200
    ids_kwarg = "submission_ids"
    conn_kwarg = "poms_conn_id"
    hook_path = "airflow_provider_poms.hooks.poms.PomsHook"
    fetch_method = "aget_submission_statuses"

    def __init__(
        self,
        *,
        submission_ids: Sequence[int],
        target_statuses: Sequence[str],
        failure_statuses: Sequence[str],
        poms_conn_id: str = "poms_default",
        poll_interval: float = 60.0,
        deadline: float | None = None,
        started_at: float | None = None,
        seen: Mapping[str, int] | None = None,
        held_since: float | None = None,
        fail_on_held_after: float | None = None,
        progress: Mapping[str, Any] | None = None,
        report_progress: bool = True,
    ) -> None:
        super().__init__(
            conn_id=poms_conn_id,
            ids=[int(s) for s in submission_ids],
            target_statuses=list(target_statuses),
            failure_statuses=list(failure_statuses),
            poll_interval=poll_interval,
            deadline=deadline,
            started_at=started_at,
            seen=seen,
        )
        self.held_since = float(held_since) if held_since is not None else None
        self.fail_on_held_after = float(fail_on_held_after) if fail_on_held_after is not None else None
        self.tracker = ProgressTracker(progress)
        self.report_progress = bool(report_progress)

    def _kwargs(self) -> dict[str, Any]:
        return {
            **super()._kwargs(),
            "held_since": self.held_since,
            "fail_on_held_after": self.fail_on_held_after,
            "progress": self.tracker.dump(),
            "report_progress": self.report_progress,
        }

    def _judge(self, result: PollResult) -> Judgement:
        states = {int(k): v for k, v in result.states.items()}
        snaps = {str(sid): poms_snapshot(sid, states.get(sid)) for sid in self.ids}
        return judge_poms(snaps, self.target_statuses, self.failure_statuses)

    async def _enrich(self, judgement: Judgement, hook: Any) -> None:
        for sid, snap in judgement.snapshots.items():
            if snap is None or not self.report_progress or not self.tracker.due(sid, snap):
                continue
            try:
                snap["_fetched"] = await afetch_progress(hook, int(sid), self.tracker.stage_id(sid))
            except Exception as exc:  # progress is for people; it never fails a wait
                self.log.warning("could not read the progress of submission %s: %s", sid, exc)

    def _extra_check(self, judgement: Judgement) -> Judgement:
        judgement, self.held_since = held_too_long(
            judgement, self.held_since, self.fail_on_held_after, time.time()
        )
        return judgement

    def _log_changes(self, judgement: Judgement, hook: Any) -> None:
        waited = describe_duration(self.elapsed())
        for sid, snap in judgement.snapshots.items():
            url = page_link(functools.partial(hook.submission_url, int(sid)))
            log_new_steps(self.log, "submission", sid, snap, self.seen, waited, url)
            if snap is None:
                continue
            if self.tracker.apply(sid, snap, snap.pop("_fetched", None)):
                self.log.info("%s (waiting %s) %s", describe(sid, snap), waited, url)
        for warning in judgement.attention:
            self.log.warning("%s (waiting %s)", warning, waited)
        if judgement.done:
            self.log.info("%s after %s", judgement.message, waited)
