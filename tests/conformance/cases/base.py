"""Shared parts of the differential cases: per-target context, the Case record, value extractors."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from ..diffcheck import normalize_text, render_envelope
from ..rawhttp import RawClient, RawResponse
from ..specs import ASSIGNMENT, stepchain, unique_tag
from ..targets import Target

JSON = {"Accept": "application/json"}
JSON_BODY = {"Accept": "application/json", "Content-Type": "application/json"}


class CaseContext:
    """Per-target state the cases share: clients per identity and requests created on demand."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.op = RawClient(target, "operator")
        self.rq = RawClient(target, "requestor")
        self.names: set[str] = set()
        self.aux_docs: set[str] = set()

    def create(self, client: RawClient | None = None, **overrides: Any) -> str:
        client = client or self.op
        resp = client.post_json("request", stepchain(self.target, unique_tag("Diff"), **overrides))
        assert resp.status == 200, (
            f"{self.target.name}: create failed {resp.status} {resp.header('X-Error-Detail')}"
        )
        name = str(resp.json()["result"][0]["request"])
        self.names.add(name)
        return name

    def approved_in(self, campaign: str) -> str:
        name = self.create(Campaign=campaign)
        resp = self.op.put_json(f"request/{name}", {"RequestStatus": "assignment-approved"})
        assert resp.status == 200, resp.header("X-Error-Detail")
        return name

    def approved(self) -> str:
        name = self.create()
        resp = self.op.put_json(f"request/{name}", {"RequestStatus": "assignment-approved"})
        assert resp.status == 200, resp.header("X-Error-Detail")
        return name

    def assigned(self) -> str:
        name = self.approved()
        resp = self.op.put_json(f"request/{name}", dict(ASSIGNMENT))
        assert resp.status == 200, resp.header("X-Error-Detail")
        return name

    def cloned(self) -> str:
        resp = self.op.post_json(f"request/clone/{self.assigned()}", {"Step1": {"GlobalTag": "OVERRIDE_V1"}})
        assert resp.status == 200, resp.header("X-Error-Detail")
        name = str(resp.json()["result"][0]["request"])
        self.names.add(name)
        return name

    @cached_property
    def shared_new(self) -> str:
        """A request that stays in ``new``: only failing writes and reads touch it."""
        return self.create()

    @cached_property
    def etag(self) -> str:
        return self.op.send("GET", "status", JSON).header("ETag") or '"none"'


@dataclass(frozen=True)
class Case:
    id: str
    run: Callable[[CaseContext], RawResponse]
    value: Callable[[Any], Any] | None = None  # values compared, beyond shape (None: shape only)
    # False for queries over the whole server (other tests of the session add requests on one target)
    count_rows: bool = True


def _get(path: str, headers: dict[str, str] | None = None) -> Callable[[CaseContext], RawResponse]:
    return lambda c: c.op.send("GET", path, JSON if headers is None else headers)


def _named(query: str) -> Callable[[CaseContext], RawResponse]:
    """GET request?name=<the shared new request><query>."""
    return lambda c: c.op.send("GET", f"request?name={c.shared_new}{query}", JSON)


def _put_new(body: Any) -> Callable[[CaseContext], RawResponse]:
    """PUT request/<the shared new request> (only for writes that must fail or change nothing)."""
    return lambda c: c.op.put_json(f"request/{c.shared_new}", body)


def _masked_status(result: Any) -> Any:
    return [{"<NAME>": v} for row in result for v in row.values()] if isinstance(result, list) else result


# Fields whose values legitimately differ between the two targets: times, DNs of the two PKIs, the
# store and DBS URLs (local stub vs. the emulator's cmsweb-like ones) and the per-target RequestString.
VOLATILE_FIELDS = frozenset(
    {
        "RequestDate",
        "RequestorDN",
        "DbsUrl",
        "ConfigCacheUrl",
        "CouchURL",
        "RequestWorkflow",
        "UpdateTime",
        "DN",
        "RequestString",
        "_id",
        "RequestName",
    }
)


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if k not in VOLATILE_FIELDS}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, str):
        return normalize_text(value)
    return value


def _doc_values(result: Any) -> Any:
    """Every field of the (single) request document, volatile ones left out, compared one by one."""
    docs = [doc for row in result if isinstance(row, dict) for doc in row.values() if isinstance(doc, dict)]
    if len(docs) != 1:
        return {"docs": len(docs)}
    return _clean(docs[0])


def _ok_rows(result: Any) -> Any:
    return [sorted(row.values()) for row in result] if isinstance(result, list) else result


def _only_docs(resp: RawResponse, docs: set[str]) -> RawResponse:
    """ALL_DOCS lists every document of the type on the server; the emulator is shared with other test
    modules, so keep only the rows this tier wrote (re-rendered in the same envelope; the headers,
    including ETag, stay those of the real answer)."""
    if resp.status != 200:
        return resp
    rows = [
        r
        for r in resp.json()["result"]
        if isinstance(r, dict) and str(r.get("_id", "")).split("_")[-1] in docs
    ]
    return RawResponse(resp.status, resp.reason, resp.headers, render_envelope(rows))


def _aux_rows(result: Any) -> Any:
    """Aux write results: keys per row and the ok/error flags, not ids or revisions."""
    return [sorted(row) if isinstance(row, dict) else row for row in result]


def _tasks(result: Any) -> Any:
    """Splitting rows: (task type, algorithm, task path with the request name replaced)."""
    return [
        [row.get("taskType"), row.get("splitAlgo"), normalize_text(str(row.get("taskName")))]
        for row in result
        if isinstance(row, dict)
    ]


def _names_only(result: Any) -> Any:
    return (
        ["<NAME>" if isinstance(r, str) else sorted(r) for r in result]
        if isinstance(result, list)
        else result
    )
