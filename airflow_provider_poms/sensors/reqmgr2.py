"""Wait until ReqMgr2 requests reach a status."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow_provider_poms.links import ReqMgr2RequestLink
from airflow_provider_poms.sensors import args
from airflow_provider_poms.sensors.waiting import ReqMgr2Watch, WatchSensor


class ReqMgr2RequestSensor(WatchSensor):
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

    link_class = ReqMgr2RequestLink
    statuses_of_service = staticmethod(args.reqmgr2_statuses)
    done_label = "requests done"

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
        super().__init__(deferrable=deferrable, **kwargs)
        self.request_name = request_name
        self.request_names = request_names
        self.target_statuses = target_statuses
        self.failure_statuses = failure_statuses
        self.reqmgr2_conn_id = reqmgr2_conn_id
        self._check_args(at_parse=True)

    def _check_args(self, *, at_parse: bool = False) -> tuple[list[str], list[str], list[str]]:
        names: list[str] = []
        if not (at_parse and (args.is_template(self.request_name) or args.is_template(self.request_names))):
            names = args.names(
                self.request_name, self.request_names, single_arg="request_name", many_arg="request_names"
            )
        return (names, *self._check_targets(at_parse))

    def _new_watch(self) -> ReqMgr2Watch:
        names, targets, failures = self._check_args()
        return ReqMgr2Watch(self.reqmgr2_conn_id, names, targets, failures)
