"""Auxiliary documents (``Auxiliary.py`` ``AuxBaseAPI``) and ``app_config``.

Docs live in the store table ``reqmgr2_aux`` keyed by CouchDB id (``<TYPE>`` or ``<TYPE>_<sub>``)
with ``ConfigType`` and a CouchDB-like ``_rev``. POST onto an existing doc answers 200 with the
bulk-docs conflict entry, ``{}`` is 400/1201, a non-JSON body is a 500, ALL_DOCS keeps ``_id``.
No role check on these writes (only the front-end authenticates), as on the real server.
"""

from __future__ import annotations

import copy
import json
import secrets
from collections.abc import Mapping
from typing import Any

from airflow_provider_poms.emulator.reqmgr2.service import Call, ReqMgr2Service
from airflow_provider_poms.emulator.reqmgr2.wire import (
    APINotSpecified,
    BareHTTPError,
    InvalidUnifiedSchema,
    MissingBodyData,
    NoSuchInstance,
    Rows,
    ServerError,
    collapse_params,
    excess_args,
    excess_kwargs,
)

#: API name -> CouchDB ConfigType
AUX_TYPES: Mapping[str, str] = {
    "cmsswversions": "CMSSW_VERSIONS",
    "wmagentconfig": "WMAGENT_CONFIG",
    "campaignconfig": "CAMPAIGN_CONFIG",
    "unifiedconfig": "UNIFIED_CONFIG",
    "transferinfo": "TRANSFER",
    "parentlocks": "PARENT_LOCKS",
}
ALL_DOCS_APIS = frozenset({"campaignconfig", "transferinfo"})


def _doc_id(api: str, call: Call) -> str:
    if len(call.args) > 1:
        raise excess_args(call.args[1:])
    base = AUX_TYPES[api]
    return f"{base}_{call.args[0]}" if call.args else base


def _strip(doc: Mapping[str, Any], keep_id: bool = False) -> dict[str, Any]:
    drop = ("_rev", "_attachments") if keep_id else ("_id", "_rev", "_attachments")
    return {k: copy.deepcopy(v) for k, v in doc.items() if k not in drop}


def _rev(old: Mapping[str, Any] | None) -> str:
    n = int(str(old.get("_rev", "0-")).split("-", 1)[0]) + 1 if old else 1
    return f"{n}-{secrets.token_hex(16)}"


def get(api: str, svc: ReqMgr2Service, call: Call) -> Rows:
    if call.params:
        raise excess_kwargs(collapse_params(call.params))
    if call.args and call.args[0].upper() == "ALL_DOCS" and api in ALL_DOCS_APIS:
        ctype = AUX_TYPES[api]
        docs = [(k, d) for k, d in svc.aux.items() if d.get("ConfigType") == ctype]
        return Rows([_strip(d, keep_id=True) for _, d in sorted(docs)])
    doc = svc.aux.get(_doc_id(api, call))
    if doc is None:
        raise NoSuchInstance()
    return Rows([_strip(doc)])


def _parse(call: Call) -> dict[str, Any]:
    try:
        body = json.loads(call.body.decode("utf-8") or "null")
    except ValueError:
        raise ServerError("body is not JSON") from None
    if not body:
        raise MissingBodyData()
    if not isinstance(body, dict):
        raise ServerError("body is not a JSON object")
    return body


_UNIFIED_KEYS = ("tiers_to_DDM", "tiers_no_DDM", "tiers_with_no_custodial")
_UNIFIED_NESTED = ("value", "description")


def _py_set(items: tuple[str, ...]) -> str:
    return "{" + ", ".join(repr(x) for x in items) + "}"


def _check_unified(api: str, body: Mapping[str, Any]) -> None:
    """``validateUnifiedConfig``: the three tier keys, each an object of ``value``/``description``.

    A wrong value type hits a ``=+`` typo in WMCore and surfaces as the TypeError text (quirk).
    """
    if api != "unifiedconfig":
        return
    base = "Unified schema error."
    if not set(_UNIFIED_KEYS) <= set(body):
        raise InvalidUnifiedSchema(
            f"{base} It is missing some of the required parameters: {_py_set(_UNIFIED_KEYS)}"
        )
    for key, val in body.items():
        if key not in _UNIFIED_KEYS:
            raise InvalidUnifiedSchema(f"{base} It has unsupported parameter: {key}")
        inner = val if isinstance(val, dict) else {}
        if not set(_UNIFIED_NESTED) <= set(inner):
            raise InvalidUnifiedSchema(
                f"{base} Attribute '{key}' is missing some of the nested required keys: "
                f"{_py_set(_UNIFIED_NESTED)}"
            )
        for nested, nval in inner.items():
            if nested not in _UNIFIED_NESTED:
                raise InvalidUnifiedSchema(f"{base} Attribute '{key}' has unsupported nested key: {nested}")
            if (nested == "value" and not isinstance(nval, list)) or (
                nested == "description" and not isinstance(nval, str)
            ):
                raise InvalidUnifiedSchema("bad operand type for unary +: 'str'")


