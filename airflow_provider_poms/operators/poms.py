"""Launch POMS campaign stages and campaigns, upload campaign workflows."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from airflow_provider_poms.links import PomsCampaignStageLink, PomsSubmissionLink
from airflow_provider_poms.operators import reconcile
from airflow_provider_poms.operators.waiting import WaitingOperator
from airflow_provider_poms.sensors import args
from airflow_provider_poms.states import POMS_DEFAULT_FAILURES, POMS_DEFAULT_TARGETS

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_poms.http.errors import StageHeld

# A DAG file imports this module at every parse: the constructors need only ``args`` and the state
# table. The hook, the HTTP errors, the wait machinery and the triggers are imported inside the
# methods that run in the task (tests/operators/test_parse_imports.py).

ON_HELD = ("fail", "skip", "wait")
ON_NO_MORE_SPLITS = ("fail", "skip", "succeed")
XCOM_SUBMISSION_ID = "submission_id"


def override_pairs(value: Any, argument: str) -> list[list[str]] | None:
    """``{"-Osubmit.memory=": "2000MB"}`` or ``[["-Osubmit.memory=", "2000MB"]]`` -> list of pairs."""
    if value is None:
        return None
    if isinstance(value, str):
        value = args.as_list(value, argument) if value.strip().startswith("[") else value
    items = value.items() if isinstance(value, Mapping) else value
    pairs: list[list[str]] = []
    try:
        for key, val in items:
            pairs.append([str(key), "" if val is None else str(val)])
    except (TypeError, ValueError):
        raise ValueError(
            f"{argument}: expected a dict or a list of [key, value] pairs, got {value!r}"
        ) from None
    return pairs


class _PomsLaunchOperator(WaitingOperator):
    """Shared launch flow: overrides -> launch (held / no-more-splits policies) -> XCom -> wait."""

    operator_extra_links = (PomsSubmissionLink(), PomsCampaignStageLink())
    ui_color = "#7fb7e0"

    def __init__(
        self,
        *,
        experiment: str | None = None,
        role: str | None = None,
        test_launch: bool = False,
        param_overrides: Any = None,
        test_param_overrides: Any = None,
        on_held: str = "fail",
        on_no_more_splits: str = "fail",
        fail_on_held_after: float | None = None,
        target_statuses: Sequence[str] | str = POMS_DEFAULT_TARGETS,
        failure_statuses: Sequence[str] | str = POMS_DEFAULT_FAILURES,
        poms_conn_id: str = "poms_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(target_statuses=target_statuses, failure_statuses=failure_statuses, **kwargs)
        self.experiment = experiment
        self.role = role
        self.test_launch = test_launch
        self.param_overrides = param_overrides
        self.test_param_overrides = test_param_overrides
        self.on_held = args.choice(on_held, ON_HELD, "on_held")
        self.on_no_more_splits = args.choice(on_no_more_splits, ON_NO_MORE_SPLITS, "on_no_more_splits")
        self.fail_on_held_after = args.positive(fail_on_held_after, "fail_on_held_after")
        self.poms_conn_id = poms_conn_id
        self._check(at_parse=True)

    def _check(self, *, at_parse: bool = False) -> tuple[list[str], list[str]]:
        for name in ("param_overrides", "test_param_overrides"):
            value = getattr(self, name)
            if not (at_parse and args.is_template(value)):
                override_pairs(value, name)
        if at_parse and (args.is_template(self.target_statuses) or args.is_template(self.failure_statuses)):
            return [], []
        return args.check_targets(self.target_statuses, self.failure_statuses, args.poms_statuses)

    @property
    def hook(self) -> Any:
        from airflow_provider_poms.hooks.poms import PomsHook

        if getattr(self, "_hook", None) is None:
            self._hook = PomsHook(poms_conn_id=self.poms_conn_id)
        return self._hook

    # subclasses: which stage gets the overrides, and the launch call itself
    def stage_for_overrides(self) -> int | None:
        raise NotImplementedError

    def launch(self) -> Any:
        raise NotImplementedError

    def send_launch(self, scope: str, ident: int) -> Any:
        """One launch request, never re-sent by the hook: ``launch_reconciled`` decides about a second.

        The hook's own launch methods reconcile a lost answer with a look-up made at once; after a
        read timeout POMS may still be working on the launch, so the operator looks for longer.
        """
        return self.hook.send_launch_once(
            scope, ident, test_launch=self.test_launch or None, experiment=self.experiment, role=self.role
        )

    def launch_scope(self) -> tuple[str, int]:
        """("stage", id) or ("campaign", id): where a launch's submission shows up."""
        raise NotImplementedError

    def scope_rows(self, scope: tuple[str, int]) -> list[dict[str, Any]]:
        """Recent submissions of the stage (or of every stage of the campaign), as the hook lists them."""
        from airflow_provider_poms.hooks.poms import LAUNCH_CHECK_DAYS, stage_submission_rows

        kind, ident = scope
        if kind == "stage":
            page = self.hook.campaign_stage_submissions(
                self.experiment, self.role, "", "", campaign_stage_id=ident, tdays=LAUNCH_CHECK_DAYS
            )
        else:
            page = self.hook.campaign_stage_submissions(
                self.experiment, self.role, "", "*", campaign_id=ident, tdays=LAUNCH_CHECK_DAYS
            )
        return stage_submission_rows(page)

    def launch_reconciled(self, context: Context) -> int | None:
        """Launch once across tries: snapshot the highest submission id first, adopt a newer one later."""
        scope = self.launch_scope()
        pending = self.pending(context, "launch")
        if pending is not None and pending.get("scope") == list(scope):
            floor = int(pending.get("floor") or 0)
            sid = reconcile.settle(
                lambda: reconcile.launched_since(floor, self.scope_rows(scope)),
                pending.get("sent_at"),
                self.settle_window(),
                self.log,
                what=f"submission of {scope[0]} {scope[1]} above {floor}",
            )
            if sid is not None:
                self.log.warning("an earlier try launched submission %s before it died; adopting it", sid)
                return sid
        floor = reconcile.highest_id(self.scope_rows(scope))
        self.note_pending(context, "launch", scope=list(scope), floor=floor)
        return reconcile.write_once_or_adopt(
            lambda: self._launch_once(context),
            lambda: reconcile.launched_since(floor, self.scope_rows(scope)),
            self.settle_window(),
            self.log,
            what=f"launch of {scope[0]} {scope[1]}",
            nothing_sent=lambda: self.remember(context),  # refused, held, no more splits, ...
        )

    def execute(self, context: Context) -> Any:
        targets, failures = self._check()
        memo = self.remembered(context)
        sid = self._resume(context, memo, targets, failures) if memo else None
        if sid is None:
            sid = self.launch_reconciled(context)
            if sid is None:  # no more splits, on_no_more_splits="succeed"
                return None
            self.remember(context, submission_id=sid)
        context["ti"].xcom_push(key=XCOM_SUBMISSION_ID, value=sid)
        PomsSubmissionLink.persist(
            context, self.hook.submission_url(sid, self.experiment, self.role), self.log
        )
        if not self.wait_for_completion:
            return sid
        from airflow_provider_poms.sensors.waiting import PomsWatch, wait_for

        watch = PomsWatch(self.poms_conn_id, [sid], targets, failures, self.fail_on_held_after)
        wait_for(self, context, watch, mode=self.mode, poll_interval=self.poll_interval, timeout=self.timeout)
        return sid

    def _resume(
        self, context: Context, memo: dict[str, Any], targets: list[str], failures: list[str]
    ) -> int | None:
        """A reschedule continues its own submission; a retry reconnects unless that one failed."""
        sid = memo.get("submission_id")
        if not isinstance(sid, int):
            return None
        if self.same_try(context, memo):
            self.log.info("continuing the wait on submission %s launched earlier in this try", sid)
            return sid
        from airflow_provider_poms.sensors.waiting import PomsWatch
        from airflow_provider_poms.triggers.verdict import FAILURE

        watch = PomsWatch(self.poms_conn_id, [sid], targets, failures)
        if watch.check(self.log).outcome == FAILURE:
            self.log.info("submission %s of an earlier try failed; launching a new one", sid)
            return None
        self.log.info("reconnecting to submission %s launched by an earlier try", sid)
        return sid

    def _apply_overrides(self, context: Context) -> None:
        po = override_pairs(self.param_overrides, "param_overrides")
        tpo = override_pairs(self.test_param_overrides, "test_param_overrides")
        if po is None and tpo is None:
            return
        stage = self.stage_for_overrides()
        if stage is None:
            raise AirflowFailException(
                "param_overrides: a campaign launch needs stage_name to know which stage gets the overrides"
            )
        result = self.hook.update_stage_param_overrides(
            self.experiment, stage, param_overrides=po, test_param_overrides=tpo, role=self.role
        )
        self.log.info("stage %s parameter overrides now: %s", stage, result)

    def _launch_once(self, context: Context) -> int | None:
        from airflow_provider_poms.http.errors import NoMoreSplits, StageHeld

        self._apply_overrides(context)
        started = time.time()
        try:
            result = self.launch()
        except StageHeld as exc:
            return self._held(context, exc, started)
        except NoMoreSplits as exc:
            message = f"nothing launched: {exc}"
            if self.on_no_more_splits == "skip":
                raise AirflowSkipException(message) from exc
            if self.on_no_more_splits == "succeed":
                self.log.info("%s (on_no_more_splits='succeed')", message)
                return None
            raise AirflowFailException(f"{message} (on_no_more_splits='fail')") from exc
        self.log.info(
            "launched submission %s%s", result.submission_id, " (test launch)" if self.test_launch else ""
        )
        return int(result.submission_id)

    def _held(self, context: Context, exc: StageHeld, started: float) -> int:
        message = f"launch held and queued by POMS: {exc}"
        if self.on_held == "skip":
            raise AirflowSkipException(message) from exc
        if self.on_held == "fail":
            raise AirflowFailException(f"{message} (on_held='fail')") from exc
        self.log.warning("%s; waiting for POMS to launch the queued request (on_held='wait')", message)
        return self.wait_for_queued_launch(started)

    def wait_for_queued_launch(self, started: float) -> int:
        """Poll the stage's submissions until the queued launch shows up (a new submission)."""
        stage = self.stage_for_overrides()
        if stage is None:
            raise AirflowFailException("on_held='wait' needs the stage: give campaign_stage_id or stage_name")
        from airflow_provider_poms.hooks.poms import new_submission, stage_submission_rows

        def rows() -> list[dict[str, Any]]:
            page = self.hook.campaign_stage_submissions(
                self.experiment, self.role, "", "", campaign_stage_id=stage, tdays=1
            )
            return stage_submission_rows(page)

        before = {int(r["submission_id"]) for r in rows()}
        deadline = None if self.timeout is None else started + self.timeout
        while deadline is None or time.time() < deadline:
            time.sleep(self.poll_interval)
            sid = new_submission(before, rows())
            if sid is not None:
                self.log.info("the queued launch ran: submission %s", sid)
                return sid
            self.log.info("stage %s still held; waited %.0fs", stage, time.time() - started)
        raise AirflowFailException(
            f"stage {stage} stayed held for {self.timeout:g}s; the launch is still queued"
        )


