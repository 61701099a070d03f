"""The wait machinery shared by the sensors and by operators with ``wait_for_completion``.

A *watch* is the synchronous twin of a trigger: it looks once (through the sync hook), judges with the
same :mod:`~airflow_provider_poms.triggers.verdict` functions, logs what changed, and can build the
trigger that continues the same wait in the triggerer. Its memory (when the wait started, how much
history was logged, since when a submission is Held) is a small plain dict, persisted in the task
state store between reschedules and handed to the trigger when deferring.

Three modes, one decision:

- ``poke``: look, sleep ``poll_interval`` on the worker, look again;
- ``reschedule``: look, free the worker slot until the next look (``AirflowRescheduleException``);
- deferrable: look once; if not done, defer to the trigger (no worker slot, no triggerer slot per
  task thanks to the shared poller); ``complete()`` turns the event into a result or a clear failure.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.sdk import BaseSensorOperator, PokeReturnValue
from airflow.sdk.exceptions import (
    AirflowException,
    AirflowFailException,
    AirflowRescheduleException,
    AirflowSensorTimeout,
)

from airflow_provider_poms.sensors import args

if TYPE_CHECKING:
    from airflow.sdk import Context
    from airflow.triggers.base import BaseTrigger

    from airflow_provider_poms.triggers.verdict import Judgement

# Only what the constructors need is imported above: a DAG file imports this module (through the
# sensors and the waiting operators) at every parse, while the trigger classes (with Airflow's
# ``airflow.triggers.base``), the verdict functions and the hooks are needed only once a task runs.
# They are imported inside the functions that use them (tests/operators/test_parse_imports.py).

STATE_KEY = "airflow_provider_poms.wait"
#: Extra time given to the deferral itself beyond the trigger's own deadline (the trigger reports a
#: clear timeout first; Airflow's deferral timeout is only the backstop).
DEFERRAL_GRACE = 300.0


class Watch:
    """One wait: what is watched, the targets, and the memory of what was already seen."""

    def __init__(self, ids: Sequence[Any], targets: Sequence[str], failures: Sequence[str]) -> None:
        self.ids = list(ids)
        self.targets = list(targets)
        self.failures = list(failures)
        self.memory: dict[str, Any] = {"started_at": time.time(), "seen": {}}

    def restore(self, memory: Mapping[str, Any] | None) -> None:
        if memory and memory.get("ids") == [str(i) for i in self.ids]:
            self.memory.update({k: v for k, v in memory.items() if k != "ids"})

    def dump(self) -> dict[str, Any]:
        return {**self.memory, "ids": [str(i) for i in self.ids]}

    @property
    def started_at(self) -> float:
        return float(self.memory["started_at"])

    def elapsed(self) -> float:
        return time.time() - self.started_at

    def check(self, log: Any) -> Judgement:
        raise NotImplementedError

    def trigger(self, poll_interval: float, deadline: float | None) -> BaseTrigger:
        raise NotImplementedError

    def link(self, ident: Any) -> str:
        """The web page of one watched id ("" when unknown: a link is a courtesy in a log line)."""
        return ""

    def links(self) -> list[str]:
        return [self.link(i) for i in self.ids]


class ReqMgr2Watch(Watch):
    def __init__(
        self, conn_id: str, names: Sequence[str], targets: Sequence[str], failures: Sequence[str] = ()
    ) -> None:
        super().__init__(names, targets, failures)
        self.conn_id = conn_id
        self._hook: Any = None

    @property
    def hook(self) -> Any:
        if self._hook is None:
            from airflow_provider_poms.hooks.reqmgr2 import ReqMgr2Hook

            self._hook = ReqMgr2Hook(reqmgr2_conn_id=self.conn_id)
        return self._hook

    def check(self, log: Any) -> Judgement:
        from airflow_provider_poms.triggers.verdict import (
            describe_duration,
            judge_reqmgr2,
            log_new_steps,
            reqmgr2_snapshot,
        )

        states = self.hook.get_status_and_transitions(self.ids)
        snaps = {name: reqmgr2_snapshot(name, states.get(name)) for name in self.ids}
        judgement = judge_reqmgr2(snaps, self.targets, self.failures)
        waited = describe_duration(self.elapsed())
        seen = self.memory["seen"]
        for name, snap in snaps.items():
            log_new_steps(log, "request", name, snap, seen, waited, functools.partial(self.link, name))
        log.info("%s (waiting %s)", judgement.message, waited)
        return judgement

    def link(self, name: str) -> str:
        from airflow_provider_poms.triggers.base import page_link

        return page_link(lambda: self.hook.request_url(name))

    def trigger(self, poll_interval: float, deadline: float | None) -> BaseTrigger:
        from airflow_provider_poms.triggers.reqmgr2 import ReqMgr2RequestTrigger

        return ReqMgr2RequestTrigger(
            request_names=list(self.ids),
            target_statuses=self.targets,
            failure_statuses=self.failures,
            reqmgr2_conn_id=self.conn_id,
            poll_interval=poll_interval,
            deadline=deadline,
            started_at=self.started_at,
            seen=dict(self.memory["seen"]),
        )


class PomsWatch(Watch):
    def __init__(
        self,
        conn_id: str,
        submission_ids: Sequence[int],
        targets: Sequence[str],
        failures: Sequence[str],
        fail_on_held_after: float | None = None,
        report_progress: bool = True,
    ) -> None:
        super().__init__([int(s) for s in submission_ids], targets, failures)
        self.conn_id = conn_id
        self.fail_on_held_after = fail_on_held_after
        self.report_progress = report_progress
        self.memory.update({"held_since": None, "progress": {}})
        self._hook: Any = None

    @property
    def hook(self) -> Any:
        if self._hook is None:
            from airflow_provider_poms.hooks.poms import PomsHook

            self._hook = PomsHook(poms_conn_id=self.conn_id)
        return self._hook

    def check(self, log: Any) -> Judgement:
        from airflow_provider_poms.triggers.poms import held_too_long
        from airflow_provider_poms.triggers.poms_progress import ProgressTracker, describe, fetch_progress
        from airflow_provider_poms.triggers.verdict import (
            describe_duration,
            judge_poms,
            log_new_steps,
            poms_snapshot,
        )

        snaps = {str(sid): poms_snapshot(sid, self._status(sid)) for sid in self.ids}
        judgement = judge_poms(snaps, self.targets, self.failures)
        judgement, self.memory["held_since"] = held_too_long(
            judgement, self.memory.get("held_since"), self.fail_on_held_after, time.time()
        )
        waited = describe_duration(self.elapsed())
        seen = self.memory["seen"]
        tracker = ProgressTracker(self.memory.get("progress"))
        for sid, snap in snaps.items():
            url = self.link(int(sid))
            log_new_steps(log, "submission", sid, snap, seen, waited, url)
            if snap is None:
                continue
            fetched = None
            if self.report_progress and tracker.due(sid, snap):
                try:
                    fetched = fetch_progress(self.hook, int(sid), tracker.stage_id(sid))
                except Exception as exc:  # progress is for people; it never fails a wait
                    log.warning("could not read the progress of submission %s: %s", sid, exc)
            if tracker.apply(sid, snap, fetched):
                log.info("%s (waiting %s) %s", describe(sid, snap), waited, url)
        self.memory["progress"] = tracker.dump()
        for warning in judgement.attention:
            log.warning("%s (waiting %s)", warning, waited)
        log.info("%s (waiting %s)", judgement.message, waited)
        return judgement

    def _status(self, sid: int) -> Any:
        from airflow_provider_poms.http.errors import NotFound

        try:
            return self.hook.get_submission_status(sid)
        except NotFound:
            return None

    def link(self, sid: int) -> str:
        from airflow_provider_poms.triggers.base import page_link

        return page_link(lambda: self.hook.submission_url(sid))

    def trigger(self, poll_interval: float, deadline: float | None) -> BaseTrigger:
        from airflow_provider_poms.triggers.poms import PomsSubmissionTrigger

        return PomsSubmissionTrigger(
            submission_ids=list(self.ids),
            target_statuses=self.targets,
            failure_statuses=self.failures,
            poms_conn_id=self.conn_id,
            poll_interval=poll_interval,
            deadline=deadline,
            started_at=self.started_at,
            seen=dict(self.memory["seen"]),
            held_since=self.memory.get("held_since"),
            fail_on_held_after=self.fail_on_held_after,
            progress=dict(self.memory.get("progress") or {}),
            report_progress=self.report_progress,
        )


# ------------------------------------------------------------------------------------------
# memory between reschedules
# ------------------------------------------------------------------------------------------


def load_memory(context: Context, watch: Watch, key: str = STATE_KEY) -> None:
    """Restore what a previous reschedule of this task saw (the operator instance does not survive)."""
    store = context.get("task_state_store")
    if store is None:
        return
    try:
        memory = store.get(key)  # type: ignore[attr-defined]
        watch.restore(memory if isinstance(memory, dict) else None)
    except Exception:  # the store is an optimisation for logs and timers, never a reason to fail
        return


def save_memory(context: Context, watch: Watch, key: str = STATE_KEY) -> None:
    store = context.get("task_state_store")
    if store is None:
        return
    try:
        store.set(key, watch.dump())  # type: ignore[attr-defined]
    except Exception:
        return


# ------------------------------------------------------------------------------------------
# the decision, shared by every mode
# ------------------------------------------------------------------------------------------


def outcome_or_raise(judgement: Judgement) -> bool:
    """True when done with success, False while waiting; a failure raises (no retry would help)."""
    from airflow_provider_poms.triggers.verdict import FAILURE, SUCCESS

    if judgement.outcome == SUCCESS:
        return True
    if judgement.outcome == FAILURE:
        raise AirflowFailException(judgement.message)
    return False


def statuses_of(snapshots: Mapping[str, Any]) -> dict[str, Any]:
    """Small XCom value: the final status of each watched id."""
    return {k: (v or {}).get("status") for k, v in snapshots.items()}


def complete(event: Any, *, what: str) -> dict[str, Any]:
    """Validate a trigger event and turn it into a result or a clear task failure."""
    from airflow_provider_poms.triggers.base import EVENT_STATUSES
    from airflow_provider_poms.triggers.verdict import describe_duration

    if not isinstance(event, Mapping) or event.get("status") not in EVENT_STATUSES:
        raise AirflowException(f"{what}: the trigger sent an unexpected event {event!r}")
    status, message = event["status"], str(event.get("message") or "")
    waited = describe_duration(float(event.get("elapsed") or 0.0))
    if status == "success":
        return statuses_of(event.get("snapshots") or {})
    if status == "failure":
        raise AirflowFailException(f"{what}: {message} (waited {waited})")
    if status == "timeout":
        raise AirflowSensorTimeout(f"{what}: {message}")
    raise AirflowException(f"{what}: waiting failed: {message} (waited {waited})")


def wait_for(
    op: Any,
    context: Context,
    watch: Watch,
    *,
    mode: str,
    poll_interval: float,
    timeout: float | None,
    method_name: str = "execute_complete",
) -> dict[str, Any]:
    """Wait in ``mode`` (operators; sensors use BaseSensorOperator's loop with the same watch).

    Returns the statuses on success; raises on failure/timeout; defers or reschedules otherwise.
    """
    from airflow_provider_poms.triggers.verdict import describe_duration

    load_memory(context, watch)
    for url in watch.links():
        if url:
            op.log.info("watching %s", url)
    while True:
        judgement = watch.check(op.log)
        save_memory(context, watch)
        if outcome_or_raise(judgement):
            return statuses_of(judgement.snapshots)
        deadline = None if timeout is None else watch.started_at + timeout
        if deadline is not None and time.time() >= deadline:
            raise AirflowSensorTimeout(
                f"{judgement.message}; gave up after {describe_duration(watch.elapsed())} "
                f"(timeout={timeout:g}s)"
            )
        if mode == "deferrable":
            op.defer(
                trigger=watch.trigger(poll_interval, deadline),
                method_name=method_name,
                timeout=None if timeout is None else timedelta(seconds=timeout + DEFERRAL_GRACE),
            )
        if mode == "reschedule":
            when = time.time() + poll_interval
            from datetime import UTC, datetime

            raise AirflowRescheduleException(datetime.fromtimestamp(when, tz=UTC))
        time.sleep(poll_interval)


# ------------------------------------------------------------------------------------------
# the sensors' common body
# ------------------------------------------------------------------------------------------


class WatchSensor(BaseSensorOperator):
    """What both sensors do with their watch: look, poke, defer, and check the trigger's event.

    A subclass stores its own arguments, then calls ``_check_args(at_parse=True)``, and says how to
    build its watch (``_new_watch``), which extra link to persist (``link_class``), which statuses
    are valid (``statuses_of_service``) and how a success is logged (``done_label``).
    ``mode="deferrable"`` is accepted as a synonym of ``deferrable=True`` (poke until deferring).
    """

    link_class: ClassVar[Any]
    done_label: ClassVar[str] = "done"
    target_statuses: Any
    failure_statuses: Any

    @staticmethod
    def statuses_of_service(value: Any, argument: str) -> list[str]:
        raise NotImplementedError

    def __init__(self, *, deferrable: bool | None = None, **kwargs: Any) -> None:
        if kwargs.get("mode") == "deferrable":
            kwargs["mode"], deferrable = "poke", True
        super().__init__(**kwargs)
        self.deferrable = args.default_deferrable() if deferrable is None else deferrable

    def _check_targets(self, at_parse: bool) -> tuple[list[str], list[str]]:
        """Targets and failures, checked unless still Jinja at parse time (checked after rendering)."""
        targets, failures = self.target_statuses, self.failure_statuses
        if at_parse and (args.is_template(targets) or args.is_template(failures)):
            return [], []
        return args.check_targets(targets, failures, self.statuses_of_service)

    def _new_watch(self) -> Watch:
        raise NotImplementedError

    def _watch(self, context: Context) -> Watch:
        watch = self._new_watch()
        load_memory(context, watch)
        return watch

    def execute(self, context: Context) -> Any:
        watch = self._watch(context)
        self.link_class.persist(context, watch.link(watch.ids[0]), self.log)
        self._current = watch
        if not self.deferrable:
            return super().execute(context)
        return wait_for(
            self, context, watch, mode="deferrable", poll_interval=self.poke_interval, timeout=self.timeout
        )

    def poke(self, context: Context) -> bool | PokeReturnValue:
        watch = getattr(self, "_current", None) or self._watch(context)
        judgement = watch.check(self.log)
        save_memory(context, watch)
        if outcome_or_raise(judgement):
            return PokeReturnValue(True, statuses_of(judgement.snapshots))
        return False

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> dict[str, Any]:
        result = complete(event, what=f"{self.task_id}")
        self.log.info("%s: %s", self.done_label, result)
        return result
