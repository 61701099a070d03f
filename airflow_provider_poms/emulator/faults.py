"""Fault rules and the deterministic decision of which request gets which fault.

This module only decides; ``server.py`` applies the decision on the wire (it owns the
transport). Decisions use their own ``random.Random(seed)`` so services drawing from
``ctx.rng`` cannot shift the fault sequence: the same requests in the same order under the
same ``--seed`` get the same faults.
"""

from __future__ import annotations

import fnmatch
import random
import re
import threading
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

HTTP_STATUSES = frozenset({500, 502, 503, 504, 429})
KINDS = frozenset({"http", "reset_before", "reset_after", "delay", "truncated_gzip", "invalid_json"})


@dataclass
class FaultRule:
    """One injected fault: where (path glob or regex, method), how often, what."""

    kind: str
    path: str = "*"  # fnmatch glob on the full path, e.g. "/reqmgr2/data/request*"
    regex: str | None = None  # alternative to ``path``: re.search on the full path
    method: str | None = None
    count: int | None = None  # apply to this many matching requests, then retire
    probability: float = 1.0
    status: int = 500  # for kind "http": 500, 502, 503, 504 or 429
    retry_after: int = 1  # for 429
    seconds: float = 0.0  # for "delay"
    id: int = 0
    applied: int = 0
    _compiled: re.Pattern[str] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.kind in {str(s) for s in HTTP_STATUSES}:  # "503" is a shorthand for http/503
            self.status, self.kind = int(self.kind), "http"
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; one of {sorted(KINDS)} or a status")
        if self.kind == "http" and self.status not in HTTP_STATUSES:
            raise ValueError(f"http fault status must be one of {sorted(HTTP_STATUSES)}")
        if not 0.0 <= self.probability <= 1.0:
            raise ValueError("probability must be within [0, 1]")
        if self.count is not None and self.count < 1:
            raise ValueError("count must be >= 1")
        if self.kind == "delay" and self.seconds <= 0:
            raise ValueError("delay needs seconds > 0")
        self._compiled = re.compile(self.regex) if self.regex else None
        if self.method:
            self.method = self.method.upper()

    @property
    def label(self) -> str:
        """Name used in stats and the request log, e.g. ``http_503`` or ``reset_after``."""
        return f"http_{self.status}" if self.kind == "http" else self.kind

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method != method.upper():
            return False
        if self._compiled is not None:
            return self._compiled.search(path) is not None
        return fnmatch.fnmatchcase(path, self.path)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("_compiled", None)
        data["label"] = self.label
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FaultRule:
        allowed = {"kind", "path", "regex", "method", "count", "probability", "status", "retry_after",
                   "seconds"}
        unknown = set(data) - allowed
        if unknown:
            raise ValueError(f"unknown fault fields: {sorted(unknown)}")
        if "kind" not in data:
            raise ValueError("a fault needs a kind")
        return cls(**{k: data[k] for k in allowed if k in data})


class FaultInjector:
    """The active rules; ``pick`` returns the rule to apply to a request, if any."""

    def __init__(self, seed: int | None = None) -> None:
        self._rng = random.Random(seed)
        self._seed = seed
        self._rules: list[FaultRule] = []
        self._next_id = 1
        self._stats: Counter[str] = Counter()
        self._lock = threading.Lock()

    def add(self, rule: FaultRule | None = None, /, **kwargs: Any) -> FaultRule:
        """Add ``rule`` (or build one from keyword fields); returns it with its id."""
        r = rule if rule is not None else FaultRule.from_json(kwargs)
        with self._lock:
            r.id = self._next_id
            self._next_id += 1
            self._rules.append(r)
        return r

    def remove(self, rule_id: int) -> bool:
        with self._lock:
            before = len(self._rules)
            self._rules = [r for r in self._rules if r.id != rule_id]
            return len(self._rules) != before

    def clear(self) -> None:
        """Drop every rule. The rng restarts from the seed, so each test sees the same draws."""
        with self._lock:
            self._rules.clear()
            self._rng = random.Random(self._seed)

    def rules(self) -> list[FaultRule]:
        with self._lock:
            return list(self._rules)

    def pick(self, method: str, path: str) -> FaultRule | None:
        """First matching rule that fires (count left, probability drawn); updates stats."""
        with self._lock:
            for r in self._rules:
                if not r.matches(method, path):
                    continue
                if r.probability < 1.0 and self._rng.random() >= r.probability:
                    continue
                r.applied += 1
                if r.count is not None and r.applied >= r.count:
                    self._rules.remove(r)
                self._stats[r.label] += 1
                return r
            return None

    def stats(self) -> dict[str, int]:
        with self._lock:
            return dict(self._stats)

    def reset_stats(self) -> None:
        with self._lock:
            self._stats.clear()
