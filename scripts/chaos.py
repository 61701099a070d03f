"""Chaos run (issue 8): hundreds of ReqMgr2 lifecycles and POMS stage chains under injected faults.

Running hundreds of real Airflow DAG runs on a laptop is not feasible, so this drives the provider's
operators and triggers the way Airflow does (``chaos_harness.py`` next to this file): ``execute`` in
worker threads, a deferral's trigger in one asyncio loop like the triggerer, ``execute_complete`` with
the event, and retries with ``try_number + 1`` and the same task state store. The emulator injects
every fault kind on every path; afterwards the emulator's own state is checked: each pipeline where
it should be, no duplicate request or submission, no terminal state missed by a task.

    .venv/bin/python -P scripts/chaos.py --write-doc docs/reliability.md
    .venv/bin/python -P scripts/chaos.py --lifecycles 20 --chains 10      # quick look
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import reliability_tests
from chaos_run import ChaosConfig, ChaosReport, run_chaos

from airflow_provider_poms.emulator.testing import EmulatorProcess

DOC_BEGIN = "<!-- chaos:begin -->"
DOC_END = "<!-- chaos:end -->"


def render(report: ChaosReport, command: str) -> str:
    """The figures as a Markdown section (replaced as a whole on every run)."""
    c = report.config
    lines = [
        DOC_BEGIN,
        f"Last run: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(report.finished_at))}, command "
        f"`{command}`, wall time **{report.wall_time:.0f} s**.",
        "",
        f"- Pipelines: {c.lifecycles} ReqMgr2 lifecycles (create -> approve -> assign + deferred wait "
        f"for `completed`; {report.scripted_fail} scripted to fail and {report.scripted_abort} to abort) "
        f"and {c.chains} POMS chains (launch stage A, deferred wait for Located, launch stage B, wait), "
        f"all at once on {c.workers} worker threads and one triggerer loop.",
        f"- Fault rate: {c.fault_rate:.0%} of service requests, every kind on both services; client "
        f"read timeout {c.read_timeout:g} s, delays {c.read_timeout + 1:g} s.",
        f"- Service requests: {report.requests}; faulted: {report.faulted}.",
        "",
        "| fault injected | count |",
        "|---|---|",
    ]
    lines += [f"| `{k}` | {v} |" for k, v in sorted(report.faults.items())]
    lines += [
        "",
        "| outcome | count |",
        "|---|---|",
    ]
    lines += [f"| {k} | {v} |" for k, v in sorted(report.outcomes.items())]
    lines += [
        "",
        f"- Task tries beyond the first (Airflow-style retries): **{report.task_retries}**; deferrals: "
        f"{report.deferrals}; trigger events by status: {json.dumps(report.trigger_events, sort_keys=True)}.",
        "- Writes the server committed while the client got no usable answer (reset after the handler, "
        "delay past the read timeout, truncated gzip, invalid JSON), each reconciled rather than "
        f"repeated: {json.dumps(report.lost_answers, sort_keys=True)}.",
        f"- Duplicate ReqMgr2 requests: **{report.duplicate_requests}**; duplicate POMS submissions: "
        f"**{report.duplicate_submissions}**; pipelines with nothing created: **{report.lost}**.",
        f"- Missed terminal states (server state and task outcome disagree): **{report.missed}**.",
        f"- Invariant violations: **{len(report.problems)}**" + (":" if report.problems else "."),
    ]
    lines += [f"  - {p}" for p in report.problems[:20]]
    lines.append(DOC_END)
    return "\n".join(lines) + "\n"


def write_doc(path: Path, section: str, begin: str = DOC_BEGIN, end: str = DOC_END) -> None:
    """Replace the ``begin``..``end`` section of ``path`` (or append it) and keep the rest."""
    text = path.read_text() if path.exists() else "# Reliability\n\n## Chaos run\n\n"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        tail = rest.split(end, 1)[1].lstrip("\n")
        text = head + section + ("\n" + tail if tail else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lifecycles", type=int, default=200, help="ReqMgr2 lifecycles (default 200)")
    parser.add_argument("--chains", type=int, default=100, help="POMS stage chains (default 100)")
    parser.add_argument("--fault-rate", type=float, default=0.12, help="share of faulted requests")
    parser.add_argument("--scripted", type=float, default=0.1, help="share of lifecycles scripted to fail")
    parser.add_argument("--workers", type=int, default=16, help="worker threads (Airflow parallelism)")
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--timeout", type=float, default=900.0, help="give up after this many seconds")
    parser.add_argument("--write-doc", type=Path, help="write the figures into this Markdown file")
    parser.add_argument("--verbose", action="store_true", help="show the operators' and triggers' logs")
    parser.add_argument(
        "--no-tests",
        action="store_true",
        help="with --write-doc: skip the restart, corpus and secret tests run after the chaos run",
    )
    opts = parser.parse_args(argv)
    if not opts.verbose:  # reconciliations are warnings: the run still counts them
        logging.getLogger().setLevel(logging.WARNING)
    config = ChaosConfig(
        lifecycles=opts.lifecycles,
        chains=opts.chains,
        fault_rate=opts.fault_rate,
        scripted=opts.scripted,
        workers=opts.workers,
        seed=opts.seed,
        timeout=opts.timeout,
    )
    with tempfile.TemporaryDirectory(prefix="chaos-") as state:
        os.environ.setdefault("AIRFLOW_HOME", str(Path(state) / "airflow"))
        with EmulatorProcess(Path(state) / "emulator", clock_scale=600, seed=opts.seed) as emu:
            report = run_chaos(emu, config)
    command = "make chaos" if opts.write_doc else "scripts/chaos.py " + " ".join(argv or sys.argv[1:])
    section = render(report, command)
    print(section)
    if opts.write_doc:
        write_doc(opts.write_doc, section)
    tests_ok = True
    if opts.write_doc and not opts.no_tests:
        results, wall = reliability_tests.run()
        tests_section = reliability_tests.render(results, wall)
        print(tests_section)
        write_doc(opts.write_doc, tests_section, reliability_tests.BEGIN, reliability_tests.END)
        tests_ok = reliability_tests.ok(results)
    return 0 if report.ok and tests_ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
