"""The ``request`` entity: GET filters, POST create / clone / bynames, PUT decision table, DELETE.

Behaviour follows ``ReqMgr/Service/Request.py`` and ``ReqMgr/Utils/Validation.py`` as described in
the reference (sections 10-13, 18): every validation failure becomes 400/1102, authorization is
chosen by the target status, the real quirks are kept (RequestPriority mandatory on create, silent
dropping of non-editable keys, the workqueue-stats "ERROR" answer, the 1102-wrapped transition
error, the empty clone error, DELETE's "Excess path arguments").
"""

from __future__ import annotations

import copy
import re
import secrets
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from airflow_provider_poms.emulator.reqmgr2 import validation as v
from airflow_provider_poms.emulator.reqmgr2.aux import app_config_value
from airflow_provider_poms.emulator.reqmgr2.repo import chain_dicts
from airflow_provider_poms.emulator.reqmgr2.service import Call, ReqMgr2Service, authorize
from airflow_provider_poms.emulator.reqmgr2.wire import (
    InvalidParameter,
    InvalidSpecParameterValue,
    InvalidStateTransition,
    Rows,
    ServerError,
    collapse_params,
    dumps,
    excess_args,
    excess_kwargs,
)
from airflow_provider_poms.states import (
    REQMGR2_ACTIVE,
    REQMGR2_EDITABLE,
    REQMGR2_TRANSITIONS,
    REQMGR2_WORKQUEUE_STAT_KEYS,
    reqmgr2_can_transition,
)

#: GET filter parameter -> view in ``repo``
FILTERS: Mapping[str, str] = {
    "status": "status",
    "request_type": "type",
    "prep_id": "prep_id",
    "inputdataset": "inputdataset",
    "outputdataset": "outputdataset",
    "campaign": "campaign",
    "mc_pileup": "mc_pileup",
    "data_pileup": "data_pileup",
}
_CONTROL_PARAMS = ("mask", "detail", "common_dict", "_nostale")
DAS_MASK = ("RequestName", "PrepID", "CMSSWVersion", "GlobalTag")
PURE_TRANSITIONS = frozenset(
    {
        "failed",
        "force-complete",
        "completed",
        "closed-out",
        "announced",
        "aborted",
        "aborted-completed",
        "rejected",
        "normal-archived",
        "aborted-archived",
        "rejected-archived",
    }
)
CASCADE_STATUSES = frozenset({"rejected", "closed-out", "announced"})
STAT_FIELDS: Mapping[str, str] = {
    "total_jobs": "TotalEstimatedJobs",
    "input_lumis": "TotalInputLumis",
    "input_events": "TotalInputEvents",
    "input_num_files": "TotalInputFiles",
}
_NOT_MASKED_AS_LIST = ("LumiList", "AgentJobInfo")


def _excess_kwargs(kwargs: Mapping[str, list[str]]) -> InvalidParameter:
    return excess_kwargs({k: (vals[0] if len(vals) == 1 else vals) for k, vals in kwargs.items()})


def _excess_args(args: list[str]) -> InvalidParameter:
    return excess_args(args)


# =========================================================================== GET
def get(svc: ReqMgr2Service, call: Call) -> Rows:
    kwargs = call.kwargs()
    if call.method == "HEAD":  # the validator consumes nothing for HEAD: every argument is left over
        if call.args:
            raise _excess_args(call.args)
        if kwargs:
            raise _excess_kwargs(kwargs)
        return Rows([])
    if call.args:
        if len(call.args) > 1:
            raise _excess_args(call.args[1:])
        if kwargs:
            raise _excess_kwargs(kwargs)
        return _answer(svc, _existing(svc, [call.args[0]]), {"detail": ["true"]})
    return _answer(svc, _select(svc, kwargs), kwargs)


def post_bynames(svc: ReqMgr2Service, call: Call) -> Rows:
    """``POST /request/bynames``: a JSON list of names, answered like ``GET ?name=...``."""
    try:
        names = call.json_body()
    except ValueError as exc:
        raise InvalidSpecParameterValue(str(exc)) from None
    if isinstance(names, str):
        names = [names]
    if not isinstance(names, list):
        raise InvalidSpecParameterValue("bynames expects a JSON list of request names")
    return _answer(svc, _existing(svc, [str(n) for n in names]), {})


