"""ReqMgr2 wire protocol as plain data: result types, ``_build_*`` and ``_parse_*`` functions.

No I/O and no Airflow here: ``ReqMgr2Hook`` (hooks/reqmgr2.py) sends what these functions build
and reads answers back with them, from the sync and the async path alike. Rules come from
../shared/reference/reqmgr2-api.md (sections 5, 10-15, 27).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from airflow_provider_poms.http.errors import (
    LogicalError,
    ProviderError,
    ServerError,
    TransportError,
    ValidationError,
)
from airflow_provider_poms.http.protocol import ApiRequest, ApiResponse
from airflow_provider_poms.states import REQMGR2_ARCHIVED, REQMGR2_STATUSES, REQMGR2_TRANSITIONS

__all__ = [
    "AUX_KINDS",
    "CASCADE_STATUSES",
    "MARKER_RE",
    "URL_QUERY_LIMIT",
    "EditResult",
    "RequestState",
]

#: Past this many characters of query string, name look-ups go as ``POST request/bynames`` (or, with
#: a mask, as several GETs): front-ends commonly refuse URLs over 8 KiB.
URL_QUERY_LIMIT = 6000
#: Auxiliary-document APIs (``/reqmgr2/data/<kind>[/<name>|/ALL_DOCS]``).
AUX_KINDS = frozenset(
    {"wmagentconfig", "campaignconfig", "unifiedconfig", "transferinfo", "cmsswversions", "parentlocks"}
)
#: Status changes for which the server honours ``cascade`` (Resubmission children follow).
CASCADE_STATUSES = frozenset({"rejected", "closed-out", "announced"})
#: Statuses a just-created request can be in seconds later (someone approved or rejected it).
_YOUNG_STATUSES = ("new", "assignment-approved", "rejected")
#: Duplicate-safety marker appended to RequestString: ``_af`` + 8 hex digits, unique per call.
MARKER_RE = re.compile(r"_af[0-9a-f]{8}$")


# ============================================================================ result types


@dataclass(frozen=True)
class RequestState:
    """Status of one request and its history, as the sensors and triggers read it.

    ``transitions`` are ``(status, update_time, dn)`` in server order (``UpdateTime`` epoch
    seconds; ``dn`` may be None for direct CouchDB writers).
    """

    name: str
    status: str | None
    transitions: tuple[tuple[str, float | None, str | None], ...] = ()

    @property
    def entered_at(self) -> float | None:
        """When the request entered its current status (last matching transition), if known."""
        for status, when, _dn in reversed(self.transitions):
            if status == self.status:
                return when
        return None

    def to_dict(self) -> dict[str, Any]:
        """Plain data for XCom and trigger events."""
        return {"name": self.name, "status": self.status, "transitions": [list(t) for t in self.transitions]}


@dataclass(frozen=True)
class EditResult:
    """What an edit without status change really did.

    ReqMgr2 answers ``OK`` even when it ignored keys that are not editable in the request's current
    status, so the hook reads the request back: ``changed`` now hold the requested values,
    ``unchanged`` already held them, ``dropped`` were ignored by the server.
    """

    name: str
    requested: Mapping[str, Any]
    changed: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    dropped: tuple[str, ...] = ()
    status: str | None = None
    answer: str = "OK"
    stored: Mapping[str, Any] = field(default_factory=dict)

    @property
    def applied(self) -> bool:
        """True when every requested key holds the requested value."""
        return not self.dropped

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "requested": dict(self.requested),
            "changed": list(self.changed),
            "unchanged": list(self.unchanged),
            "dropped": list(self.dropped),
            "status": self.status,
            "answer": self.answer,
        }


# ============================================================================ small helpers


#: ReqMgr2's ``identifier`` rule for names (request names, aux documents), blank limited to space.
NAME_MAX = 100
_NAME_EXTRA = frozenset(" .-_")
#: The same rule as one regex: the fast path for valid names (a 5,000-wait poll checks every name).
_NAME_OK = re.compile(rf"[A-Za-z0-9 ._-]{{1,{NAME_MAX}}}")


def _check_name(value: Any, argument: str = "name") -> str:
    """A ReqMgr2 name, refused before any I/O when the server could never hold it.

    Why: such a name either changes the URL (``/``, ``?``, ``#``, ``%``, ``.``/``..`` segments),
    smuggles control characters into logs, or silently matches nothing; the error says which
    character or rule is the problem instead.
    """
    if isinstance(value, str) and _NAME_OK.fullmatch(value) and value not in (".", ".."):
        return value
    if not isinstance(value, str) or not value:
        raise ValidationError(problems=[(argument, f"must be a non-empty string, got {value!r:.80}")])
    shown = repr(value[:60] + ("..." if len(value) > 60 else ""))
    bad = sorted({c for c in value if not (c.isascii() and c.isalnum()) and c not in _NAME_EXTRA})
    if bad:
        chars = ", ".join(repr(c) for c in bad[:8])
        raise ValidationError(
            problems=[
                (
                    argument,
                    f"{shown} contains {chars}: ReqMgr2 names allow only letters, digits, "
                    "space, '.', '-' and '_'",
                )
            ]
        )
    if len(value) > NAME_MAX:
        raise ValidationError(
            problems=[(argument, f"{shown} is {len(value)} characters long; ReqMgr2 names have at most 100")]
        )
    if value in (".", ".."):
        raise ValidationError(
            problems=[(argument, "'.' and '..' are not names (they would change the URL path)")]
        )
    return value


def _q(segment: str, argument: str = "name") -> str:
    """One URL path segment (a checked name), fully quoted."""
    return quote(_check_name(segment, argument), safe="")


def _as_list(value: str | Iterable[str] | None, argument: str) -> list[str]:
    if value is None:
        return []
    out = [value] if isinstance(value, str) else list(value)
    for item in out:
        if not isinstance(item, str) or not item:
            raise ValidationError(
                problems=[(argument, f"values must be non-empty strings, got {item!r:.80}")]
            )
        if argument == "names":
            _check_name(item, argument)
    return out


def _result(response: ApiResponse) -> list[Any]:
    """The rows of the ``{"result": [...]}`` envelope."""
    data = response.json()
    if isinstance(data, Mapping) and isinstance(data.get("result"), list):
        return list(data["result"])
    raise LogicalError(
        f"expected a {{'result': [...]}} envelope, got {type(data).__name__}",
        url=response.url,
        status=response.status,
    )


def _merge_rows(rows: Iterable[Any]) -> dict[str, Any]:
    """Rows that are dicts keyed by request name, merged into one dict."""
    out: dict[str, Any] = {}
    for row in rows:
        if isinstance(row, Mapping):
            out.update(row)
    return out


def _strict_priority(priority: Any, argument: str = "priority") -> int:
    if isinstance(priority, bool) or not isinstance(priority, int) or not 0 <= priority <= 999_999:
        raise ValidationError(
            problems=[
                (argument, f"must be an integer between 0 and 999999 (a JSON integer), got {priority!r}")
            ]
        )
    return priority


def _validate(kind: str, body: Any) -> None:
    """Lazy import: jsonschema and the schema files load only when validation is first used."""
    from airflow_provider_poms import validation

    validation.validate(kind, body, what=f"ReqMgr2 {kind.removeprefix('reqmgr2_').replace('_', ' ')}")


# ============================================================================ builders / parsers: reads


def _build_get(params: Sequence[tuple[str, str]], operation: str, path: str = "data/request") -> ApiRequest:
    return ApiRequest("GET", path, params=tuple(params), operation=operation)


def _names_params(names: Sequence[str], mask: Sequence[str] = ()) -> list[tuple[str, str]]:
    return [("name", n) for n in names] + [("mask", m) for m in mask]


def _query_length(params: Sequence[tuple[str, str]]) -> int:
    return sum(len(quote(k, safe="")) + len(quote(v, safe="")) + 2 for k, v in params)


def _build_by_names(names: Sequence[str], mask: Sequence[str] = ()) -> list[ApiRequest]:
    """Requests fetching ``names``: one GET when short; else ``POST request/bynames`` (no mask) or
    several GETs each under ``URL_QUERY_LIMIT`` (a mask needs the query form)."""
    names = list(dict.fromkeys(_check_name(n) for n in names))
    if not names:
        return []
    op = f"get request {names[0]}" if len(names) == 1 else f"get {len(names)} requests"
    params = _names_params(names, mask)
    if _query_length(params) <= URL_QUERY_LIMIT:
        return [_build_get(params, op)]
    if not mask:
        return [ApiRequest("POST", "data/request/bynames", json=names, idempotent=True, operation=op)]
    return [_build_get(_names_params(chunk, mask), op) for chunk in _names_chunks(names, mask)]


def _names_chunks(names: Sequence[str], mask: Sequence[str]) -> list[list[str]]:
    """``names`` (checked, deduplicated) in groups whose GET query with ``mask`` stays under
    ``URL_QUERY_LIMIT``: one GET per group. Kept apart so a caller can send the groups concurrently."""
    names = list(dict.fromkeys(_check_name(n) for n in names))
    chunks: list[list[str]] = []
    chunk: list[str] = []
    base = _query_length([("mask", m) for m in mask])
    size = base
    for name in names:
        cost = _query_length([("name", name)])
        if chunk and size + cost > URL_QUERY_LIMIT:
            chunks.append(chunk)
            chunk, size = [], base
        chunk.append(name)
        size += cost
    if chunk:
        chunks.append(chunk)
    return chunks


def _parse_docs(response: ApiResponse) -> dict[str, dict[str, Any]]:
    """``{"result": [{name: doc, ...}]}`` -> ``{name: doc}`` (``{"result": []}`` -> ``{}``)."""
    return {k: dict(v) for k, v in _merge_rows(_result(response)).items() if isinstance(v, Mapping)}


def _parse_states(response: ApiResponse) -> dict[str, RequestState]:
    out: dict[str, RequestState] = {}
    for name, doc in _parse_docs(response).items():
        raw = doc.get("RequestTransition") or []
        transitions = tuple(
            (str(t.get("Status")), t.get("UpdateTime"), t.get("DN")) for t in raw if isinstance(t, Mapping)
        )
        status = doc.get("RequestStatus")
        out[name] = RequestState(name, status if isinstance(status, str) else None, transitions)
    return out


#: Filters ReqMgr2 honours only in some combinations (reference 10.3); the hook re-checks them on
#: the documents, so the answer is right whatever combination the server used.
_CLIENT_FILTERED = {"team": "Team", "requestor": "Requestor"}


@dataclass(frozen=True)
class _Query:
    """A ``GET request`` query: what goes on the wire, and what the hook checks itself.

    ReqMgr2 honours ``team`` only as ``status+team`` and ``requestor`` only as ``status+requestor``
    or ``status+request_type+requestor``, and silently ignores them otherwise (reference 10.3;
    whether ``mask``/``detail`` count as keys is not settled). When either is given, the hook asks
    for the field too (as a mask, or in the full documents) and filters the answer itself, then
    applies ``detail``/``common_dict``.
    """

    params: tuple[tuple[str, str], ...]
    client_filters: tuple[tuple[str, frozenset[str]], ...] = ()
    user_mask: tuple[str, ...] = ()
    detail: bool = True
    common_dict: bool = False

    @property
    def client_side(self) -> bool:
        return bool(self.client_filters)


def _build_query(
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
) -> _Query:
    statuses = _as_list(status, "status")
    if "ACTIVE" in statuses and len(statuses) > 1:
        raise ValidationError(problems=[("status", "ACTIVE is a status set of its own; pass it alone")])
    unknown = [s for s in statuses if s != "ACTIVE" and s not in REQMGR2_TRANSITIONS]
    if unknown:
        known = ", ".join(REQMGR2_STATUSES)
        raise ValidationError(
            problems=[("status", f"unknown ReqMgr2 status {s!r}; known: ACTIVE, {known}") for s in unknown]
        )
    masks = _as_list(mask, "mask")
    if detail and any(s in REQMGR2_ARCHIVED for s in statuses):
        raise ValidationError(
            problems=[("detail", "archived statuses can only be listed with detail=False (server rule)")]
        )
    filters: list[tuple[str, list[str]]] = [
        ("name", _as_list(names, "names")),
        ("status", statuses),
        ("request_type", _as_list(request_type, "request_type")),
        ("team", _as_list(team, "team")),
        ("prep_id", _as_list(prep_id, "prep_id")),
        ("inputdataset", _as_list(inputdataset, "inputdataset")),
        ("outputdataset", _as_list(outputdataset, "outputdataset")),
        ("campaign", _as_list(campaign, "campaign")),
        ("mc_pileup", _as_list(mc_pileup, "mc_pileup")),
        ("data_pileup", _as_list(data_pileup, "data_pileup")),
        ("requestor", _as_list(requestor, "requestor")),
    ]
    given = {k for k, v in filters if v}
    if not given - set(_CLIENT_FILTERED):
        what = "no filter" if not given else f"{' and '.join(sorted(given))} alone"
        raise ValidationError(
            problems=[
                ("$", f"{what} matches nothing on the server; add e.g. status (status='ACTIVE' for all)")
            ]
        )
    params = [(k, v) for k, values in filters for v in values]
    client = tuple((k, frozenset(v)) for k, v in filters if k in _CLIENT_FILTERED and v)
    if client:
        wire_mask = list(masks)
        if wire_mask or not detail:
            wire_mask += [_CLIENT_FILTERED[k] for k, _ in client if _CLIENT_FILTERED[k] not in wire_mask]
        params += [("mask", m) for m in wire_mask]
        if fresh:
            params.append(("_nostale", "true"))
        return _Query(tuple(params), client, tuple(masks), detail, common_dict)
    params += [("mask", m) for m in masks]
    if not detail:
        params.append(("detail", "false"))
    if common_dict:
        params.append(("common_dict", "1"))
    if fresh:
        params.append(("_nostale", "true"))
    return _Query(tuple(params), detail=detail, common_dict=common_dict, user_mask=tuple(masks))


def _matches(doc: Mapping[str, Any], field_name: str, wanted: frozenset[str]) -> bool:
    value = doc.get(field_name)
    values = value if isinstance(value, list) else [value]
    return any(isinstance(v, str) and v in wanted for v in values)


def _shape(query: _Query, docs: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]] | list[Any]:
    """``detail``/``mask``/``common_dict`` applied to ``{name: doc}`` (hook-side filtering)."""
    if not query.detail:
        return list(docs)
    if query.user_mask:
        docs = {k: {m: v.get(m) for m in query.user_mask} for k, v in docs.items()}
    if query.common_dict:
        return [v if "RequestName" in v else dict(v, RequestName=k) for k, v in docs.items()]
    return docs


def _parse_query(query: _Query, response: ApiResponse) -> dict[str, dict[str, Any]] | list[Any]:
    rows = _result(response)
    if not query.client_side:
        if not query.detail:
            return [r for r in rows if isinstance(r, str)]
        if query.common_dict:
            return [dict(r) for r in rows if isinstance(r, Mapping)]
        return {k: dict(v) for k, v in _merge_rows(rows).items() if isinstance(v, Mapping)}
    docs = {k: dict(v) for k, v in _merge_rows(rows).items() if isinstance(v, Mapping)}
    for key, wanted in query.client_filters:
        docs = {n: d for n, d in docs.items() if _matches(d, _CLIENT_FILTERED[key], wanted)}
    return _shape(query, docs)


def _build_simple(path: str, operation: str, params: Sequence[tuple[str, str]] = ()) -> ApiRequest:
    return ApiRequest("GET", path, params=tuple(params), operation=operation)


def _parse_first(response: ApiResponse) -> Any:
    rows = _result(response)
    return rows[0] if rows else None


def _parse_transition_table(response: ApiResponse) -> dict[str, list[str]]:
    return {k: list(v) for k, v in _merge_rows(_result(response)).items()}


# ============================================================================ builders / parsers: writes


def _build_put(name: str, body: Mapping[str, Any], operation: str, *, idempotent: bool = True) -> ApiRequest:
    return ApiRequest(
        "PUT", f"data/request/{_q(name)}", json=dict(body), idempotent=idempotent, operation=operation
    )


def _parse_put_answer(response: ApiResponse, name: str, operation: str) -> str:
    """``{"result": [{"<name>": "OK"}]}`` -> ``"OK"``; ``"ERROR"`` raises LogicalError."""
    answers = _merge_rows(_result(response))
    answer = answers.get(name)
    if answer is None and len(answers) == 1:
        answer = next(iter(answers.values()))
    if answer != "OK":
        raise LogicalError(
            f"ReqMgr2 answered {answer!r} for {name} (expected 'OK'): the update was not stored",
            operation=operation,
            url=response.url,
            status=response.status,
        )
    return "OK"


def _build_create(spec: Mapping[str, Any], operation: str) -> ApiRequest:
    return ApiRequest("POST", "data/request", json=dict(spec), idempotent=False, operation=operation)


def _build_clone(name: str, overrides: Mapping[str, Any], operation: str) -> ApiRequest:
    return ApiRequest(
        "POST", f"data/request/clone/{_q(name)}", json=dict(overrides), idempotent=False, operation=operation
    )


def _parse_created(response: ApiResponse, operation: str) -> str:
    """``{"result": [{"request": "<name>"}]}`` -> name; an empty result is a failure (reference 11)."""
    rows = _result(response)
    for row in rows:
        if isinstance(row, Mapping) and isinstance(row.get("request"), str):
            return str(row["request"])
    raise LogicalError(
        "ReqMgr2 returned an empty result: the request was not stored (spec attachment failed)",
        operation=operation,
        url=response.url,
        status=response.status,
        maybe_sent=True,
    )


def _new_marker() -> str:
    return "_af" + secrets.token_hex(4)


def _stamp(request_string: str, marker: str) -> str:
    """RequestString with our marker (an earlier marker, e.g. of the original of a clone, replaced)."""
    return MARKER_RE.sub("", request_string) + marker


def _is_ambiguous(exc: ProviderError) -> bool:
    """Did the server perhaps act although we got no usable answer?"""
    if isinstance(exc, TransportError):
        return bool(exc.maybe_sent)
    return isinstance(exc, ServerError | LogicalError)


def _build_marker_search(request_type: str | None) -> ApiRequest:
    params: list[tuple[str, str]] = [("status", s) for s in _YOUNG_STATUSES]
    if request_type:
        params.append(("request_type", request_type))
    params += [("detail", "false"), ("_nostale", "true")]
    return _build_get(params, "look up a request by its duplicate-safety marker")


def _aux_path(kind: str, name: str | None) -> str:
    if kind not in AUX_KINDS:
        raise ValidationError(
            problems=[("kind", f"unknown aux document kind {kind!r}; known: {', '.join(sorted(AUX_KINDS))}")]
        )
    return f"data/{kind}" if name is None else f"data/{kind}/{_q(name)}"


def _aux_body(doc: Any) -> dict[str, Any]:
    if not isinstance(doc, Mapping) or not doc:
        raise ValidationError(problems=[("doc", "must be a non-empty JSON object (the server rejects {})")])
    return dict(doc)


def _parse_aux_write(response: ApiResponse, operation: str) -> dict[str, Any]:
    """CouchDB's per-document result; a conflict entry (200!) is an error."""
    rows = _result(response)
    row = rows[0] if rows else None
    if isinstance(row, Mapping) and row.get("error"):
        raise LogicalError(
            f"{row.get('error')}: {row.get('reason') or 'document not written'}",
            operation=operation,
            url=response.url,
            status=response.status,
        )
    if not isinstance(row, Mapping):
        raise LogicalError(
            f"unexpected answer {row!r}", operation=operation, url=response.url, status=response.status
        )
    return dict(row)


def _same(stored: Any, wanted: Any) -> bool:
    """Stored value equals the requested one (lists compared in order, numbers by value)."""
    if isinstance(wanted, bool) or isinstance(stored, bool):
        return stored is wanted
    if isinstance(wanted, int | float) and isinstance(stored, int | float):
        return float(stored) == float(wanted)
    if isinstance(wanted, tuple):
        wanted = list(wanted)
    return bool(stored == wanted)
