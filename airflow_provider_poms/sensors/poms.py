"""Wait until a POMS submission reaches a status (by default: its output is Located)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator, PokeReturnValue

from airflow_provider_poms.links import PomsSubmissionLink
from airflow_provider_poms.sensors import args
from airflow_provider_poms.sensors.waiting import (
    PomsWatch,
    complete,
    load_memory,
    outcome_or_raise,
    save_memory,
    statuses_of,
    wait_for,
)
from airflow_provider_poms.states import POMS_DEFAULT_FAILURES, POMS_DEFAULT_TARGETS

if TYPE_CHECKING:
    from airflow.sdk import Context


class PomsSubmissionSensor(BaseSensorOperator):
    """Wait until submission ``submission_id`` reaches one of ``target_statuses`` (default Located).

    Fails on ``failure_statuses`` (default Failed, Removed, Cancelled, LaunchFailed). POMS statuses are
    advisory and may flip, so success is judged from the submission's whole status history and the
    normal path (Located implies Completed). A Held or Awaiting Approval submission is logged as a
    warning at every look; with ``fail_on_held_after`` (seconds) a submission Held that long fails
    the task instead of waiting on silently. Progress (status, % complete, available output) is logged
    whenever it changes: those numbers cost POMS SAM queries, so with ``report_progress`` (default on)
    they are read when the status changes and at most every 5 minutes while jobs run.

    ``poke``, ``reschedule`` and deferrable modes (deferrable default from ``[operators]
    default_deferrable``). Returns ``{submission id: status}``.
    """

    template_fields: Sequence[str] = ("submission_id", "target_statuses", "failure_statuses", "poms_conn_id")
    ui_color = "#7fb7e0"
    operator_extra_links = (PomsSubmissionLink(),)

    def __init__(
        self,
        *,
        submission_id: int | str,
        target_statuses: Sequence[str] | str = POMS_DEFAULT_TARGETS,
        failure_statuses: Sequence[str] | str = POMS_DEFAULT_FAILURES,
        fail_on_held_after: float | None = None,
        report_progress: bool = True,
        poms_conn_id: str = "poms_default",
        deferrable: bool | None = None,
        **kwargs: Any,
    ) -> None:
        if kwargs.get("mode") == "deferrable":
            kwargs["mode"], deferrable = "poke", True
        super().__init__(**kwargs)
        self.submission_id = submission_id
        self.target_statuses = target_statuses
        self.failure_statuses = failure_statuses
        self.fail_on_held_after = args.positive(fail_on_held_after, "fail_on_held_after")
        self.report_progress = report_progress
        self.poms_conn_id = poms_conn_id
        self.deferrable = args.default_deferrable() if deferrable is None else deferrable
        self._check_args(at_parse=True)

    def _check_args(self, *, at_parse: bool = False) -> tuple[list[int], list[str], list[str]]:
        ids: list[int] = []
        if not (at_parse and args.is_template(self.submission_id)):
            ids = args.submission_ids(self.submission_id, "submission_id")
        targets: list[str] = []
        failures: list[str] = []
        if not (
            at_parse and (args.is_template(self.target_statuses) or args.is_template(self.failure_statuses))
        ):
            targets, failures = args.check_targets(
                self.target_statuses, self.failure_statuses, args.poms_statuses
            )
        return ids, targets, failures

    def _watch(self, context: Context) -> PomsWatch:
        ids, targets, failures = self._check_args()
        watch = PomsWatch(
            self.poms_conn_id, ids, targets, failures, self.fail_on_held_after, self.report_progress
        )
        load_memory(context, watch)
        return watch

    def execute(self, context: Context) -> Any:
        watch = self._watch(context)
        PomsSubmissionLink.persist(context, watch.link(watch.ids[0]), self.log)
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
        self.log.info("submission done: %s", result)
        return result
