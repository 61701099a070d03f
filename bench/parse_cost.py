"""Case 4, DAG parse cost: a DAG file with 100 provider tasks against the same DAG with 100
EmptyOperators, and what importing the provider adds (``python -X importtime``).

    .venv/bin/python -P bench/parse_cost.py [--tasks 100] [--runs 7] [--json out.json]

Parsing is timed like the DAG processor does it (Airflow imported in a parent, each parse in a
forked child: bench/parse_worker.py). The provider DAG mixes four task types (approve and
status-change operators, the ReqMgr2 sensor, the POMS launch operator); the import figure covers
exactly the modules that DAG imports.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TypedDict

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common

MODULES = [
    "airflow_provider_poms.operators.reqmgr2",
    "airflow_provider_poms.operators.poms",
    "airflow_provider_poms.sensors.reqmgr2",
]

_HEADER = """import pendulum
from airflow.sdk import DAG
{imports}

with DAG("bench_parse_{kind}", schedule=None, start_date=pendulum.datetime(2026, 1, 1), catchup=False) as dag:
    previous = None
"""

_PROVIDER_IMPORTS = """from airflow_provider_poms.operators.poms import PomsLaunchStageOperator
from airflow_provider_poms.operators.reqmgr2 import ReqMgr2ApproveRequestOperator, ReqMgr2ChangeStatusOperator
from airflow_provider_poms.sensors.reqmgr2 import ReqMgr2RequestSensor"""

_PROVIDER_TASKS = (
    'ReqMgr2ApproveRequestOperator(task_id="approve_{i}", request_name="req_{i}")',
    'ReqMgr2ChangeStatusOperator(task_id="status_{i}", request_name="req_{i}", status="rejected")',
    'ReqMgr2RequestSensor(task_id="wait_{i}", request_name="req_{i}", target_statuses=["completed"])',
    'PomsLaunchStageOperator(task_id="launch_{i}", campaign_stage_id={i})',
)


def dag_source(kind: str, tasks: int) -> str:
    """A DAG file with ``tasks`` chained tasks of the provider, or EmptyOperators."""
    if kind == "provider":
        lines = [_HEADER.format(kind=kind, imports=_PROVIDER_IMPORTS)]
        for i in range(tasks):
            lines.append(f"    task = {_PROVIDER_TASKS[i % len(_PROVIDER_TASKS)].format(i=i)}")
            lines.append("    if previous is not None:\n        previous >> task\n    previous = task")
    else:
        lines = [
            _HEADER.format(
                kind=kind, imports="from airflow.providers.standard.operators.empty import EmptyOperator"
            )
        ]
        for i in range(tasks):
            lines.append(f'    task = EmptyOperator(task_id="empty_{i}")')
            lines.append("    if previous is not None:\n        previous >> task\n    previous = task")
    return "\n".join(lines) + "\n"


class ImportTime(TypedDict):
    total_ms: float
    heaviest: list[tuple[str, float]]
    modules: int


def importtime(modules: list[str]) -> ImportTime:
    """``python -X importtime``: the provider's share after airflow.sdk is loaded (microseconds)."""
    code = "import sys, airflow.sdk\nsys.stderr.write('BENCH-MARK\\n')\nsys.stderr.flush()\n" + "".join(
        f"import {m}\n" for m in modules
    )
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    after = proc.stderr.split("BENCH-MARK\n", 1)[1]
    entries = []
    for line in after.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        self_us, cum_us, name = line.split(":", 1)[1].split("|")
        try:
            entries.append((int(self_us), int(cum_us), name.rstrip(), len(name) - len(name.lstrip())))
        except ValueError:
            continue
    top_level = [e for e in entries if e[3] == min(x[3] for x in entries)] if entries else []
    total_us = sum(e[1] for e in top_level)
    heaviest = sorted(entries, key=lambda e: e[0], reverse=True)[:8]
    return {
        "total_ms": total_us / 1000,
        "heaviest": [(e[2].strip(), e[0] / 1000) for e in heaviest],
        "modules": len(entries),
    }


