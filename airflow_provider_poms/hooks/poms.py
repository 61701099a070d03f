"""PomsHook: every ``poms_client`` function, spoken correctly over the shared HTTP core.

Why a reimplementation and not a wrapper: ``poms_client`` keeps global state, never verifies the
server, has no timeouts, sends ``False`` as the truthy string ``"False"`` and loses the server's
error text (docs: ../shared/reference/poms-api.md sections 4, 19, 22). Here each call is built by
plain functions into an ``ApiRequest`` and read back by plain ``parse_*`` functions (both in
``poms_wire``), so the sync methods and their async twins share every protocol decision; the hook
itself only resolves defaults (experiment/role from the call, then the connection) and does the I/O.

Wire rules (the real server's, section 4): ``POST {base}/{method}``, form body, no query string;
``None`` dropped; booleans sent as ``1`` or omitted, never as the string ``"False"``; ``fmt=json``
where the client adds it; 303 is an answer, not followed.

Server selection (``test``/``test_client``/``configfile`` of ``poms_client``) does not exist here:
dev, int and production POMS are different Airflow connections. A falsy ``test``/``test_client`` is
accepted and ignored; a truthy one raises ``ValueError`` (silently going to the connection's
server instead of the dev/int server the caller asked for would be worse); ``configfile`` is
ignored with a ``DeprecationWarning`` and never sent (the real client leaks it to the server).
"""

import asyncio
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, TypeVar
from urllib.parse import quote, urlencode

from airflow_provider_poms.hooks.base import ServiceHook
from airflow_provider_poms.hooks.poms_wire import (
    FMT_JSON_METHODS,
    LAUNCH_CHECK_DAYS,
    ORM_ENCODING_BUG,
    STATUS_CONCURRENCY,
    LaunchResult,
    SubmissionState,
    build_call,
    check_server_selection,
    deprecated_alias,
    encode_fields,
    id_list,
    is_ambiguous,
    is_auth_redirect,
    json_text,
    new_submission,
    overrides_literal,
    parse_campaign_list,
    parse_campaign_rm,
    parse_edit,
    parse_json,
    parse_launch,
    parse_optional_int,
    parse_optional_text,
    parse_param_overrides_result,
    parse_rm,
    parse_status_history,
    parse_task_id,
    parse_text,
    parse_update_submission,
    parse_upload_file,
    parse_upload_wf,
    read_upload,
    recoveries_json,
    stage_submission_rows,
    status_label,
    submission_id_from_location,
    warn_deprecated,
)
from airflow_provider_poms.http.dialects import PomsDialect
from airflow_provider_poms.http.errors import BadRequest, NotFound, ProviderError
from airflow_provider_poms.http.protocol import ApiRequest, ApiResponse
from airflow_provider_poms.http.settings import ConnectionSettings
from airflow_provider_poms.states import PomsStatus

#: The plain functions are re-exported: operators and tests import them from here.
__all__ = [
    "FMT_JSON_METHODS",
    "LAUNCH_CHECK_DAYS",
    "STATUS_CONCURRENCY",
    "LaunchResult",
    "PomsHook",
    "SubmissionState",
    "build_call",
    "check_server_selection",
    "encode_fields",
    "is_ambiguous",
    "is_auth_redirect",
    "new_submission",
    "parse_launch",
    "stage_submission_rows",
    "submission_id_from_location",
]


_T = TypeVar("_T")


def _orm_encoding_bug(exc: BadRequest) -> bool:
    """POMS committed the change, then failed to encode its answer (reference 5): not a failure."""
    return ORM_ENCODING_BUG in (exc.server_message or exc.message)


#: The view switches of the campaign and stage pages, in poms_client's order (sent as 1 or omitted).
_VIEW_SWITCHES = (
    "view_active",
    "view_inactive",
    "view_mine",
    "view_others",
    "view_production",
    "update_view",
)


def _view_switches(arguments: Mapping[str, Any]) -> dict[str, Any]:
    """The view switches among a method's arguments (``locals()``), the ones it has, in order."""
    return {name: arguments[name] for name in _VIEW_SWITCHES if name in arguments}


# ============================================================================ the hook


