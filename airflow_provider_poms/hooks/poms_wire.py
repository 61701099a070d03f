"""The POMS wire protocol as plain functions: how PomsHook builds requests and reads answers.

Nothing here does I/O, so the sync methods of ``PomsHook`` and their async twins share every
decision, and the rules are unit-tested without a server (tests/hooks/test_poms_hook_unit.py).

Wire rules of the real server (../shared/reference/poms-api.md sections 4, 8, 22): ``POST
{base}/{method}``, form body, no query string; ``None`` dropped; booleans sent as ``1`` or omitted,
never as the string ``"False"`` (POMS reads any non-empty string as true); ``fmt=json`` where
poms_client adds it; 303 is an answer (a launch's redirect names the new submission), never followed.
"""

from __future__ import annotations

import ast
import functools
import json
import re
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast
from urllib.parse import parse_qs, urlsplit

from airflow_provider_poms.http.errors import (
    AuthenticationError,
    LogicalError,
    NotFound,
    ServerError,
    TransportError,
    ValidationError,
)
from airflow_provider_poms.http.protocol import ApiRequest, ApiResponse
from airflow_provider_poms.states import PomsStatus

Pairs = tuple[tuple[str, str], ...]

#: Methods whose JSON page ``poms_client`` asks for with ``fmt=json`` (reference 4.1 and 22).
FMT_JSON_METHODS = frozenset(
    {"show_campaigns", "show_campaign_stages", "campaign_stage_submissions", "submission_details"}
)
#: How many status polls ``aget_submission_statuses`` keeps in flight at once (one keep-alive pool).
STATUS_CONCURRENCY = 8
#: Window (days, server clock) of the stage listing that detects a launch POMS already committed.
LAUNCH_CHECK_DAYS = 1.0

_TRUE_WORDS = frozenset({"1", "true", "t", "yes", "y", "on"})
_FALSE_WORDS = frozenset({"", "0", "false", "f", "no", "n", "off", "none"})


# ============================================================================ result types


@dataclass(frozen=True)
class LaunchResult:
    """A launch POMS accepted: the new submission's id, the redirect it answered, its HTTP status.

    ``recovered`` is True when the answer was lost and the submission was found afterwards in the
    stage's submission list (duplicate-safe launch, docs/duplicate-safety.md); ``location`` is then
    empty and ``status`` 0.
    """

    submission_id: int
    location: str
    status: int
    recovered: bool = False


@dataclass(frozen=True)
class SubmissionState:
    """Where a submission is, from ``session_status_history`` (the cheap call).

    ``history`` is ``((status, created), ...)`` oldest first; ``status`` is the newest entry.
    ``pct_complete``/``available_output``/``jobsub_job_id`` are filled only by calls that return
    them (``campaign_stage_submissions`` rows), else None.
    """

    submission_id: int
    status: str
    history: tuple[tuple[str, str], ...] = ()
    pct_complete: float | None = None
    available_output: int | None = None
    jobsub_job_id: str | None = None

    @property
    def poms_status(self) -> PomsStatus | None:
        """The status as ``PomsStatus`` (None for a name POMS does not define)."""
        try:
            return PomsStatus.from_label(self.status)
        except ValueError:
            return None

    def to_dict(self) -> dict[str, Any]:
        """Plain data for XCom and trigger events."""
        return {
            "submission_id": self.submission_id,
            "status": self.status,
            "history": [list(h) for h in self.history],
            "pct_complete": self.pct_complete,
            "available_output": self.available_output,
            "jobsub_job_id": self.jobsub_job_id,
        }


# ============================================================================ encoding


def _flag(name: str, value: Any) -> str | None:
    """A POMS boolean: ``"1"`` when true, None (field omitted) when false.

    POMS tests these fields for truthiness of the *string*, so ``"False"`` would mean true; the
    strings ``"false"``/``"0"``/``""`` are therefore read as false here rather than passed on.
    """
    if value is None or value is False:
        return None
    if value is True:
        return "1"
    if isinstance(value, int | float):
        return "1" if value else None
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE_WORDS:
            return "1"
        if word in _FALSE_WORDS:
            return None
    raise ValueError(f"{name} must be a boolean (True/False, 1/0), got {value!r}")


