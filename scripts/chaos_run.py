"""The chaos run itself: pipelines, fault plan, and the check of the emulator's state afterwards.

Used by ``scripts/chaos.py`` (full run, figures for docs/reliability.md) and by
``tests/reliability/test_chaos.py`` / ``test_restarts.py`` (short runs, same invariants).
"""

from __future__ import annotations

import json
import re
import secrets
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chaos_harness import Pipeline, Runner, Task, environment

from airflow_provider_poms.emulator.connfile import airflow_connections
from airflow_provider_poms.emulator.reqmgr2.samples import assignment_body, stepchain_spec
from airflow_provider_poms.emulator.testing import EmulatorProcess
from airflow_provider_poms.hooks.poms import PomsHook, stage_submission_rows
from airflow_provider_poms.hooks.reqmgr2 import ReqMgr2Hook
from airflow_provider_poms.operators.poms import PomsLaunchStageOperator
from airflow_provider_poms.operators.reqmgr2 import (
    ReqMgr2ApproveRequestOperator,
    ReqMgr2AssignRequestOperator,
    ReqMgr2CreateRequestOperator,
)
from airflow_provider_poms.triggers import batching, settings_cache

EXPERIMENT, ROLE = "samdev", "production"
#: (kind, extra fields) of every fault the emulator can inject; ``delay`` gets the read timeout + 1 s.
FAULT_KINDS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("http", {"status": 500}),
    ("http", {"status": 502}),
    ("http", {"status": 503}),
    ("http", {"status": 504}),
    ("http", {"status": 429, "retry_after": 1}),
    ("reset_before", {}),
    ("reset_after", {}),
    ("delay", {}),
    ("truncated_gzip", {}),
    ("invalid_json", {}),
)
SERVICES = ("reqmgr2", "poms")
FAILURE_STATUSES = ("failed", "aborted", "rejected")


@dataclass
class ChaosConfig:
    lifecycles: int = 200
    chains: int = 100
    fault_rate: float = 0.12
    scripted: float = 0.1
    workers: int = 16
    seed: int = 8
    timeout: float = 900.0
    read_timeout: float = 2.0
    poll_interval: float = 1.0
    retries: int = 8
    retry_delay: float = 1.0
    tag: str = field(default_factory=lambda: secrets.token_hex(3))
    #: Called once, from its own thread, ``midway_after`` seconds into the run (restart tests).
    midway: Callable[[], None] | None = None
    midway_after: float = 10.0


@dataclass
class ChaosReport:
    config: ChaosConfig
    wall_time: float = 0.0
    finished_at: float = 0.0
    requests: int = 0
    faulted: int = 0
    faults: dict[str, int] = field(default_factory=dict)
    outcomes: dict[str, int] = field(default_factory=dict)
    task_retries: int = 0
    deferrals: int = 0
    trigger_events: dict[str, int] = field(default_factory=dict)
    lost_answers: dict[str, int] = field(default_factory=dict)
    scripted_fail: int = 0
    scripted_abort: int = 0
    duplicate_requests: int = 0
    duplicate_submissions: int = 0
    lost: int = 0
    missed: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


# ------------------------------------------------------------------------------------------
# set-up
# ------------------------------------------------------------------------------------------


def connection_env(emu: EmulatorProcess, config: ChaosConfig) -> dict[str, str]:
    """``AIRFLOW_CONN_*`` for both services with a short read timeout and quick client retries."""
    env = {}
    for name, conn in airflow_connections(emu.conn).items():
        conn["extra"].update(read_timeout=config.read_timeout, connect_timeout=5, max_retries=6, backoff=0.2)
        env[name] = json.dumps(conn)
    env[batching.TESTING_MIN_INTERVAL_ENV] = str(config.poll_interval / 2)
    return env


def fault_rules(config: ChaosConfig) -> list[dict[str, Any]]:
    """Every kind on every path of both services, each with the same small probability.

    One rule per kind and service also fires on the first matching request, and the creates and
    launches lose their answer twice each, so even a short run injects every kind on both services
    and exercises the reconciliation of writes whatever the random draws.
    """
    share = config.fault_rate / len(FAULT_KINDS)
    # the writes themselves, at least twice each: answers lost after the server committed
    rules: list[dict[str, Any]] = [
        {"kind": "reset_after", "path": "/reqmgr2/data/request", "method": "POST", "count": 2},
        {
            "kind": "delay",
            "path": "/poms/launch_jobs",
            "method": "POST",
            "count": 2,
            "seconds": config.read_timeout + 1,
        },
    ]
    for how in ({"count": 1}, {"probability": share}):
        for service in SERVICES:
            for kind, fields in FAULT_KINDS:
                extra = {"seconds": config.read_timeout + 1} if kind == "delay" else dict(fields)
                rules.append({"kind": kind, "path": f"/{service}/*", **how, **extra})
    return rules


