"""What every operator that can wait for what it started has in common.

``wait_for_completion`` uses the sensors' machinery (:mod:`airflow_provider_poms.sensors.waiting`) in
the mode the DAG chose: ``poke``, ``reschedule`` or deferrable. Because a rescheduled (or retried)
task runs ``execute`` again from the top, the id of what was started is kept in the task state
store: a reschedule never launches or creates twice, and a retry reconnects to a job still running.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from airflow_provider_poms.sensors import args

if TYPE_CHECKING:
    from airflow.sdk import Context

STARTED_KEY = "airflow_provider_poms.started"
DEFAULT_TIMEOUT = 7 * 24 * 3600.0


class WaitingOperator(BaseOperator):
    """Adds ``wait_for_completion``, ``mode``/``deferrable``, ``poll_interval`` and ``timeout``."""

    def __init__(
        self,
        *,
        wait_for_completion: bool = False,
        target_statuses: Sequence[str] | str | None = None,
        failure_statuses: Sequence[str] | str | None = None,
        poll_interval: float = 60.0,
        timeout: float | None = DEFAULT_TIMEOUT,
        mode: str = "poke",
        deferrable: bool | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.wait_for_completion = wait_for_completion
        self.target_statuses = target_statuses
        self.failure_statuses = failure_statuses
        self.poll_interval = float(args.positive(poll_interval, "poll_interval", allow_none=False) or 0.0)
        self.timeout = args.positive(timeout, "timeout")
        if mode == "deferrable":
            deferrable = True
        self.deferrable = args.default_deferrable() if deferrable is None else deferrable
        self.mode = args.wait_mode(mode, self.deferrable)

    @property
    def reschedule(self) -> bool:
        return self.wait_for_completion and self.mode == "reschedule"

    # -- remembering what was started, across reschedules and retries ------------------------
    def remembered(self, context: Context) -> dict[str, Any] | None:
        store = context.get("task_state_store")
        if store is None:
            return None
        try:
            value = store.get(STARTED_KEY)  # type: ignore[attr-defined]
        except Exception:
            return None
        return dict(value) if isinstance(value, dict) else None

    def remember(self, context: Context, **values: Any) -> None:
        store = context.get("task_state_store")
        if store is None:
            return
        try:
            ti = context["ti"]
            store.set(STARTED_KEY, {**values, "try_number": ti.try_number})  # type: ignore[attr-defined]
        except Exception as exc:  # only costs the reschedule/retry shortcut
            self.log.warning("could not record the started id in the task state store: %s", exc)

    def pending(self, context: Context, kind: str) -> dict[str, Any] | None:
        """The note an earlier try left before a write whose outcome it never learnt (reconcile.py)."""
        memo = self.remembered(context)
        value = memo.get("pending") if memo else None
        return dict(value) if isinstance(value, dict) and value.get("kind") == kind else None

    def note_pending(self, context: Context, kind: str, **values: Any) -> None:
        """Record, before sending, what a later try needs to find out whether this write landed."""
        self.remember(context, pending={"kind": kind, "sent_at": time.time(), **values})

    def settle_window(self) -> float:
        """How long a write sent by a dead try may still land: the connection's read timeout."""
        try:
            return float(self.hook.get_settings().read_timeout)  # type: ignore[attr-defined]
        except Exception:
            return 0.0

    def same_try(self, context: Context, memo: dict[str, Any]) -> bool:
        return memo.get("try_number") == context["ti"].try_number

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> Any:
        from airflow_provider_poms.sensors.waiting import complete

        complete(event, what=self.task_id)
        return self.result_after_wait(event or {})

    def result_after_wait(self, event: dict[str, Any]) -> Any:
        ids = event.get("ids") or []
        return ids[0] if len(ids) == 1 else ids