#: Numeric POMS ids: positive integers (``campaign_id`` may be a comma-separated list of them).
_ID_FIELDS = frozenset(
    {"campaign_id", "campaign_stage_id", "job_type_id", "parent_submission_id", "submission_id"}
)
_ID_TEXT = re.compile(r"[1-9][0-9]*(,[1-9][0-9]*)*")


def _scalar(name: str, value: Any) -> str:
    if isinstance(value, bool):
        # A bare boolean in a non-flag field is almost certainly a mistake; never send "False".
        raise ValueError(f"{name}: a boolean is not a valid value here, got {value!r}")
    if name in _ID_FIELDS and not (
        (isinstance(value, int) and value > 0) or (isinstance(value, str) and _ID_TEXT.fullmatch(value))
    ):
        # Checked before any I/O: POMS would answer a text or negative id with a 500 or a silent miss.
        raise ValueError(f"{name} must be a positive integer id, got {value!r:.80}")
    if isinstance(value, str | int | float):
        return str(value)
    raise ValueError(f"{name}: expected a string or number, got {type(value).__name__}")


def encode_fields(fields: Iterable[tuple[str, Any]], flags: Iterable[str] = ()) -> Pairs:
    """Form pairs the way POMS reads them: None dropped, flags as ``1``/omitted, lists repeated."""
    flag_names = frozenset(flags)
    out: list[tuple[str, str]] = []
    for name, value in fields:
        if value is None:
            continue
        if name in flag_names:
            encoded = _flag(name, value)
            if encoded is not None:
                out.append((name, encoded))
        elif isinstance(value, list | tuple):
            out.extend((name, _scalar(name, v)) for v in value if v is not None)
        else:
            out.append((name, _scalar(name, value)))
    return tuple(out)


def check_server_selection(*, test: Any = None, test_client: Any = None, configfile: Any = None) -> None:
    """Refuse ``poms_client``'s server switch; dev/int/prod are separate connections here."""
    for name, value in (("test", test), ("test_client", test_client)):
        if value not in (None, False, "", 0):
            raise ValueError(
                f"{name}={value!r} selected poms_client's dev/int server; PomsHook talks to the server of "
                "its connection: use a connection that points at the dev or int POMS instead"
            )
    if configfile is not None:
        warnings.warn(
            "configfile is ignored: the Airflow connection (or settings=) gives the POMS server",
            DeprecationWarning,
            stacklevel=3,
        )


def build_call(
    method: str,
    fields: Iterable[tuple[str, Any]] = (),
    *,
    experiment: str | None = None,
    role: str | None = None,
    flags: Iterable[str] = (),
    files: Sequence[tuple[str, str, bytes]] | None = None,
    idempotent: bool = True,
    operation: str = "",
) -> ApiRequest:
    """``POST {base}/{method}`` with a form body; ``fmt=json`` where poms_client adds it."""
    pairs = list(encode_fields(fields, flags))
    pairs += encode_fields((("experiment", experiment), ("role", role)))
    if method in FMT_JSON_METHODS:
        pairs.append(("fmt", "json"))
    return ApiRequest(
        method="POST",
        path=method,
        form=tuple(pairs),
        files=tuple(files) if files else None,
        idempotent=idempotent,
        operation=operation or f"POMS {method}",
    )


# ============================================================================ parsing


def parse_json(response: ApiResponse) -> Any:
    """A JSON page as Python data."""
    return response.json()


def parse_text(response: ApiResponse) -> str:
    return response.text().strip()


def parse_optional_int(response: ApiResponse) -> int | None:
    """``get_campaign_id``/``get_campaign_stage_id``: a JSON integer, or ``null`` for an unknown name."""
    text = response.text().strip()
    if text in ("", "null", "None"):
        return None
    value = json.loads(text) if text[:1] in "-0123456789" else text
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise LogicalError(f"expected an id, got {text[:80]!r}", url=response.url, status=response.status)
    try:
        return int(value)
    except ValueError:
        raise LogicalError(
            f"expected an id, got {text[:80]!r}", url=response.url, status=response.status
        ) from None


def parse_optional_text(response: ApiResponse) -> str | None:
    """A name: plain text (``get_campaign_name``) or a JSON string; empty/``null`` -> None."""
    if response.is_json:
        value = response.json()
        return None if value in (None, "") else str(value)
    text = response.text().strip()
    return text or None


