"""Bulk-read measurements, each in a fresh forked process so its peak memory is its own.

Runs under the provider's virtualenv (clients ``hook``, ``requests``, ``floor``) or under the WMCore
one (client ``wmcore``), so it imports nothing of the provider at module level. Usage:

    python -P bench/bulk_worker.py '{"client": "hook", "conn": PATH, "runs": 3,
                                      "cases": [["details", true], ["names", false]]}'

The parent imports the client's libraries once (importing Airflow alone takes seconds), then forks
one child per measurement: the child builds the client, makes one warm-up call, and times one fetch.
A forked child starts with the parent's resident set as its high-water mark, so the growth of
``ru_maxrss`` during the fetch is the peak memory that fetch added (result kept alive until
measured). Prints one JSON line: ``{"results": [{"query", "gzip", "wall", "cpu", "peak_kb",
"items"}, ...]}`` with ``wall`` (s, the fetch only) and ``cpu`` (s, user + system of the child).
"""

from __future__ import annotations

import functools
import gzip
import json
import os
import resource
import sys
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

MASK = ("RequestStatus", "RequestTransition")
STATUS = "new"


def query_params(query: str) -> list[tuple[str, str]]:
    """The wire query of each variant (identical for every client)."""
    if query == "details":
        return [("status", STATUS)]
    if query == "names":
        return [("status", STATUS), ("detail", "false")]
    if query == "mask":
        return [("status", STATUS)] + [("mask", m) for m in MASK]
    raise ValueError(f"unknown query {query!r}")


def count_items(result: Any) -> int:
    """Requests in a result: a dict of docs, a list of names, or WMCore's list of row dicts."""
    if isinstance(result, dict):
        return len(result)
    total = 0
    for row in result:
        total += len(row) if isinstance(row, dict) else 1
    return total


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(fetch: Callable[[], Any]) -> dict[str, Any]:
    """Time one call of ``fetch`` and the memory high-water mark it adds (result kept alive)."""
    base_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    cpu0 = _cpu()
    t0 = time.perf_counter()
    result = fetch()
    wall = time.perf_counter() - t0
    cpu = _cpu() - cpu0
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base_kb
    return {"wall": wall, "cpu": cpu, "peak_kb": peak_kb, "items": count_items(result)}


# ---------------------------------------------------------------------------------- clients
def hook_fetch(conn: dict[str, Any], query: str, use_gzip: bool) -> Callable[[], Any]:
    from airflow_provider_poms.hooks.reqmgr2 import ReqMgr2Hook
    from airflow_provider_poms.http.settings import ConnectionSettings

    hook = ReqMgr2Hook(settings=ConnectionSettings.from_emulator(conn, "reqmgr2", gzip=use_gzip))
    kwargs: dict[str, Any] = {"status": STATUS}
    if query == "names":
        kwargs["detail"] = False
    elif query == "mask":
        kwargs["mask"] = list(MASK)
    hook.get_info()  # connection set up before the clock starts, as for the other clients
    return lambda: hook.get_requests(**kwargs)


def _session(conn: dict[str, Any]) -> Any:
    import requests

    s = requests.Session()
    s.trust_env = False
    s.verify = conn["ca_cert"]
    s.cert = (conn["client_cert"], conn["client_key"])
    return s


def requests_fetch(conn: dict[str, Any], query: str, use_gzip: bool) -> Callable[[], Any]:
    """What a script writer does: requests + ``resp.json()["result"]``."""
    s = _session(conn)
    url = conn["reqmgr2_url"] + "/data/request"
    headers = {"Accept": "application/json", "Accept-Encoding": "gzip" if use_gzip else "identity"}
    s.get(conn["reqmgr2_url"] + "/data/info", headers=headers).raise_for_status()

    def fetch() -> Any:
        resp = s.get(url, params=query_params(query), headers=headers)
        resp.raise_for_status()
        rows = resp.json()["result"]
        return rows

    return fetch


def wmcore_fetch(conn: dict[str, Any], query: str, use_gzip: bool) -> Callable[[], Any]:
    """The official client as its users call it (X509_* environment, CA directory)."""
    os.environ["X509_USER_CERT"] = conn["client_cert"]
    os.environ["X509_USER_KEY"] = conn["client_key"]
    os.environ["X509_CERT_DIR"] = conn["bench_ca_dir"]
    import logging

    from WMCore.Services.ReqMgr.ReqMgr import ReqMgr
    from WMCore.Services.Requests import Requests

    if not use_gzip:
        # The client always offers "gzip,deflate,identity"; only a patch of its header turns it off.
        original = Requests.makeRequest_pycurl

        def identity(self: Any, uri: Any, data: Any, verb: Any, headers: dict[str, str]) -> Any:
            ckey, cert = self.getKeyCert()
            headers["Accept-Encoding"] = "identity"
            response, result = self.reqmgr.request(
                uri, data, headers, verb=verb, ckey=ckey, cert=cert, capath=self.getCAPath()
            )
            return result, response

        Requests.makeRequest_pycurl = identity  # type: ignore[method-assign]
        assert original is not None
    logger = logging.getLogger("wmcore-bench")
    logger.addHandler(logging.NullHandler())
    logger.propagate = False
    client = ReqMgr(conn["reqmgr2_url"], header={"cachepath": conn["bench_cache_dir"]}, logger=logger)
    client.getGenericRequestInfo({"name": "bench_warm_up_no_such_request"})
    if query == "details":
        return lambda: client.getRequestByStatus([STATUS], detail=True)
    if query == "names":
        return lambda: client.getRequestByStatus([STATUS], detail=False)
    return lambda: client.getGenericRequestInfo({"status": STATUS, "mask": list(MASK)})


