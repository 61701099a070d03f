"""Wait until ReqMgr2 requests reach a status."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator, PokeReturnValue

from airflow_provider_poms.links import ReqMgr2RequestLink
from airflow_provider_poms.sensors import args
from airflow_provider_poms.sensors.waiting import (
    ReqMgr2Watch,
    complete,
    load_memory,
    outcome_or_raise,
    save_memory,
    statuses_of,
    wait_for,
)

if TYPE_CHECKING:
    from airflow.sdk import Context


class ReqMgr2RequestSensor(BaseSensorOperator):
    """Wait until every request in ``request_name(s)`` has reached one of ``target_statuses``.

    Reached means *seen in the request's ``RequestTransition``*, so a status passed between two polls
    counts. The sensor fails at once, with the path the request took, when a request enters a status
    from which the transition table offers no path to any target (e.g. ``aborted`` while waiting for
    ``completed``), or one of ``failure_statuses``.

    Works in ``poke`` and ``reschedule`` mode, and deferrable (``deferrable=True``, default from
    ``[operators] default_deferrable``): it looks once, then hands the wait to the triggerer, where all
    waiting requests share one batched poll per interval. Returns ``{request name: status}``.
    """

    template_fields: Sequence[str] = (
        "request_name",
        "request_names",
        "target_statuses",
        "failure_statuses",
        "reqmgr2_conn_id",
    )
    ui_color = "#f2c14e"
    operator_extra_links = (ReqMgr2RequestLink(),)

    def __init__(
        self,
        *,
        request_name: str | None = None,
        request_names: Sequence[str] | str | None = None,
        target_statuses: Sequence[str] | str = ("completed",),
        failure_statuses: Sequence[str] | str = (),
        reqmgr2_conn_id: str = "reqmgr2_default",
        deferrable: bool | None = None,
        **kwargs: Any,
    ) -> None:
        if kwargs.get("mode") == "deferrable":
            kwargs["mode"], deferrable = "poke", True
        super().__init__(**kwargs)
        self.request_name = request_name
        self.request_names = request_names
        self.target_statuses = target_statuses
        self.failure_statuses = failure_statuses
        self.reqmgr2_conn_id = reqmgr2_conn_id
        self.deferrable = args.default_deferrable() if deferrable is None else deferrable
        self._check_args(at_parse=True)

    def _check_args(self, *, at_parse: bool = False) -> tuple[list[str], list[str], list[str]]:
        names: list[str] = []
        if not (at_parse and (args.is_template(self.request_name) or args.is_template(self.request_names))):
            names = args.names(
                self.request_name, self.request_names, single_arg="request_name", many_arg="request_names"
            )
        targets: list[str] = []
        failures: list[str] = []
        if not (
            at_parse and (args.is_template(self.target_statuses) or args.is_template(self.failure_statuses))
        ):
            targets, failures = args.check_targets(
                self.target_statuses, self.failure_statuses, args.reqmgr2_statuses
            )
        return names, targets, failures

    def _watch(self, context: Context) -> ReqMgr2Watch:
        names, targets, failures = self._check_args()
        watch = ReqMgr2Watch(self.reqmgr2_conn_id, names, targets, failures)
        load_memory(context, watch)
        return watch

    def execute(self, context: Context) -> Any:
        watch = self._watch(context)
        ReqMgr2RequestLink.persist(context, watch.link(watch.ids[0]), self.log)
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
        self.log.info("requests done: %s", result)
        return result