def submission_id_from_location(location: str) -> int:
    """The submission id of a launch redirect, from either server line (reference 4.3).

    Production / poms_metacat_devel: ``...?campaign_stage_id=<csid>&submission_id=<sid>``;
    main: ``...&fname=<YYYYmmdd_HHMMSS>_<user>_<sid>`` (the id is after the last ``_``).
    """
    query = parse_qs(urlsplit(location).query, keep_blank_values=True)
    for value in query.get("submission_id", ()):
        if value.strip().isdigit():
            return int(value.strip())
    for value in query.get("fname", ()):
        tail = value.rsplit("_", 1)[-1].strip()
        if tail.isdigit():
            return int(tail)
    raise LogicalError(f"launch redirect carries no submission id: {location!r}")


def is_auth_redirect(location: str) -> bool:
    """POMS' credential check answers 303 to ``/poms/auth/<exp>/<role>``: a failure, not a launch."""
    return "/auth/" in urlsplit(location).path


def parse_launch(response: ApiResponse) -> LaunchResult:
    """A launch succeeds only as a 303 whose Location names the new submission."""
    location = response.headers.get("Location", "")
    if response.status != 303 or not location:
        raise LogicalError(
            f"launch answered HTTP {response.status} without a redirect; nothing to tell which submission "
            f"was created: {response.text()[:200]!r}",
            url=response.url,
            status=response.status,
        )
    if is_auth_redirect(location):
        raise AuthenticationError(
            "POMS wants fresh credentials for this launch (redirect to its /auth/ page): upload a vault "
            "token and proxy for analysis launches",
            url=response.url,
            status=303,
            server_message=location,
        )
    try:
        sid = submission_id_from_location(location)
    except LogicalError as exc:
        exc.url, exc.status = response.url, response.status
        raise
    return LaunchResult(submission_id=sid, location=location, status=response.status)


def parse_task_id(response: ApiResponse) -> int:
    """``get_submission_id_for`` answers ``Task=<id>``."""
    text = response.text().strip()
    body = text[len("Task=") :] if text.startswith("Task=") else text
    if not body.strip().isdigit():
        raise LogicalError(
            f"expected 'Task=<id>', got {text[:80]!r}", url=response.url, status=response.status
        )
    return int(body.strip())


def parse_update_submission(response: ApiResponse) -> str:
    """``Ok.`` or ``Unknown.`` (HTTP 200 for an unknown submission)."""
    text = response.text().strip()
    if text.startswith("Unknown"):
        raise NotFound(
            "POMS does not know this submission",
            url=response.url,
            status=response.status,
            server_message=text,
        )
    return text


def json_object(response: ApiResponse, unexpected: str) -> dict[str, Any]:
    """The answer's JSON object; anything else is a LogicalError: ``unexpected`` + the answer."""
    data = response.json()
    if not isinstance(data, dict):
        raise LogicalError(f"{unexpected}{str(data)[:200]}", url=response.url, status=response.status)
    return data


def parse_upload_wf(response: ApiResponse) -> dict[str, Any]:
    """``ini_to_campaign`` reports failure inside an HTTP 200 (``status: "400 Bad Request"``)."""
    data = json_object(response, "unexpected upload_wf answer: ")
    status = str(data.get("status", ""))
    if not status.startswith("2"):
        message = data.get("message")
        text = "; ".join(map(str, message)) if isinstance(message, list) else str(message or status)
        raise LogicalError(
            f"upload_wf rejected the file: {text}",
            url=response.url,
            status=response.status,
            server_message=text,
            rest_status=status or None,
        )
    return data


def parse_upload_file(response: ApiResponse) -> bool:
    """``upload_file`` succeeds with a 303 to the uploads page."""
    if response.status == 303:
        return True
    raise LogicalError(
        f"upload_file answered HTTP {response.status} instead of a redirect: {response.text()[:200]!r}",
        url=response.url,
        status=response.status,
    )