def apply_faults(emu: EmulatorProcess, config: ChaosConfig) -> None:
    for rule in fault_rules(config):
        emu.control.add_fault(**rule)


def campaign_ini(name: str, chains: int) -> str:
    """One campaign, two independent stages per chain (the DAG, not POMS, orders them)."""
    lines = [
        "[campaign]",
        f"name={name}",
        "",
        "[campaign_defaults]",
        "vo_role=Production",
        "software_version=v1_0",
        "dataset_or_split_data=chaos_dataset",
        "cs_split_type=None",
        "completion_type=complete",
        "completion_pct=95",
        "param_overrides=[]",
        "test_param_overrides=[]",
        f"login_setup=login_{name}",
        f"job_type=job_{name}",
        "",
    ]
    for i in range(chains):
        lines += [f"[campaign_stage a{i:04d}]", "", f"[campaign_stage b{i:04d}]", ""]
    lines += [
        f"[login_setup login_{name}]",
        "host=samdevgpvm01.fnal.gov",
        "account=samdevpro",
        "setup=source /grid/fermiapp/products/common/etc/setups",
        "",
        f"[job_type job_{name}]",
        "launch_script=fife_launch -c chaos.cfg",
        "parameters=[]",
        "output_file_patterns=%%.root",
        "",
    ]
    return "\n".join(lines)


def upload_stages(poms: PomsHook, config: ChaosConfig) -> dict[str, int]:
    """Stage name -> id for the chains (uploaded before any fault is injected)."""
    name = f"chaos_{config.tag}"
    if config.chains == 0:
        return {}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{name}.ini"
        path.write_text(campaign_ini(name, config.chains))
        poms.upload_wf(str(path), experiment=EXPERIMENT, role=ROLE)
    stages = poms.show_campaign_stages(name, experiment=EXPERIMENT, role=ROLE)["campaign_stages"]
    return {
        str(s["name"]): int(s["campaign_stage_id"] if "campaign_stage_id" in s else s["id"]) for s in stages
    }


# ------------------------------------------------------------------------------------------
# pipelines
# ------------------------------------------------------------------------------------------


def request_string(config: ChaosConfig, kind: str, i: int) -> str:
    return f"C{config.tag}{kind}{i:04d}"


def reqmgr2_pipeline(runner: Runner, config: ChaosConfig, i: int, expect: str) -> Pipeline:
    kind = {"completed": "N", "failed": "F", "aborted": "A"}[expect]
    rs = request_string(config, kind, i)
    body = assignment_body()
    team, sites = body.pop("Team"), body.pop("SiteWhitelist")
    body.pop("RequestStatus", None)
    run_id = f"reqmgr2_{rs}"

    def task(task_id: str, build: Callable[[dict[str, Any]], Any]) -> Task:
        return Task("chaos_reqmgr2", run_id, task_id, build, config.retries, config.retry_delay)

    tasks = [
        task("create", lambda up: ReqMgr2CreateRequestOperator(task_id="create", spec=stepchain_spec(rs))),
        task(
            "approve",
            lambda up: ReqMgr2ApproveRequestOperator(task_id="approve", request_name=up["create"]),
        ),
        task(
            "assign",
            lambda up: ReqMgr2AssignRequestOperator(
                task_id="assign",
                request_name=up["create"],
                team=team,
                site_whitelist=sites,
                assignment=body,
                wait_for_completion=True,
                deferrable=True,
                poll_interval=config.poll_interval,
                failure_statuses=FAILURE_STATUSES,
                timeout=config.timeout,
            ),
        ),
    ]
    return Pipeline(runner, "reqmgr2", rs, tasks, expect)


def poms_pipeline(runner: Runner, config: ChaosConfig, i: int, stages: dict[str, int]) -> Pipeline:
    run_id = f"poms_{config.tag}_{i:04d}"

    def launch(stage: str) -> Task:
        return Task(
            "chaos_poms",
            run_id,
            stage,
            lambda up: PomsLaunchStageOperator(
                task_id=stage,
                campaign_stage_id=stages[stage],
                experiment=EXPERIMENT,
                role=ROLE,
                wait_for_completion=True,
                deferrable=True,
                poll_interval=config.poll_interval,
                timeout=config.timeout,
            ),
            config.retries,
            config.retry_delay,
        )

    return Pipeline(runner, "poms", run_id, [launch(f"a{i:04d}"), launch(f"b{i:04d}")], "Located")