def _existing(svc: ReqMgr2Service, names: list[str]) -> list[str]:
    seen: dict[str, None] = {}
    for n in names:
        if n not in seen and svc.repo.get(n) is not None:
            seen[n] = None
    return list(seen)


def _select(svc: ReqMgr2Service, kwargs: dict[str, list[str]]) -> list[str]:
    """Run each filter's view and intersect; the team/requestor combinations count every key."""
    nostale = "_nostale" in kwargs
    detail = _detail(kwargs)
    rest = {k: vals for k, vals in kwargs.items() if k not in _CONTROL_PARAMS}
    statuses = rest.get("status", [])
    if statuses == ["ACTIVE"]:
        statuses = list(REQMGR2_ACTIVE)
    if detail and any(s.endswith("-archived") for s in statuses):
        raise InvalidSpecParameterValue(
            "Can't retrieve bulk archived status requests with detail option True,\n"
            "                           set detail=false or use other search arguments"
        )
    results: list[set[str]] = []
    ordered: list[str] | None = None
    if "name" in rest:
        if rest["name"] == [""]:
            # One empty name: the server fetches the document "" from CouchDB, i.e. GET <db>/, which
            # answers the database info; reading its missing "RequestName" raises KeyError -> 500.
            raise ServerError("KeyError: 'RequestName'")
        ordered = _existing(svc, rest["name"])
        results.append(set(ordered))
    keys = set(rest)
    for param, view in FILTERS.items():
        if param in rest:
            values = statuses if param == "status" else rest[param]
            results.append(svc.repo.query(view, values, nostale=nostale))
    if "date_range" in rest:
        results.append(set())  # a string key against the array-keyed bydate view: matches nothing
    if "team" in rest and keys == {"status", "team"}:
        results.append(svc.repo.query("team", rest["team"], nostale=nostale))
    if "requestor" in rest and keys in ({"status", "requestor"}, {"status", "request_type", "requestor"}):
        results.append(svc.repo.query("requestor", rest["requestor"], nostale=nostale))
    if not results:
        return []
    found = set.intersection(*results)
    if ordered is not None:
        return [n for n in ordered if n in found]
    return sorted(found)


def _detail(kwargs: Mapping[str, list[str]]) -> bool:
    vals = kwargs.get("detail")
    return not (vals and vals[0] in ("false", "False", "FALSE"))


def _answer(svc: ReqMgr2Service, names: list[str], kwargs: Mapping[str, list[str]]) -> Rows:
    """Shape the answer: names only, one dict keyed by name, or one row per doc; masks applied."""
    if "common_dict" in kwargs:
        try:
            common = int(kwargs["common_dict"][0])
        except ValueError:
            raise ServerError("common_dict must be an integer") from None
    else:
        common = 0
    if not names:
        return Rows([])
    if not _detail(kwargs):
        return Rows(list(names))
    mask = [m for m in kwargs.get("mask", []) if m]
    if mask == ["DAS"]:  # only a lone DAS expands, to the DAS_RESULT_FILTER app_config list
        mask = list((app_config_value(svc, "DAS_RESULT_FILTER") or {}).get("filter_list", DAS_MASK))
    if mask:
        masked = {n: mask_doc(svc.repo.get(n) or {}, mask) for n in names}
        return Rows(list(masked.values()) if common else [masked])
    texts = [svc.repo.text(n) for n in names]
    if common:
        return Rows(texts, raw=True)
    row = "{" + ", ".join(f"{dumps(n)}: {t}" for n, t in zip(names, texts, strict=True)) + "}"
    return Rows([row], raw=True)


def mask_doc(doc: Mapping[str, Any], mask: list[str]) -> dict[str, Any]:
    return {f: mask_value(doc, f) for f in mask}


def mask_value(doc: Mapping[str, Any], field: str) -> Any:
    """``RequestInfo.get``: per-task values for chains, dict values as a list, missing -> None."""
    inners = _ordered_chain(doc)
    top = doc.get(field)
    if inners and any(field in t for t in inners):
        out: list[Any] = []
        for t in inners:
            if field in t:
                val = t[field]
            elif isinstance(top, dict):
                val = top.get(t.get("TaskName") or t.get("StepName"))
            else:
                val = top
            if val not in out:
                out.append(val)
        return out
    if isinstance(top, dict) and field not in _NOT_MASKED_AS_LIST:
        return list(top.values())
    return top