def parse_param_overrides_result(response: ApiResponse) -> tuple[list[Any], list[Any]]:
    """The server prints ``repr((param_overrides, test_param_overrides))``; empty = stage not found."""
    text = response.text().strip()
    if not text:
        raise NotFound(
            "campaign stage not found (update_stage_param_overrides answered nothing)",
            url=response.url,
            status=response.status,
        )
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        raise LogicalError(
            f"unexpected update_stage_param_overrides answer: {text[:200]!r}",
            url=response.url,
            status=response.status,
        ) from None
    if isinstance(value, tuple) and len(value) == 2:
        return (list(value[0] or []), list(value[1] or []))
    raise LogicalError(
        f"unexpected update_stage_param_overrides answer: {text[:200]!r}",
        url=response.url,
        status=response.status,
    )


def parse_campaign_list(response: ApiResponse) -> dict[str, int]:
    """``campaign_list_json``: ``[{"name": ..., "campaign_id": ...}, ...]`` -> ``{name: id}``."""
    data = response.json()
    out: dict[str, int] = {}
    if isinstance(data, dict):
        return {str(k): int(v) for k, v in data.items()}
    for row in data or ():
        if isinstance(row, dict) and "name" in row:
            ident = row.get("campaign_id", row.get("campaign_stage_id"))
            if ident is not None:
                out[str(row["name"])] = int(ident)
    return out


def parse_status_history(submission_id: int, response: ApiResponse) -> SubmissionState:
    """``session_status_history``: ``[{"created": ..., "status": ...}, ...]``; the newest row wins."""
    rows = response.json()
    if not isinstance(rows, list):
        raise LogicalError(
            f"unexpected session_status_history answer: {str(rows)[:200]}",
            url=response.url,
            status=response.status,
        )
    history = tuple(
        sorted(
            ((str(r.get("status", "")), str(r.get("created", ""))) for r in rows if isinstance(r, dict)),
            key=lambda h: h[1],
        )
    )
    if not history:
        raise NotFound(
            f"POMS has no status history for submission {submission_id}",
            url=response.url,
            status=response.status,
        )
    return SubmissionState(submission_id=int(submission_id), status=history[-1][0], history=history)


def stage_submission_rows(data: Any) -> list[dict[str, Any]]:
    """The ``data.submissions`` rows of a ``campaign_stage_submissions`` page (absent -> [])."""
    if not isinstance(data, dict):
        return []
    inner = data.get("data")
    rows = inner.get("submissions") if isinstance(inner, dict) else None
    return [r for r in rows or () if isinstance(r, dict) and r.get("submission_id") is not None]


def removal_outcome(message: Any, *, what: str, url: str = "", status: int | None = None) -> None:
    """The removals answer HTTP 200 with a message; refusals become exceptions.

    "... not found ..." -> NotFound; "Cannot delete ..." / "... cannot be deleted" (still used,
    has submissions) -> LogicalError. Anything else is taken as done.
    """
    text = str(message or "")
    lowered = text.lower()
    if "not found" in lowered:
        raise NotFound(f"{what}: {text}", url=url, status=status, server_message=text)
    if "cannot" in lowered:
        raise LogicalError(f"{what} refused: {text}", url=url, status=status, server_message=text)


def parse_rm(what: str, response: ApiResponse) -> dict[str, Any]:
    """``job_type_rm``/``login_setup_rm``: ``{"message": ...}``; refusals raise (removal_outcome)."""
    data = json_object(response, f"{what}: unexpected answer ")
    removal_outcome(data.get("message"), what=what, url=response.url, status=response.status)
    return data


def parse_campaign_rm(response: ApiResponse) -> dict[str, Any]:
    """``show_campaigns`` with ``action=delete``: the outcome is the page's ``msg``."""
    data = json_object(response, "campaign_rm: unexpected answer ")
    removal_outcome(data.get("msg"), what="campaign_rm", url=response.url, status=response.status)
    return data


def parse_edit(what: str, response: ApiResponse) -> int:
    """The deprecated ``*_edit`` forms: the HTTP status (what poms_client returned).

    When the server answers data (``{"data": {"message": ...}}``), a non-empty message is the
    reason nothing was changed and raises LogicalError.
    """
    if response.is_json:
        data = response.json()
        inner = data.get("data") if isinstance(data, dict) else None
        message = inner.get("message") if isinstance(inner, dict) else None
        if message:
            raise LogicalError(
                f"{what}: {message}", url=response.url, status=response.status, server_message=str(message)
            )
    return response.status