class PomsLaunchStageOperator(_PomsLaunchOperator):
    """Launch a submission of one campaign stage, by ``campaign_stage_id`` or by
    ``campaign_name`` + ``stage_name``; optionally wait until it is Located.

    ``param_overrides`` / ``test_param_overrides`` (dict or ``[[key, value], ...]``) are merged into
    the stage before the launch. A held stage (HTTP 423: POMS queued the launch) is handled by
    ``on_held``: fail, skip, or wait for the queued launch to run. An exhausted split ("No more
    splits") by ``on_no_more_splits``: fail, skip or succeed. The submission id is the return value
    and XCom ``submission_id``; links to the submission and the stage are pushed.
    """

    template_fields: Sequence[str] = (
        "campaign_stage_id",
        "campaign_name",
        "stage_name",
        "experiment",
        "role",
        "param_overrides",
        "test_param_overrides",
        "target_statuses",
        "failure_statuses",
        "poms_conn_id",
    )
    template_fields_renderers = {"param_overrides": "json", "test_param_overrides": "json"}

    def __init__(
        self,
        *,
        campaign_stage_id: int | str | None = None,
        campaign_name: str | None = None,
        stage_name: str | None = None,
        **kwargs: Any,
    ) -> None:
        if campaign_stage_id is None and not (campaign_name and stage_name):
            raise ValueError("campaign_stage_id, or campaign_name and stage_name, are required")
        if campaign_stage_id is not None and (campaign_name or stage_name):
            raise ValueError("give campaign_stage_id or campaign_name + stage_name, not both")
        super().__init__(**kwargs)
        self.campaign_stage_id = campaign_stage_id
        self.campaign_name = campaign_name
        self.stage_name = stage_name
        self._stage_id: int | None = None

    def stage_for_overrides(self) -> int:
        if self._stage_id is None:
            if self.campaign_stage_id is not None:
                self._stage_id = args.submission_ids(self.campaign_stage_id, "campaign_stage_id")[0]
            else:
                found = self.hook.get_campaign_stage_id(
                    self.experiment, self.campaign_name, self.stage_name, role=self.role
                )
                if found is None:
                    raise AirflowFailException(
                        f"stage_name: POMS knows no stage {self.stage_name!r} "
                        f"in campaign {self.campaign_name!r}"
                    )
                self._stage_id = int(found)
        return self._stage_id

    def execute(self, context: Context) -> Any:
        stage = self.stage_for_overrides()
        PomsCampaignStageLink.persist(
            context, self.hook.campaign_stage_url(stage, self.experiment, self.role), self.log
        )
        return super().execute(context)

    def launch_scope(self) -> tuple[str, int]:
        return ("stage", self.stage_for_overrides())

    def launch(self) -> Any:
        return self.send_launch("stage", self.stage_for_overrides())


