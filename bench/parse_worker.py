"""DAG-file parse timing, as Airflow's DAG processor does it: Airflow already imported, each file
parsed in a process forked from that parent (so the provider's modules are imported afresh each time).

    python -P bench/parse_worker.py '{"files": {"provider": PATH, "empty": PATH}, "runs": 7,
                                      "modules": ["airflow_provider_poms.operators.reqmgr2", ...]}'

Imports nothing of the provider in the parent. Prints one JSON line: per file the parse times (s),
and for the provider modules alone the import times (s) and the heavy modules they pulled in.
"""

from __future__ import annotations

import functools
import importlib
import json
import os
import runpy
import sys
import time
from collections.abc import Callable
from typing import Any

#: Modules that must load only when used (validation, the async stack, the emulator).
HEAVY = (
    "jsonschema",
    "referencing",
    "rpds",
    "httpx",
    "httpcore",
    "anyio",
    "airflow_provider_poms.validation",
    "airflow_provider_poms.http.aio",
    "airflow_provider_poms.emulator",
    "msgspec",
    "uvicorn",
    "starlette",
)


def forked(job: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        try:
            answer = job()
        except BaseException as exc:
            answer = {"error": f"{type(exc).__name__}: {exc}"[:2000]}
        with os.fdopen(write_fd, "w") as out:
            out.write(json.dumps(answer))
        os._exit(0)
    os.close(write_fd)
    with os.fdopen(read_fd) as inp:
        data = inp.read()
    os.waitpid(pid, 0)
    answer = json.loads(data) if data else {"error": "child died"}
    if "error" in answer:
        raise RuntimeError(answer["error"])
    return dict(answer)


def parse_file(path: str) -> dict[str, Any]:
    before = set(sys.modules)
    c0, t0 = time.process_time(), time.perf_counter()
    namespace = runpy.run_path(path)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    dag = namespace["dag"]
    return {
        "seconds": seconds,
        "cpu": cpu,
        "tasks": len(dag.task_dict),
        "heavy": _heavy(set(sys.modules) - before),
    }


def _heavy(new: set[str]) -> list[str]:
    """Top-level heavy packages among newly imported modules."""
    return sorted({h for h in HEAVY for m in new if m == h or m.startswith(h + ".")})


def import_modules(modules: list[str]) -> dict[str, Any]:
    before = set(sys.modules)
    c0, t0 = time.process_time(), time.perf_counter()
    for name in modules:
        importlib.import_module(name)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    new = set(sys.modules) - before
    return {"seconds": seconds, "cpu": cpu, "heavy": _heavy(new), "new_modules": len(new)}


def main() -> None:
    spec = json.loads(sys.argv[1])
    import airflow.sdk  # noqa: F401  (what the DAG processor has loaded before any DAG file)
    from airflow.providers.standard.operators.empty import EmptyOperator  # noqa: F401
    from airflow.sdk import DAG  # noqa: F401

    files: dict[str, str] = spec["files"]
    out: dict[str, Any] = {name: [] for name in files}
    out["import"] = []
    for _ in range(int(spec["runs"])):
        for name, path in files.items():  # alternate, so load drifts hit both alike
            out[name].append(forked(functools.partial(parse_file, path)))
        out["import"].append(forked(lambda: import_modules(list(spec["modules"]))))
    out["preloaded_heavy"] = sorted(m for m in HEAVY if m in sys.modules)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