class PomsHook(ServiceHook):
    """Fermilab POMS over HTTPS. ``settings=ConnectionSettings(...)`` runs it outside Airflow.

    Every public ``poms_client`` function exists under its own name and arguments (deprecated ones
    warn), plus the methods the operators, sensors and triggers use (docs/architecture.md 2.1).
    """

    conn_name_attr = "poms_conn_id"
    default_conn_name = "poms_default"
    conn_type = "poms"
    hook_name = "Fermilab POMS"
    dialect: ClassVar[PomsDialect] = PomsDialect()

    def __init__(
        self, poms_conn_id: str = default_conn_name, settings: ConnectionSettings | None = None
    ) -> None:
        super().__init__(poms_conn_id, settings)
        self.poms_conn_id = self.conn_id
        # Set only by the deprecated update_session_* calls; per hook, never process-global.
        self._session_experiment: str | None = None
        self._session_role: str | None = None

    # ------------------------------------------------------------------ plumbing
    def _probe_request(self) -> ApiRequest:
        """``experiment_list``: small, authenticated, and it checks the experiment/role too."""
        return self._call("experiment_list", operation="POMS connection test")

    def _probe_summary(self, response: ApiResponse) -> str:
        settings = self.get_settings()
        who = f" as {settings.experiment}/{settings.role}" if settings.experiment else ""
        return f"POMS at {settings.base_url} answered{who} (HTTP {response.status})"

    def _er(self, experiment: str | None, role: str | None) -> tuple[str | None, str | None]:
        """Experiment and role: the call's, else update_session_*'s, else the connection's."""
        settings = self.get_settings()
        return (
            experiment or self._session_experiment or settings.experiment,
            role or self._session_role or settings.role,
        )

    def _call(
        self,
        method: str,
        fields: Iterable[tuple[str, Any]] = (),
        *,
        experiment: str | None = None,
        role: str | None = None,
        **kw: Any,
    ) -> ApiRequest:
        exp, rol = self._er(experiment, role)
        return build_call(method, fields, experiment=exp, role=rol, **kw)

    def _ask(
        self,
        parse: Callable[[ApiResponse], _T],
        method: str,
        fields: Iterable[tuple[str, Any]] = (),
        **kw: Any,
    ) -> _T:
        """One POMS call read back by its parser: the whole body of most poms_client functions."""
        return parse(self.send(self._call(method, fields, **kw)))

    def _launch_listing(
        self, key: str, ident: int | str, stage_name: str, experiment: str | None, role: str | None
    ) -> ApiRequest:
        """The recent submissions a launch is checked against (``key``: the stage's or campaign's id)."""
        what = "campaign stage" if key == "campaign_stage_id" else "campaign"
        return self._call(
            "campaign_stage_submissions",
            ((key, ident), ("campaign_name", ""), ("stage_name", stage_name), ("tdays", LAUNCH_CHECK_DAYS)),
            experiment=experiment,
            role=role,
            operation=f"list submissions of {what} {ident}",
        )

    def _remove(
        self,
        method: str,
        fields: Iterable[tuple[str, Any]],
        what: str,
        experiment: str | None,
        role: str | None,
    ) -> ApiRequest:
        """A delete form (never re-sent blindly: a second delete may answer 'not found')."""
        return self._call(
            method, fields, experiment=experiment, role=role, idempotent=False, operation=f"remove {what}"
        )

    # ------------------------------------------------------------------ launches
    def launch_campaign_stage_jobs(
        self,
        campaign_stage_id: int | str,
        test: Any = None,
        test_launch: Any = None,
        experiment: str | None = None,
        role: str | None = None,
        configfile: str | None = None,
        dataset_override: str | None = None,
    ) -> LaunchResult:
        """Launch a submission of one stage (``launch_jobs``). Duplicate-safe: see ``_launch``.

        ``test_launch`` is sent as ``1`` only when true (POMS reads ``"False"`` as true).
        ``dataset_override`` (POMS' ``launch_jobs`` field; poms_client never sent it) makes this one
        launch read that dataset/definition instead of the stage's next split.
        Raises StageHeld (423, queued), NoMoreSplits, PermissionDenied, AuthenticationError.
        """
        check_server_selection(test=test, configfile=configfile)
        request = self._launch_request(
            "stage", campaign_stage_id, test_launch, experiment, role, dataset_override=dataset_override
        )
        listing = self._launch_listing("campaign_stage_id", campaign_stage_id, "", experiment, role)
        return self._launch(request, listing)

    def launch_campaign_jobs(
        self,
        campaign_id: int | str,
        test: Any = None,
        test_launch: Any = None,
        experiment: str | None = None,
        role: str | None = None,
        configfile: str | None = None,
    ) -> LaunchResult:
        """Launch the campaign's single leading stage (``launch_campaign``). Duplicate-safe."""
        check_server_selection(test=test, configfile=configfile)
        request = self._launch_request("campaign", campaign_id, test_launch, experiment, role)
        listing = self._launch_listing("campaign_id", campaign_id, "*", experiment, role)
        return self._launch(request, listing)

    def send_launch_once(
        self,
        scope: str,
        ident: int | str,
        *,
        test_launch: Any = None,
        experiment: str | None = None,
        role: str | None = None,
    ) -> LaunchResult:
        """Send one launch request exactly once and parse POMS' answer; no reconciliation here.

        ``scope`` is ``"stage"`` (``launch_jobs`` of campaign stage ``ident``) or ``"campaign"``
        (``launch_campaign`` of campaign ``ident``). The request is non-idempotent, so the HTTP core
        never re-sends it once a byte may have left; unlike ``launch_campaign_stage_jobs`` /
        ``launch_campaign_jobs`` this method neither lists the submissions first nor looks for one
        after an ambiguous failure: that failure (``maybe_sent=True``) is raised to the caller.

        It exists for callers that reconcile themselves, over a longer window: the launch operators
        (``launch_reconciled`` in operators/poms.py, with operators/reconcile.py) record the highest
        submission id before sending and, after a lost answer, keep looking for a new submission until
        the connection's read timeout has passed, since POMS may still be working on a launch whose
        answer timed out; the hook's immediate look-up could miss it and launch twice
        (docs/duplicate-safety.md, "Across task tries").
        Raises StageHeld (423, queued), NoMoreSplits, PermissionDenied, AuthenticationError.
        """
        return parse_launch(self.send(self._launch_request(scope, ident, test_launch, experiment, role)))

    def _launch_request(
        self,
        scope: str,
        ident: int | str,
        test_launch: Any,
        experiment: str | None,
        role: str | None,
        *,
        dataset_override: str | None = None,
    ) -> ApiRequest:
        """The launch form of a stage (``launch_jobs``) or a campaign (``launch_campaign``)."""
        if scope == "stage":
            method, key, what = "launch_jobs", "campaign_stage_id", "campaign stage"
        elif scope == "campaign":  # launch_campaign has no dataset_override: no caller passes one
            method, key, what = "launch_campaign", "campaign_id", "campaign"
        else:
            raise ValueError(f"scope: {scope!r} is not 'stage' or 'campaign'")
        return self._call(
            method,
            ((key, ident), ("test_launch", test_launch), ("dataset_override", dataset_override or None)),
            experiment=experiment,
            role=role,
            flags=("test_launch",),
            idempotent=False,
            operation=f"launch {what} {ident}",
        )

    def _launch(self, request: ApiRequest, listing: ApiRequest) -> LaunchResult:
        """Send a launch at most twice, never creating a second submission for a lost answer.

        A snapshot of the stage's recent submissions is taken first; if the launch fails
        ambiguously (the bytes may have reached POMS), the list is read again and a submission
        that appeared since is returned instead of launching again (docs/duplicate-safety.md).
        """
        before = {int(r["submission_id"]) for r in stage_submission_rows(self.send(listing).json())}
        last: ProviderError | None = None
        for attempt in range(2):
            try:
                return parse_launch(self.send(request))
            except ProviderError as exc:
                if not is_ambiguous(exc):
                    raise
                last = exc
            try:
                rows = stage_submission_rows(self.send(listing).json())
            except ProviderError as check_failed:
                last.message += (
                    f" (the check for a submission POMS may have created failed too: {check_failed}; "
                    "look at the stage before launching again)"
                )
                last.args = (last.message,)
                raise last from check_failed
            sid = new_submission(before, rows)
            if sid is not None:
                self.log.warning(
                    "%s: the answer was lost (%s) but POMS created submission %s; not launching again",
                    request.operation,
                    last,
                    sid,
                )
                return LaunchResult(submission_id=sid, location="", status=0, recovered=True)
            if attempt == 0:
                self.log.warning(
                    "%s: no answer (%s) and no new submission on POMS; launching once more",
                    request.operation,
                    last,
                )
        if last is None:  # unreachable: the loop returns or records the failure
            raise RuntimeError("launch loop ended without a result")
        raise last

    def launch_jobs(
        self,
        campaign: int | str,
        test: Any = None,
        experiment: str | None = None,
        role: str | None = None,
        configfile: str | None = None,
    ) -> LaunchResult:
        """Deprecated: old name of ``launch_campaign_stage_jobs`` (without poms_client's positional bug)."""
        warn_deprecated("launch_jobs", "launch_campaign_stage_jobs")
        return self.launch_campaign_stage_jobs(
            campaign, test=test, experiment=experiment, role=role, configfile=configfile
        )

    # ------------------------------------------------------------------ submissions
    def get_submission_id_for(
        self,
        campaign_stage_id: int | str,
        user: str | None = None,
        command_executed: str | None = None,
        input_dataset: str | None = None,
        parent_submission_id: int | None = None,
        submission_id: int | None = None,
        test: Any = None,
        experiment: str | None = None,
        role: str | None = None,
        configfile: str | None = None,
    ) -> int:
        """New submission id (status New) or, with ``submission_id``, update that one; ``Task=<id>``.

        Without ``submission_id`` the call creates a submission, so it is never re-sent blindly.
        """
        check_server_selection(test=test, configfile=configfile)
        request = self._call(
            "get_submission_id_for",
            (
                ("campaign_stage_id", campaign_stage_id),
                ("user", user),
                ("command_executed", command_executed),
                ("input_dataset", input_dataset),
                ("parent_submission_id", parent_submission_id),
                ("submission_id", submission_id),
            ),
            experiment=experiment,
            role=role,
            idempotent=submission_id is not None,
            operation=f"get submission id for stage {campaign_stage_id}",
        )
        return parse_task_id(self.send(request))

    def get_task_id_for(
        self,
        campaign: int | str,
        user: str | None = None,
        command_executed: str | None = None,
        input_dataset: str | None = None,
        parent_task_id: int | None = None,
        task_id: int | None = None,
        test: Any = None,
        experiment: str | None = None,
        role: str | None = None,
        configfile: str | None = None,
    ) -> int:
        """Deprecated: old name of ``get_submission_id_for``."""
        warn_deprecated("get_task_id_for", "get_submission_id_for")
        return self.get_submission_id_for(
            campaign,
            user=user,
            command_executed=command_executed,
            input_dataset=input_dataset,
            parent_submission_id=parent_task_id,
            submission_id=task_id,
            test=test,
            experiment=experiment,
            role=role,
            configfile=configfile,
        )

    def update_submission(
        self,
        submission_id: int,
        jobsub_job_id: str | None = None,
        status: str | PomsStatus | None = None,
        project: str | None = None,
        test: Any = None,
        experiment: str | None = None,
        role: str | None = None,
        configfile: str | None = None,
        **kwargs: Any,
    ) -> str:
        """Report a submission's job id/status/project (kw: ``pct_complete``). Returns ``"Ok."``.

        ``jobsub_job_id`` is always sent (empty if unknown: POMS requires the field); the status
        name is checked first because POMS silently ignores unknown names. NotFound on ``Unknown.``.
        """
        check_server_selection(test=test, configfile=configfile)
        request = self._call(
            "update_submission",
            (
                ("submission_id", submission_id),
                ("jobsub_job_id", jobsub_job_id or ""),
                ("status", status_label(status)),
                ("project", project),
                *sorted(kwargs.items()),
            ),
            experiment=experiment,
            role=role,
            operation=f"update submission {submission_id}",
        )
        return parse_update_submission(self.send(request))

    def submission_details(
        self,
        experiment: str | None,
        role: str | None,
        submission_id: int,
        test: Any = None,
        configfile: str | None = None,
    ) -> dict[str, Any]:
        """The JSON of the submission details page (expensive on a real POMS: SAM queries)."""
        check_server_selection(test=test, configfile=configfile)
        return parse_json(self.send(self._build_submission_details(experiment, role, submission_id)))

    async def asubmission_details(
        self, experiment: str | None, role: str | None, submission_id: int
    ) -> dict[str, Any]:
        await self.aget_settings()  # the connection is read without blocking the event loop
        return parse_json(await self.asend(self._build_submission_details(experiment, role, submission_id)))

    def _build_submission_details(self, experiment: str | None, role: str | None, sid: int) -> ApiRequest:
        return self._call(
            "submission_details",
            (("submission_id", sid),),
            experiment=experiment,
            role=role,
            operation=f"submission details {sid}",
        )

    def campaign_stage_submissions(
        self,
        experiment: str | None,
        role: str | None,
        campaign_name: str | None,
        stage_name: str | None,
        test: Any = None,
        configfile: str | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Submissions of a stage in a time window (kw: tmin, tmax, tdays, campaign_stage_id, campaign_id).

        Always bound the window (``tdays``) or give ``campaign_stage_id`` on a real POMS: every row
        costs SAM queries there.
        """
        check_server_selection(test=test, configfile=configfile)
        return parse_json(
            self.send(self._build_stage_submissions(experiment, role, campaign_name, stage_name, kwargs))
        )

    async def acampaign_stage_submissions(
        self,
        experiment: str | None,
        role: str | None,
        campaign_name: str | None,
        stage_name: str | None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        await self.aget_settings()
        return parse_json(
            await self.asend(
                self._build_stage_submissions(experiment, role, campaign_name, stage_name, kwargs)
            )
        )

    def _build_stage_submissions(
        self,
        experiment: str | None,
        role: str | None,
        campaign_name: str | None,
        stage_name: str | None,
        extra: Mapping[str, Any],
    ) -> ApiRequest:
        allowed = {"tmin", "tmax", "tdays", "campaign_stage_id", "campaign_id"}
        unknown = sorted(set(extra) - allowed)
        if unknown:
            raise TypeError(f"campaign_stage_submissions got unexpected arguments {unknown}")
        fields = [("campaign_name", campaign_name), ("stage_name", stage_name)]
        fields += [(k, extra[k]) for k in sorted(extra)]
        return self._call(
            "campaign_stage_submissions",
            fields,
            experiment=experiment,
            role=role,
            operation=f"list submissions of {campaign_name}/{stage_name}",
        )

    # ------------------------------------------------------------------ status (sensors, triggers)
    def _build_status(self, submission_id: int, experiment: str | None, role: str | None) -> ApiRequest:
        return self._call(
            "session_status_history",
            (("submission_id", submission_id),),
            experiment=experiment,
            role=role,
            operation=f"status of submission {submission_id}",
        )

    def session_status_history(
        self, submission_id: int, experiment: str | None = None, role: str | None = None
    ) -> list[dict[str, Any]]:
        """The raw status history ``[{"created", "status"}, ...]`` (the cheap poll)."""
        return parse_json(self.send(self._build_status(submission_id, experiment, role)))

    def get_submission_status(
        self, submission_id: int, experiment: str | None = None, role: str | None = None
    ) -> SubmissionState:
        """Current status and history of one submission (``session_status_history``)."""
        return parse_status_history(
            submission_id, self.send(self._build_status(submission_id, experiment, role))
        )

    async def aget_submission_status(
        self, submission_id: int, experiment: str | None = None, role: str | None = None
    ) -> SubmissionState:
        await self.aget_settings()
        return parse_status_history(
            submission_id, await self.asend(self._build_status(submission_id, experiment, role))
        )

    async def aget_submission_statuses(
        self, submission_ids: Iterable[int], experiment: str | None = None, role: str | None = None
    ) -> dict[int, SubmissionState]:
        """Statuses of many submissions: one cheap call each, up to ``STATUS_CONCURRENCY`` in flight
        on the shared keep-alive pool.

        Why not ``campaign_stage_submissions``: it needs each submission's stage and, on a real POMS,
        costs SAM count queries for every row of the window, which is far dearer than N cheap
        ``session_status_history`` calls. Submissions POMS does not know are left out of the result;
        any other error is raised.
        """
        ids = list(dict.fromkeys(int(s) for s in submission_ids))
        await self.aget_settings()
        gate = asyncio.Semaphore(STATUS_CONCURRENCY)

        async def one(sid: int) -> SubmissionState | None:
            async with gate:
                try:
                    return await self.aget_submission_status(sid, experiment, role)
                except NotFound:
                    return None

        states = await asyncio.gather(*(one(s) for s in ids))
        return {s.submission_id: s for s in states if s is not None}

    # ------------------------------------------------------------------ campaigns and stages
    def show_campaigns(
        self,
        test: Any = None,
        experiment: str | None = None,
        role: str | None = None,
        configfile: str | None = None,
        view_active: Any = None,
        view_inactive: Any = None,
        view_mine: Any = None,
        view_others: Any = None,
        view_production: Any = None,
        update_view: Any = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """JSON of the campaigns page (``tl`` = campaigns with their stages)."""
        check_server_selection(test=test, configfile=configfile)
        views = _view_switches(locals())
        fields = [*views.items(), *sorted(kwargs.items())]
        return self._ask(parse_json, "show_campaigns", fields, experiment=experiment, role=role, flags=views)

    def show_campaign_stages(
        self,
        campaign_name: str | None = None,
        test: Any = None,
        experiment: str | None = None,
        role: str | None = None,
        configfile: str | None = None,
        view_active: Any = None,
        view_mine: Any = None,
        view_others: Any = None,
        view_production: Any = None,
        update_view: Any = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """JSON of a campaign's stages page (``campaign_stages``)."""
        check_server_selection(test=test, configfile=configfile)
        views = _view_switches(locals())
        fields = [("campaign_name", campaign_name), *views.items(), *sorted(kwargs.items())]
        return self._ask(
            parse_json, "show_campaign_stages", fields, experiment=experiment, role=role, flags=views
        )

    def get_campaign_id(
        self,
        experiment: str | None,
        campaign_name: str,
        test: Any = None,
        role: str | None = None,
        configfile: str | None = None,
    ) -> int | None:
        """A campaign's id from its name; None when POMS does not know the name."""
        check_server_selection(test=test, configfile=configfile)
        fields = (("campaign_name", campaign_name),)
        return self._ask(parse_optional_int, "get_campaign_id", fields, experiment=experiment, role=role)

    def get_campaign_name(
        self,
        experiment: str | None,
        campaign_id: int,
        test: Any = None,
        role: str | None = None,
        configfile: str | None = None,
    ) -> str | None:
        """A campaign's name from its id; None when not found in the acting experiment."""
        check_server_selection(test=test, configfile=configfile)
        fields = (("campaign_id", campaign_id),)
        return self._ask(parse_optional_text, "get_campaign_name", fields, experiment=experiment, role=role)

    def get_campaign_stage_id(
        self,
        experiment: str | None,
        campaign_name: str,
        campaign_stage_name: str,
        test: Any = None,
        role: str | None = None,
        configfile: str | None = None,
    ) -> int | None:
        """A stage's id from its campaign's and its own name; None when unknown."""
        check_server_selection(test=test, configfile=configfile)
        fields = (("campaign_name", campaign_name), ("campaign_stage_name", campaign_stage_name))
        return self._ask(
            parse_optional_int, "get_campaign_stage_id", fields, experiment=experiment, role=role
        )

    def get_campaign_stage_name(
        self,
        experiment: str | None,
        campaign_stage_id: int,
        test: Any = None,
        role: str | None = None,
        configfile: str | None = None,
    ) -> str | None:
        """A stage's name from its id.

        The real server's handler is broken (it answers 400, reference 5); then the name is read
        from the experiment's stage list instead, so the call still works.
        """
        check_server_selection(test=test, configfile=configfile)
        fields = (("campaign_stage_id", campaign_stage_id),)
        try:
            return self._ask(
                parse_optional_text, "get_campaign_stage_name", fields, experiment=experiment, role=role
            )
        except BadRequest as exc:
            if not _orm_encoding_bug(exc):
                raise
            stages = self.show_campaign_stages(experiment=experiment, role=role).get("campaign_stages") or []
            for stage in stages:
                if isinstance(stage, dict) and str(stage.get("campaign_stage_id")) == str(campaign_stage_id):
                    return str(stage.get("name"))
            return None

    def get_campaign_list(
        self, test_client: Any = False, experiment: str | None = None, role: str | None = None
    ) -> dict[str, int]:
        """``{name: campaign_id}`` from ``campaign_list_json``."""
        check_server_selection(test_client=test_client)
        return parse_campaign_list(
            self.send(self._call("campaign_list_json", experiment=experiment, role=role))
        )

    def tag_campaigns(
        self,
        tag: str,
        cids: str | Iterable[int],
        experiment: str | None,
        role: str | None = None,
        test_client: Any = False,
    ) -> dict[str, Any]:
        """Apply ``tag`` to campaigns ``cids`` (comma-separated string or a list of ids)."""
        check_server_selection(test_client=test_client)
        request = self._call(
            "link_tags",
            (("campaign_id", id_list(cids)), ("tag_name", tag)),
            experiment=experiment,
            role=role,
            operation=f"tag campaigns {cids} with {tag!r}",
        )
        return parse_json(self.send(request))

    def update_stage_param_overrides(
        self,
        experiment: str | None,
        campaign_stage: int | str | Sequence[str],
        param_overrides: Any = None,
        test_param_overrides: Any = None,
        test: Any = None,
        role: str | None = None,
        configfile: str | None = None,
    ) -> tuple[list[Any], list[Any]]:
        """Merge overrides (lists of ``[key, value]`` pairs, or their JSON) into a stage.

        ``campaign_stage`` is a stage id or ``(campaign_name, stage_name)``. The pairs are checked
        against schemas/poms_param_overrides.json, then sent as the string literal POMS evaluates.
        Returns the stage's resulting ``(param_overrides, test_param_overrides)``.
        """
        check_server_selection(test=test, configfile=configfile)
        po = overrides_literal("param_overrides", param_overrides)
        tpo = overrides_literal("test_param_overrides", test_param_overrides)
        stage = list(campaign_stage) if isinstance(campaign_stage, list | tuple) else campaign_stage
        request = self._call(
            "update_stage_param_overrides",
            (("campaign_stage", stage), ("param_overrides", po), ("test_param_overrides", tpo)),
            experiment=experiment,
            role=role,
            operation=f"update param overrides of stage {campaign_stage}",
        )
        return parse_param_overrides_result(self.send(request))

    def modify_job_type_recoveries(
        self,
        job_type_id: int,
        recoveries: Any,
        test: Any = None,
        experiment: str | None = None,
        role: str | None = None,
        configfile: str | None = None,
    ) -> list[Any]:
        """Merge recoveries ``[[type, [[opt, val], ...]], ...]`` (or their JSON) into a job type.

        Checked against schemas/poms_recoveries.json first. Returns the merged list.
        """
        check_server_selection(test=test, configfile=configfile)
        request = self._call(
            "modify_job_type_recoveries",
            (("job_type_id", job_type_id), ("recoveries", recoveries_json(recoveries))),
            experiment=experiment,
            role=role,
            operation=f"modify recoveries of job type {job_type_id}",
        )
        return parse_json(self.send(request))

    # ------------------------------------------------------------------ uploads and removals
    def upload_wf(
        self,
        file_name: str | Path,
        test: Any = None,
        experiment: str | None = None,
        configfile: str | None = None,
        replace: Any = False,
        role: str | None = None,
    ) -> dict[str, Any]:
        """Upload a campaign ``.ini`` (``ini_to_campaign``); returns POMS' answer with
        ``campaign_id`` and ``campaign_stage_ids`` (``[[id, name], ...]``).

        Raises LogicalError when POMS reports ``400 Bad Request`` inside its HTTP 200 answer.
        """
        check_server_selection(test=test, configfile=configfile)
        name, content = read_upload(file_name)
        request = self._call(
            "ini_to_campaign",
            (("pcl_call", 1), ("replace", replace)),
            experiment=experiment,
            role=role,
            flags=("replace",),
            files=[("upload", name, content)],
            operation=f"upload workflow {name}",
        )
        return parse_upload_wf(self.send(request))

    def upload_file(
        self,
        file_name: str | Path,
        test: Any = None,
        experiment: str | None = None,
        role: str | None = None,
        configfile: str | None = None,
    ) -> bool:
        """Upload a file to the caller's POMS uploads area (proxies, vault tokens, scripts)."""
        check_server_selection(test=test, configfile=configfile)
        name, content = read_upload(file_name)
        request = self._call(
            "upload_file",
            (),
            experiment=experiment,
            role=role,
            files=[("filename", name, content)],
            operation=f"upload file {name}",
        )
        return parse_upload_file(self.send(request))

    def download_file(
        self,
        file_name: str,
        test: Any = None,
        experiment: str | None = None,
        role: str | None = None,
        configfile: str | None = None,
    ) -> str:
        """The text of a file in the caller's POMS uploads area."""
        check_server_selection(test=test, configfile=configfile)
        request = self._call(
            "download_file",
            (("filename", file_name),),
            experiment=experiment,
            role=role,
            operation=f"download uploaded file {file_name}",
        )
        return self.send(request).text()

    def uploaded_files_rm(
        self,
        experiment: str | None,
        filename: str,
        test: Any = None,
        role: str | None = None,
        configfile: str | None = None,
    ) -> str:
        """Remove an uploaded file (``remove_uploaded_files``); returns POMS' text (``Ok.``)."""
        check_server_selection(test=test, configfile=configfile)
        fields = (("filename", filename), ("action", "delete"), ("redirect", 0))
        request = self._remove("remove_uploaded_files", fields, f"uploaded file {filename}", experiment, role)
        return parse_text(self.send(request))

    def campaign_rm(
        self,
        experiment: str | None,
        name: str,
        test: Any = False,
        role: str | None = None,
        configfile: str | None = None,
    ) -> dict[str, Any]:
        """Delete a campaign you created. POMS answers HTTP 200 either way; its refusal (the campaign
        has submissions) raises LogicalError, an unknown or foreign campaign NotFound."""
        check_server_selection(test=test, configfile=configfile)
        fields = (("action", "delete"), ("del_campaign_name", name), ("pcl_call", 1))
        request = self._remove("show_campaigns", fields, f"campaign {name!r}", experiment, role)
        return parse_campaign_rm(self.send(request))

    def job_type_rm(
        self,
        experiment: str | None,
        name: str,
        test: Any = False,
        role: str | None = None,
        configfile: str | None = None,
    ) -> Any:
        """Delete a job type you created (fails while a stage uses it)."""
        check_server_selection(test=test, configfile=configfile)
        fields = (("pcl_call", 1), ("ae_definition_name", name))
        request = self._remove("job_type_rm", fields, f"job type {name!r}", experiment, role)
        return parse_rm("job_type_rm", self.send(request))

    def login_setup_rm(
        self,
        experiment: str | None,
        name: str,
        test: Any = False,
        role: str | None = None,
        configfile: str | None = None,
    ) -> Any:
        """Delete a login setup you created (fails while a stage uses it).

        POMS commits the delete and then fails to encode its answer (HTTP 400 "... not JSON
        serializable"); that answer is reported as the success it is.
        """
        check_server_selection(test=test, configfile=configfile)
        fields = (("pcl_call", 1), ("ae_launch_name", name))
        request = self._remove("login_setup_rm", fields, f"login setup {name!r}", experiment, role)
        try:
            return parse_rm("login_setup_rm", self.send(request))
        except BadRequest as exc:
            if not _orm_encoding_bug(exc):
                raise
            return {"message": f"The LoginSetup '{name}' has been deleted.", "ae_launch_name": name}

    # ------------------------------------------------------------------ deprecated poms_client calls
    def update_session_experiment(self, experiment: str, test_client: Any = False) -> bool:
        """Deprecated: sets this hook's default experiment (pass ``experiment=`` per call instead)."""
        warn_deprecated("update_session_experiment", "experiment= on each call or the connection's")
        check_server_selection(test_client=test_client)
        self._session_experiment = experiment
        return True

    def update_session_role(self, role: str, test_client: Any = False) -> bool:
        """Deprecated: sets this hook's default role (pass ``role=`` per call instead)."""
        warn_deprecated("update_session_role", "role= on each call or the connection's role")
        check_server_selection(test_client=test_client)
        self._session_role = role
        return True

    def register_poms_campaign(
        self,
        campaign_name: str,
        user: str | None = None,
        experiment: str | None = None,
        version: str | None = None,
        dataset: str | None = None,
        campaign_definition: str | None = None,
        test: Any = None,
        role: str | None = None,
        configfile: str | None = None,
    ) -> int:
        """Deprecated: the endpoint is gone from current POMS (NotFound); use ``upload_wf``."""
        warn_deprecated("register_poms_campaign", "upload_wf")
        check_server_selection(test=test, configfile=configfile)
        request = self._call(
            "register_poms_campaign",
            (
                ("campaign_name", campaign_name),
                ("user", user),
                ("version", version),
                ("dataset", dataset),
                ("campaign_definition", campaign_definition),
            ),
            experiment=experiment,
            role=role,
            idempotent=False,
        )
        text = parse_text(self.send(request))
        return int(text.replace("Campaign=", "").strip())

    def campaign_edit(self, **kwargs: Any) -> None:
        """Deprecated and removed from poms_client too: use ``upload_wf`` or ``campaign_stage_edit``."""
        warn_deprecated("campaign_edit", "upload_wf (or campaign_stage_edit)")
        raise NotImplementedError("campaign_edit no longer exists in POMS; upload a .ini with upload_wf")

    def campaign_stage_edit(
        self,
        action: str,
        campaign_id: Any,
        ae_stage_name: str,
        pc_username: str | None,
        experiment: str | None,
        vo_role: str | None,
        dataset: str | None,
        ae_active: Any,
        ae_split_type: str | None,
        ae_software_version: str | None,
        ae_completion_type: str | None,
        ae_completion_pct: Any,
        ae_param_overrides: Any,
        ae_depends: Any,
        ae_launch_name: str | None,
        ae_campaign_definition: str | None,
        ae_test_param_overrides: Any,
        test_client: Any = None,
        configfile: str | None = None,
        role: str | None = None,
    ) -> int:
        """Deprecated GUI-form edit of a stage; returns the HTTP status (poms_client returned it too).

        Unlike poms_client, the test overrides are sent from ``ae_test_param_overrides``.
        """
        warn_deprecated("campaign_stage_edit", "upload_wf (or update_stage_param_overrides)")
        check_server_selection(test_client=test_client, configfile=configfile)
        request = self._call(
            "campaign_stage_edit",
            (
                ("pcl_call", 1),
                ("action", action),
                ("ae_campaign_name", campaign_id),
                ("ae_stage_name", ae_stage_name),
                ("pc_username", pc_username),
                ("ae_vo_role", vo_role),
                ("ae_dataset", dataset),
                ("ae_active", ae_active),
                ("ae_split_type", ae_split_type),
                ("ae_software_version", ae_software_version),
                ("ae_completion_type", ae_completion_type),
                ("ae_completion_pct", ae_completion_pct),
                ("ae_param_overrides", json_text(ae_param_overrides)),
                ("ae_test_param_overrides", json_text(ae_test_param_overrides)),
                ("ae_depends", json_text(ae_depends)),
                ("ae_launch_name", ae_launch_name),
                ("ae_campaign_definition", ae_campaign_definition),
            ),
            experiment=experiment,
            role=role,
            flags=("ae_active",),
            idempotent=False,
            operation=f"edit campaign stage {ae_stage_name!r}",
        )
        return parse_edit("campaign_stage_edit", self.send(request))

    def _job_type_edit(
        self,
        output_file_patterns: str | None,
        launch_script: Any,
        def_parameter: Any = None,
        pc_username: str | None = None,
        action: str | None = None,
        name: str | None = None,
        experiment: str | None = None,
        recoveries: Any = None,
        test_client: Any = False,
        configfile: str | None = None,
        role: str | None = None,
    ) -> int:
        """The job-type edit form, behind ``job_type_edit`` and its old name (both deprecated)."""
        check_server_selection(test_client=test_client, configfile=configfile)
        script = (
            " ".join(map(str, launch_script)) if isinstance(launch_script, list | tuple) else launch_script
        )
        request = self._call(
            "job_type_edit",
            (
                ("pcl_call", 1),
                ("action", action),
                ("ae_definition_name", name),
                ("pc_username", pc_username),
                ("ae_output_file_patterns", output_file_patterns),
                ("ae_launch_script", script),
                ("ae_definition_parameters", json_text(def_parameter)),
                ("ae_definition_recovery", json_text(recoveries)),
            ),
            experiment=experiment,
            role=role,
            idempotent=False,
            operation=f"edit job type {name!r}",
        )
        return parse_edit("job_type_edit", self.send(request))

    job_type_edit = deprecated_alias(
        _job_type_edit,
        "job_type_edit",
        "upload_wf (and modify_job_type_recoveries)",
        "Deprecated GUI-form edit of a job type; returns the HTTP status. Prefer ``upload_wf``.",
    )
    campaign_definition_edit = deprecated_alias(
        _job_type_edit,
        "campaign_definition_edit",
        "upload_wf (job types live in the .ini)",
        "Deprecated: the old name of ``job_type_edit`` (campaign definitions became job types).",
    )

    def launch_template_edit(
        self,
        action: str | None = None,
        launch_name: str | None = None,
        launch_host: str | None = None,
        user_account: str | None = None,
        launch_setup: Any = None,
        experiment: str | None = None,
        pc_username: str | None = None,
        test_client: Any = False,
        role: str | None = None,
        configfile: str | None = None,
    ) -> int:
        """Deprecated: old name of the login-setup edit form; returns the HTTP status."""
        warn_deprecated("launch_template_edit", "upload_wf (login setups live in the .ini)")
        check_server_selection(test_client=test_client, configfile=configfile)
        setup = " ".join(map(str, launch_setup)) if isinstance(launch_setup, list | tuple) else launch_setup
        request = self._call(
            "login_setup_edit",
            (
                ("pcl_call", 1),
                ("action", action),
                ("ae_launch_name", launch_name),
                ("ae_launch_host", launch_host),
                ("ae_launch_account", user_account),
                ("ae_launch_setup", setup),
                ("pc_username", pc_username),
            ),
            experiment=experiment,
            role=role,
            idempotent=False,
            operation=f"edit login setup {launch_name!r}",
        )
        return parse_edit("login_setup_edit", self.send(request))

    # ------------------------------------------------------------------ web pages (extra links)
    def _page(self, page: str, query: Mapping[str, Any], experiment: str | None, role: str | None) -> str:
        exp, rol = self._er(experiment, role)
        path = page
        if exp and rol:
            path += f"/{quote(exp, safe='')}/{quote(rol, safe='')}"
        return f"{self.get_settings().base_url}/{path}?{urlencode(query)}"

    def submission_url(
        self, submission_id: int, experiment: str | None = None, role: str | None = None
    ) -> str:
        """The submission's page in the POMS GUI (path form ``/submission_details/<exp>/<role>``)."""
        return self._page("submission_details", {"submission_id": int(submission_id)}, experiment, role)

    def campaign_stage_url(
        self, campaign_stage_id: int, experiment: str | None = None, role: str | None = None
    ) -> str:
        """The stage's page in the POMS GUI (``/campaign_stage_info/<exp>/<role>``)."""
        return self._page(
            "campaign_stage_info", {"campaign_stage_id": int(campaign_stage_id)}, experiment, role
        )