class PomsLaunchCampaignOperator(_PomsLaunchOperator):
    """Launch a campaign: POMS launches its single leading stage (``launch_campaign``).

    By ``campaign_id`` or ``campaign_name``. Overrides need ``stage_name`` (the leading stage's name),
    since POMS picks the stage itself. Otherwise as :class:`PomsLaunchStageOperator`.
    """

    template_fields: Sequence[str] = (
        "campaign_id",
        "campaign_name",
        "stage_name",
        "experiment",
        "role",
        "param_overrides",
        "test_param_overrides",
        "target_statuses",
        "failure_statuses",
        "poms_conn_id",
    )
    template_fields_renderers = {"param_overrides": "json", "test_param_overrides": "json"}

    def __init__(
        self,
        *,
        campaign_id: int | str | None = None,
        campaign_name: str | None = None,
        stage_name: str | None = None,
        **kwargs: Any,
    ) -> None:
        if (campaign_id is None) == (campaign_name is None):
            raise ValueError("give exactly one of campaign_id and campaign_name")
        super().__init__(**kwargs)
        self.campaign_id = campaign_id
        self.campaign_name = campaign_name
        self.stage_name = stage_name

    def _campaign(self) -> tuple[int, str | None]:
        if self.campaign_id is not None:
            return args.submission_ids(self.campaign_id, "campaign_id")[0], self.campaign_name
        found = self.hook.get_campaign_id(self.experiment, self.campaign_name, role=self.role)
        if found is None:
            raise AirflowFailException(f"campaign_name: POMS knows no campaign {self.campaign_name!r}")
        return int(found), self.campaign_name

    def stage_for_overrides(self) -> int | None:
        if not self.stage_name:
            return None
        campaign_id, name = self._campaign()
        if name is None:
            name = self.hook.get_campaign_name(self.experiment, campaign_id, role=self.role)
        found = self.hook.get_campaign_stage_id(self.experiment, name, self.stage_name, role=self.role)
        if found is None:
            raise AirflowFailException(
                f"stage_name: POMS knows no stage {self.stage_name!r} in campaign {name!r}"
            )
        return int(found)

    def launch_scope(self) -> tuple[str, int]:
        return ("campaign", self._campaign()[0])

    def launch(self) -> Any:
        return self.send_launch("campaign", self._campaign()[0])


