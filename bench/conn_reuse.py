"""Case 3, connection reuse: sequential small calls over TLS with a client certificate, through the
hook (one keep-alive pool) and with a new connection per call (a new ``requests`` session each time,
which is what a script calling ``requests.get(..., cert=...)`` in a loop does).

    .venv/bin/python -P bench/conn_reuse.py [--calls 1000] [--runs 3] [--json out.json]

The call is ``GET /reqmgr2/data/info`` (a few hundred bytes). Runs of the two variants alternate so
machine load hits both alike; the ratio is taken from the medians of the same run.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common


def _hook_calls(emu: Any, calls: int) -> tuple[float, float]:
    from airflow_provider_poms.hooks.reqmgr2 import ReqMgr2Hook

    hook = ReqMgr2Hook(settings=emu.settings("reqmgr2"))
    try:
        hook.get_info()  # the pool's first connection is made before the clock starts
        cpu0 = time.process_time()
        t0 = time.perf_counter()
        for _ in range(calls):
            hook.get_info()
        return time.perf_counter() - t0, time.process_time() - cpu0
    finally:
        hook.close()


def _fresh_calls(emu: Any, calls: int) -> tuple[float, float]:
    url = emu.conn["reqmgr2_url"] + "/data/info"
    headers = {"Accept": "application/json", "Accept-Encoding": "gzip"}
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    for _ in range(calls):
        with emu.session() as session:  # new session: new TCP + TLS handshake with the client cert
            resp = session.get(url, headers=headers)
            resp.raise_for_status()
            resp.json()
    return time.perf_counter() - t0, time.process_time() - cpu0


def run(
    calls: int = 1000, runs: int = 3, emu: common.EmulatorProcess | None = None, args: list[str] | None = None
) -> common.CaseResult:
    started = time.perf_counter()
    results: dict[str, list[tuple[float, float]]] = {
        "hook (keep-alive pool)": [],
        "new connection per call": [],
    }
    with common.emulator_for(emu, 0) as emu:
        assert emu.pid is not None
        emu_cpu = {k: 0.0 for k in results}
        _fresh_calls(emu, 3)  # the emulator's first answers (lazy set-up) stay out of the figures
        for _ in range(runs):
            for name, fn in (
                ("hook (keep-alive pool)", _hook_calls),
                ("new connection per call", _fresh_calls),
            ):
                cpu0 = common.proc_cpu_seconds(emu.pid)
                results[name].append(fn(emu, calls))
                emu_cpu[name] += common.proc_cpu_seconds(emu.pid) - cpu0
    rows = []
    med = {k: common.median([w for w, _ in v]) for k, v in results.items()}
    for name, vals in results.items():
        wall = med[name]
        rows.append(
            [
                name,
                calls,
                wall,
                wall / calls * 1000,
                common.median([c for _, c in vals]),
                emu_cpu[name] / runs,
                med["new connection per call"] / wall,
            ]
        )
    ratio = med["new connection per call"] / med["hook (keep-alive pool)"]
    return common.CaseResult(
        case="conn_reuse",
        title=f"3. Connection reuse: {calls:,} sequential small calls over TLS with a client certificate",
        command=common.command_line(
            "conn_reuse.py", args if args is not None else [f"--calls {calls}", f"--runs {runs}"]
        ),
        columns=[
            "variant",
            "calls",
            "wall s",
            "ms per call",
            "client CPU s",
            "emulator CPU s",
            "speed-up vs new connection",
        ],
        rows=rows,
        targets=[
            common.Target("hook >= 5x faster than a new connection per call", f"{ratio:.2f}x", ratio >= 5)
        ],
        notes=[
            f"Medians of {runs} alternating runs; the call is GET /reqmgr2/data/info; client and emulator "
            "share the machine's cores, so server-side TLS handshakes count in the wall time too."
        ],
        seconds=time.perf_counter() - started,
        emulator_busy={k: emu_cpu[k] / runs / med[k] for k in results},
    )


def main(argv: list[str] | None = None) -> common.CaseResult:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", help="also write the result as JSON here")
    ns = parser.parse_args(argv)
    result = run(ns.calls, ns.runs, args=argv if argv is not None else sys.argv[1:])
    print(result.markdown())
    common.write_json(ns.json, result)
    return result


if __name__ == "__main__":
    main()
