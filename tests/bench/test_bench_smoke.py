"""Every benchmark case at toy size, so `make bench` keeps working between the runs that matter.

Not a timed test: it checks that each case measures something real (over HTTPS against one emulator
shared by the cases here, with the WMCore client in its own venv) and returns well-formed, plausible
rows. Nothing is skipped: a missing WMCore venv is created, and if it cannot be, the bulk case fails.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench import common, run  # noqa: E402

#: Requests preloaded into the shared emulator: a fifth (40) are ``new``, enough for every toy case
#: (bulk reads reads them; polling approves a handful).
PRELOAD = 200


@pytest.fixture(scope="module")
def bench_emulator() -> Iterator[common.EmulatorProcess]:
    with common.emulator(PRELOAD) as emu:
        yield emu


def _toy(name: str, emu: common.EmulatorProcess | None) -> common.CaseResult:
    fn, _full, toy = run.CASES[name]
    kwargs = dict(toy)
    if emu is not None:
        kwargs["emu"] = emu
    return fn(**kwargs, args=run._args_for(name, toy))


def _well_formed(result: common.CaseResult) -> None:
    assert result.rows, f"{result.case}: no rows"
    for row in result.rows:
        assert len(row) == len(result.columns), (result.case, row)
        for cell in row:
            if isinstance(cell, float):
                assert math.isfinite(cell) and cell >= 0, (result.case, row)
    for target in result.targets:
        assert isinstance(target.met, bool) and target.measured
    text = result.markdown()
    assert result.title in text and result.command in text
    assert text.count("\n|") >= len(result.rows) + 2


def _col(result: common.CaseResult, name: str) -> list[Any]:
    index = result.columns.index(name)
    return [row[index] for row in result.rows]


def test_parse_cost_parses_both_dags_and_imports_no_heavy_module() -> None:
    result = _toy("parse_cost", None)
    _well_formed(result)
    assert _col(result, "tasks")[:2] == [10, 10]
    assert all(ms > 0 for ms in _col(result, "CPU ms"))
    heavy_target = result.targets[-1]
    assert heavy_target.met, heavy_target.measured  # a regression here is a real one, at any size


def test_conn_reuse_times_both_variants(bench_emulator: common.EmulatorProcess) -> None:
    result = _toy("conn_reuse", bench_emulator)
    _well_formed(result)
    assert _col(result, "calls") == [10, 10]
    assert all(w > 0 for w in _col(result, "wall s"))
    assert all(0 <= busy <= 2 for busy in result.emulator_busy.values())


def test_bulk_reads_every_client_returns_every_matching_request(
    bench_emulator: common.EmulatorProcess,
) -> None:
    result = _toy("bulk_reads", bench_emulator)
    _well_formed(result)
    clients = set(_col(result, "client"))
    assert {"hook", "wmcore", "requests"} <= clients
    assert any(c.startswith("floor (") for c in clients)
    items = _col(result, "items")  # every client (and the floor) saw the same requests
    assert len(set(items)) == 1 and items[0] >= PRELOAD * common.PRELOAD_NEW_SHARE
    assert all(b > 0 for b in _col(result, "wire bytes"))
    assert all(r[3] > 0 for r in result.rows)  # wall s


def test_polling_batches_and_every_sampled_trigger_fires(bench_emulator: common.EmulatorProcess) -> None:
    result = _toy("polling", bench_emulator)
    _well_formed(result)
    by_mode = {row[0]: row for row in result.rows}
    assert set(by_mode) == {"batched", "naive"}
    for row in result.rows:
        fired, sample = map(int, str(row[-1]).split("/"))
        assert fired == sample > 0, row
    calls = result.columns.index("HTTP calls / interval")
    assert 0 < by_mode["batched"][calls] < by_mode["naive"][calls]


def test_emulator_rps_serves_every_query_kind(bench_emulator: common.EmulatorProcess) -> None:
    result = _toy("emulator_rps", bench_emulator)
    _well_formed(result)
    assert len(result.rows) == 3
    assert all(n > 0 for n in _col(result, "calls"))
    assert all(rps > 0 for rps in _col(result, "RPS"))


def test_document_renders_every_section() -> None:
    """The doc writer, fed with a small hand-made result (the cases themselves are tested above)."""
    result = common.CaseResult(
        case="x",
        title="X case",
        command="cmd",
        columns=["a", "b"],
        rows=[["r", 1.5]],
        targets=[common.Target("t", "1x", False)],
        notes=["n"],
        seconds=1.0,
        emulator_busy={"v": 0.9},
    )
    doc = run.document([result], common.machine(), "min 1", run.dt.datetime.now(run.dt.timezone.utc), "cmd")
    assert "## Machine and run" in doc and "| x | t | 1x | **no** |" in doc
    assert "bottleneck there" in doc and "X case" in doc
