"""What an observed state means for a wait, as plain functions on plain data.

The sensors (poke/reschedule, on a worker), the operators that wait, and the triggers (deferrable, in
the triggerer) all judge a state through these functions, so every mode decides identically. Nothing
here does I/O or imports Airflow.

A *snapshot* is the plain-data form of what a hook returned (it crosses process boundaries inside
trigger events and kwargs):

- ReqMgr2: ``{"name", "status", "transitions": [[status, update_time, dn], ...]}``
- POMS: ``{"submission_id", "status", "history": [[status, created], ...], "pct_complete",
  "available_output"}``

Success is judged on the *whole history* (``RequestTransition`` / POMS' status history), not only on
the current status: a target that flashed by between two polls still counts as reached. Failure is
judged on the current status: an explicit failure status, or (ReqMgr2) a status from which the
transition table offers no path to any target.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_poms.states import (
    POMS_NORMAL_PATH,
    PomsStatus,
    reqmgr2_path_between,
    reqmgr2_target_still_reachable,
)

WAITING = "waiting"
SUCCESS = "success"
FAILURE = "failure"

Snapshot = dict[str, Any]


@dataclass(frozen=True)
class Judgement:
    """The outcome of one look at every watched object."""

    outcome: str  # WAITING | SUCCESS | FAILURE
    message: str
    snapshots: Mapping[str, Snapshot | None] = field(default_factory=dict)
    attention: tuple[str, ...] = ()  # e.g. "submission 12 is Held" (logged as warnings)

    @property
    def done(self) -> bool:
        return self.outcome != WAITING


# ------------------------------------------------------------------------------------------
# formatting
# ------------------------------------------------------------------------------------------


def describe_time(value: Any) -> str:
    """Epoch numbers become ISO UTC; datetimes ISO; strings (POMS' local times) stay as sent."""
    if value is None or value == "":
        return "?"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float):
        return dt.datetime.fromtimestamp(float(value), tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    return str(value)


def describe_duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m{secs:02d}s"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


def format_path(steps: Iterable[Sequence[Any]]) -> str:
    """``new (t1) -> assignment-approved (t2) -> ...`` for messages a person reads."""
    return " -> ".join(f"{step[0]} ({describe_time(step[1] if len(step) > 1 else None)})" for step in steps)


def _plain_time(value: Any) -> Any:
    """Times kept JSON/serde friendly: numbers and strings as they are, datetimes as ISO strings."""
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    return value


def _field(obj: Any, *names: str, default: Any = None) -> Any:
    for name in names:
        if isinstance(obj, Mapping):
            if name in obj:
                return obj[name]
        elif hasattr(obj, name):
            return getattr(obj, name)
    return default


# ------------------------------------------------------------------------------------------
# ReqMgr2
# ------------------------------------------------------------------------------------------


def reqmgr2_snapshot(name: str, state: Any) -> Snapshot | None:
    """Plain data from a hook ``RequestState`` (or a raw ``{RequestStatus, RequestTransition}`` doc)."""
    if state is None:
        return None
    status = _field(state, "status", "RequestStatus")
    raw = _field(state, "transitions", "RequestTransition", default=()) or ()
    steps: list[list[Any]] = []
    for item in raw:
        if isinstance(item, Mapping):
            steps.append([item.get("Status"), _plain_time(item.get("UpdateTime")), item.get("DN")])
        else:
            seq = list(item)
            seq += [None] * (3 - len(seq))
            steps.append([seq[0], _plain_time(seq[1]), seq[2]])
    return {"name": name, "status": status, "transitions": steps}


def judge_reqmgr2_one(
    snap: Snapshot | None, name: str, targets: Iterable[str], failures: Iterable[str] = ()
) -> tuple[str, str]:
    """(outcome, message) for one request."""
    wanted = set(targets)
    if snap is None:
        return FAILURE, f"request {name!r} does not exist on ReqMgr2"
    status = snap["status"]
    steps = snap.get("transitions") or []
    for step in steps:
        if step[0] in wanted:
            note = "" if step[0] == status else f" (now {status})"
            return SUCCESS, f"request {name} reached {step[0]} at {describe_time(step[1])}{note}"
    if status in wanted:
        return SUCCESS, f"request {name} is {status}"
    path = format_path(steps) or status
    if status in set(failures):
        return FAILURE, f"request {name} entered failure status {status!r}; path taken: {path}"
    if not reqmgr2_target_still_reachable(status, wanted):
        return FAILURE, (
            f"request {name} is {status!r}, from which no target ({', '.join(sorted(wanted))}) can be "
            f"reached any more; path taken: {path}"
        )
    ahead = [p for p in (reqmgr2_path_between(status, t) for t in wanted) if p]
    nearest = min(ahead, key=len) if ahead else [status]
    return WAITING, f"request {name} is {status}; still ahead: {' -> '.join(nearest)}"


def judge_reqmgr2(
    snaps: Mapping[str, Snapshot | None], targets: Iterable[str], failures: Iterable[str] = ()
) -> Judgement:
    """All requests must reach a target; any request that fails ends the wait at once."""
    targets, failures = tuple(targets), tuple(failures)
    results = {name: judge_reqmgr2_one(snap, name, targets, failures) for name, snap in snaps.items()}
    return _combine(results, dict(snaps))


def _combine(results: Mapping[str, tuple[str, str]], snaps: Mapping[str, Snapshot | None]) -> Judgement:
    failed = [msg for outcome, msg in results.values() if outcome == FAILURE]
    if failed:
        return Judgement(FAILURE, "; ".join(failed), snaps)
    if all(outcome == SUCCESS for outcome, _ in results.values()):
        return Judgement(SUCCESS, "; ".join(msg for _, msg in results.values()), snaps)
    waiting = [msg for outcome, msg in results.values() if outcome == WAITING]
    done = len(results) - len(waiting)
    prefix = f"{done}/{len(results)} done; " if len(results) > 1 else ""
    return Judgement(WAITING, prefix + "; ".join(waiting), snaps)


# ------------------------------------------------------------------------------------------
# POMS
# ------------------------------------------------------------------------------------------


def poms_snapshot(submission_id: Any, state: Any) -> Snapshot | None:
    """Plain data from a hook ``SubmissionState``."""
    if state is None:
        return None
    history: list[list[Any]] = []
    for item in _field(state, "history", default=()) or ():
        if isinstance(item, Mapping):
            history.append([item.get("status"), _plain_time(item.get("created"))])
        else:
            seq = list(item)
            history.append([seq[0], _plain_time(seq[1]) if len(seq) > 1 else None])
    return {
        "submission_id": submission_id,
        "status": _field(state, "status"),
        "history": history,
        "pct_complete": _field(state, "pct_complete"),
        "available_output": _field(state, "available_output"),
    }


def _poms_reaches(status: str | None, target: str) -> bool:
    """``status`` is ``target``, or comes after it on the normal path (Located implies Completed)."""
    if status is None:
        return False
    if status == target:
        return True
    try:
        have, want = PomsStatus.from_label(status), PomsStatus.from_label(target)
    except ValueError:
        return False
    return have in POMS_NORMAL_PATH and want in POMS_NORMAL_PATH and have > want


def judge_poms_one(
    snap: Snapshot | None, submission_id: Any, targets: Iterable[str], failures: Iterable[str]
) -> tuple[str, str]:
    if snap is None:
        return FAILURE, f"POMS submission {submission_id} does not exist"
    status = snap["status"]
    history = snap.get("history") or []
    for step in [*history, [status, None]]:
        for target in targets:
            if _poms_reaches(step[0], target):
                when = f" at {describe_time(step[1])}" if step[1] is not None else ""
                note = "" if step[0] == status else f" (now {status})"
                return SUCCESS, f"submission {submission_id} reached {step[0]}{when}{note}"
    if status in set(failures):
        return FAILURE, (
            f"submission {submission_id} entered failure status {status!r}; "
            f"history: {format_path(history) or status}"
        )
    return WAITING, f"submission {submission_id} is {status}{_progress(snap)}"


def _progress(snap: Snapshot) -> str:
    parts = []
    if snap.get("pct_complete") is not None:
        parts.append(f"{snap['pct_complete']}% complete")
    if snap.get("available_output") is not None:
        parts.append(f"{snap['available_output']} output files available")
    return f" ({', '.join(parts)})" if parts else ""


def judge_poms(
    snaps: Mapping[str, Snapshot | None], targets: Iterable[str], failures: Iterable[str]
) -> Judgement:
    targets, failures = tuple(targets), tuple(failures)
    results = {sid: judge_poms_one(snap, sid, targets, failures) for sid, snap in snaps.items()}
    judgement = _combine(results, dict(snaps))
    attention = tuple(
        f"submission {sid} is {snap['status']}: it will not progress until someone acts "
        f"(history: {format_path(snap.get('history') or [])})"
        for sid, snap in snaps.items()
        if snap and snap.get("status") in ("Held", "Awaiting Approval") and results[sid][0] == WAITING
    )
    return Judgement(judgement.outcome, judgement.message, judgement.snapshots, attention)


def poms_progress_key(snap: Snapshot | None) -> tuple[Any, ...]:
    """What counts as 'progress changed' for the log: status, completion and available output."""
    if snap is None:
        return (None,)
    return (snap.get("status"), snap.get("pct_complete"), snap.get("available_output"))


# ------------------------------------------------------------------------------------------
# logging what is new
# ------------------------------------------------------------------------------------------


def new_steps(snap: Snapshot | None, already_seen: int, key: str) -> list[list[Any]]:
    """History entries not logged yet (histories only grow, so a count is enough)."""
    if snap is None:
        return []
    steps = snap.get(key) or []
    return list(steps[already_seen:]) if already_seen < len(steps) else []


def log_new_steps(
    log: Any,
    kind: str,
    ident: str,
    snap: Snapshot | None,
    seen: dict[str, int],
    waited: str,
    link: str | Callable[[], str],
) -> None:
    """Log the steps of one watched id not logged before and remember how many were logged.

    ``kind`` is ``"request"`` (ReqMgr2 transitions, with who made them) or ``"submission"`` (POMS
    history); ``link`` is the id's web page, or makes it (only when there is a step to log). Shared
    by the sensors' watches and the triggers, so a wait logs the same lines in every mode.
    """
    key = "transitions" if kind == "request" else "history"
    for step in new_steps(snap, seen.get(ident, 0), key):
        status, when = step[0], step[1]
        by = f" by {step[2]}" if len(step) > 2 and step[2] else ""
        log.info(
            "%s %s -> %s at %s%s (waiting %s) %s",
            kind,
            ident,
            status,
            describe_time(when),
            by,
            waited,
            link if isinstance(link, str) else link(),
        )
    if snap is not None:
        seen[ident] = len(snap.get(key) or [])
