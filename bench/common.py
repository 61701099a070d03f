"""Shared pieces of the benchmark cases: machine facts, an emulator with preloaded requests, process
statistics, medians, and the result shape every case returns.

Why a result shape: ``bench/run.py`` writes one Markdown document from all cases, and the smoke
test (tests/bench) checks the same structure at toy size, so a case that silently stops measuring
is noticed in CI without timing anything.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"
if str(REPO) not in sys.path:  # scripts are run with ``python -P bench/<case>.py``
    sys.path.insert(0, str(REPO))

from airflow_provider_poms.emulator.testing import EmulatorProcess  # noqa: E402

PRELOAD_ENV = "EMULATOR_REQMGR2_PRELOAD"
#: The emulator's preload spreads N requests over ten slots; two of them are ``new``.
PRELOAD_NEW_SHARE = 0.2


@dataclass
class Target:
    """One target of issue 7 and whether this run met it."""

    target: str
    measured: str
    met: bool


@dataclass
class CaseResult:
    """What a case hands back: one table, the targets it checks, and notes for the reader."""

    case: str
    title: str
    command: str
    columns: list[str]
    rows: list[list[Any]]
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    #: share of one core the emulator used while each variant was being timed (bottleneck check)
    emulator_busy: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def markdown(self) -> str:
        """The case as a Markdown section (table, targets, notes)."""
        out = [f"### {self.title}", "", f"Command: `{self.command}` ({self.seconds:.0f} s)", ""]
        out.append("| " + " | ".join(self.columns) + " |")
        out.append("|" + "---|" * len(self.columns))
        for row in self.rows:
            out.append("| " + " | ".join(_cell(v) for v in row) + " |")
        if self.targets:
            out += ["", "| target | measured | met |", "|---|---|---|"]
            for t in self.targets:
                out.append(f"| {t.target} | {t.measured} | {'yes' if t.met else '**no**'} |")
        if self.notes:
            out.append("")
            out += [f"- {n}" for n in self.notes]
        return "\n".join(out) + "\n"


def _cell(value: Any) -> str:
    if isinstance(value, float):
        if value == 0:
            return "0"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        if abs(value) >= 1:
            return f"{value:.2f}"
        return f"{value:.3g}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value).replace("|", "\\|")


def median(values: Sequence[float]) -> float:
    """Median of several runs; a single run is its own median."""
    if not values:
        raise ValueError("no measurements")
    return float(statistics.median(values))


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (p99 of 100 samples is the 99th smallest)."""
    if not values:
        raise ValueError("no measurements")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-pct * len(ordered) // 100))))
    return float(ordered[rank - 1])


# ---------------------------------------------------------------------------------- machine facts
def machine() -> dict[str, Any]:
    """Cores, RAM, CPU model and the load average right now."""
    model = platform.processor() or "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    ram_gb = 0.0
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram_gb = int(line.split()[1]) / 1024 / 1024
                break
    return {
        "cores": os.cpu_count() or 0,
        "ram_gb": round(ram_gb, 1),
        "cpu": model,
        "load": [round(x, 2) for x in os.getloadavg()],
        "kernel": platform.release(),
    }


def versions() -> dict[str, str]:
    """Versions of everything a figure depends on."""
    out = {"python": platform.python_version()}
    for dist in (
        "airflow-provider-poms",
        "apache-airflow",
        "requests",
        "httpx",
        "msgspec",
        "orjson",
        "uvicorn",
        "starlette",
        "urllib3",
    ):
        with contextlib.suppress(metadata.PackageNotFoundError):
            out[dist] = metadata.version(dist)
    return out


# ---------------------------------------------------------------------------------- processes
def proc_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (from /proc, so it works for the emulator too)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def proc_memory_mb(pid: int) -> dict[str, float]:
    """Current (VmRSS) and peak (VmHWM) resident memory in MB."""
    out = {"rss_mb": 0.0, "hwm_mb": 0.0}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            out["rss_mb"] = int(line.split()[1]) / 1024
        elif line.startswith("VmHWM:"):
            out["hwm_mb"] = int(line.split()[1]) / 1024
    return out


def rss_bytes() -> int:
    """This process's current resident set (VmRSS), in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def run_json(
    cmd: Sequence[str], *, env: dict[str, str] | None = None, timeout: float = 600
) -> dict[str, Any]:
    """Run a measurement subprocess that prints one JSON object as its last stdout line."""
    proc = subprocess.run(
        list(cmd),
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:4])}... failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    if not lines:
        raise RuntimeError(f"{' '.join(cmd[:4])}... printed nothing:\n{proc.stderr[-3000:]}")
    return dict(json.loads(lines[-1]))


@contextlib.contextmanager
def emulator(
    preload: int = 0, *, clock_scale: float = 1.0, startup_timeout: float = 600
) -> Iterator[EmulatorProcess]:
    """An emulator subprocess with ``preload`` ReqMgr2 requests (fully defaulted StepChains)."""
    saved = os.environ.get(PRELOAD_ENV)
    os.environ[PRELOAD_ENV] = str(preload)
    try:
        emu = EmulatorProcess(clock_scale=clock_scale, control=True, startup_timeout=startup_timeout)
        emu.start()
    finally:
        if saved is None:
            os.environ.pop(PRELOAD_ENV, None)
        else:
            os.environ[PRELOAD_ENV] = saved
    try:
        yield emu
    finally:
        emu.close()


@contextlib.contextmanager
def emulator_for(given: EmulatorProcess | None, preload: int, **kwargs: Any) -> Iterator[EmulatorProcess]:
    """``given`` when the caller shares one emulator between cases (the smoke test), else a fresh one."""
    if given is not None:
        yield given
        return
    with emulator(preload, **kwargs) as emu:
        yield emu


def command_line(script: str, args: Sequence[str]) -> str:
    """The command a reader can paste to rerun a case."""
    return " ".join([".venv/bin/python -P", f"bench/{script}", *args]).strip()


class Stopwatch:
    """Wall time of a block (perf_counter)."""

    def __enter__(self) -> Stopwatch:
        self.started = time.perf_counter()
        self.seconds = 0.0
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.started


def write_json(path: str | None, result: CaseResult) -> None:
    """Optional machine-readable copy of a case result."""
    if path:
        Path(path).write_text(json.dumps(result.to_dict(), indent=2, default=str) + "\n")
