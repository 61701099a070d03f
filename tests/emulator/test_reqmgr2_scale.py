"""Scale: an emulator holding 100,000 requests answers a status= query over 10,000 of them quickly.

Runs its own emulator process, preloaded through ``EMULATOR_REQMGR2_PRELOAD`` (N/10 requests in
``failed``). N defaults to 100,000; ``EMULATOR_REQMGR2_SCALE_N`` makes a quicker local run possible.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest

from airflow_provider_poms.emulator.reqmgr2.rawclient import RawReqMgr2
from airflow_provider_poms.emulator.testing import EmulatorProcess

N = int(os.environ.get("EMULATOR_REQMGR2_SCALE_N", "100000"))


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorProcess]:
    old = os.environ.get("EMULATOR_REQMGR2_PRELOAD")
    os.environ["EMULATOR_REQMGR2_PRELOAD"] = str(N)
    try:
        emu = EmulatorProcess(
            tmp_path_factory.mktemp("emulator-scale"),
            clock_scale=1,
            seed=1,
            control=True,
            startup_timeout=600,
        )
        emu.start()
    finally:
        if old is None:
            os.environ.pop("EMULATOR_REQMGR2_PRELOAD", None)
        else:
            os.environ["EMULATOR_REQMGR2_PRELOAD"] = old
    try:
        yield emu
    finally:
        emu.close()


@pytest.mark.timeout(900)
def test_status_query_over_a_tenth_of_the_requests(big: EmulatorProcess) -> None:
    rm = RawReqMgr2(big.session("operator"), big.conn["reqmgr2_url"])
    headers = {"Accept": "application/json", "Accept-Encoding": "gzip"}
    timings = {}
    for label, params in (
        ("names", {"status": "failed", "detail": "false"}),
        ("mask", {"status": "failed", "mask": ["RequestStatus", "RequestTransition"]}),
        ("full", {"status": "failed"}),
        ("full again", {"status": "failed"}),
    ):
        t0 = time.perf_counter()
        resp = rm.get("request", params=params, headers=headers)
        timings[label] = time.perf_counter() - t0
        rows = rm.result(resp)
        count = len(rows) if label == "names" else len(rows[0])
        assert count == N // 10, (label, count)
    print(
        f"\nReqMgr2 emulator, {N} requests, status=failed -> {N // 10}: "
        + ", ".join(f"{k} {v:.3f}s" for k, v in timings.items())
    )
    assert timings["names"] < 2.0 and timings["mask"] < 3.0 and timings["full again"] < 5.0
    # a name lookup stays instant in the big store
    t0 = time.perf_counter()
    name = rm.result(rm.get("request", params={"status": "new", "detail": "false"}))[0]
    assert rm.doc(name)["RequestStatus"] == "new"
    assert time.perf_counter() - t0 < 3.0
