"""The restart tests, the bad-input corpus and the secret/limit scans, run for docs/reliability.md.

``scripts/chaos.py --write-doc`` calls :func:`run` after the chaos run so that one command
(``make chaos``) produces every figure of the page: each test file's passed/failed counts and time
(read from pytest's JUnit XML) and the corpus size (counted from ``tests/corpus/*.json``).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BEGIN = "<!-- reliability-tests:begin -->"
END = "<!-- reliability-tests:end -->"

#: What is run, and what each file proves (one line each in the page).
TEST_FILES: dict[str, str] = {
    "tests/reliability/test_restarts.py": "emulator restarted (persist) mid-run; workers killed mid-write",
    "tests/e2e/test_e2e_restart.py": "triggerer restarted mid-wait on a real Airflow",
    "tests/e2e/test_worker_kill.py": "task processes SIGKILLed mid-write on a real Airflow, retried",
    "tests/reliability/test_corpus.py": "bad-input corpus: clear error, no write reached the server",
    "tests/reliability/test_secrets.py": "no secret in task logs, XCom, rendered fields, exception text",
    "tests/reliability/test_limits.py": "gzip bomb and big body capped, no cross-host redirect",
}


@dataclass
class FileResult:
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    seconds: float = 0.0
    failures: list[str] = field(default_factory=list)


def corpus_size() -> dict[str, int]:
    """Cases per corpus file (each file is a JSON list of case objects)."""
    return {
        path.name: len(json.loads(path.read_text()))
        for path in sorted((REPO / "tests" / "corpus").glob("*.json"))
    }


def parse_junit(path: Path) -> dict[str, FileResult]:
    results: dict[str, FileResult] = defaultdict(FileResult)
    for case in ET.parse(path).getroot().iter("testcase"):
        module = str(case.get("classname", "")).split(".")
        name = next((f for f in TEST_FILES if Path(f).stem in module), "other")
        result = results[name]
        result.seconds += float(case.get("time", 0) or 0)
        if case.find("failure") is not None or case.find("error") is not None:
            result.failed += 1
            result.failures.append(str(case.get("name")))
        elif case.find("skipped") is not None:
            result.skipped += 1
        else:
            result.passed += 1
    return dict(results)


def run() -> tuple[dict[str, FileResult], float]:
    """Run the files in one pytest session; their results by file, and the wall time."""
    with tempfile.TemporaryDirectory(prefix="reliability-") as tmp:
        junit = Path(tmp) / "junit.xml"
        started = time.monotonic()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-p",
                "no:cacheprovider",
                "-q",
                f"--junitxml={junit}",
                *TEST_FILES,
            ],
            cwd=REPO,
            check=False,
        )
        wall = time.monotonic() - started
        return (parse_junit(junit) if junit.exists() else {}), wall


def render(results: dict[str, FileResult], wall: float) -> str:
    sizes = corpus_size()
    lines = [
        BEGIN,
        f"Last run: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, command `make chaos` "
        f"(after the chaos run), wall time **{wall:.0f} s**.",
        "",
        f"Bad-input corpus: **{sum(sizes.values())} cases** ("
        + ", ".join(f"`{name}` {count}" for name, count in sizes.items())
        + ").",
        "",
        "| test file | what it proves | passed | failed | skipped | seconds |",
        "|---|---|---|---|---|---|",
    ]
    for name, what in TEST_FILES.items():
        r = results.get(name, FileResult())
        lines.append(f"| `{name}` | {what} | {r.passed} | {r.failed} | {r.skipped} | {r.seconds:.0f} |")
    failures = [f"{name}: {case}" for name, r in results.items() for case in r.failures]
    if failures:
        lines += ["", "Failed:"] + [f"- {f}" for f in failures[:20]]
    lines.append(END)
    return "\n".join(lines) + "\n"


def ok(results: dict[str, FileResult]) -> bool:
    return bool(results) and all(r.failed == 0 and r.passed > 0 for r in results.values())
