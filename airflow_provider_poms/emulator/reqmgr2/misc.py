"""Small read APIs: status, type, info/about, spec_template, workload_config, splitting,
wmstats_info, proc_status.

``status?transition=`` is checked against ``^(true|false)$`` (400/302), ``/status/<x>`` is the
500 of the ``transiton`` typo, missing specs are bare 404s, and ``workload_config``/``splitting``
/``wmstats_info`` without a name are 405/203, as the reference describes.
"""

from __future__ import annotations

import json
import os
import re
import time
from typing import Any

from airflow_provider_poms.emulator.reqmgr2 import validation as v
from airflow_provider_poms.emulator.reqmgr2.aux import app_config_value
from airflow_provider_poms.emulator.reqmgr2.service import Call, ReqMgr2Service
from airflow_provider_poms.emulator.reqmgr2.wire import (
    BareHTTPError,
    InvalidParameter,
    MethodWithoutQueryString,
    Rows,
    ServerError,
    excess_args,
    excess_kwargs,
)
from airflow_provider_poms.states import REQMGR2_STATUSES, REQMGR2_TRANSITIONS

_TRANSITION_RE = re.compile(r"^(true|false)$")


def _no_kwargs(call: Call, allowed: tuple[str, ...] = ()) -> dict[str, list[str]]:
    kwargs = call.kwargs()
    extra = {k: vals for k, vals in kwargs.items() if k not in allowed}
    if extra:
        raise excess_kwargs({k: (vals[0] if len(vals) == 1 else vals) for k, vals in extra.items()})
    return kwargs


def status(svc: ReqMgr2Service, call: Call) -> Rows:
    if call.args:
        raise ServerError("name 'transiton' is not defined")  # the path form crashes (quirk)
    kwargs = _no_kwargs(call, ("transition",))
    trans = kwargs.get("transition", ["false"])[0]
    if not _TRANSITION_RE.match(trans):
        raise InvalidParameter(f"Incorrect 'transition' parameter <class 'str'> {trans}")
    if trans == "true":
        return Rows([{s: list(nxt) for s, nxt in REQMGR2_TRANSITIONS.items()}])
    return Rows(list(REQMGR2_STATUSES))


def types(svc: ReqMgr2Service, call: Call) -> Rows:
    _no_kwargs(call)
    if call.args:
        raise excess_args(call.args)
    return Rows(list(v.REQUEST_TYPES))


def info(svc: ReqMgr2Service, call: Call) -> Rows:
    _no_kwargs(call)
    last = svc.repo.get(svc.repo.last_injected) if svc.repo.last_injected else None
    rows = []
    if last is not None:
        date = list(last.get("RequestDate") or [0, 0, 0, 0])
        rows.append(
            {
                "id": last["RequestName"],
                "key": date[:4],
                "value": {
                    "RequestDate": date,
                    "RequestName": last["RequestName"],
                    "RequestType": last.get("RequestType"),
                    "RequestStatus": last.get("RequestStatus"),
                },
            }
        )
    n = len(svc.repo)
    return Rows(
        [
            {
                "wmcore_reqmgr_version": svc.settings.version,
                "reqmgr_db_info": {
                    "db_name": "reqmgr_workload_cache",
                    "doc_count": n,
                    "doc_del_count": 0,
                    "update_seq": n,
                    "purge_seq": 0,
                    "compact_running": False,
                    "disk_size": 4096 * (n + 1),
                    "instance_start_time": str(int(svc.started * 1e6)),
                    "disk_format_version": 8,
                    "reqmgr_couch_url": svc.settings.couch_url,
                },
                "reqmgr_last_injected_request": {"total_rows": n, "offset": 0, "rows": rows},
            }
        ]
    )


def spec_template(svc: ReqMgr2Service, call: Call) -> Rows:
    kwargs = _no_kwargs(call, ("name",))
    name = kwargs.get("name", [""])[0]
    if name not in v.CREATE_ARGS:
        raise ServerError(f"No module named 'WMCore.WMSpec.StdSpecs.{name}'")
    return Rows([v.spec_template(name)])


def _need_name(svc: ReqMgr2Service, call: Call) -> dict[str, Any]:
    if not call.args:
        raise MethodWithoutQueryString()
    doc = svc.repo.get(call.args[0])
    if doc is None:
        raise BareHTTPError(404, f"Cannot find workload: {call.args[0]}")
    return doc


