"""Case 5, the emulator itself: requests per second for GET-by-name and status queries with
100,000 stored requests, and its memory.

    .venv/bin/python -P bench/emulator_rps.py [--stored 100000] [--seconds 10] [--json out.json]

Load comes from ``--procs`` forked processes with ``--threads`` keep-alive sessions each (client
certificate over TLS), for ``--seconds`` per query kind. The emulator is one uvicorn process (one
core at most); it shares the machine with the load generator, so the table also gives its CPU
seconds per request and the rate that implies for one dedicated core.
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common

#: (label, query builder) — a random stored name, or a status that matches a tenth of the store.
KINDS: tuple[tuple[str, str], ...] = (
    ("GET by name (request?name=X)", "name"),
    ("status query, names only (status=failed&detail=false)", "status_names"),
    ("status query with mask (status=failed&mask=RequestStatus)", "status_mask"),
)


def _params(kind: str, names: list[str], rng: random.Random) -> list[tuple[str, str]]:
    if kind == "name":
        return [("name", rng.choice(names))]
    if kind == "status_names":
        return [("status", "failed"), ("detail", "false")]
    return [("status", "failed"), ("mask", "RequestStatus")]


def _load(emu: Any, kind: str, names: list[str], threads: int, seconds: float, queue: Any) -> None:
    """One load process: ``threads`` keep-alive sessions calling as fast as answers come."""
    url = emu.conn["reqmgr2_url"] + "/data/request"
    counts: list[int] = []
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        session = emu.session()
        done, lat = 0, []
        headers = {"Accept": "application/json", "Accept-Encoding": "gzip"}
        while time.monotonic() < stop_at:
            t0 = time.perf_counter()
            resp = session.get(url, params=_params(kind, names, rng), headers=headers)
            body = resp.content
            lat.append(time.perf_counter() - t0)
            if resp.status_code != 200 or not body:
                with lock:
                    errors.append(f"HTTP {resp.status_code}")
                break
            done += 1
        session.close()
        with lock:
            counts.append(done)
            latencies.extend(lat)

    pool = [threading.Thread(target=worker, args=(i + random.randrange(1 << 30),)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    queue.put({"count": sum(counts), "latencies": latencies, "errors": errors})


def measure(
    emu: Any, kind: str, names: list[str], procs: int, threads: int, seconds: float
) -> dict[str, Any]:
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    assert emu.pid is not None
    cpu0, t0 = common.proc_cpu_seconds(emu.pid), time.perf_counter()
    workers = [
        ctx.Process(target=_load, args=(emu, kind, names, threads, seconds, queue)) for _ in range(procs)
    ]
    for w in workers:
        w.start()
    parts = [queue.get(timeout=seconds + 300) for _ in workers]
    for w in workers:
        w.join()
    wall = time.perf_counter() - t0
    emu_cpu = common.proc_cpu_seconds(emu.pid) - cpu0
    count = sum(p["count"] for p in parts)
    errors = [e for p in parts for e in p["errors"]]
    if errors:
        raise RuntimeError(f"{kind}: {len(errors)} failed calls, e.g. {errors[0]}")
    lat = [x for p in parts for x in p["latencies"]]
    return {
        "count": count,
        "rps": count / wall,
        "emu_cpu_per_req": emu_cpu / max(count, 1),
        "emu_cpu_share": emu_cpu / wall,
        "p50": common.percentile(lat, 50),
        "p99": common.percentile(lat, 99),
    }


def run(
    stored: int = 100_000,
    seconds: float = 10.0,
    procs: int = 2,
    threads: int = 4,
    emu: common.EmulatorProcess | None = None,
    args: list[str] | None = None,
) -> common.CaseResult:
    started = time.perf_counter()
    with common.emulator_for(emu, stored) as emu:
        assert emu.pid is not None
        session = emu.session()
        resp = session.get(
            emu.conn["reqmgr2_url"] + "/data/request",
            params=[("status", "new"), ("detail", "false")],
            headers={"Accept": "application/json"},
        )
        resp.raise_for_status()
        names = [n for n in resp.json()["result"] if isinstance(n, str)]
        session.close()
        mem_idle = common.proc_memory_mb(emu.pid)
        rows = []
        for label, kind in KINDS:
            m = measure(emu, kind, names, procs, threads, seconds)
            rows.append(
                [
                    label,
                    m["count"],
                    m["rps"],
                    m["p50"] * 1000,
                    m["p99"] * 1000,
                    m["emu_cpu_per_req"] * 1000,
                    1 / m["emu_cpu_per_req"] if m["emu_cpu_per_req"] else 0.0,
                    m["emu_cpu_share"],
                ]
            )
        mem = common.proc_memory_mb(emu.pid)
    return common.CaseResult(
        case="emulator_rps",
        title=f"5. The emulator itself: {stored:,} stored requests",
        command=common.command_line("emulator_rps.py", args if args is not None else [f"--stored {stored}"]),
        columns=[
            "query",
            "calls",
            "RPS",
            "p50 ms",
            "p99 ms",
            "emulator CPU ms / call",
            "RPS if it had one core to itself",
            "emulator cores busy",
        ],
        rows=rows,
        notes=[
            f"Emulator memory with {stored:,} stored requests: "
            f"{mem_idle['rss_mb']:.0f} MB resident before the "
            f"load, {mem['rss_mb']:.0f} MB after, peak {mem['hwm_mb']:.0f} MB (VmRSS/VmHWM).",
            f"{procs} load processes x {threads} keep-alive sessions, {seconds:g} s per query kind, gzip on; "
            "status=failed matches a tenth of the store. The load generator runs on the same cores.",
        ],
        seconds=time.perf_counter() - started,
        emulator_busy={row[0]: row[7] for row in rows},
    )


def main(argv: list[str] | None = None) -> common.CaseResult:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stored", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--procs", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--json", help="also write the result as JSON here")
    ns = parser.parse_args(argv)
    result = run(ns.stored, ns.seconds, ns.procs, ns.threads, args=argv if argv is not None else sys.argv[1:])
    print(result.markdown())
    common.write_json(ns.json, result)
    return result


if __name__ == "__main__":
    main()
