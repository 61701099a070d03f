"""What a task try leaves behind *before* it writes, so the next try can find out what happened.

A worker can die (OOM, node loss, SIGKILL) after the server committed a create, a launch or a status
change but before the answer reached the task. The hooks already reconcile a lost answer *within*
one call; across tries only the task state store survives. So the operators record a *pending* note
in the store before sending (the ReqMgr2 marker the create will carry, the highest submission id of
the POMS stage, the count of the target status in a request's transitions) and a later try with a
pending note first asks the server whether the write landed, adopting what it finds.

A write may still be on its way when the next try looks (a server holding the request, a retry
scheduled at once): the look-up is repeated until the connection's read timeout has passed since
the note was written, which is as long as the dead try would itself have waited for its answer.

See docs/duplicate-safety.md ("Across task tries").
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from airflow.sdk import Context

T = TypeVar("T")

#: Seconds between two look-ups while a pending write may still land.
SETTLE_POLL = 2.0


def has_store(context: Context) -> bool:
    return context.get("task_state_store") is not None


def task_identity(context: Context) -> tuple[str, str, str, int]:
    """(dag_id, run_id, task_id, map_index) of the running task instance."""
    ti = context["ti"]
    map_index = getattr(ti, "map_index", -1)
    return (
        str(getattr(ti, "dag_id", "")),
        str(getattr(ti, "run_id", "") or context.get("run_id", "")),
        str(getattr(ti, "task_id", "")),
        int(map_index if isinstance(map_index, int) else -1),
    )


def deterministic_marker(context: Context, try_number: int) -> str:
    """``_af`` + 8 hex digits derived from the task instance and try (no store to remember a random one).

    Two Airflow deployments running the same DAG id and run id against the same ReqMgr2 would derive
    the same marker; that is why a random marker is used whenever the task state store exists.
    """
    text = "|".join(str(part) for part in (*task_identity(context), try_number))
    return "_af" + hashlib.sha256(text.encode()).hexdigest()[:8]


def settle(
    lookup: Callable[[], T | None],
    sent_at: Any,
    window: float,
    log: Any,
    *,
    what: str,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> T | None:
    """``lookup()`` until it finds something or ``window`` seconds have passed since ``sent_at``."""
    deadline = (float(sent_at) if isinstance(sent_at, int | float) else 0.0) + window
    while True:
        found = lookup()
        if found is not None:
            return found
        remaining = deadline - clock()
        if remaining <= 0:
            return None
        log.info("%s: nothing found yet; looking again for %.0fs more (it may still land)", what, remaining)
        sleep(min(SETTLE_POLL, remaining))


def transition_count(snapshot: Mapping[str, Any] | None, status: str) -> int:
    """How often a request entered ``status`` (its RequestTransition history)."""
    steps: Iterable[Any] = (snapshot or {}).get("transitions") or ()
    return sum(1 for step in steps if step and step[0] == status)


def highest_id(rows: Iterable[Mapping[str, Any]]) -> int:
    return max((int(r["submission_id"]) for r in rows), default=0)


def launched_since(floor: int, rows: Iterable[Mapping[str, Any]]) -> int | None:
    """The newest submission above the pre-launch snapshot (ids grow monotonically)."""
    found = [int(r["submission_id"]) for r in rows if int(r["submission_id"]) > floor]
    return max(found) if found else None


def write_once_or_adopt(
    send: Callable[[], T],
    find: Callable[[], T | None],
    window: float,
    log: Any,
    *,
    what: str,
    nothing_sent: Callable[[], None] = lambda: None,
) -> T:
    """Send a non-idempotent write at most twice; after an ambiguous failure, look before re-sending.

    Unlike a look-up made at once, the look-up here is repeated for ``window`` seconds (the read
    timeout): after a read timeout the server may still be working on the first send, and a second
    send made while it is would be a duplicate. ``nothing_sent`` is called when the first send
    failed in a way that proves the server did nothing (the pending record can go); a failing
    look-up or second send proves nothing about the first.
    """
    from airflow_provider_poms.http.errors import ProviderError

    for attempt in (1, 2):
        try:
            return send()
        except Exception as exc:
            if not (isinstance(exc, ProviderError) and exc.maybe_sent):
                if attempt == 1:
                    nothing_sent()
                raise
            found = settle(find, time.time(), window, log, what=what)
            if found is not None:
                log.warning(
                    "%s: the answer was lost (%s) but the server made %s; adopting it", what, exc, found
                )
                return found
            if attempt == 2:
                raise
            log.warning("%s: no answer (%s) and nothing made on the server; sending once more", what, exc)
    raise AssertionError("unreachable")  # pragma: no cover
