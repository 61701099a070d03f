"""Differential check: the same raw HTTP requests to the real server and to the emulator.

For each case the two responses are reduced to facts (diffcheck.observe) and compared aspect by
aspect. A difference passes only if docs/emulator-differences.md's "Accepted differences
(conformance)" table lists that (case, aspect) with a reason; a listed difference that no longer
occurs fails too, so the list stays short and true. Any other difference is an emulator bug: fix the
emulator (test-output/conformance-differential.json has both sides of every case of the last run).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .cases import CASES, CaseContext
from .diffcheck import accepted_differences, diff, is_accepted, observe
from .tally import count
from .targets import Target

# What the reference says the REAL server answers (status, X-REST-Status): checks the harness itself
# (a case that does not send what it claims would show here) before any comparison is trusted.
REFERENCE = {
    "no-accept-header": (406, "201"),
    "accept-html": (406, "201"),
    "unknown-api-team": (404, "207"),
    "no-api": (400, "205"),
    "method-patch": (405, "202"),
    "api-method-mismatch": (405, "204"),
    "put-with-query": (405, "203"),
    "post-with-query": (405, "203"),
    "request-path-with-query": (400, "302"),
    "status-transition-bad-value": (400, "302"),
    "put-bad-transition": (400, "1102"),
    "put-priority-string": (400, "1102"),
    "put-unknown-name": (400, "1102"),
    "clone-unknown": (400, "1102"),
    "put-requestor-assign-403": (403, None),
    "parentlocks-absent": (404, "206"),
    "request-common-dict-bad": (500, "400"),
    "etag-304": (304, "100"),
    "campaignconfig-empty-body": (400, "1201"),
    "create-ok": (200, "100"),
}


class DiffResults:
    """Runs each case at most once per target (lazily), so the stale-entry check can reuse them."""

    def __init__(self, targets: dict[str, Target]) -> None:
        self.contexts = {name: CaseContext(t) for name, t in targets.items()}
        self.results: dict[str, dict[str, dict[str, Any]]] = {}

    def get(self, case_id: str) -> dict[str, dict[str, Any]]:
        if case_id not in self.results:
            case = next(c for c in CASES if c.id == case_id)
            facts = {}
            for name, ctx in self.contexts.items():
                resp = case.run(ctx)
                facts[name] = observe(resp, ctx.names, case.value, case.count_rows)
                count(name, "differential")
            self.results[case_id] = facts
        return self.results[case_id]


@pytest.fixture(scope="module")
def diff_results(targets: dict[str, Target]) -> Iterator[DiffResults]:
    results = DiffResults(targets)
    yield results
    # Every observation of this run, for people fixing the emulator (test-output/ is not committed).
    out = Path(__file__).resolve().parents[2] / "test-output"
    out.mkdir(exist_ok=True)
    dump = {
        cid: {"differences": {a: list(v) for a, v in diff(f["real"], f["emulator"]).items()}, **f}
        for cid, f in results.results.items()
    }
    (out / "conformance-differential.json").write_text(json.dumps(dump, indent=1, default=str))


@pytest.fixture(scope="module")
def accepted() -> dict[tuple[str, str], str]:
    return accepted_differences()


def _fmt(differences: dict[str, tuple[Any, Any]]) -> str:
    lines = []
    for aspect, (r, e) in differences.items():
        if isinstance(r, list) and isinstance(e, list) and aspect.startswith("fields:"):
            missing, extra = sorted(set(r) - set(e)), sorted(set(e) - set(r))
            lines.append(f"  {aspect}: emulator lacks {missing}, emulator adds {extra}")
        else:
            lines.append(f"  {aspect}:\n    real:     {r!r}\n    emulator: {e!r}")
    return "\n".join(lines)


@pytest.mark.parametrize("case_id", [c.id for c in CASES])
def test_case(diff_results: DiffResults, accepted: dict[tuple[str, str], str], case_id: str) -> None:
    facts = diff_results.get(case_id)
    real, emu = facts["real"], facts["emulator"]
    if case_id in REFERENCE:
        assert (real["status"], real["x-rest-status"]) == REFERENCE[case_id], real
    differences = diff(real, emu)
    unexplained = {a: v for a, v in differences.items() if not is_accepted(case_id, a, accepted)}
    assert not unexplained, f"case {case_id}: emulator differs from the real server\n{_fmt(unexplained)}"


def test_accepted_list_is_current(diff_results: DiffResults, accepted: dict[tuple[str, str], str]) -> None:
    """Every accepted difference names a real case and still occurs (else delete it from the doc)."""
    known = {c.id for c in CASES}
    unknown = sorted(c for c, _ in accepted if c not in known and c != "*")
    assert not unknown, f"accepted differences name unknown cases: {unknown}"
    stale = []
    for case_id, aspect in accepted:
        cases = [c.id for c in CASES] if case_id == "*" else [case_id]
        hit = False
        for cid in cases:
            facts = diff_results.get(cid)
            for a in diff(facts["real"], facts["emulator"]):
                if a == aspect or (aspect.endswith("*") and a.startswith(aspect[:-1])):
                    hit = True
        if not hit:
            stale.append((case_id, aspect))
    assert not stale, f"accepted differences that no longer occur (remove them from the doc): {stale}"