def expectations(config: ChaosConfig) -> list[str]:
    """``completed`` for most lifecycles; every 1/scripted-th one fails, and some abort instead."""
    every = max(1, round(1 / config.scripted)) if config.scripted > 0 else 0
    out = []
    for i in range(config.lifecycles):
        if every and i % every == every - 1:
            out.append("failed" if (i // every) % 2 == 0 else "aborted")
        else:
            out.append("completed")
    return out


# ------------------------------------------------------------------------------------------
# the run
# ------------------------------------------------------------------------------------------


def run_chaos(emu: EmulatorProcess, config: ChaosConfig) -> ChaosReport:
    """Run every pipeline at once under faults, then check the emulator's state."""
    report = ChaosReport(config)
    with environment(connection_env(emu, config)):
        settings_cache.clear_settings_cache()
        poms = PomsHook(settings=emu.settings("poms", experiment=EXPERIMENT, role=ROLE))
        reqmgr2 = ReqMgr2Hook(settings=emu.settings("reqmgr2"))
        stages = upload_stages(poms, config)
        expect = expectations(config)
        scripted = {"failed": "fail", "aborted": "abort"}
        for status, action in scripted.items():
            emu.control.script_reqmgr2(f"*C{config.tag}{status[0].upper()}*", "acquired", action)
        report.scripted_fail, report.scripted_abort = expect.count("failed"), expect.count("aborted")
        emu.control.reset_fault_stats()
        log_start = emu.control.log_index()
        apply_faults(emu, config)
        runner = Runner(config.workers)
        pipelines = [reqmgr2_pipeline(runner, config, i, e) for i, e in enumerate(expect)]
        pipelines += [poms_pipeline(runner, config, i, stages) for i in range(config.chains)]
        started = time.monotonic()
        carried: Counter[str] = Counter()
        midway = _start_midway(emu, config, carried) if config.midway else None
        for pipeline in pipelines:
            pipeline.start()
        finished = _wait_all(pipelines, runner, config.timeout)
        if midway is not None:
            midway.join(120)
        report.wall_time = time.monotonic() - started
        report.finished_at = time.time()
        report.lost_answers = _lost_answers(emu, log_start if config.midway is None else 0)
        stats = Counter(emu.control.fault_stats()) + carried
        emu.control.clear_faults()
        report.requests = emu.control.log_index() - log_start + carried.pop("requests", 0)
        stats.pop("requests", None)
        report.faults = dict(stats)
        report.faulted = sum(stats.values())
        report.task_retries = runner.stats["task_retries"]
        report.deferrals = runner.stats["deferrals"]
        report.trigger_events = {
            k.removeprefix("trigger_"): v for k, v in runner.stats.items() if k.startswith("trigger_")
        }
        runner.close()
        if not finished:
            report.problems.append(f"not all pipelines finished within {config.timeout:g}s")
        _verify_reqmgr2(reqmgr2, config, [p for p in pipelines if p.kind == "reqmgr2"], report)
        _verify_poms(poms, stages, [p for p in pipelines if p.kind == "poms"], report)
    return report


#: Faults after which the server had committed a write but the client got no usable answer.
LOST_ANSWER = ("reset_after", "delay", "truncated_gzip", "invalid_json")


def _lost_answers(emu: EmulatorProcess, since: int) -> dict[str, int]:
    """Committed writes whose answer was lost, by operation (each had to be reconciled, not repeated)."""
    found: Counter[str] = Counter()
    for entry in emu.control.request_log(since=since, writes_only=True):
        if entry.get("handled") and entry.get("fault") in LOST_ANSWER and int(entry.get("status") or 0) < 400:
            path, method = str(entry["path"]), str(entry["method"])
            if path.endswith("/data/request") and method == "POST":
                found["ReqMgr2 create"] += 1
            elif "/data/request/" in path and method == "PUT":
                found["ReqMgr2 status change"] += 1
            elif path.endswith("/launch_jobs"):
                found["POMS launch"] += 1
            # POMS answers its reads to POST too (forms): those are not writes and are not counted
    return dict(found)


def _wait_all(pipelines: list[Pipeline], runner: Runner, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    for pipeline in pipelines:
        if not pipeline.done.wait(max(0.0, deadline - time.monotonic())):
            return False
    return runner.wait(max(1.0, deadline - time.monotonic()))


def _start_midway(emu: EmulatorProcess, config: ChaosConfig, carried: Counter[str]) -> threading.Thread:
    """After ``midway_after`` s: keep the figures the emulator would forget, run ``midway``, re-arm faults."""

    def run() -> None:
        time.sleep(config.midway_after)
        carried.update(emu.control.fault_stats())
        carried["requests"] += emu.control.log_index()
        assert config.midway is not None
        config.midway()
        apply_faults(emu, config)

    thread = threading.Thread(target=run, name="midway", daemon=True)
    thread.start()
    return thread


# ------------------------------------------------------------------------------------------
# verification from the emulator's own state
# ------------------------------------------------------------------------------------------


def _verify_reqmgr2(
    hook: ReqMgr2Hook, config: ChaosConfig, pipelines: list[Pipeline], report: ChaosReport
) -> None:
    names = hook.get_requests(request_type="StepChain", detail=False, fresh=True)
    pattern = re.compile(rf"(C{config.tag}[NFA]\d{{4}})_af[0-9a-f]{{8}}_")
    by_rs: dict[str, list[str]] = {}
    for name in names:
        found = pattern.search(str(name))
        if found:
            by_rs.setdefault(found.group(1), []).append(str(name))
    states = hook.get_status_and_transitions([n for ns in by_rs.values() for n in ns]) if by_rs else {}
    outcomes: Counter[str] = Counter()
    for p in pipelines:
        made = by_rs.get(p.run_id, [])
        if len(made) > 1:
            report.duplicate_requests += len(made) - 1
            report.problems.append(f"{p.run_id}: {len(made)} requests {made}")
        if not made:
            report.lost += 1
            report.problems.append(f"{p.run_id}: no request on the server; last task {_describe(p.last)}")
            continue
        state = states.get(made[0])
        status = state.status if state else None
        passed = [t[0] for t in (state.transitions if state else ())]
        task = p.tasks[-1]
        if p.expect == "completed":
            server_ok = "completed" in passed
            task_ok = task.state == "success" and task.result == made[0]
        else:
            server_ok = bool(status and status.startswith(p.expect))
            task_ok = task.state == "failed" and p.expect in str(task.error)
        if server_ok and not task_ok:
            report.missed += 1
        if not (server_ok and task_ok):
            report.problems.append(
                f"{p.run_id}: expected {p.expect}; server {status} via {passed}; task {_describe(p.last)}"
            )
        outcomes[f"ReqMgr2 {p.expect}, task {task.state}" if task_ok and server_ok else "ReqMgr2 wrong"] += 1
    for key, value in outcomes.items():
        report.outcomes[key] = report.outcomes.get(key, 0) + value


def _verify_poms(
    hook: PomsHook, stages: dict[str, int], pipelines: list[Pipeline], report: ChaosReport
) -> None:
    outcomes: Counter[str] = Counter()
    for p in pipelines:
        good = True
        for task in p.tasks:
            page = hook.campaign_stage_submissions(
                EXPERIMENT, ROLE, "", "", campaign_stage_id=stages[task.task_id], tdays=60
            )
            sids = sorted({int(r["submission_id"]) for r in stage_submission_rows(page)})
            if len(sids) > 1:
                report.duplicate_submissions += len(sids) - 1
                report.problems.append(f"{p.run_id}/{task.task_id}: {len(sids)} submissions {sids}")
            if not sids:
                if task.state != "pending":
                    report.lost += 1
                report.problems.append(f"{p.run_id}/{task.task_id}: no submission; task {_describe(task)}")
                good = False
                continue
            status = hook.get_submission_status(sids[-1]).status
            task_ok = task.state == "success" and task.result == sids[-1]
            if status == "Located" and not task_ok:
                report.missed += 1
            if status != "Located" or not task_ok:
                report.problems.append(
                    f"{p.run_id}/{task.task_id}: submission {sids} is {status}; {_describe(task)}"
                )
                good = False
        outcomes["POMS chain Located, Located" if good else "POMS chain wrong"] += 1
    for key, value in outcomes.items():
        report.outcomes[key] = report.outcomes.get(key, 0) + value


def _describe(task: Task) -> str:
    error = f": {type(task.error).__name__}: {str(task.error)[:200]}" if task.error else ""
    return f"{task.task_id} {task.state} (try {task.ti.try_number}){error}"
