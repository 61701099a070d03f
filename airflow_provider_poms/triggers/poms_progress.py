"""Progress of a POMS submission (% complete, available output) for the wait logs.

The cheap status poll (``session_status_history``) carries neither number. ``submission_details``
has ``pct_complete`` (and the stage id) and the stage's ``campaign_stage_submissions`` row has
``available_output``, but both are expensive on a real POMS (SAM queries). So progress is fetched
only when the status changes, and while jobs are Idle/Running at most every ``every`` seconds;
between fetches the last known numbers are kept. Failing to fetch progress never fails a wait.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

log = logging.getLogger(__name__)

#: While a submission is Idle/Running, refresh its progress at most this often (seconds).
PROGRESS_EVERY = 300.0
_MOVING = ("Idle", "Running")


def _parse(sid: int, details: Mapping[str, Any] | None, page: Mapping[str, Any] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    sub = (details or {}).get("submission") if isinstance(details, Mapping) else None
    if isinstance(sub, Mapping):
        out["pct_complete"] = sub.get("pct_complete")
        out["campaign_stage_id"] = sub.get("campaign_stage_id")
    data = (page or {}).get("data") if isinstance(page, Mapping) else None
    rows = data.get("submissions") if isinstance(data, Mapping) else None
    for row in rows or []:
        if isinstance(row, Mapping) and str(row.get("submission_id")) == str(sid):
            out["available_output"] = row.get("available_output")
    return out


def fetch_progress(hook: Any, sid: int, stage_id: Any = None) -> dict[str, Any]:
    """Sync: ``submission_details`` (pct, stage id) + the stage's listing row (available output)."""
    details = hook.submission_details(None, None, sid)
    stage_id = stage_id or _parse(sid, details, None).get("campaign_stage_id")
    page = None
    if stage_id:
        page = hook.campaign_stage_submissions(None, None, "", "", campaign_stage_id=stage_id)
    return _parse(sid, details, page)


async def afetch_progress(hook: Any, sid: int, stage_id: Any = None) -> dict[str, Any]:
    details = await hook.asubmission_details(None, None, sid)
    stage_id = stage_id or _parse(sid, details, None).get("campaign_stage_id")
    page = None
    if stage_id:
        page = await hook.acampaign_stage_submissions(None, None, "", "", campaign_stage_id=stage_id)
    return _parse(sid, details, page)


class ProgressTracker:
    """What was last reported per submission: ``{sid: [status, pct, available, fetched_at, stage_id]}``.

    Plain data, so it rides in trigger kwargs and the task state store.
    """

    def __init__(self, progress: Mapping[str, Any] | None = None, every: float = PROGRESS_EVERY) -> None:
        self.progress: dict[str, list[Any]] = {
            str(k): (list(v) + [None] * 5)[:5] for k, v in (progress or {}).items()
        }
        self.every = every

    def due(self, sid: str, snap: Mapping[str, Any], now: float | None = None) -> bool:
        prev = self.progress.get(sid)
        if prev is None or prev[0] != snap.get("status"):
            return True
        now = time.time() if now is None else now
        return snap.get("status") in _MOVING and now - float(prev[3] or 0) >= self.every

    def stage_id(self, sid: str) -> Any:
        prev = self.progress.get(sid)
        return prev[4] if prev else None

    def apply(self, sid: str, snap: dict[str, Any], fetched: Mapping[str, Any] | None) -> bool:
        """Fill ``snap`` with fetched (or last known) numbers; True when what a person sees changed."""
        prev = self.progress.get(sid) or [None, None, None, 0.0, None]
        pct, available, at, stage = prev[1], prev[2], prev[3], prev[4]
        if fetched is not None:
            pct = fetched.get("pct_complete", pct) if fetched.get("pct_complete") is not None else pct
            if fetched.get("available_output") is not None:
                available = fetched["available_output"]
            stage = fetched.get("campaign_stage_id") or stage
            at = time.time()
        if snap.get("pct_complete") is None:
            snap["pct_complete"] = pct
        if snap.get("available_output") is None:
            snap["available_output"] = available
        new = [snap.get("status"), snap.get("pct_complete"), snap.get("available_output"), at, stage]
        changed = prev[:3] != new[:3]
        self.progress[sid] = new
        return changed

    def dump(self) -> dict[str, list[Any]]:
        return {k: list(v) for k, v in self.progress.items()}


def describe(sid: str, snap: Mapping[str, Any]) -> str:
    pct = snap.get("pct_complete")
    available = snap.get("available_output")
    return (
        f"submission {sid}: {snap.get('status')}, {'?' if pct is None else pct}% complete, "
        f"{'?' if available is None else available} output files available"
    )