def _ordered_chain(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    rtype = doc.get("RequestType")
    if rtype not in ("TaskChain", "StepChain"):
        return []
    kind = rtype[:4]
    out = []
    i = 1
    while isinstance(doc.get(f"{kind}{i}"), dict):
        out.append(doc[f"{kind}{i}"])
        i += 1
    return out or chain_dicts(doc)


# =========================================================================== POST create
def post(svc: ReqMgr2Service, call: Call) -> Rows:
    if call.args:
        if call.args[0] == "bynames" and len(call.args) == 1:
            return post_bynames(svc, call)
        if call.args[0] == "clone" and len(call.args) == 2:
            return clone(svc, call, call.args[1])
        if call.args[0] == "multi_update" and len(call.args) == 1:
            return multi_update(svc, call)
        raise _excess_args(call.args)
    body = _body_object(call)
    authorize(call, None)
    return create(svc, call, body)


def _body_object(call: Call, *, empty_ok: bool = True) -> dict[str, Any]:
    """The JSON body as an object, as ``_validateRequestBase`` reads it: an empty body is ``{}``; a
    form body (CherryPy parses it into keyword arguments) gives its fields as strings; anything
    else that is not a JSON object fails like the server's authorization step does."""
    ctype = call.content_type.split(";", 1)[0].strip().lower()
    if ctype == "application/x-www-form-urlencoded":
        return collapse_params(parse_qsl(call.body.decode("latin-1"), keep_blank_values=True))
    if empty_ok and not call.body.strip():
        return {}
    try:
        body = call.json_body()
    except ValueError as exc:
        raise InvalidSpecParameterValue(str(exc)) from None
    if not isinstance(body, dict):
        raise InvalidSpecParameterValue(f"'{type(body).__name__}' object has no attribute 'get'")
    return body


def _key_error(key: str) -> InvalidSpecParameterValue:
    return InvalidSpecParameterValue(repr(key))


def _request_name(svc: ReqMgr2Service, login: str, request_string: str, now: float) -> str:
    """``<login>_<RequestString>_<yymmdd>_<HHMMSS>_<n>``: server local time, n unpadded."""
    stamp = time.strftime("%y%m%d_%H%M%S", time.localtime(now))
    n = int(10000 * (now % 1))
    while True:
        name = f"{login}_{request_string}_{stamp}_{n}"
        if svc.repo.get(name) is None:
            return name
        n = (n + 1) % 10000  # the real server would hit a CouchDB conflict; we stay unique


def _server_fields(svc: ReqMgr2Service, call: Call, args: dict[str, Any]) -> None:
    """``initialize_request_args``: caller, status, transitions, dates, couch names, RequestName."""
    now = call.now
    login = call.login.split("@", 1)[0]
    if "RequestString" not in args:
        raise _key_error("RequestString")
    args["Requestor"] = login
    args["RequestorDN"] = call.dn
    args["RequestStatus"] = "new"
    args["RequestTransition"] = [{"Status": "new", "UpdateTime": int(now), "DN": call.dn}]
    args["RequestDate"] = list(time.gmtime(now)[:6])
    args["PriorityTransition"] = [
        {"Priority": args.get("RequestPriority"), "UpdateTime": int(now), "DN": call.dn}
    ]
    args["CouchURL"] = svc.settings.couch_url
    args["CouchWorkloadDBName"] = "reqmgr_workload_cache"
    args["CouchDBName"] = "reqmgr_config_cache"
    if "DbsUrl" in args and isinstance(args["DbsUrl"], str):
        args["DbsUrl"] = normalise_dbs(args["DbsUrl"])
    args["RequestName"] = _request_name(svc, login, str(args["RequestString"]), now)


def normalise_dbs(url: str) -> str:
    return url.replace("cmsweb.cern.ch", "cmsweb-prod.cern.ch").rstrip("/")


def create(svc: ReqMgr2Service, call: Call, body: dict[str, Any], *, clone_of: bool = False) -> Rows:
    args = copy.deepcopy(body)
    if "RequestType" not in args:
        raise _key_error("RequestType")
    if args["RequestType"] == "Resubmission":
        args = _resubmission_args(svc, args)
    elif "RequestPriority" not in args:
        raise _key_error("RequestPriority")
    _server_fields(svc, call, args)
    try:
        # RequestName is a create argument validated with Lexicon.identifier
        v.check_arg("RequestName", args["RequestName"], v.Arg("str", validate=v.IDENTIFIER))
        if args["RequestType"] == "Resubmission":
            _validate_resubmission(args)
        else:
            v.validate_create(args, clone=clone_of)
    except v.SpecError as exc:
        raise InvalidSpecParameterValue(v.wmexception_text(exc)) from None
    args["_id"] = args["RequestName"]
    args["RequestWorkflow"] = f"{svc.settings.couch_url}/reqmgr_workload_cache/{args['RequestName']}/spec"
    args.setdefault("OutputDatasets", v.output_datasets(args))
    args["InitialPriority"] = args.get("RequestPriority")
    if args.get("RequestType") in ("StepChain", "TaskChain"):
        args["ChainParentageMap"] = v.chain_parentage_map(args)
    if svc.settings.empty_create_results > 0:
        svc.settings.empty_create_results -= 1
        return Rows([])  # spec attachment failed: the doc is deleted, the answer is empty (quirk)
    with svc.repo.lock:
        svc.save(args)
        svc.repo.last_injected = args["RequestName"]
    return Rows([{"request": args["RequestName"]}])


def _resubmission_args(svc: ReqMgr2Service, args: dict[str, Any]) -> dict[str, Any]:
    """ACDC: everything (create and assign args) inherited from the parent, overrides win."""
    parent_name = args.get("OriginalRequestName")
    parent = svc.repo.get(parent_name) if isinstance(parent_name, str) else None
    if parent is None:
        raise InvalidSpecParameterValue(
            f"Argument 'OriginalRequestName' with value {parent_name!r}, doesn't pass the validate function."
        )
    merged = {k: copy.deepcopy(val) for k, val in parent.items() if k not in _NOT_INHERITED}
    merged["OriginalRequestType"] = parent.get("RequestType")
    if parent.get("RequestType") == "Resubmission":
        merged["ResubmissionCount"] = int(parent.get("ResubmissionCount", 1)) + 1
    merged.update(args)
    return merged


_NOT_INHERITED = frozenset(
    {
        "_id",
        "RequestName",
        "RequestStatus",
        "RequestTransition",
        "PriorityTransition",
        "RequestDate",
        "Requestor",
        "RequestorDN",
        "OutputDatasets",
        "RequestWorkflow",
        "TotalEstimatedJobs",
        "TotalInputEvents",
        "TotalInputLumis",
        "TotalInputFiles",
    }
)


def _validate_resubmission(args: dict[str, Any]) -> None:
    defs = v.CREATE_ARGS["Resubmission"]
    for name, arg in defs.items():
        if name not in args:
            if not arg.optional:
                raise v.SpecError(f"Argument '{name}' cannot be None")
            args[name] = arg.default
        else:
            args[name] = v.check_arg(name, args[name], arg)
    if not str(args["InitialTaskPath"]).startswith(f"/{args['OriginalRequestName']}/"):
        raise v.SpecError(
            f"Argument 'InitialTaskPath' with value {args['InitialTaskPath']!r}, doesn't pass "
            "the validate function."
        )


# =========================================================================== clone
def clone(svc: ReqMgr2Service, call: Call, original: str) -> Rows:
    overrides = _body_object(call, empty_ok=True)
    authorize(call, None)
    orig = svc.repo.get(original)
    if orig is None:
        raise InvalidSpecParameterValue("")  # StopIteration stringifies to "" (quirk)
    args = clone_args(orig, overrides)
    if "RequestPriority" not in args:
        raise _key_error("RequestPriority")
    return create(svc, call, args, clone_of=True)


def clone_args(orig: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """``initialize_clone``: creation args only, ProcessingVersion +1, recursive override merge."""
    rtype = orig.get("RequestType")
    if rtype == "Resubmission":
        kept = copy.deepcopy(dict(orig))
    else:
        defs = v.CREATE_ARGS.get(str(rtype), {})
        inner_defs = v.STEP_ARGS if rtype == "StepChain" else v.TASK_ARGS
        kept = {}
        for k, val in orig.items():
            if k in defs or k.startswith("Skim"):
                kept[k] = copy.deepcopy(val)
            elif re.match(r"^(Task|Step)\d+$", k) and isinstance(val, dict):
                kept[k] = {ik: copy.deepcopy(iv) for ik, iv in val.items() if ik in inner_defs}
    for server_field in (
        "RequestName",
        "RequestStatus",
        "RequestTransition",
        "RequestDate",
        "PriorityTransition",
        "Requestor",
        "RequestorDN",
        "_id",
    ):
        kept.pop(server_field, None)
    if rtype != "Resubmission" and overrides.get("RequestType") != "Resubmission":
        _bump_processing_version(kept)
    merged = _merge(kept, overrides)
    if isinstance(merged.get("DbsUrl"), str):
        merged["DbsUrl"] = normalise_dbs(merged["DbsUrl"])
    return merged


def _bump_processing_version(args: dict[str, Any]) -> None:
    pv = args.get("ProcessingVersion")
    if isinstance(pv, int) and not isinstance(pv, bool):
        args["ProcessingVersion"] = pv + 1
    elif isinstance(pv, dict):
        args["ProcessingVersion"] = {k: (x + 1 if isinstance(x, int) else x) for k, x in pv.items()}
    for k, inner in args.items():
        if re.match(r"^(Task|Step)\d+$", k) and isinstance(inner, dict):
            ipv = inner.get("ProcessingVersion")
            if isinstance(ipv, int) and not isinstance(ipv, bool):
                inner["ProcessingVersion"] = ipv + 1


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, val in over.items():
        if isinstance(val, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], val)
        else:
            out[k] = copy.deepcopy(val)
    return out


# =========================================================================== PUT
def put(svc: ReqMgr2Service, call: Call) -> Rows:
    if len(call.args) > 1:
        raise _excess_args(call.args[1:])
    body = _body_object(call)
    name = call.args[0] if call.args else body.get("RequestName")
    body.pop("RequestName", None)
    target = body.get("RequestStatus")
    authorize(call, target)
    if not isinstance(name, str) or not name:
        raise _key_error("RequestName")
    with svc.repo.lock:
        doc = svc.repo.get(name)
        if doc is None:
            raise InvalidSpecParameterValue(_spec_fetch_404(svc, name))
        doc = copy.deepcopy(doc)
        if target is None:
            return Rows([{name: _edit(svc, call, doc, body)}])
        current = doc["RequestStatus"]
        if not reqmgr2_can_transition(current, target):
            inner = InvalidStateTransition(name, current, target)
            raise InvalidSpecParameterValue(_rest_error_str(inner))
        if target in PURE_TRANSITIONS:  # STATES_ALLOW_ONLY_STATE_TRANSITION: other keys are dropped
            append_transition(doc, target, call.now, call.dn)
            svc.save(doc)
            if body.get("cascade", False) and target in CASCADE_STATUSES:
                _cascade(svc, call, name, target)
            return Rows([{name: "OK"}])
        checked = _validate_assignment(body) if target == "assigned" else None
        if "RequestPriority" in body:
            check_priority(body["RequestPriority"])
        # ``Request._updateRequest`` dispatches on the number of keys
        if len(body) == 2 and target == "assignment-approved":
            if "RequestPriority" not in body:
                raise InvalidSpecParameterValue(
                    f"There are invalid arguments for assignment-approved transition: {body!r}"
                )
            if body["RequestPriority"] != doc.get("RequestPriority"):
                _set_priority(call, doc, body["RequestPriority"])
            append_transition(doc, target, call.now, call.dn)
            svc.save(doc)
        elif len(body) > 1 and target == "assigned" and checked is not None:
            _assign(svc, call, doc, body, checked)
        elif len(body) == 1 or (len(body) == 2 and "cascade" in body):
            append_transition(doc, target, call.now, call.dn)
            svc.save(doc)
        else:
            raise InvalidSpecParameterValue(
                f"There are invalid arguments with this status transition: {body!r}"
            )
    return Rows([{name: "OK"}])


def _spec_fetch_404(svc: ReqMgr2Service, name: str) -> str:
    """The text of the failed spec download, as the real server wraps it for an unknown name."""
    url = f"{svc.settings.couch_url}/reqmgr_workload_cache/{name}/spec"
    headers = {
        "Cache-Control": "must-revalidate",
        "Content-Length": "41",
        "Content-Type": "application/json",
        "Server": "CouchDB/3.3.3 (Erlang OTP/24)",
        "X-Couch-Request-ID": secrets.token_hex(5),
        "X-CouchDB-Body-Time": "0",
    }
    result = b'{"error":"not_found","reason":"missing"}\n'
    return f"url={url}, code=404, reason=Object Not Found, headers={headers!r}, result={result!r}"


def check_priority(value: Any) -> None:
    """Strict ``isinstance(int)`` (so ``true`` passes as 1, like Python) and 0 <= p < 1e6."""
    if not isinstance(value, int):
        raise InvalidSpecParameterValue(f"RequestPriority must be of integer type, not: {_py_type(value)}")
    if not 0 <= value < 1_000_000:
        raise InvalidSpecParameterValue(
            f"RequestPriority must be an integer between 0 and 999999, not: {value}"
        )


def _py_type(value: Any) -> str:
    name = {str: "str", float: "float", list: "list", dict: "dict", type(None): "NoneType"}.get(
        type(value), "object"
    )
    return f"<class '{name}'>"


def _rest_error_str(err: InvalidStateTransition) -> str:
    """``str(RESTError)``: how the wrapped transition error reads inside the 1102 message."""
    return (
        f"InvalidStateTransition {secrets.token_hex(16)} [HTTP {err.http_code}, APP {err.app_code}, "
        f"MSG {_py_repr(err.message)}, INFO None, ERR None]"
    )


def _py_repr(text: str) -> str:
    return repr(text)


def append_transition(doc: dict[str, Any], status: str, now: float, dn: str | None) -> None:
    doc["RequestStatus"] = status
    doc.setdefault("RequestTransition", []).append({"Status": status, "UpdateTime": int(now), "DN": dn})


def _set_priority(call: Call, doc: dict[str, Any], priority: int) -> None:
    doc["RequestPriority"] = priority
    doc.setdefault("PriorityTransition", []).append(
        {"Priority": priority, "UpdateTime": int(call.now), "DN": call.dn}
    )


def _edit(svc: ReqMgr2Service, call: Call, doc: dict[str, Any], body: dict[str, Any]) -> str:
    """No RequestStatus: workqueue stats, or validated then silently filtered edits."""
    if body and set(body) <= REQMGR2_WORKQUEUE_STAT_KEYS:
        for key, value in body.items():
            try:
                doc[STAT_FIELDS[key]] = int(doc.get(STAT_FIELDS[key]) or 0) + int(value)
            except (TypeError, ValueError):
                raise ServerError(f"bad value for {key}") from None
        svc.save(doc)
        return "ERROR"  # the totalstats handler answers INSERTED/UPDATED, never OK (quirk)
    try:
        checked = v.validate_partial(body)
    except v.SpecError as exc:
        raise InvalidSpecParameterValue(str(exc)) from None
    editable = REQMGR2_EDITABLE.get(doc["RequestStatus"], frozenset())
    changes = {k: val for k, val in checked.items() if k in editable and doc.get(k) != val}
    if not changes:
        return "OK"
    if doc["RequestStatus"] == "assignment-approved" and set(changes) - _WORKQUEUE_EDITABLE:
        # workqueue cannot take these: the server runs the assignment logic without a status change
        extra = dict(changes)
        if "SoftTimeout" in extra and "GracePeriod" in extra:
            extra["HardTimeout"] = extra["SoftTimeout"] + extra["GracePeriod"]
        new = _apply_assignment_args(doc, extra)
        doc.clear()
        doc.update(new)
    for k, val in changes.items():
        if k == "RequestPriority":
            _set_priority(call, doc, val)
        else:
            doc[k] = val
    svc.save(doc)
    return "OK"


#: what a no-status edit can push into global workqueue elements
_WORKQUEUE_EDITABLE = frozenset({"RequestPriority", "SiteWhitelist", "SiteBlacklist"})


def _validate_assignment(body: dict[str, Any]) -> dict[str, Any]:
    """``validateArgumentForAssignment``: checked values plus the defaults that get persisted."""
    try:
        checked = v.validate_assignment(body)
    except v.SpecError as exc:
        raise InvalidSpecParameterValue(str(exc)) from None
    for key in v.ASSIGN_DEFAULTS:
        if key not in checked:
            checked[key] = copy.deepcopy(v.ASSIGN_ARGS[key].default)
    if "SoftTimeout" in body and "GracePeriod" in body:
        checked["HardTimeout"] = checked["SoftTimeout"] + checked["GracePeriod"]
    elif "HardTimeout" not in body:
        checked.pop("HardTimeout", None)
    return checked


def _apply_assignment_args(doc: dict[str, Any], checked: Mapping[str, Any]) -> dict[str, Any]:
    """The document with assignment values applied and the derived fields recomputed."""
    new = dict(doc)
    for k, val in checked.items():
        if val is not None and k not in ("RequestStatus", "RequestPriority"):
            new[k] = val
    try:
        outputs = v.output_datasets(new)
        v.check_output_datasets(outputs)
    except v.SpecError as exc:
        raise InvalidSpecParameterValue(str(exc)) from None
    new["OutputDatasets"] = outputs
    era = new.get("AcquisitionEra") if isinstance(new.get("AcquisitionEra"), str) else "Era"
    base = new.get("UnmergedLFNBase") or "/store/unmerged"
    # the unmerged LFN bases of every output module: <UnmergedLFNBase>/<era>/<primary>/<tier>/<procstr>-v<ver>
    new["OutputModulesLFNBases"] = sorted(
        {
            f"{base}/{era}/{ds.split('/')[1]}/{ds.split('/')[3]}/{ds.split('/')[2].split('-', 1)[1]}"
            for ds in outputs
        }
    )
    if new.get("RequestType") in ("StepChain", "TaskChain"):
        new["ChainParentageMap"] = v.chain_parentage_map(new)
    return new


def _assign(
    svc: ReqMgr2Service, call: Call, doc: dict[str, Any], body: dict[str, Any], checked: dict[str, Any]
) -> None:
    new = _apply_assignment_args(doc, checked)
    prio = checked.get("RequestPriority")
    if prio is not None and prio != doc.get("RequestPriority"):
        _set_priority(call, new, prio)
    append_transition(new, "assigned", call.now, call.dn)
    svc.save(new)


def _cascade(svc: ReqMgr2Service, call: Call, parent: str, target: str) -> None:
    for name, child in list(svc.repo.table.items()):
        if child.get("RequestType") == "Resubmission" and child.get("OriginalRequestName") == parent:
            if reqmgr2_can_transition(child["RequestStatus"], target):
                child = copy.deepcopy(child)
                append_transition(child, target, call.now, call.dn)
                svc.save(child)
            _cascade(svc, call, name, target)


# =========================================================================== multi_update, DELETE
def multi_update(svc: ReqMgr2Service, call: Call) -> Rows:
    """Web-UI bulk status change: ``{"ids": ["request-<name>"...], "new_status": ...}``."""
    body = _body_object(call)
    target = body.get("new_status")
    authorize(call, target)
    assert isinstance(target, str)
    out = []
    for ident in body.get("ids", []):
        name = str(ident).removeprefix("request-")
        with svc.repo.lock:
            doc = svc.repo.get(name)
            if doc is None or not reqmgr2_can_transition(doc["RequestStatus"], target):
                out.append({name: "ERROR"})
                continue
            doc = copy.deepcopy(doc)
            append_transition(doc, target, call.now, call.dn)
            svc.save(doc)
            out.append({name: "OK"})
    return Rows(out)


def delete(svc: ReqMgr2Service, call: Call) -> Rows:
    """Registered but unusable: the validator never consumes the path argument (quirk)."""
    raise _excess_args(call.args)


KNOWN_STATUSES = tuple(REQMGR2_TRANSITIONS)