def post(api: str, svc: ReqMgr2Service, call: Call) -> Rows:
    doc_id = _doc_id(api, call)
    body = _parse(call)
    _check_unified(api, body)
    if doc_id in svc.aux:
        return Rows([{"id": doc_id, "error": "conflict", "reason": "Document update conflict."}])
    doc = {**body, "_id": doc_id, "ConfigType": AUX_TYPES[api]}
    doc["_rev"] = _rev(None)
    svc.aux.put(doc_id, doc)
    return Rows([{"ok": True, "id": doc_id, "rev": doc["_rev"]}])


def put(api: str, svc: ReqMgr2Service, call: Call) -> Rows:
    doc_id = _doc_id(api, call)
    body = _parse(call)
    _check_unified(api, body)
    old = svc.aux.get(doc_id)
    doc = {**body, "_id": doc_id, "ConfigType": AUX_TYPES[api], "_rev": _rev(old)}
    svc.aux.put(doc_id, doc)
    return Rows([{"ok": True, "id": doc_id, "rev": doc["_rev"]}])


def delete(api: str, svc: ReqMgr2Service, call: Call) -> Rows:
    """The handler returns CouchDB's answer dict, which the framework streams as rows of its keys:
    ``["ok", "id", "rev"]`` (quirk); ``[""]`` when there was nothing to delete."""
    doc_id = _doc_id(api, call)
    old = svc.aux.get(doc_id)
    if old is None:
        return Rows([""])
    svc.aux.delete(doc_id)
    return Rows(list({"ok": True, "id": doc_id, "rev": _rev(old)}))


# --------------------------------------------------------------------------- app_config
_ALGO_PARAMS: dict[str, Any] = {
    "FileBased": {"files_per_job": ""},
    "TwoFileBased": {"two_files_per_job": ""},
    "LumiBased": {"lumis_per_job": "", "halt_job_on_file_boundaries": True},
    "EventAwareLumiBased": {"events_per_job": "", "job_time_limit": "", "halt_job_on_file_boundaries": True},
    "EventBased": {"events_per_job": "", "events_per_lumi": ""},
    "Harvest": {"periodic_harvest_interval": ""},
    **{
        algo: {"min_merge_size": "", "max_merge_size": "", "max_merge_events": "", "max_wait_time": ""}
        for algo in ("ParentlessMergeBySize", "WMBSMergeBySize", "MergeBySize")
    },
}
#: ``ReqMgr/DataStructs/DefaultConfig``: what ``app_config/<doc>`` answers until someone PUTs it
APP_CONFIG_DEFAULTS: Mapping[str, Any] = {
    "EDITABLE_SPLITTING_PARAM_CONFIG": {
        "algo_params": _ALGO_PARAMS,
        "algo_list_by_types": {
            "Processing": ["LumiBased", "EventAwareLumiBased", "EventBased", "FileBased"],
            "Production": ["EventBased"],
            "Skim": ["FileBased", "TwoFileBased"],
            "Harvesting": ["Harvest"],
            "Merge": ["ParentlessMergeBySize", "WMBSMergeBySize", "MergeBySize"],
            "Cleanup": ["FileBased"],
            "LogCollect": ["FileBased"],
        },
    },
    "DAS_RESULT_FILTER": {"filter_list": ["RequestName", "PrepID", "CMSSWVersion", "GlobalTag"]},
}


def app_config_value(svc: ReqMgr2Service, name: str) -> Any:
    """The stored config document, else the built-in default, else None."""
    doc = svc.app_config.get(name)
    return copy.deepcopy(doc if doc is not None else APP_CONFIG_DEFAULTS.get(name))


def app_config_get(svc: ReqMgr2Service, call: Call) -> Rows:
    if not call.args:
        raise APINotSpecified()
    return Rows([app_config_value(svc, call.args[0])])


def app_config_put(svc: ReqMgr2Service, call: Call) -> Rows:
    if not call.args:
        raise APINotSpecified()
    name = call.args[0]
    if name == "DEFAULT":
        for key in list(svc.app_config.keys()):
            svc.app_config.delete(key)
        return Rows([{"ok": True, "id": "DEFAULT"}])
    body = _parse(call)
    old = svc.app_config.get(name)
    rev = _rev(old if isinstance(old, dict) else None)
    svc.app_config.put(name, body)
    return Rows([{"ok": True, "id": name, "rev": rev}])


def require_doc(exc_message: str) -> BareHTTPError:
    return BareHTTPError(404, exc_message)
