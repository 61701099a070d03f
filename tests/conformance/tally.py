"""Counts of what ran against each target, printed at the end of the session (see conftest.py)."""

from __future__ import annotations

from collections import Counter

RAN: Counter[tuple[str, str]] = Counter()  # (target, kind) -> count; kind: scenario|differential|wmcore-step
TIMINGS: dict[str, float] = {}


def count(target: str, kind: str, n: int = 1) -> None:
    RAN[(target, kind)] += n
