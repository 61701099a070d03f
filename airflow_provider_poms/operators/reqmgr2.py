"""Create, approve, assign, clone, update and move CMS ReqMgr2 requests.

Every operator checks its arguments before any HTTP call (schemas for specs and assignments, the
state table for status changes) and pushes the request name to XCom (return value and key
``request_name``) with a link to the request's page.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk.exceptions import AirflowFailException

from airflow_provider_poms.links import ReqMgr2RequestLink
from airflow_provider_poms.operators import reconcile
from airflow_provider_poms.operators.waiting import WaitingOperator
from airflow_provider_poms.sensors import args
from airflow_provider_poms.states import (
    REQMGR2_TRANSITIONS,
    reqmgr2_can_transition,
    reqmgr2_path_between,
)

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_poms.http.errors import ValidationError

# A DAG file imports this module at every parse: the constructors need only ``args`` and the state
# table. The HTTP core, the wire helpers, the wait machinery and the triggers are imported inside
# the methods that run in the task (tests/operators/test_parse_imports.py).

XCOM_REQUEST_NAME = "request_name"
#: The status changes ReqMgr2ChangeStatusOperator makes (the others are assign/approve or automatic).
CHANGE_STATUS_TARGETS = ("rejected", "aborted", "force-complete", "closed-out", "announced")


def _hook(conn_id: str) -> Any:
    from airflow_provider_poms.hooks.reqmgr2 import ReqMgr2Hook

    return ReqMgr2Hook(reqmgr2_conn_id=conn_id)


def _as_dict(value: Any, argument: str) -> dict[str, Any]:
    """A dict, or JSON text (what a ``.json-tpl`` file or a Jinja-rendered string becomes)."""
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError as exc:
            raise ValueError(f"{argument}: not valid JSON ({exc})") from None
        if isinstance(parsed, dict):
            return parsed
    raise ValueError(f"{argument}: expected a JSON object (dict), got {type(value).__name__}")


def _problems(exc: ValidationError, argument: str) -> str:
    return f"{argument}: {exc}"


class _ReqMgr2Operator(WaitingOperator):
    """Connection, hook, XCom/link of the request name, optional wait."""

    operator_extra_links = (ReqMgr2RequestLink(),)
    ui_color = "#f2c14e"

    def __init__(
        self,
        *,
        reqmgr2_conn_id: str = "reqmgr2_default",
        target_statuses: Sequence[str] | str = ("completed",),
        failure_statuses: Sequence[str] | str = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(target_statuses=target_statuses, failure_statuses=failure_statuses, **kwargs)
        self.reqmgr2_conn_id = reqmgr2_conn_id
        if self.wait_for_completion and not (
            args.is_template(target_statuses) or args.is_template(failure_statuses)
        ):
            args.check_targets(target_statuses, failure_statuses, args.reqmgr2_statuses)

    @property
    def hook(self) -> Any:
        if getattr(self, "_hook", None) is None:
            self._hook = _hook(self.reqmgr2_conn_id)
        return self._hook

    def publish(self, context: Context, name: str) -> None:
        context["ti"].xcom_push(key=XCOM_REQUEST_NAME, value=name)
        ReqMgr2RequestLink.persist(context, self.hook.request_url(name), self.log)

    def maybe_wait(self, context: Context, name: str) -> str:
        if self.wait_for_completion:
            from airflow_provider_poms.sensors.waiting import ReqMgr2Watch, wait_for

            targets, failures = args.check_targets(
                self.target_statuses, self.failure_statuses, args.reqmgr2_statuses
            )
            watch = ReqMgr2Watch(self.reqmgr2_conn_id, [name], targets, failures)
            wait_for(
                self, context, watch, mode=self.mode, poll_interval=self.poll_interval, timeout=self.timeout
            )
        return name

    def current(self, name: str) -> dict[str, Any]:
        from airflow_provider_poms.triggers.verdict import reqmgr2_snapshot

        states = self.hook.get_status_and_transitions([name])
        snap = reqmgr2_snapshot(name, states.get(name))
        if snap is None:
            raise AirflowFailException(f"request_name: ReqMgr2 has no request {name!r}")
        return snap

    def check_transition(self, name: str, target: str) -> dict[str, Any]:
        """Refuse, before writing, a change the state table does not allow from the current status."""
        from airflow_provider_poms.triggers.verdict import format_path

        snap = self.current(name)
        status = snap["status"]
        if not reqmgr2_can_transition(status, target):
            allowed = ", ".join(REQMGR2_TRANSITIONS.get(status, ())) or "nothing (terminal)"
            route = reqmgr2_path_between(status, target)
            hint = f"; it would first need {' -> '.join(route)}" if route else "; it can never get there"
            raise AirflowFailException(
                f"request {name} is {status!r}: {status} -> {target} is not a legal transition (allowed: "
                f"{allowed}){hint}. Path so far: {format_path(snap['transitions']) or status}"
            )
        return snap

    def resume_started(self, context: Context) -> str | None:
        """After a reschedule (same try) or a retry whose request is not dead, reuse the request."""
        memo = self.remembered(context)
        name = memo.get("request_name") if memo else None
        if not isinstance(name, str):
            return None
        if memo is not None and self.same_try(context, memo):
            return name
        from airflow_provider_poms.sensors.waiting import ReqMgr2Watch
        from airflow_provider_poms.triggers.verdict import FAILURE

        targets, failures = args.check_targets(
            self.target_statuses, self.failure_statuses, args.reqmgr2_statuses
        )
        if ReqMgr2Watch(self.reqmgr2_conn_id, [name], targets, failures).check(self.log).outcome == FAILURE:
            return None
        self.log.info("reconnecting to request %s made by an earlier try", name)
        return name

    # -- creates and status changes that survive a worker dying mid-call (reconcile.py) ------
    def create_once(
        self,
        context: Context,
        send: Callable[[str], str],
        marked_rs: Callable[[str], str | None],
        request_type: str | None,
    ) -> str:
        """Create with a marker recorded before sending; a later try adopts what the server made."""
        from airflow_provider_poms.hooks.reqmgr2_wire import _new_marker

        pending = self.pending(context, "create")
        if pending is not None and isinstance(pending.get("marker"), str):
            found = self._find_marked(pending.get("marked"), request_type, pending.get("sent_at"))
            if found is not None:
                self.log.warning("an earlier try created %s before it died; adopting it", found)
                self.remember(context, request_name=found)
                return found
            marker = str(pending["marker"])
        elif reconcile.has_store(context):
            marker = _new_marker()
        else:
            try_number = int(context["ti"].try_number or 1)
            if try_number > 1:
                earlier = marked_rs(reconcile.deterministic_marker(context, try_number - 1))
                found = self._find_marked(earlier, request_type, None)
                if found is not None:
                    self.log.warning("adopting %s, created by try %d", found, try_number - 1)
                    return found
            marker = reconcile.deterministic_marker(context, try_number)
        marked = marked_rs(marker)
        self.note_pending(context, "create", marker=marker, marked=marked)
        name = reconcile.write_once_or_adopt(
            lambda: send(marker),
            lambda: self.hook.find_marked_request(marked, request_type) if marked else None,
            self.settle_window(),
            self.log,
            what=f"create with RequestString {marked}",
            nothing_sent=lambda: self.remember(context),
        )
        self.remember(context, request_name=name)
        return name

    def _find_marked(self, marked: Any, request_type: str | None, sent_at: Any) -> str | None:
        if not isinstance(marked, str) or not marked:
            return None
        return reconcile.settle(
            lambda: self.hook.find_marked_request(marked, request_type),
            sent_at,
            self.settle_window() if sent_at is not None else 0.0,
            self.log,
            what=f"request with RequestString {marked}",
        )

    def change_once(self, context: Context, name: str, target: str, send: Callable[[], None]) -> bool:
        """Move ``name`` to ``target`` once across tries; False when an earlier try already did it.

        Whether a status change landed is read from the request's transition history: the count of
        ``target`` entries before the call is recorded first, a higher count later means it landed.
        """
        from airflow_provider_poms.http.errors import ProviderError

        kind = f"status:{target}"
        memo = self.remembered(context) or {}
        note = next(
            (
                n
                for n in (memo.get("pending"), memo.get("change"))
                if isinstance(n, dict) and n.get("kind") == kind and n.get("request_name") == name
            ),
            None,
        )
        if note is not None:
            if note is memo.get("change") and self.same_try(context, memo):
                return False
            if reconcile.transition_count(self.current(name), target) > int(note.get("before") or 0):
                self.log.warning("%s already went to %s in an earlier try; not sending again", name, target)
                self.remember(context, request_name=name, change=note)
                return False
        before = reconcile.transition_count(self.check_transition(name, target), target)
        self.note_pending(context, kind, request_name=name, before=before)
        change = {"kind": kind, "request_name": name, "before": before}
        try:
            send()
        except ProviderError as exc:
            # Whatever the error, the history tells whether the change landed (a PUT the core
            # re-sent after a lost answer can fail although its first attempt was applied). The
            # pending record stays: the next try asks the history again before sending.
            try:
                landed = reconcile.transition_count(self.current(name), target) > before
            except ProviderError:
                raise exc from None
            if not landed:
                raise
            self.log.warning("%s: the answer was lost (%s) but %s went to %s", target, exc, name, target)
        self.remember(context, request_name=name, change=change)
        return True


class ReqMgr2CreateRequestOperator(_ReqMgr2Operator):
    """Create a request from ``spec``: a dict, JSON text, or a templated JSON file.

    A file is recognised by its suffix ``.json-tpl`` or ``.json.j2`` (``template_ext``): a distinctive
    suffix, so an ordinary string that happens to end in ``.json`` is never mistaken for a file to
    load (the databricks provider's choice). The file is rendered with Jinja, then parsed as JSON.
    The spec is schema-checked (every problem with its JSON path) at DAG parse time when it is a plain
    dict, and always before the HTTP call. Returns the new request's name.
    """

    template_fields: Sequence[str] = ("spec", "target_statuses", "failure_statuses", "reqmgr2_conn_id")
    template_ext: Sequence[str] = (".json-tpl", ".json.j2")
    template_fields_renderers = {"spec": "json"}

    def __init__(self, *, spec: Mapping[str, Any] | str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.spec = spec
        if isinstance(spec, Mapping) and not args.is_template(json.dumps(spec, default=str)):
            self._validated_spec()
        elif not isinstance(spec, Mapping | str):
            raise ValueError(
                f"spec: expected a dict, JSON text or a .json-tpl file, got {type(spec).__name__}"
            )

    def _validated_spec(self) -> dict[str, Any]:
        from airflow_provider_poms import validation
        from airflow_provider_poms.http.errors import ValidationError

        spec = _as_dict(self.spec, "spec")
        try:
            validation.validate_request_spec(spec)
        except ValidationError as exc:
            raise ValueError(_problems(exc, "spec")) from None
        return spec

    def _request_string(self, spec: Mapping[str, Any]) -> str | None:
        """The RequestString the hook will mark (a Resubmission without one inherits its parent's)."""
        rs = _text(spec.get("RequestString"))
        parent = _text(spec.get("OriginalRequestName"))
        if rs is None and spec.get("RequestType") == "Resubmission" and parent:
            docs = self.hook.get_requests_by_names([parent], mask=["RequestString"])
            rs = _text((docs.get(parent) or {}).get("RequestString"))
        return rs

    def execute(self, context: Context) -> str:
        from airflow_provider_poms.hooks.reqmgr2_wire import _stamp

        name = self.resume_started(context)
        if name is None:
            try:
                spec = self._validated_spec()
            except ValueError as exc:
                raise AirflowFailException(str(exc)) from None
            rs = self._request_string(spec)
            name = self.create_once(
                context,
                lambda marker: self.hook.create_request(
                    {**spec, "RequestString": _stamp(rs, marker)} if rs else spec,
                    validate=False,
                    dedupe=not rs,  # the operator stamps the marker and reconciles itself
                    marker=marker,
                ),
                lambda marker: _stamp(rs, marker) if rs else None,
                _text(spec.get("RequestType")),
            )
            self.log.info("created request %s", name)
        self.publish(context, name)
        return self.maybe_wait(context, name)


class ReqMgr2CloneRequestOperator(_ReqMgr2Operator):
    """Clone ``request_name`` with optional ``overrides`` (merged recursively by ReqMgr2).

    Returns the new request's name (XCom ``request_name``); the clone starts in ``new``.
    """

    template_fields: Sequence[str] = (
        "request_name",
        "overrides",
        "target_statuses",
        "failure_statuses",
        "reqmgr2_conn_id",
    )
    template_fields_renderers = {"overrides": "json"}

    def __init__(
        self, *, request_name: str, overrides: Mapping[str, Any] | str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.request_name = request_name
        self.overrides = overrides
        if isinstance(overrides, Mapping) and not args.is_template(json.dumps(overrides, default=str)):
            self._overrides()

    def _overrides(self) -> dict[str, Any] | None:
        from airflow_provider_poms import validation
        from airflow_provider_poms.http.errors import ValidationError

        if self.overrides is None:
            return None
        overrides = _as_dict(self.overrides, "overrides")
        try:
            validation.validate_clone_overrides(overrides)
        except ValidationError as exc:
            raise ValueError(_problems(exc, "overrides")) from None
        return overrides

    def execute(self, context: Context) -> str:
        from airflow_provider_poms.hooks.reqmgr2_wire import _stamp

        name = self.resume_started(context)
        if name is None:
            try:
                overrides = self._overrides()
            except ValueError as exc:
                raise AirflowFailException(str(exc)) from None
            original = (
                self.hook.get_requests_by_names(
                    [self.request_name], mask=["RequestString", "RequestType"]
                ).get(self.request_name)
                or {}
            )
            rs = _text((overrides or {}).get("RequestString")) or _text(original.get("RequestString"))
            name = self.create_once(
                context,
                lambda marker: self.hook.clone_request(
                    self.request_name,
                    {**(overrides or {}), "RequestString": _stamp(rs, marker)} if rs else overrides,
                    validate=True,
                    dedupe=not rs,  # the operator stamps the marker and reconciles itself
                    marker=marker,
                ),
                lambda marker: _stamp(rs, marker) if rs else None,
                _text((overrides or {}).get("RequestType")) or _text(original.get("RequestType")),
            )
            self.log.info("cloned %s as %s", self.request_name, name)
        self.publish(context, name)
        return self.maybe_wait(context, name)


class ReqMgr2ApproveRequestOperator(_ReqMgr2Operator):
    """Move a ``new`` request to ``assignment-approved`` (optionally setting its priority)."""

    template_fields: Sequence[str] = ("request_name", "priority", "reqmgr2_conn_id")

    def __init__(self, *, request_name: str, priority: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.request_name = request_name
        self.priority = priority

    def execute(self, context: Context) -> str:
        name = self.request_name
        priority = None if self.priority in (None, "") else _priority(self.priority)
        if self.change_once(
            context, name, "assignment-approved", lambda: self.hook.approve_request(name, priority=priority)
        ):
            self.log.info("approved %s%s", name, f" with priority {priority}" if priority is not None else "")
        self.publish(context, name)
        return name


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _priority(value: Any) -> int:
    try:
        number = int(str(value))
    except ValueError:
        raise AirflowFailException(f"priority: {value!r} is not an integer") from None
    if not 0 <= number < 1_000_000:
        raise AirflowFailException(f"priority: {number} is outside 0..999999")
    return number


class ReqMgr2AssignRequestOperator(_ReqMgr2Operator):
    """Assign a request (``assignment-approved`` or ``failed`` -> ``assigned``).

    ``team`` and ``site_whitelist`` are mandatory; ``site_blacklist`` and any other assignment argument
    (``assignment``: AcquisitionEra, ProcessingString, SoftTimeout, ...) are optional. The body is
    schema-checked before any call; optionally waits (default target ``completed``).
    """

    template_fields: Sequence[str] = (
        "request_name",
        "team",
        "site_whitelist",
        "site_blacklist",
        "assignment",
        "target_statuses",
        "failure_statuses",
        "reqmgr2_conn_id",
    )
    template_fields_renderers = {"assignment": "json"}

    def __init__(
        self,
        *,
        request_name: str,
        team: str,
        site_whitelist: Sequence[str] | str,
        site_blacklist: Sequence[str] | str | None = None,
        assignment: Mapping[str, Any] | str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.request_name = request_name
        self.team = team
        self.site_whitelist = site_whitelist
        self.site_blacklist = site_blacklist
        self.assignment = assignment
        if not any(args.is_template(v) for v in (team, site_whitelist, site_blacklist)) and not (
            isinstance(assignment, str) or args.is_template(json.dumps(assignment, default=str))
        ):
            self._body()

    def _body(self) -> dict[str, Any]:
        body = _as_dict(self.assignment, "assignment") if self.assignment is not None else {}
        body.update({"Team": self.team, "SiteWhitelist": args.as_list(self.site_whitelist, "site_whitelist")})
        if self.site_blacklist is not None:
            body["SiteBlacklist"] = args.as_list(self.site_blacklist, "site_blacklist")
        body.pop("RequestStatus", None)
        from airflow_provider_poms import validation
        from airflow_provider_poms.http.errors import ValidationError

        try:
            validation.validate_assignment({**body, "RequestStatus": "assigned"})
        except ValidationError as exc:
            raise ValueError(_problems(exc, "assignment")) from None
        return body

    def execute(self, context: Context) -> str:
        name = self.request_name
        try:
            body = self._body()
        except ValueError as exc:
            raise AirflowFailException(str(exc)) from None
        if self.change_once(context, name, "assigned", lambda: self.hook.assign_request(name, body)):
            self.log.info("assigned %s to team %s, sites %s", name, body["Team"], body["SiteWhitelist"])
        self.publish(context, name)
        return self.maybe_wait(context, name)


class ReqMgr2UpdateRequestOperator(_ReqMgr2Operator):
    """Change a request's priority and/or site lists without a status change.

    ReqMgr2 silently drops keys the current status does not allow (answering 200 "OK"); the hook reads
    the request back and this operator reports every dropped change, failing when
    ``fail_on_dropped=True`` (the default).
    """

    template_fields: Sequence[str] = (
        "request_name",
        "priority",
        "site_whitelist",
        "site_blacklist",
        "reqmgr2_conn_id",
    )

    def __init__(
        self,
        *,
        request_name: str,
        priority: int | str | None = None,
        site_whitelist: Sequence[str] | str | None = None,
        site_blacklist: Sequence[str] | str | None = None,
        fail_on_dropped: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if priority is None and site_whitelist is None and site_blacklist is None:
            raise ValueError("priority, site_whitelist or site_blacklist: give at least one change")
        self.request_name = request_name
        self.priority = priority
        self.site_whitelist = site_whitelist
        self.site_blacklist = site_blacklist
        self.fail_on_dropped = fail_on_dropped
        if priority is not None and not args.is_template(priority):
            try:
                _priority(priority)
            except AirflowFailException as exc:
                raise ValueError(str(exc)) from None

    def execute(self, context: Context) -> dict[str, Any]:
        name = self.request_name
        results = []
        if self.priority not in (None, ""):
            results.append(self.hook.update_priority(name, _priority(self.priority)))
        if self.site_whitelist is not None or self.site_blacklist is not None:
            white = (
                None if self.site_whitelist is None else args.as_list(self.site_whitelist, "site_whitelist")
            )
            black = (
                None if self.site_blacklist is None else args.as_list(self.site_blacklist, "site_blacklist")
            )
            results.append(self.hook.update_site_lists(name, whitelist=white, blacklist=black))
        changed = sorted({k for r in results for k in _keys(r, "changed")})
        dropped = sorted({k for r in results for k in _keys(r, "dropped")})
        self.publish(context, name)
        self.log.info("request %s: changed %s", name, ", ".join(changed) or "nothing")
        if dropped:
            status = self.current(name)["status"]
            message = (
                f"request {name}: ReqMgr2 silently dropped {', '.join(dropped)} "
                f"(not editable in status {status!r})"
            )
            if self.fail_on_dropped:
                raise AirflowFailException(message)
            self.log.warning(message)
        return {"request_name": name, "changed": changed, "dropped": dropped}


def _keys(result: Any, attribute: str) -> list[str]:
    value = getattr(result, attribute, None)
    if value is None and isinstance(result, Mapping):
        value = result.get(attribute)
    if isinstance(value, Mapping):
        return [str(k) for k in value]
    return [str(k) for k in (value or ())]


class ReqMgr2ChangeStatusOperator(_ReqMgr2Operator):
    """Move a request to ``status``: rejected, aborted, force-complete, closed-out or announced.

    The transition is checked against the state table before the call (a request in ``running-open``
    cannot be ``closed-out``: the task fails naming the legal next steps). ``cascade=True`` applies
    rejected/closed-out/announced to the request's ACDC children too.
    """

    template_fields: Sequence[str] = ("request_name", "status", "reqmgr2_conn_id")

    def __init__(self, *, request_name: str, status: str, cascade: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.request_name = request_name
        self.status = status
        self.cascade = cascade
        if not args.is_template(status):
            args.choice(status, CHANGE_STATUS_TARGETS, "status")
        if cascade and status not in ("rejected", "closed-out", "announced") and not args.is_template(status):
            raise ValueError("cascade: ReqMgr2 honours cascade only for rejected, closed-out and announced")

    def execute(self, context: Context) -> str:
        name = self.request_name
        try:
            status = args.choice(self.status, CHANGE_STATUS_TARGETS, "status")
        except ValueError as exc:
            raise AirflowFailException(str(exc)) from None
        if self.change_once(
            context, name, status, lambda: self.hook.change_status(name, status, cascade=self.cascade)
        ):
            self.log.info("request %s -> %s", name, status)
        self.publish(context, name)
        return name