def workload_config(svc: ReqMgr2Service, call: Call) -> Rows:
    doc = _need_name(svc, call)
    lines = [
        f"# workload {doc['RequestName']} ({doc.get('RequestType')})",
        "from WMCore.Configuration import ConfigSection",
        "workload = ConfigSection('workload')",
    ]
    for key in sorted(k for k in doc if not k.startswith("_")):
        lines.append(f"workload.{key} = {doc[key]!r}")
    return Rows(["\n".join(lines) + "\n"])


_MODULE_FOR_TIER = {
    "GEN-SIM": "RAWSIMoutput",
    "AODSIM": "AODSIMoutput",
    "AOD": "AODoutput",
    "USER": "Merged",
    "DQMIO": "DQMoutput",
    "RECO": "RECOoutput",
}


def _params(algo: str, ttype: str, **extra: Any) -> dict[str, Any]:
    return {"algorithm": algo, "type": ttype, "trustSitelists": False, "trustPUSitelists": False, **extra}


def _work_params(spec: dict[str, Any], generator: bool) -> dict[str, Any]:
    common = {"include_parents": False, "deterministicPileup": False}
    algo = spec.get("SplittingAlgo") or ("EventBased" if generator else "EventAwareLumiBased")
    ttype = "Production" if generator else "Processing"
    if algo == "EventBased":
        return _params(
            algo,
            ttype,
            events_per_job=spec.get("EventsPerJob") or 1000,
            events_per_lumi=spec.get("EventsPerLumi") or 100,
            lheInputFiles=False,
            **common,
        )
    if algo == "LumiBased":
        return _params(
            algo,
            ttype,
            lumis_per_job=spec.get("LumisPerJob") or 8,
            halt_job_on_file_boundaries=True,
            **common,
        )
    if algo == "FileBased":
        return _params(algo, ttype, files_per_job=spec.get("FilesPerJob") or 1, **common)
    return _params(
        algo,
        ttype,
        events_per_job=spec.get("EventsPerJob") or 50000,
        job_time_limit=172800,
        halt_job_on_file_boundaries=True,
        **common,
    )


