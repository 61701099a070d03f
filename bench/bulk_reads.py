"""Case 1, bulk reads: the same status query through ReqMgr2Hook, the official WMCore client and
plain requests + json, against the floor (decompress + parse the same bytes in-process).

    .venv/bin/python -P bench/bulk_reads.py [--stored 50000] [--runs 3] [--json out.json]

The emulator preloads ``--stored`` fully defaulted StepChain requests, a fifth of them in ``new``;
every client asks for ``status=new`` (10,000 requests at the default size) with full documents,
names only, and a mask. Provider-side clients are measured in processes forked from this one and
WMCore's in processes forked from a worker in its own virtualenv (see bulk_worker.py for how peak
memory is taken). Wire bytes are the response body as sent for the client's Accept-Encoding.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import bulk_worker, common, wmcore_env

QUERIES = ("details", "names", "mask")
CLIENTS = ("hook", "wmcore", "requests")


def _provider_results(
    client: str, conn: dict[str, Any], cases: list[tuple[str, bool]], runs: int
) -> list[dict[str, Any]]:
    """Provider-venv clients, forked from this process (Airflow is imported once, here)."""
    bulk_worker._preload(client)
    out = []
    maker = {"hook": bulk_worker.hook_fetch, "requests": bulk_worker.requests_fetch}[client]
    for query, use_gzip in cases:
        for _ in range(runs):
            result = bulk_worker.forked(
                functools.partial(bulk_worker._measure_one, maker, conn, query, use_gzip)
            )
            out.append({"query": query, "gzip": use_gzip, **result})
    return out


def _wmcore_results(conn_path: Path, cases: list[tuple[str, bool]], runs: int) -> list[dict[str, Any]]:
    python = wmcore_env.ensure_venv()
    spec = {"client": "wmcore", "conn": str(conn_path), "cases": cases, "runs": runs}
    worker = str(Path(bulk_worker.__file__))
    return list(common.run_json([str(python), "-P", worker, json.dumps(spec)])["results"])


def measure_all(
    emu: Any, queries: tuple[str, ...], gzip_modes: tuple[bool, ...], runs: int
) -> dict[str, list[dict[str, Any]]]:
    """Every client over every (query, gzip) pair; returns raw results per client."""
    state = Path(emu.state_dir)
    conn = dict(emu.conn)
    conn["bench_ca_dir"] = str(wmcore_env.ca_dir(conn["ca_cert"], state / "bench-ca-dir"))
    conn["bench_cache_dir"] = str(state / "bench-wmcore-cache")
    conn_path = state / "bench-connection.json"
    conn_path.write_text(json.dumps(conn))
    cases = [(q, g) for q in queries for g in gzip_modes]
    for query, use_gzip in cases:  # warm the emulator's caches (documents serialised once) untimed
        bulk_worker.floor(conn, query, use_gzip, 1)
    raw: dict[str, list[dict[str, Any]]] = {}
    assert emu.pid is not None
    for client in CLIENTS:
        cpu0 = common.proc_cpu_seconds(emu.pid)
        if client == "wmcore":
            raw[client] = _wmcore_results(conn_path, cases, runs)
        else:
            raw[client] = _provider_results(client, conn, cases, runs)
        raw[client + ":emulator_cpu"] = [
            {"cpu": common.proc_cpu_seconds(emu.pid) - cpu0, "calls": len(raw[client])}
        ]
    raw["floor"] = [{"query": q, "gzip": g, **bulk_worker.floor(conn, q, g, max(3, runs))} for q, g in cases]
    return raw


def _pick(results: list[dict[str, Any]], query: str, use_gzip: bool) -> list[dict[str, Any]]:
    return [r for r in results if r["query"] == query and r["gzip"] == use_gzip]


def summarise(
    raw: dict[str, list[dict[str, Any]]], queries: tuple[str, ...], gzip_modes: tuple[bool, ...]
) -> tuple[list[list[Any]], list[common.Target]]:
    rows: list[list[Any]] = []
    targets: list[common.Target] = []
    for query in queries:
        for use_gzip in gzip_modes:
            fl = _pick(raw["floor"], query, use_gzip)[0]
            med: dict[str, dict[str, float]] = {}
            for client in CLIENTS:
                got = _pick(raw[client], query, use_gzip)
                med[client] = {
                    "wall": common.median([r["wall"] for r in got]),
                    "cpu": common.median([r["cpu"] for r in got]),
                    "peak_mb": common.median([r["peak_kb"] for r in got]) / 1024,
                    "items": got[0]["items"],
                }
            for client in CLIENTS:
                m = med[client]
                rows.append(
                    [
                        query,
                        "on" if use_gzip else "off",
                        client,
                        m["wall"],
                        m["cpu"],
                        m["peak_mb"],
                        fl["wire_bytes"],
                        m["items"],
                        med["wmcore"]["wall"] / m["wall"],
                        m["cpu"] / fl["wall"] if fl["wall"] else 0.0,
                    ]
                )
            rows.append(
                [
                    query,
                    "on" if use_gzip else "off",
                    f"floor ({fl['parser']})",
                    fl["wall"],
                    fl["wall"],
                    "",
                    fl["wire_bytes"],
                    fl["items"],
                    "",
                    1.0,
                ]
            )
            hook, wm = med["hook"], med["wmcore"]
            label = f"{query}, gzip {'on' if use_gzip else 'off'}"
            targets.append(
                common.Target(
                    f"hook >= 2x faster than WMCore ({label})",
                    f"{wm['wall'] / hook['wall']:.2f}x",
                    wm["wall"] / hook["wall"] >= 2,
                )
            )
            targets.append(
                common.Target(
                    f"hook peak memory <= WMCore's ({label})",
                    f"{hook['peak_mb']:.1f} MB vs {wm['peak_mb']:.1f} MB",
                    hook["peak_mb"] <= wm["peak_mb"],
                )
            )
            if query == "details":
                ratio = hook["cpu"] / fl["wall"] if fl["wall"] else float("inf")
                targets.append(
                    common.Target(
                        f"hook within 1.3x of the floor, client CPU ({label})",
                        f"{ratio:.2f}x (wall {hook['wall'] / fl['wall']:.1f}x)",
                        ratio <= 1.3,
                    )
                )
    return rows, targets


def run(
    stored: int = 50_000,
    runs: int = 3,
    queries: tuple[str, ...] = QUERIES,
    gzip_modes: tuple[bool, ...] = (True, False),
    emu: common.EmulatorProcess | None = None,
    args: list[str] | None = None,
) -> common.CaseResult:
    started = time.perf_counter()
    with common.emulator_for(emu, stored) as emu:
        raw = measure_all(emu, queries, gzip_modes, runs)
    rows, targets = summarise(raw, queries, gzip_modes)
    emu_notes, busy = [], {}
    for client in CLIENTS:
        e = raw[client + ":emulator_cpu"][0]
        emu_notes.append(f"{client} {e['cpu'] / max(1, e['calls']):.2f} s")
        busy[client] = e["cpu"] / max(1e-9, sum(r["wall"] for r in raw[client]))
    matched = int(stored * common.PRELOAD_NEW_SHARE)
    return common.CaseResult(
        case="bulk_reads",
        title=f"1. Bulk reads: {matched:,} of {stored:,} stored requests (status=new)",
        command=common.command_line(
            "bulk_reads.py", args if args is not None else [f"--stored {stored}", f"--runs {runs}"]
        ),
        columns=[
            "query",
            "gzip",
            "client",
            "wall s",
            "client CPU s",
            "peak MB",
            "wire bytes",
            "items",
            "WMCore wall / this",
            "client CPU / floor",
        ],
        rows=rows,
        targets=targets,
        notes=[
            f"Medians of {runs} runs, each in a freshly forked process; peak MB = growth of ru_maxrss "
            "during the fetch (result kept alive), so it counts the response bytes and the parsed objects.",
            "details = full documents; names = detail=false; "
            "mask = mask=RequestStatus&mask=RequestTransition. "
            "WMCore always offers gzip,deflate,identity (gzip off = its header patched to identity); it "
            "writes every answer to its cache directory and reads it back, as it does in production.",
            "The floor is decompress + parse of the same bytes in this process (fastest of json, msgspec, "
            "orjson when installed); it has no network and no server time, so the 1.3x target is judged on "
            "the hook's client CPU seconds, and the wall ratio is shown beside it.",
            "Emulator CPU per fetch (server side, incl. warm-up calls): " + ", ".join(emu_notes) + ".",
        ],
        seconds=time.perf_counter() - started,
        emulator_busy=busy,
    )


def main(argv: list[str] | None = None) -> common.CaseResult:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stored", type=int, default=50_000, help="requests preloaded (a fifth match)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", help="also write the result as JSON here")
    ns = parser.parse_args(argv)
    result = run(ns.stored, ns.runs, args=argv if argv is not None else sys.argv[1:])
    print(result.markdown())
    common.write_json(ns.json, result)
    return result


if __name__ == "__main__":
    main()