class PomsUploadWorkflowOperator(BaseOperator):
    """Upload a campaign ``.ini`` workflow (``upload_wf``); ``replace=True`` replaces an existing campaign.

    Returns POMS' answer (``campaign_id``, ``campaign_stage_ids``); pushes ``campaign_id`` to XCom and
    the first stage's link. A ``400 Bad Request`` inside POMS' HTTP 200 answer fails the task.
    """

    template_fields: Sequence[str] = ("file_name", "experiment", "role", "poms_conn_id")
    operator_extra_links = (PomsCampaignStageLink(),)
    ui_color = "#7fb7e0"

    def __init__(
        self,
        *,
        file_name: str,
        replace: bool = False,
        experiment: str | None = None,
        role: str | None = None,
        poms_conn_id: str = "poms_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not file_name:
            raise ValueError("file_name: the campaign .ini file to upload is required")
        self.file_name = file_name
        self.replace = replace
        self.experiment = experiment
        self.role = role
        self.poms_conn_id = poms_conn_id

    def execute(self, context: Context) -> Any:
        from airflow_provider_poms.hooks.poms import PomsHook

        hook = PomsHook(poms_conn_id=self.poms_conn_id)
        answer = hook.upload_wf(
            self.file_name, experiment=self.experiment, replace=self.replace, role=self.role
        )
        self.log.info(
            "uploaded %s: campaign %s, stages %s",
            self.file_name,
            answer.get("campaign_id"),
            answer.get("campaign_stage_ids"),
        )
        context["ti"].xcom_push(key="campaign_id", value=answer.get("campaign_id"))
        stages = answer.get("campaign_stage_ids") or []
        if stages:
            first = stages[0][0] if isinstance(stages[0], list | tuple) else stages[0]
            PomsCampaignStageLink.persist(
                context, hook.campaign_stage_url(int(first), self.experiment, self.role), self.log
            )
        return answer
