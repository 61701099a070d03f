"""ReqMgr2Hook: the whole CMS ReqMgr2 REST catalogue, spoken correctly over the shared HTTP core.

Why not the WMCore client: it needs pycurl, does not URL-encode query values, raises bare
``HTTPException`` with HTML inside, retries nothing, and can create a request twice when an answer is
lost (../shared/reference/reqmgr2-api.md sections 22 and 24).

Shape: each call is built by a plain ``_build_*`` function into an ``ApiRequest`` and read back by a
plain ``_parse_*`` function (both in ``reqmgr2_wire``, with the result types). Calls that need several
round trips (duplicate-safe create and clone, status changes checked against the transition table,
edits read back to find silently dropped keys) are written once, as generators that *yield*
``ApiRequest``s and receive ``ApiResponse``s (or the raised error); ``_drive`` runs such a flow with
the sync transport and ``_adrive`` with the async one. So no protocol decision is written twice.

Wire rules (reqmgr2-api.md sections 4, 10, 13, 27): ``Accept: application/json`` always (the
dialect), JSON bodies, no query string on writes, query form ``request?name=..&mask=..`` (the path
form rejects ``mask``), values URL-encoded by the core, ``{"result": [...]}`` unwrapped, an empty
create/clone result is a failure, ``RequestPriority`` a JSON integer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any, ClassVar, TypeVar
from urllib.parse import quote

from airflow_provider_poms.hooks.base import ServiceHook
from airflow_provider_poms.hooks.reqmgr2_wire import (
    AUX_KINDS,
    CASCADE_STATUSES,
    MARKER_RE,
    URL_QUERY_LIMIT,
    EditResult,
    RequestState,
    _as_list,
    _aux_body,
    _aux_path,
    _build_by_names,
    _build_clone,
    _build_create,
    _build_get,
    _build_marker_search,
    _build_put,
    _build_query,
    _build_simple,
    _is_ambiguous,
    _names_chunks,
    _new_marker,
    _parse_aux_write,
    _parse_created,
    _parse_docs,
    _parse_first,
    _parse_put_answer,
    _parse_query,
    _parse_states,
    _parse_transition_table,
    _q,
    _Query,
    _query_length,
    _result,
    _same,
    _shape,
    _stamp,
    _strict_priority,
    _validate,
)
from airflow_provider_poms.http.dialects import ReqMgr2Dialect
from airflow_provider_poms.http.errors import (
    InvalidTransition,
    LogicalError,
    NotFound,
    ProviderError,
    ValidationError,
)
from airflow_provider_poms.http.protocol import ApiRequest, ApiResponse, Dialect
from airflow_provider_poms.http.settings import ConnectionSettings
from airflow_provider_poms.states import (
    REQMGR2_STATUSES,
    REQMGR2_TRANSITIONS,
    REQMGR2_WORKQUEUE_STAT_KEYS,
    reqmgr2_can_transition,
)

__all__ = [
    "AUX_KINDS",
    "MARKER_RE",
    "URL_QUERY_LIMIT",
    "EditResult",
    "ReqMgr2Hook",
    "RequestState",
]

log = logging.getLogger(__name__)
T = TypeVar("T")

Flow = Generator[ApiRequest, ApiResponse, T]
#: The fields a wait needs: current status and the history (a target passed meanwhile still counts).
_STATE_MASK = ("RequestStatus", "RequestTransition")


class ReqMgr2Hook(ServiceHook):
    """CMS ReqMgr2 over HTTPS. ``settings=ConnectionSettings(...)`` runs it outside Airflow.

    Every method returns plain Python data with the ``{"result": [...]}`` envelope removed. Errors
    are the typed exceptions of ``airflow_provider_poms.http.errors``.
    """

    conn_name_attr = "reqmgr2_conn_id"
    default_conn_name = "reqmgr2_default"
    conn_type = "reqmgr2"
    hook_name = "CMS ReqMgr2"
    dialect: ClassVar[Dialect] = ReqMgr2Dialect()

    def __init__(
        self, reqmgr2_conn_id: str = default_conn_name, *, settings: ConnectionSettings | None = None
    ) -> None:
        super().__init__(reqmgr2_conn_id, settings=settings)
        self.reqmgr2_conn_id = reqmgr2_conn_id

    def _probe_request(self) -> ApiRequest:
        """``GET info``: cheap, authenticated, never cached."""
        return _build_simple("data/info", "read server info")

    def _probe_summary(self, response: ApiResponse) -> str:
        try:
            version = (_parse_first(response) or {}).get("wmcore_reqmgr_version")
        except ProviderError:
            version = None
        return f"ReqMgr2 {version or '(version unknown)'} at {response.url}"

    # ------------------------------------------------------------------ flow drivers
    def _drive(self, flow: Flow[T]) -> T:
        """Run a multi-step flow with the sync transport (errors are thrown into the flow)."""
        try:
            request = next(flow)
            while True:
                try:
                    response = self.send(request)
                except ProviderError as exc:
                    request = flow.throw(exc)
                else:
                    request = flow.send(response)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]

    async def _adrive(self, flow: Flow[T]) -> T:
        """The same flow with the async transport."""
        try:
            request = next(flow)
            while True:
                try:
                    response = await self.asend(request)
                except ProviderError as exc:
                    request = flow.throw(exc)
                else:
                    request = flow.send(response)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]

    # ------------------------------------------------------------------ flows (shared by sync/async)
    @staticmethod
    def _docs_flow(names: Sequence[str], mask: Sequence[str] = ()) -> Flow[dict[str, dict[str, Any]]]:
        out: dict[str, dict[str, Any]] = {}
        for request in _build_by_names(names, mask):
            out.update(_parse_docs((yield request)))
        return out

    @classmethod
    def _states_flow(cls, names: Sequence[str]) -> Flow[dict[str, RequestState]]:
        out: dict[str, RequestState] = {}
        for request in _build_by_names(names, _STATE_MASK):
            out.update(_parse_states((yield request)))
        return out

    @classmethod
    def _query_flow(cls, query: _Query) -> Flow[dict[str, dict[str, Any]] | list[Any]]:
        names = [v for k, v in query.params if k == "name"]
        if names and _query_length(query.params) > URL_QUERY_LIMIT:
            # Long name lists go by names (POST bynames / short GETs); other filters cannot ride along.
            others = {
                k for k, _ in query.params if k not in ("name", "mask", "detail", "common_dict", "_nostale")
            }
            if others:
                raise ValidationError(
                    problems=[
                        ("names", f"too many names to combine with {', '.join(sorted(others))} in one query")
                    ]
                )
            docs = yield from cls._docs_flow(names, query.user_mask)
            return _shape(replace(query, user_mask=()), docs)
        response = yield _build_get(query.params, "query requests")
        return _parse_query(query, response)

    def _current_status_flow(self, name: str) -> Flow[str]:
        states = yield from self._states_flow([name])
        state = states.get(name)
        if state is None or state.status is None:
            raise NotFound(f"no ReqMgr2 request named {name!r}", operation=f"read status of {name}")
        return state.status

    def _status_change_flow(self, name: str, target: str, body: dict[str, Any], operation: str) -> Flow[None]:
        """Check the transition table against the current status, PUT, tolerate a retried PUT."""
        current = yield from self._current_status_flow(name)
        if not reqmgr2_can_transition(current, target):
            allowed = ", ".join(REQMGR2_TRANSITIONS.get(current, ())) or "nothing (terminal)"
            raise InvalidTransition(
                f"{name} is {current!r}; it cannot go to {target!r} (allowed from {current!r}: {allowed})",
                operation=operation,
            )
        try:
            response = yield _build_put(name, body, operation)
        except InvalidTransition:
            # A retried PUT whose first attempt landed: the request is already where we wanted.
            now = yield from self._current_status_flow(name)
            if now == target:
                return None
            raise
        _parse_put_answer(response, name, operation)
        return None

    def _edit_flow(self, name: str, fields: dict[str, Any], operation: str, strict: bool) -> Flow[EditResult]:
        before = (yield from self._docs_flow([name])).get(name)
        if before is None:
            raise NotFound(f"no ReqMgr2 request named {name!r}", operation=operation)
        response = yield _build_put(name, fields, operation)
        answer = _parse_put_answer(response, name, operation)
        after = (yield from self._docs_flow([name])).get(name) or {}
        changed, unchanged, dropped = [], [], []
        for key, value in fields.items():
            if _same(before.get(key), value):
                unchanged.append(key)
            elif _same(after.get(key), value):
                changed.append(key)
            else:
                dropped.append(key)
        result = EditResult(
            name=name,
            requested=dict(fields),
            changed=tuple(changed),
            unchanged=tuple(unchanged),
            dropped=tuple(dropped),
            status=after.get("RequestStatus"),
            answer=answer,
            stored={k: after.get(k) for k in fields},
        )
        if dropped:
            log.warning(
                "ReqMgr2 silently ignored %s for %s (status %s): not editable in that status",
                ", ".join(dropped),
                name,
                result.status,
            )
            if strict:
                raise LogicalError(
                    f"ReqMgr2 ignored {', '.join(dropped)} (not editable in status {result.status!r})",
                    operation=operation,
                )
        return result

    def _marked_create_flow(
        self,
        build: Callable[[Mapping[str, Any]], ApiRequest],
        body: dict[str, Any],
        request_type: str | None,
        operation: str,
    ) -> Flow[str]:
        """Send a create/clone at most twice; after an ambiguous failure, look the marker up first."""
        marked_rs = body.get("RequestString")
        for attempt in (1, 2):
            try:
                response = yield build(body)
                return _parse_created(response, operation)
            except ProviderError as exc:
                if not _is_ambiguous(exc) or not marked_rs:
                    raise
                found = yield from self._find_marked_flow(str(marked_rs), request_type)
                if found:
                    log.warning("%s: answer lost (%s) but the server had created %s", operation, exc, found)
                    return found
                if attempt == 2:
                    raise
                log.warning(
                    "%s: answer lost (%s) and no request carries marker %s; sending once more",
                    operation,
                    exc,
                    marked_rs,
                )
        raise AssertionError("unreachable")  # pragma: no cover

    def _find_marked_flow(self, marked_rs: str, request_type: str | None) -> Flow[str | None]:
        """Names that embed ``_<marked RequestString>_``, confirmed by a fresh name look-up."""
        response = yield _build_marker_search(request_type)
        rows = _result(response)
        token = f"_{marked_rs}_"
        candidates = sorted(r for r in rows if isinstance(r, str) and token in r)
        if not candidates:
            return None
        docs = yield from self._docs_flow(candidates, ("RequestString",))
        confirmed = sorted(n for n, d in docs.items() if d.get("RequestString") == marked_rs)
        if len(confirmed) > 1:
            log.error("several requests carry marker %s: %s (keeping the first)", marked_rs, confirmed)
        return confirmed[0] if confirmed else None

    def _create_flow(
        self, spec: Mapping[str, Any], validate: bool, dedupe: bool, marker: str | None = None
    ) -> Flow[str]:
        if not isinstance(spec, Mapping):
            raise ValidationError(problems=[("$", "a request spec must be a JSON object")])
        if validate:
            _validate("reqmgr2_create", spec)
        body = dict(spec)
        request_type = body.get("RequestType")
        label = f"create {request_type or ''} request".replace("  ", " ")
        if not dedupe:
            return _parse_created((yield _build_create(body, label)), label)
        rs = body.get("RequestString")
        if not rs and request_type == "Resubmission" and body.get("OriginalRequestName"):
            parent = yield from self._docs_flow([str(body["OriginalRequestName"])], ("RequestString",))
            rs = (parent.get(str(body["OriginalRequestName"])) or {}).get("RequestString")
        if isinstance(rs, str) and rs:
            body["RequestString"] = _stamp(rs, _chosen_marker(marker))
        name = yield from self._marked_create_flow(
            lambda b: _build_create(b, label),
            body,
            request_type if isinstance(request_type, str) else None,
            label,
        )
        return name

    def _clone_flow(
        self,
        name: str,
        overrides: Mapping[str, Any] | None,
        validate: bool,
        dedupe: bool,
        marker: str | None = None,
    ) -> Flow[str]:
        body = dict(overrides or {})
        if "RequestPriority" in body:
            _strict_priority(body["RequestPriority"], "RequestPriority")
        if validate:
            _validate("reqmgr2_clone", body)
        label = f"clone request {name}"
        original = (yield from self._docs_flow([name], ("RequestString", "RequestType"))).get(name)
        if original is None:
            raise NotFound(f"no ReqMgr2 request named {name!r} to clone", operation=label)
        if not dedupe:
            return _parse_created((yield _build_clone(name, body, label)), label)
        rs = body.get("RequestString") or original.get("RequestString")
        if isinstance(rs, str) and rs:
            body["RequestString"] = _stamp(rs, _chosen_marker(marker))
        request_type = body.get("RequestType") or original.get("RequestType")
        return (
            yield from self._marked_create_flow(
                lambda b: _build_clone(name, b, label),
                body,
                request_type if isinstance(request_type, str) else None,
                label,
            )
        )

    # ------------------------------------------------------------------ request reads
    def get_request(self, name: str) -> dict[str, Any] | None:
        """The full document of one request (fresh: name look-ups bypass CouchDB views), or None."""
        return self._drive(self._docs_flow([name])).get(name)

    async def aget_request(self, name: str) -> dict[str, Any] | None:
        return (await self._adrive(self._docs_flow([name]))).get(name)

    def get_requests_by_names(
        self, names: Iterable[str], mask: str | Iterable[str] | None = None
    ) -> dict[str, dict[str, Any]]:
        """``{name: doc}`` for the known names (unknown ones are simply absent).

        Long lists go as ``POST request/bynames`` (or, with a mask, as several short GETs).
        """
        return self._drive(self._docs_flow(_as_list(names, "names"), _as_list(mask, "mask")))

    async def aget_requests_by_names(
        self, names: Iterable[str], mask: str | Iterable[str] | None = None
    ) -> dict[str, dict[str, Any]]:
        return await self._adrive(self._docs_flow(_as_list(names, "names"), _as_list(mask, "mask")))

    def get_requests(
        self,
        *,
        names: str | Iterable[str] | None = None,
        status: str | Iterable[str] | None = None,
        request_type: str | Iterable[str] | None = None,
        team: str | Iterable[str] | None = None,
        prep_id: str | Iterable[str] | None = None,
        inputdataset: str | Iterable[str] | None = None,
        outputdataset: str | Iterable[str] | None = None,
        campaign: str | Iterable[str] | None = None,
        mc_pileup: str | Iterable[str] | None = None,
        data_pileup: str | Iterable[str] | None = None,
        requestor: str | Iterable[str] | None = None,
        mask: str | Iterable[str] | None = None,
        detail: bool = True,
        common_dict: bool = False,
        fresh: bool = False,
    ) -> dict[str, dict[str, Any]] | list[Any]:
        """Query ``GET request``: filters are intersected by the server.

        Returns ``{name: doc}`` (default), a list of names (``detail=False``) or a list of docs
        (``common_dict=True``). ``status="ACTIVE"`` means every non-archived status. Non-name
        filters read CouchDB views that may lag behind recent writes; ``fresh=True`` sends
        ``_nostale`` (costly on the server; use sparingly). Combinations the server would silently
        ignore (``team`` or ``requestor`` with other filters) raise ValidationError.
        """
        query = _build_query(
            names=names,
            status=status,
            request_type=request_type,
            team=team,
            prep_id=prep_id,
            inputdataset=inputdataset,
            outputdataset=outputdataset,
            campaign=campaign,
            mc_pileup=mc_pileup,
            data_pileup=data_pileup,
            requestor=requestor,
            mask=mask,
            detail=detail,
            common_dict=common_dict,
            fresh=fresh,
        )
        return self._drive(self._query_flow(query))

    async def aget_requests(self, **filters: Any) -> dict[str, dict[str, Any]] | list[Any]:
        """Async twin of ``get_requests`` (same keyword arguments)."""
        return await self._adrive(self._query_flow(_build_query(**filters)))

    def get_status_and_transitions(self, names: Iterable[str]) -> dict[str, RequestState]:
        """One call for many requests: ``GET request?name=..&mask=RequestStatus&mask=RequestTransition``.

        Unknown names are absent from the answer.
        """
        return self._drive(self._states_flow(_as_list(names, "names")))

    async def aget_status_and_transitions(self, names: Iterable[str]) -> dict[str, RequestState]:
        return await self._adrive(self._states_flow(_as_list(names, "names")))

    @staticmethod
    def status_chunks(names: Sequence[str]) -> list[list[str]]:
        """``names`` in the groups ``(a)get_status_and_transitions`` sends as one GET each.

        The trigger poller fetches these groups concurrently (a few in flight), one call each; the
        hook itself sends the GETs of one call one after another.
        """
        return _names_chunks(names, _STATE_MASK)

    # ------------------------------------------------------------------ create / clone
    def validate_spec(self, spec: Mapping[str, Any]) -> None:
        """Raise ValidationError listing every problem of a creation spec, with its JSON path."""
        _validate("reqmgr2_create", spec)

    def validate_assignment(self, body: Mapping[str, Any]) -> None:
        """Raise ValidationError listing every problem of an assignment body."""
        _validate("reqmgr2_assign", dict(body, RequestStatus=body.get("RequestStatus", "assigned")))

    def create_request(
        self,
        spec: Mapping[str, Any],
        *,
        validate: bool = True,
        dedupe: bool = True,
        marker: str | None = None,
    ) -> str:
        """Create a request; returns its RequestName.

        Duplicate-safe (docs/duplicate-safety.md): the RequestString gets a run-unique suffix
        ``_af<8 hex>``; if the answer is lost after the request may have been sent, the hook looks
        the marker up and returns the existing request, else sends once more. ``dedupe=False``
        keeps RequestString as given and never re-sends. ``marker`` (``_af`` + 8 hex digits) is a
        caller-chosen marker, recorded before the call so a later task try can look it up
        (``find_marked_request``) when the worker died before the answer.
        """
        return self._drive(self._create_flow(spec, validate, dedupe, marker))

    async def acreate_request(
        self,
        spec: Mapping[str, Any],
        *,
        validate: bool = True,
        dedupe: bool = True,
        marker: str | None = None,
    ) -> str:
        return await self._adrive(self._create_flow(spec, validate, dedupe, marker))

    def find_marked_request(self, marked_request_string: str, request_type: str | None = None) -> str | None:
        """The young request whose RequestString is exactly ``marked_request_string`` (or None).

        The look-up the hook itself makes after an ambiguous create; operators use it to reconcile
        a create whose worker died before the answer (docs/duplicate-safety.md).
        """
        return self._drive(self._find_marked_flow(marked_request_string, request_type))

    def clone_request(
        self,
        name: str,
        overrides: Mapping[str, Any] | None = None,
        *,
        validate: bool = True,
        dedupe: bool = True,
        marker: str | None = None,
    ) -> str:
        """Clone ``name`` (overrides merged recursively by the server); returns the new name.

        Duplicate-safe like ``create_request``. Raises NotFound for an unknown original (the server
        itself answers an empty 400).
        """
        return self._drive(self._clone_flow(name, overrides, validate, dedupe, marker))

    # ------------------------------------------------------------------ status changes
    def change_status(self, name: str, status: str, *, cascade: bool = False) -> None:
        """Move ``name`` to ``status``; InvalidTransition (before any write) when the table forbids it.

        ``cascade=True`` (only for rejected, closed-out, announced) moves Resubmission children too.
        Use ``assign_request`` for ``assigned`` and ``approve_request`` to set a priority as well.
        """
        self._drive(self._change_status(name, status, cascade=cascade))

    async def achange_status(self, name: str, status: str, *, cascade: bool = False) -> None:
        await self._adrive(self._change_status(name, status, cascade=cascade))

    def _change_status(
        self, name: str, status: str, *, cascade: bool = False, priority: int | None = None
    ) -> Flow[None]:
        if status not in REQMGR2_TRANSITIONS:
            raise ValidationError(
                problems=[
                    ("status", f"unknown ReqMgr2 status {status!r}; known: {', '.join(REQMGR2_STATUSES)}")
                ]
            )
        if status == "assigned":
            raise ValidationError(
                problems=[("status", "use assign_request(): assignment needs Team and SiteWhitelist")]
            )
        if cascade and status not in CASCADE_STATUSES:
            raise ValidationError(
                problems=[
                    ("cascade", f"only meaningful for {', '.join(sorted(CASCADE_STATUSES))}, not {status!r}")
                ]
            )
        body: dict[str, Any] = {"RequestStatus": status}
        if cascade:
            body["cascade"] = True
        if priority is not None:
            body["RequestPriority"] = _strict_priority(priority)
        _validate("reqmgr2_status_change", body)
        return self._status_change_flow(name, status, body, f"change {name} to {status}")

    def approve_request(self, name: str, priority: int | None = None) -> None:
        """``new -> assignment-approved``, optionally setting the priority in the same call."""
        self._drive(self._change_status(name, "assignment-approved", priority=priority))

    def reject_request(self, name: str, *, cascade: bool = False) -> None:
        self.change_status(name, "rejected", cascade=cascade)

    def abort_request(self, name: str) -> None:
        self.change_status(name, "aborted")

    def force_complete_request(self, name: str) -> None:
        self.change_status(name, "force-complete")

    def close_out_request(self, name: str, *, cascade: bool = False) -> None:
        self.change_status(name, "closed-out", cascade=cascade)

    def announce_request(self, name: str, *, cascade: bool = False) -> None:
        self.change_status(name, "announced", cascade=cascade)

    def assign_request(self, name: str, assignment: Mapping[str, Any]) -> None:
        """Assign (``RequestStatus: assigned`` + Team, SiteWhitelist, ...); body validated first.

        Allowed from ``assignment-approved`` and ``failed``; InvalidTransition otherwise.
        """
        self._drive(self._assign_flow(name, assignment))

    def _assign_flow(self, name: str, assignment: Mapping[str, Any]) -> Flow[None]:
        if not isinstance(assignment, Mapping):
            raise ValidationError(problems=[("$", "an assignment must be a JSON object")])
        body = dict(assignment)
        body.setdefault("RequestStatus", "assigned")
        _validate("reqmgr2_assign", body)
        return self._status_change_flow(name, "assigned", body, f"assign {name}")

    # ------------------------------------------------------------------ edits
    def update_request(self, name: str, fields: Mapping[str, Any], *, strict: bool = False) -> EditResult:
        """Edit without status change; the request is read back to report silently dropped keys.

        ``strict=True`` raises LogicalError when the server ignored any key.
        """
        return self._drive(self._update_flow(name, fields, strict))

    def _update_flow(self, name: str, fields: Mapping[str, Any], strict: bool) -> Flow[EditResult]:
        if not isinstance(fields, Mapping):
            raise ValidationError(
                problems=[("$", f"fields must be a JSON object, got {type(fields).__name__}")]
            )
        body = dict(fields)
        if "RequestStatus" in body:
            raise ValidationError(
                problems=[("RequestStatus", "use change_status()/assign_request() for status changes")]
            )
        if set(body) & REQMGR2_WORKQUEUE_STAT_KEYS:
            raise ValidationError(problems=[("$", "workqueue statistics go through update_request_stats()")])
        if "RequestPriority" in body:
            _strict_priority(body["RequestPriority"], "RequestPriority")
        _validate("reqmgr2_update", body)
        return self._edit_flow(name, body, f"update {name} ({', '.join(body)})", strict)

    def update_priority(self, name: str, priority: int) -> EditResult:
        """Set ``RequestPriority`` (a JSON integer 0..999999)."""
        return self.update_request(name, {"RequestPriority": _strict_priority(priority)})

    def update_site_lists(
        self, name: str, whitelist: Iterable[str] | None = None, blacklist: Iterable[str] | None = None
    ) -> EditResult:
        """Replace SiteWhitelist and/or SiteBlacklist (editable in assignment-approved, staging,
        acquired and running-open)."""
        fields: dict[str, Any] = {}
        if whitelist is not None:
            fields["SiteWhitelist"] = _as_list(whitelist, "whitelist")
        if blacklist is not None:
            fields["SiteBlacklist"] = _as_list(blacklist, "blacklist")
        if not fields:
            raise ValidationError(problems=[("$", "give a whitelist, a blacklist or both")])
        return self.update_request(name, fields)

    def update_request_stats(self, name: str, stats: Mapping[str, int]) -> None:
        """The global-workqueue statistics update (exactly total_jobs, input_lumis, input_events,
        input_num_files). The server adds them to the Total* fields and always answers "ERROR" on
        this path (quirk), so the answer is not checked."""
        body = dict(stats) if isinstance(stats, Mapping) else {}
        if set(body) != REQMGR2_WORKQUEUE_STAT_KEYS:
            raise ValidationError(
                problems=[("$", f"needs exactly the keys {', '.join(sorted(REQMGR2_WORKQUEUE_STAT_KEYS))}")]
            )
        _validate("reqmgr2_update", body)
        _result(self.send(_build_put(name, body, f"update workqueue statistics of {name}", idempotent=False)))

    # ------------------------------------------------------------------ service info
    def get_statuses(self) -> list[str]:
        """Every status, in the server's table order."""
        return [
            s for s in _result(self.send(_build_simple("data/status", "list statuses"))) if isinstance(s, str)
        ]

    def get_transition_table(self) -> dict[str, list[str]]:
        """``{status: [allowed next statuses]}`` as the server enforces it."""
        return _parse_transition_table(
            self.send(_build_simple("data/status", "read transition table", [("transition", "true")]))
        )

    def get_request_types(self) -> list[str]:
        return [
            s
            for s in _result(self.send(_build_simple("data/type", "list request types")))
            if isinstance(s, str)
        ]

    def get_info(self) -> dict[str, Any]:
        """Server version, CouchDB info, last injected request (a good health check)."""
        return dict(_parse_first(self.send(_build_simple("data/info", "read server info"))) or {})

    def get_proc_status(self) -> dict[str, Any]:
        return dict(_parse_first(self.send(_build_simple("data/proc_status", "read process status"))) or {})

    def get_spec_template(self, request_type: str) -> dict[str, Any]:
        """Creation arguments of a request type with defaults (``REPLACE-<arg>`` marks mandatory ones)."""
        return dict(
            _parse_first(
                self.send(
                    _build_simple(
                        "data/spec_template", f"read spec template {request_type}", [("name", request_type)]
                    )
                )
            )
            or {}
        )

    def get_workload_config(self, name: str) -> str:
        """The request's spec as Python-config text. NotFound when the request has no spec."""
        text = _parse_first(
            self.send(_build_simple(f"data/workload_config/{_q(name)}", f"read workload config of {name}"))
        )
        return text if isinstance(text, str) else ""

    def get_splitting(self, name: str) -> list[dict[str, Any]]:
        """Per-task splitting: ``[{taskName, taskType, splitAlgo, splitParams}, ...]``."""
        rows = _result(self.send(_build_simple(f"data/splitting/{_q(name)}", f"read splitting of {name}")))
        return [dict(r) for r in rows if isinstance(r, Mapping)]

    def update_splitting(self, name: str, splitting: Sequence[Mapping[str, Any]]) -> list[Any]:
        """Replace splitting parameters of tasks (rows shaped like ``get_splitting``'s)."""
        rows = [dict(r) for r in splitting]
        for i, row in enumerate(rows):
            missing = [k for k in ("taskName", "splitAlgo", "splitParams") if k not in row]
            if missing:
                raise ValidationError(
                    problems=[(f"$[{i}].{k}", f"'{k}' is a required property") for k in missing]
                )
        request = ApiRequest(
            "POST",
            f"data/splitting/{_q(name)}",
            json=rows,
            idempotent=True,
            operation=f"update splitting of {name}",
        )
        return _result(self.send(request))

    def get_wmstats_info(self, name: str) -> dict[str, Any] | None:
        """WMStats summary of a request including job information (None when nothing is known)."""
        first = _parse_first(
            self.send(_build_simple(f"data/wmstats_info/{_q(name)}", f"read wmstats info of {name}"))
        )
        return dict(first) if isinstance(first, Mapping) else None

    def get_app_config(self, doc: str) -> Any:
        return _parse_first(self.send(_build_simple(f"data/app_config/{_q(doc)}", f"read app config {doc}")))

    def update_app_config(self, doc: str, body: Mapping[str, Any]) -> list[Any]:
        request = ApiRequest(
            "PUT", f"data/app_config/{_q(doc)}", json=dict(body), operation=f"update app config {doc}"
        )
        return _result(self.send(request))

    def request_url(self, name: str) -> str:
        """The request's page in the ReqMgr2 web UI (for extra links)."""
        return f"{self.get_settings().base_url}/fetch?rid={quote(name, safe='')}"

    # ------------------------------------------------------------------ auxiliary documents
    def get_aux_doc(
        self, kind: str, name: str | None = None, *, missing_ok: bool = True
    ) -> dict[str, Any] | None:
        """One aux document (``kind``/``name``; ``name=None`` reads the bare ``<TYPE>`` doc).

        A missing document is None (``missing_ok=False``: NotFound).
        """
        try:
            first = _parse_first(
                self.send(_build_simple(_aux_path(kind, name), f"read {kind} {name or ''}".strip()))
            )
        except NotFound:
            if missing_ok:
                return None
            raise
        return dict(first) if isinstance(first, Mapping) else None

    def get_all_aux_docs(self, kind: str) -> list[dict[str, Any]]:
        """Every document of a kind (``ALL_DOCS``); each keeps its ``_id``."""
        rows = _result(self.send(_build_simple(_aux_path(kind, "ALL_DOCS"), f"read all {kind} documents")))
        return [dict(r) for r in rows if isinstance(r, Mapping)]

    def create_aux_doc(self, kind: str, name: str | None, doc: Mapping[str, Any]) -> dict[str, Any]:
        """Create (POST); an existing document is a LogicalError (CouchDB conflict, answered as 200)."""
        request = ApiRequest(
            "POST",
            _aux_path(kind, name),
            json=_aux_body(doc),
            idempotent=False,
            operation=f"create {kind} {name or ''}".strip(),
        )
        return _parse_aux_write(self.send(request), request.operation)

    def replace_aux_doc(self, kind: str, name: str | None, doc: Mapping[str, Any]) -> dict[str, Any]:
        """Replace the whole document (PUT), creating it when missing."""
        request = ApiRequest(
            "PUT",
            _aux_path(kind, name),
            json=_aux_body(doc),
            operation=f"replace {kind} {name or ''}".strip(),
        )
        return _parse_aux_write(self.send(request), request.operation)

    def delete_aux_doc(self, kind: str, name: str | None) -> bool:
        """Delete; False when there was nothing to delete."""
        request = ApiRequest("DELETE", _aux_path(kind, name), operation=f"delete {kind} {name or ''}".strip())
        try:
            rows = _result(self.send(request))
        except NotFound:
            return False
        if rows and rows[0] == "ok":  # CouchDB's answer dict streamed as rows of its keys: ok, id, rev
            return True
        row = rows[0] if rows else None
        return isinstance(row, Mapping) and not row.get("error")

    def get_parentlocks(self) -> list[str]:
        """Parent datasets locked by active workflows ([] when the server has no locks document)."""
        doc = self.get_aux_doc("parentlocks")
        locks = (doc or {}).get("parentlocks") or []
        return [str(x) for x in locks]


def _chosen_marker(marker: str | None) -> str:
    """The caller's duplicate-safety marker (checked: ``_af`` + 8 hex digits), else a fresh one."""
    if marker is None:
        return _new_marker()
    if not isinstance(marker, str) or not MARKER_RE.fullmatch(marker):
        raise ValidationError(
            problems=[("marker", f"expected '_af' + 8 lowercase hex digits, got {marker!r}")]
        )
    return marker
