"""Wait until a POMS submission reaches a status (by default: its output is Located)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow_provider_poms.links import PomsSubmissionLink
from airflow_provider_poms.sensors import args
from airflow_provider_poms.sensors.waiting import PomsWatch, WatchSensor
from airflow_provider_poms.states import POMS_DEFAULT_FAILURES, POMS_DEFAULT_TARGETS


class PomsSubmissionSensor(WatchSensor):
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

    link_class = PomsSubmissionLink
    statuses_of_service = staticmethod(args.poms_statuses)
    done_label = "submission done"

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
        super().__init__(deferrable=deferrable, **kwargs)
        self.submission_id = submission_id
        self.target_statuses = target_statuses
        self.failure_statuses = failure_statuses
        self.fail_on_held_after = args.positive(fail_on_held_after, "fail_on_held_after")
        self.report_progress = report_progress
        self.poms_conn_id = poms_conn_id
        self._check_args(at_parse=True)

    def _check_args(self, *, at_parse: bool = False) -> tuple[list[int], list[str], list[str]]:
        ids: list[int] = []
        if not (at_parse and args.is_template(self.submission_id)):
            ids = args.submission_ids(self.submission_id, "submission_id")
        return (ids, *self._check_targets(at_parse))

    def _new_watch(self) -> PomsWatch:
        ids, targets, failures = self._check_args()
        return PomsWatch(
            self.poms_conn_id, ids, targets, failures, self.fail_on_held_after, self.report_progress
        )