# ---------------------------------------------------------------------------------- floor
def _parsers() -> dict[str, Callable[[bytes], Any]]:
    out: dict[str, Callable[[bytes], Any]] = {"json": json.loads}
    try:
        import msgspec

        out["msgspec"] = msgspec.json.decode
    except ImportError:
        pass
    try:
        import orjson

        out["orjson"] = orjson.loads
    except ImportError:
        pass
    return out


def _decompress(body: bytes, encoding: str) -> bytes:
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "deflate":
        return zlib.decompress(body)
    return body


def floor(conn: dict[str, Any], query: str, use_gzip: bool, repeats: int) -> dict[str, Any]:
    """Fetch the bytes once (untimed), then time decompress + parse with every parser installed.

    Also reports the bytes on the wire (the response body as sent) for this Accept-Encoding.
    """
    s = _session(conn)
    headers = {"Accept": "application/json", "Accept-Encoding": "gzip" if use_gzip else "identity"}
    resp = s.get(
        conn["reqmgr2_url"] + "/data/request", params=query_params(query), headers=headers, stream=True
    )
    raw = resp.raw.read(decode_content=False)
    encoding = resp.headers.get("Content-Encoding", "identity")
    times: dict[str, float] = {}
    for name, parse in _parsers().items():
        runs = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            parse(_decompress(raw, encoding))
            runs.append(time.perf_counter() - t0)
        times[name] = sorted(runs)[len(runs) // 2]
    best = min(times, key=lambda k: times[k])
    items = count_items(json.loads(_decompress(raw, encoding))["result"])
    return {
        "wall": times[best],
        "parser": best,
        "parsers": times,
        "wire_bytes": len(raw),
        "encoding": encoding,
        "items": items,
        "decoded_bytes": len(_decompress(raw, encoding)),
    }


def _measure_one(
    maker: Callable[[dict[str, Any], str, bool], Callable[[], Any]],
    conn: dict[str, Any],
    query: str,
    use_gzip: bool,
) -> dict[str, Any]:
    """Build the client (in the child) and time one fetch."""
    return measure(maker(conn, query, use_gzip))


def _preload(client: str) -> None:
    """Import the client's libraries in the parent, before any fork."""
    if client == "hook":
        import airflow_provider_poms.hooks.reqmgr2  # noqa: F401
    elif client == "wmcore":
        import WMCore.Services.ReqMgr.ReqMgr  # noqa: F401
    import requests  # noqa: F401


def forked(job: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run ``job`` in a forked child; its JSON-able answer comes back through a pipe."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(read_fd)
        code = 0
        try:
            answer: dict[str, Any] = job()
        except BaseException as exc:
            answer, code = {"error": f"{type(exc).__name__}: {exc}"[:2000]}, 1
        with os.fdopen(write_fd, "w") as out:
            out.write(json.dumps(answer))
        os._exit(code)
    os.close(write_fd)
    with os.fdopen(read_fd) as inp:
        data = inp.read()
    os.waitpid(pid, 0)
    answer = json.loads(data) if data else {"error": "child died without an answer"}
    if "error" in answer:
        raise RuntimeError(answer["error"])
    return dict(answer)


def main() -> None:
    spec = json.loads(sys.argv[1])
    conn = json.loads(Path(spec["conn"]).read_text())
    client = spec["client"]
    _preload(client)
    makers = {"hook": hook_fetch, "requests": requests_fetch, "wmcore": wmcore_fetch}
    results = []
    for query, use_gzip in spec["cases"]:
        for _ in range(int(spec.get("runs", 1))):
            if client == "floor":
                result = floor(conn, query, bool(use_gzip), int(spec.get("repeats", 3)))
            else:
                maker = makers[client]
                result = forked(functools.partial(_measure_one, maker, conn, query, bool(use_gzip)))
            results.append({"query": query, "gzip": bool(use_gzip), **result})
            if client == "floor":
                break  # the floor repeats internally
    print(json.dumps({"results": results}))


if __name__ == "__main__":
    main()