def run(
    tasks: int = 100, runs: int = 7, with_importtime: bool = True, args: list[str] | None = None
) -> common.CaseResult:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-parse-") as tmp:
        files = {}
        for kind in ("provider", "empty"):
            path = Path(tmp) / f"bench_{kind}_dag.py"
            path.write_text(dag_source(kind, tasks))
            files[kind] = str(path)
        spec = {"files": files, "runs": runs, "modules": MODULES}
        raw = common.run_json([sys.executable, "-P", str(common.BENCH / "parse_worker.py"), json.dumps(spec)])
    # -X importtime needs a fresh interpreter (one more Airflow import); the smoke test leaves it out
    imp = importtime(MODULES) if with_importtime else ImportTime(total_ms=0.0, heaviest=[], modules=0)
    wall = {k: common.median([r["seconds"] for r in raw[k]]) for k in ("provider", "empty", "import")}
    prov, empty, import_s = (
        common.median([r["cpu"] for r in raw[k]]) for k in ("provider", "empty", "import")
    )
    heavy = sorted({h for r in raw["provider"] for h in r["heavy"]})
    preloaded = raw["preloaded_heavy"]
    rows = [
        [
            f"DAG, {tasks} EmptyOperators",
            raw["empty"][0]["tasks"],
            empty * 1000,
            wall["empty"] * 1000,
            1.0,
            "",
        ],
        [
            f"DAG, {tasks} provider tasks",
            raw["provider"][0]["tasks"],
            prov * 1000,
            wall["provider"] * 1000,
            prov / empty,
            ", ".join(heavy) or "none",
        ],
        [
            "import of the provider modules alone",
            "",
            import_s * 1000,
            wall["import"] * 1000,
            "",
            f"{raw['import'][0]['new_modules']} modules",
        ],
    ]
    if with_importtime:
        rows.append(
            ["same, under -X importtime (one run)", "", "", imp["total_ms"], "", f"{imp['modules']} modules"]
        )
    return common.CaseResult(
        case="parse_cost",
        title=f"4. DAG parse cost: {tasks} provider tasks vs {tasks} EmptyOperators",
        command=common.command_line(
            "parse_cost.py", args if args is not None else [f"--tasks {tasks}", f"--runs {runs}"]
        ),
        columns=["what", "tasks", "CPU ms", "wall ms", "CPU ratio", "heavy modules newly imported"],
        rows=rows,
        targets=[
            common.Target(
                "provider DAG parse < 1.2x the EmptyOperator DAG", f"{prov / empty:.2f}x", prov / empty < 1.2
            ),
            common.Target(
                "< 50 ms added by importing the provider", f"{import_s * 1000:.1f} ms", import_s < 0.05
            ),
            common.Target(
                "no jsonschema / schemas / async stack / emulator at parse time",
                ", ".join(h for h in heavy if h not in preloaded) or "none",
                not [h for h in heavy if h not in preloaded],
            ),
        ],
        notes=[
            "Targets are judged on CPU time of the parsing process (on a shared, loaded machine wall time "
            "mostly measures waiting for a core); wall time is shown beside it.",
            f"Medians of {runs} parses per file, each in a process forked from one that already imported "
            "airflow.sdk and EmptyOperator (as the DAG processor has); "
            "the provider file also pays the import "
            "of " + ", ".join(MODULES) + ".",
            "Already loaded by Airflow itself before any DAG file (so free for the provider): "
            + (", ".join(preloaded) or "none")
            + ".",
            "Largest self import times of the provider's import (-X importtime, ms): "
            + ", ".join(f"{n} {ms:.1f}" for n, ms in imp["heaviest"])
            + ".",
        ],
        seconds=time.perf_counter() - started,
    )


def main(argv: list[str] | None = None) -> common.CaseResult:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tasks", type=int, default=100)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--json", help="also write the result as JSON here")
    ns = parser.parse_args(argv)
    result = run(ns.tasks, ns.runs, args=argv if argv is not None else sys.argv[1:])
    print(result.markdown())
    common.write_json(ns.json, result)
    return result


if __name__ == "__main__":
    main()