#: POMS answers 400 when a handler returns an ORM object it cannot JSON-encode: get_campaign_stage_name
#: (a Row) always, and login_setup_rm (a Query) *after* committing the delete (reference 5, 8.4).
ORM_ENCODING_BUG = "not JSON serializable"


# ============================================================================ input checks


def _literal_list(name: str, value: Any) -> Any:
    """Accept a Python list or its JSON (or Python-literal) dump, as poms_client does."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        try:
            return ast.literal_eval(value)
        except (ValueError, SyntaxError):
            raise ValidationError(problems=[("$", f"{name} is neither JSON nor a Python literal")]) from None


def overrides_literal(name: str, value: Any) -> str | None:
    """POMS evaluates the value as a Python literal: send a string such as ``[["-Ox=", "1"]]``.

    The pairs are checked against schemas/poms_param_overrides.json first (every problem listed).
    """
    if value is None:
        return None
    from airflow_provider_poms.validation import validate_poms_param_overrides

    pairs = validate_poms_param_overrides(_literal_list(name, value))
    return json.dumps([list(p) for p in pairs])


def recoveries_json(value: Any) -> str:
    """``modify_job_type_recoveries`` takes JSON; checked against schemas/poms_recoveries.json."""
    from airflow_provider_poms.validation import validate_poms_recoveries

    return json.dumps(validate_poms_recoveries(_literal_list("recoveries", value)))


def status_label(status: Any) -> str | None:
    """Unknown statuses are silently ignored by POMS: catch the typo here instead."""
    if status is None:
        return None
    if isinstance(status, PomsStatus):
        return status.label
    try:
        return PomsStatus.from_label(str(status)).label
    except ValueError as exc:
        raise ValidationError(problems=[("status", str(exc))]) from None


def read_upload(path: str | Path) -> tuple[str, bytes]:
    p = Path(path)
    try:
        return p.name, p.read_bytes()
    except OSError as exc:
        raise ValidationError(problems=[("file_name", f"cannot read {p}: {exc.strerror}")]) from None


def id_list(cids: Any) -> str:
    if isinstance(cids, list | tuple | set):
        return ",".join(str(c).strip() for c in cids)  # each id is checked with the field (_scalar)
    return str(cids)


def warn_deprecated(old: str, new: str) -> None:
    warnings.warn(f"{old} is deprecated: use {new}", DeprecationWarning, stacklevel=3)


_Method = TypeVar("_Method", bound=Callable[..., Any])


def deprecated_alias(impl: _Method, name: str, replacement: str, doc: str) -> _Method:
    """A deprecated public method ``name`` that warns under its own name, then runs ``impl``.

    Why: poms_client keeps old and new names for one form (``campaign_definition_edit`` and
    ``job_type_edit``); one definition serves both, and ``inspect.signature``/``help()`` still show
    the full argument list (through ``__wrapped__``).
    """

    @functools.wraps(impl)
    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        warn_deprecated(name, replacement)
        return impl(self, *args, **kwargs)

    method.__name__ = name
    method.__qualname__ = f"{impl.__qualname__.rpartition('.')[0]}.{name}".lstrip(".")
    method.__doc__ = doc
    return cast(_Method, method)


# ============================================================================ launch safety


def is_ambiguous(exc: BaseException) -> bool:
    """True when a launch may have reached POMS although no answer arrived (check before re-sending)."""
    return isinstance(exc, TransportError | ServerError) and bool(getattr(exc, "maybe_sent", False))


def new_submission(before: set[int], rows: Iterable[Mapping[str, Any]]) -> int | None:
    """The submission that appeared since the snapshot: not listed before, and newer than all of it.

    Submission ids grow monotonically, so ``id > max(before)`` excludes old submissions listed only
    because their ``updated`` time fell in the window. Of several candidates the newest is taken:
    an old submission that entered the window through ``updated`` always has a smaller id than a
    launch made now (docs/duplicate-safety.md discusses concurrent launches).
    """
    floor = max(before) if before else 0
    found = [
        int(r["submission_id"])
        for r in rows
        if int(r["submission_id"]) not in before and int(r["submission_id"]) > floor
    ]
    return max(found) if found else None


def json_text(value: Any) -> str | None:
    """GUI form fields that carry JSON: pass strings through, dump lists/dicts."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value)