def _tasks(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The spec's task tree with its splitting: each work task, its merge and cleanup tasks and the
    merge's log-collect task (``/<request>/<task>/<task>Merge<module>`` ...), sorted by task path."""
    name, rtype = doc["RequestName"], str(doc.get("RequestType"))
    outputs = v.output_datasets(doc)
    work: list[tuple[str, dict[str, Any], str | None]] = []  # (task name, spec dict, output tier)
    if rtype in ("StepChain", "TaskChain"):
        kind = rtype[:4]
        for key, inner, ds in v.chain_outputs(doc):
            work.append((str(inner.get(f"{kind}Name", key)), inner, ds.rsplit("/", 1)[-1] if ds else None))
            if kind == "Step":
                break  # a StepChain runs all steps in one task
    else:
        tname = {"ReReco": "DataProcessing", "DQMHarvest": "EndOfRunDQMHarvest"}.get(rtype, rtype)
        work.append((tname, doc, outputs[0].rsplit("/", 1)[-1] if outputs else None))
    rows: dict[str, dict[str, Any]] = {}
    parent = f"/{name}"
    for idx, (tname, spec, tier) in enumerate(work):
        path = f"{parent}/{tname}"
        rows[path] = _work_params(spec, idx == 0 and bool(spec.get("RequestNumEvents")))
        if tier:
            mod = _MODULE_FOR_TIER.get(tier, f"{tier.replace('-', '')}output")
            merge = f"{path}/{tname}Merge{mod}"
            rows[merge] = _params(
                "ParentlessMergeBySize",
                "Merge",
                max_merge_events=100000000,
                max_merge_size=4294967296,
                max_wait_time=86400,
                min_merge_size=2147483648,
                initial_lfn_counter=0,
            )
            rows[f"{merge}/{tname}{mod}MergeLogCollect"] = _params(
                "MinFileBased", "LogCollect", files_per_job=500
            )
            rows[f"{path}/{tname}CleanupUnmerged{mod}"] = _params(
                "SiblingProcessingBased", "Cleanup", files_per_job=50
            )
            parent = merge
    return [
        {"splitAlgo": p["algorithm"], "splitParams": p, "taskType": p["type"], "taskName": path}
        for path, p in sorted(rows.items())
    ]


def splitting_get(svc: ReqMgr2Service, call: Call) -> Rows:
    """Rows per task; ``update_only/<name>`` keeps only tasks and parameters a POST may change."""
    mode = ""
    if call.args and call.args[0] in ("web_form", "update_only"):
        mode = call.args[0]
        call = Call(call.method, call.args[1:], call.params, call.body, call.identity, call.now)
    doc = _need_name(svc, call)
    stored = svc.splitting.get(doc["RequestName"]) or {}
    rows = []
    for task in _tasks(doc):
        update = stored.get(task["taskName"])
        if update:  # a POSTed change: new algorithm and parameters over the spec's
            params = {**task["splitParams"], **update["splitParams"], "algorithm": update["splitAlgo"]}
            task = {**task, "splitAlgo": update["splitAlgo"], "splitParams": params}
        rows.append(task)
    if mode == "update_only":
        editable = (app_config_value(svc, "EDITABLE_SPLITTING_PARAM_CONFIG") or {}).get("algo_params", {})
        rows = [
            {
                **r,
                "splitParams": {
                    k: val for k, val in r["splitParams"].items() if k in editable.get(r["splitAlgo"], {})
                },
            }
            for r in rows
            if r["taskType"] not in ("Cleanup", "LogCollect")
        ]
    return Rows(rows)


def splitting_post(svc: ReqMgr2Service, call: Call) -> Rows:
    if call.args and call.args[0] in ("web_form", "update_only"):
        call = Call(call.method, call.args[1:], call.params, call.body, call.identity, call.now)
    doc = _need_name(svc, call)
    try:
        rows = json.loads(call.body.decode("utf-8"))
    except ValueError:
        raise ServerError("body is not JSON") from None
    if not isinstance(rows, list):
        raise BareHTTPError(400, "Splitting parameters must be a list of tasks")
    known = {t["taskName"] for t in _tasks(doc)}
    stored = dict(svc.splitting.get(doc["RequestName"]) or {})
    for row in rows:
        if not isinstance(row, dict) or row.get("taskName") not in known:
            raise BareHTTPError(400, f"Unknown task in splitting parameters: {row!r}"[:300])
        algo, params = str(row.get("splitAlgo")), row.get("splitParams") or {}
        allowed = (app_config_value(svc, "EDITABLE_SPLITTING_PARAM_CONFIG") or {}).get("algo_params", {})
        if algo not in allowed or not set(params) <= set(allowed[algo]):
            raise BareHTTPError(
                400,
                f"Parameter not supported for {algo}: {sorted(set(params) - set(allowed.get(algo, ())))}",
            )
        stored[row["taskName"]] = {"splitAlgo": algo, "splitParams": params}
    svc.splitting.put(doc["RequestName"], stored)
    return Rows([{doc["RequestName"]: "OK"}])


def wmstats_info(svc: ReqMgr2Service, call: Call) -> Rows:
    doc = _need_name(svc, call)
    keys = (
        "RequestName",
        "RequestType",
        "RequestStatus",
        "RequestTransition",
        "Campaign",
        "RequestPriority",
        "Team",
        "SiteWhitelist",
        "OutputDatasets",
        "InputDataset",
        "PrepID",
        "Requestor",
        "TotalEstimatedJobs",
        "TotalInputEvents",
        "TotalInputLumis",
        "TotalInputFiles",
    )
    summary = {k: doc.get(k) for k in keys}
    summary["AgentJobInfo"] = {}
    return Rows([summary])


def _memory() -> dict[str, int]:
    """``psutil.Process().memory_full_info()`` fields, from /proc where available."""
    page = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
    vms = rss = shared = text = data = 0
    try:
        with open("/proc/self/statm") as fh:
            size, resident, shr, txt, _lib, dat, _dt = (int(x) for x in fh.read().split()[:7])
        vms, rss, shared, text, data = size * page, resident * page, shr * page, txt * page, dat * page
    except (OSError, ValueError):
        pass
    return {
        "rss": rss,
        "vms": vms,
        "shared": shared,
        "text": text,
        "lib": 0,
        "data": data,
        "dirty": 0,
        "uss": rss - shared if rss > shared else rss,
        "pss": rss,
        "swap": 0,
    }


def proc_status(svc: ReqMgr2Service, call: Call) -> Rows:
    """``Services.py`` ProcessMonitor: psutil-style process statistics of the server."""
    _no_kwargs(call)
    now = time.time()
    times = os.times()
    mem = _memory()
    total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 0
    return Rows(
        [
            {
                "server": {
                    "pid": os.getpid(),
                    "cpu_num": os.cpu_count() or 1,
                    "cpu_percent": 0.0,
                    "cpu_times": {
                        "user": times.user,
                        "system": times.system,
                        "children_user": times.children_user,
                        "children_system": times.children_system,
                        "iowait": 0.0,
                    },
                    "memory_full_info": mem,
                    "memory_percent": round(100.0 * mem["rss"] / total, 4) if total else 0.0,
                    "time": now,
                    "timestamp": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(now)),
                    "uptime": now - svc.started,
                }
            }
        ]
    )
