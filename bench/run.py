"""Every benchmark case of issue 7 in one run, written to docs/benchmarks.md.

    .venv/bin/python -P bench/run.py --write-doc docs/benchmarks.md      # what `make bench` runs
    .venv/bin/python -P bench/run.py --quick                             # toy sizes, a minute or two
    .venv/bin/python -P bench/run.py --only polling bulk_reads

The document gets the machine (cores, RAM, CPU model, load average sampled during the run), the
date, the versions, the exact command of each case, every table, the targets met or missed, and the
hand-written analysis kept in bench/analysis.md (why a target is missed, what was fixed).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import bulk_reads, common, conn_reuse, emulator_rps, parse_cost, polling, wmcore_env

#: Full and toy sizes of each case (toy: what tests/bench runs).
CASES: dict[str, tuple[Callable[..., common.CaseResult], dict[str, Any], dict[str, Any]]] = {
    "bulk_reads": (
        bulk_reads.run,
        {"stored": 50_000, "runs": 3},
        {"stored": 50, "runs": 1, "queries": ("details", "names"), "gzip_modes": (True,)},
    ),
    "polling": (
        polling.run,
        {"triggers": (1000, 5000), "interval": 5.0, "window": 3, "sample": 100},
        {"triggers": (20,), "interval": 0.5, "window": 2, "sample": 4},
    ),
    "conn_reuse": (conn_reuse.run, {"calls": 1000, "runs": 3}, {"calls": 10, "runs": 1}),
    "parse_cost": (
        parse_cost.run,
        {"tasks": 100, "runs": 7},
        {"tasks": 10, "runs": 1, "with_importtime": False},
    ),
    "emulator_rps": (
        emulator_rps.run,
        {"stored": 100_000, "seconds": 10.0},
        {"stored": 100, "seconds": 1.0, "procs": 1, "threads": 2},
    ),
}


class LoadSampler:
    """Samples the 1-minute load average every few seconds while the benchmarks run."""

    def __init__(self, every: float = 5.0) -> None:
        self.every = every
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while True:
            self.samples.append(os.getloadavg()[0])
            if self._stop.wait(self.every):
                return

    def __enter__(self) -> LoadSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def summary(self) -> str:
        s = self.samples or [os.getloadavg()[0]]
        return f"min {min(s):.1f}, median {statistics.median(s):.1f}, max {max(s):.1f} ({len(s)} samples)"


def run_cases(names: list[str], quick: bool) -> list[common.CaseResult]:
    results = []
    for name in names:
        fn, full, toy = CASES[name]
        kwargs = dict(toy if quick else full)
        print(f"[bench] {name} {kwargs}", file=sys.stderr, flush=True)
        result = fn(**kwargs, args=_args_for(name, kwargs))
        print(f"[bench] {name} done in {result.seconds:.0f} s", file=sys.stderr, flush=True)
        results.append(result)
    return results


def _args_for(name: str, kwargs: dict[str, Any]) -> list[str]:
    """The standalone command line that reproduces a case with these sizes."""
    flags = {
        "tasks": "--tasks",
        "runs": "--runs",
        "calls": "--calls",
        "stored": "--stored",
        "interval": "--interval",
        "window": "--window",
        "sample": "--sample",
        "seconds": "--seconds",
        "procs": "--procs",
        "threads": "--threads",
    }
    out: list[str] = []
    for key, value in kwargs.items():
        if key == "triggers":
            out += ["--triggers", *map(str, value)]
        elif key in flags:
            out += [flags[key], f"{value:g}" if isinstance(value, float) else str(value)]
    return out


def bottleneck_lines(results: list[common.CaseResult]) -> list[str]:
    lines = []
    for r in results:
        if not r.emulator_busy:
            continue
        worst = max(r.emulator_busy.items(), key=lambda kv: kv[1])
        parts = ", ".join(f"{k} {v:.2f}" for k, v in r.emulator_busy.items())
        verdict = (
            "the emulator is (part of) the bottleneck there"
            if worst[1] >= 0.7
            else "the emulator is not the bottleneck"
        )
        lines.append(f"- {r.title}: emulator busy (share of one core while timed): {parts}; {verdict}.")
    return lines


def document(
    results: list[common.CaseResult], machine: dict[str, Any], load: str, started: dt.datetime, command: str
) -> str:
    versions = common.versions()
    versions["reqmgr2 (WMCore client, separate venv)"] = wmcore_env.REQMGR2_VERSION
    out = [
        "# Benchmarks (issue 7)",
        "",
        "Generated by "
        + (command if "`" in command else f"`make bench` (`{command}`)")
        + "; every figure below comes from "
        + ("these runs. " if "` and `" in command else "that run. ")
        + "Each case also runs alone with the command shown in its section. "
        "Figures are medians of several runs "
        "and every ratio compares numbers taken in the same run.",
        "",
        "## Machine and run",
        "",
        f"- Date: {started:%Y-%m-%d %H:%M} UTC, {sum(r.seconds for r in results) / 60:.1f} minutes",
        f"- Machine: {machine['cores']} cores, {machine['ram_gb']} GB RAM, {machine['cpu']}, "
        f"Linux {machine['kernel']}",
        f"- Load average (1 min) during the run: {load}. The machine is shared with other jobs; with load "
        "above the core count, wall times include waiting for a core, so CPU seconds are shown beside them.",
        "- Versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()),
        "",
        "## Targets",
        "",
        "| case | target | measured | met |",
        "|---|---|---|---|",
    ]
    for r in results:
        for t in r.targets:
            out.append(f"| {r.case} | {t.target} | {t.measured} | {'yes' if t.met else '**no**'} |")
    out += ["", "## Results", ""]
    for r in results:
        out.append(r.markdown())
    out += ["## Is the emulator the bottleneck?", "", *bottleneck_lines(results), ""]
    analysis = common.BENCH / "analysis.md"
    if analysis.exists():
        out += [analysis.read_text().rstrip(), ""]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> list[common.CaseResult]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--write-doc", help="write the Markdown report here (e.g. docs/benchmarks.md)")
    parser.add_argument("--json", help="also write all results as JSON here")
    parser.add_argument("--quick", action="store_true", help="toy sizes (seconds, not minutes)")
    parser.add_argument("--only", nargs="+", choices=list(CASES), help="run only these cases")
    parser.add_argument("--from-json", nargs="+", help="write the doc from results saved with --json")
    ns = parser.parse_args(argv)
    if ns.from_json:
        return _from_json(ns, argv)
    started = dt.datetime.now(dt.UTC)
    machine = common.machine()
    with LoadSampler() as sampler:
        t0 = time.perf_counter()
        results = run_cases(ns.only or list(CASES), ns.quick)
        elapsed = time.perf_counter() - t0
    command = ".venv/bin/python -P bench/run.py " + " ".join(argv if argv is not None else sys.argv[1:])
    doc = document(results, machine, sampler.summary(), started, command.strip())
    if ns.write_doc:
        Path(ns.write_doc).write_text(doc)
    else:
        print(doc)
    if ns.json:
        saved = {
            "results": [r.to_dict() for r in results],
            "load": sampler.summary(),
            "machine": machine,
            "started": started.isoformat(),
            "command": command.strip(),
        }
        Path(ns.json).write_text(json.dumps(saved, indent=2, default=str) + "\n")
    print(f"[bench] all cases in {elapsed / 60:.1f} min", file=sys.stderr)
    return results


def _from_json(ns: argparse.Namespace, argv: list[str] | None) -> list[common.CaseResult]:
    """Compose the document from runs saved with ``--json`` (cases run as separate commands)."""
    results, loads, first = [], [], None
    for path in ns.from_json:
        saved = json.loads(Path(path).read_text())
        for item in saved["results"]:
            item["targets"] = [common.Target(**t) for t in item["targets"]]
            results.append(common.CaseResult(**item))
        loads.append(saved["load"])
        first = first or saved["started"]
    order = list(CASES)
    results.sort(key=lambda r: order.index(r.case) if r.case in order else len(order))
    commands = " and ".join(f"`{json.loads(Path(p).read_text())['command']}`" for p in ns.from_json)
    started = dt.datetime.fromisoformat(first or dt.datetime.now(dt.UTC).isoformat())
    doc = document(
        results, json.loads(Path(ns.from_json[0]).read_text())["machine"], "; ".join(loads), started, commands
    )
    Path(ns.write_doc or "docs/benchmarks.md").write_text(doc)
    return results


if __name__ == "__main__":
    main()
