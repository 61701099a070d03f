"""The bad-input corpus: every case in tests/corpus/*.json, one test id per case.

Why data and not code: the corpus is meant to grow (anyone can add a broken input they met in
production by adding a JSON object), and docs/reliability.md counts it. Each case says what it feeds
to which target and which error it expects; this module only interprets the cases.

Case fields: ``id``; ``target`` (``reqmgr2.<hook method>``, ``poms.<hook method>``,
``operator.<class name>``, ``connection`` or ``emulator``); ``input``; ``error`` (exception class
name, or ``HTTP <status>`` for raw emulator calls); ``message`` (a substring the error text must
contain: the error has to *name* the problem); optional ``path`` (a JSON path that must be among a
ValidationError's problems) and ``traffic`` (``none``: not a single request may reach the server;
``reads``: no write may be accepted, a refused one changed nothing; default ``none`` for errors
raised before I/O, else ``reads``).

Placeholders inside ``input`` (expanded by ``tests/corpus/runner.py``): ``<<long:N>>`` (N letters),
``<<uid>>``, ``<<file:KIND>>`` (credential files made per test), ``<<request:new>>`` (a request the
session created), ``<<token:KIND>>`` (token files: wrong, expired, revoked) and ``{"$body": BASE,
"set": {...}, "delete": [...]}`` (a body the real server accepted, from tests/schemas/data, mutated).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_poms.emulator.testing import EmulatorProcess
from airflow_provider_poms.http.errors import ValidationError

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from corpus.runner import (
    CORPUS_DIR,
    Fixtures,
    accepted_writes,
    error_class,
    expected_traffic,
    run_case,
)


def _cases() -> list[Any]:
    params = []
    for path in sorted(CORPUS_DIR.glob("*.json")):
        for case in json.loads(path.read_text()):
            params.append(pytest.param(case, id=f"{path.stem}:{case['id']}"))
    return params


CASES = _cases()


def test_corpus_is_large_and_well_formed() -> None:
    """At least 150 cases, unique ids, every field the runner needs (issue 8 part 3)."""
    ids = [p.id for p in CASES]
    assert len(ids) >= 150, len(ids)
    assert len(set(ids)) == len(ids), sorted({i for i in ids if ids.count(i) > 1})
    for param in CASES:
        case = param.values[0]
        assert {"id", "target", "input", "error", "message"} <= set(case), case
        # Only a raw call may expect an empty message: it then asserts an empty body (401s).
        assert case["message"].strip() or case["target"] == "emulator", case["id"]
        if not case["error"].startswith("HTTP "):
            error_class(case["error"])


@pytest.fixture(scope="module")
def fixtures(emulator: EmulatorProcess, tmp_path_factory: pytest.TempPathFactory) -> Fixtures:
    return Fixtures(emulator, Path(tmp_path_factory.mktemp("corpus")))


@pytest.mark.parametrize("case", CASES)
def test_case(case: dict[str, Any], fixtures: Fixtures, emulator: EmulatorProcess) -> None:
    """Feed the case's input; the expected error names the problem; the server saw no write."""
    since = emulator.control.log_index()
    outcome = run_case(case, fixtures)
    if case["target"] == "emulator":
        status, body, headers = outcome
        assert f"HTTP {status}" == case["error"], body[:500]
        if case["message"]:
            assert case["message"] in body + headers, body[:500] + headers
        else:
            assert body == "", body[:500]
    else:
        assert isinstance(outcome, BaseException), f"no error, got {outcome!r}"
        assert isinstance(outcome, error_class(case["error"])), repr(outcome)
        assert case["message"] in str(outcome), str(outcome)
        if "path" in case:
            assert isinstance(outcome, ValidationError)
            assert case["path"] in [p for p, _ in outcome.problems], outcome.problems
    entries = emulator.control.request_log(since=since)
    if expected_traffic(case) == "none":
        assert entries == [], entries
    if case["target"] != "emulator":  # raw calls send their write on purpose; run_case checks state
        assert accepted_writes(entries) == [], entries
