"""Shared core of the offline emulator: identities, clock, state store, request log, scripts.

The two services (``emulator/reqmgr2`` and ``emulator/poms``) only see an ``EmulatorContext``.
Everything they keep lives in ``ctx.store`` tables (JSON-able values) so that ``--persist``
can make it durable and ``POST /_emulator/reset`` can wipe it without knowing the services.
Nothing here imports Airflow or does network I/O.
"""

from __future__ import annotations

import fnmatch
import json
import random
import threading
import time
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from airflow_provider_poms.emulator.faults import FaultInjector

__all__ = [
    "Clock",
    "EmulatorConfig",
    "EmulatorContext",
    "FaultInjector",
    "Identity",
    "LogEntry",
    "RequestLog",
    "ScriptBook",
    "Store",
    "Table",
]

#: Tables whose name starts with this prefix belong to the core and survive ``reset``.
INTERNAL_PREFIX = "_emulator"


# --------------------------------------------------------------------------- identities
@dataclass(frozen=True)
class Identity:
    """Who is calling: resolved by the server from the client certificate or the bearer token."""

    login: str
    dn: str
    name: str
    reqmgr2_roles: tuple[tuple[str, str], ...] = ()
    poms_experiments: Mapping[str, str] = field(default_factory=dict, hash=False, compare=False)
    poms_root: bool = False

    def has_reqmgr2_role(self, role: str, group: str | None = None) -> bool:
        """True when the identity holds ``role`` (in ``group`` if given), CRIC style."""
        return any(r == role and (group is None or g == group) for r, g in self.reqmgr2_roles)

    def to_json(self) -> dict[str, Any]:
        """JSON-able form used in identities.json and connection.json."""
        data = asdict(self)
        data["reqmgr2_roles"] = [list(p) for p in self.reqmgr2_roles]
        data["poms_experiments"] = dict(self.poms_experiments)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Identity:
        return cls(
            login=str(data["login"]),
            dn=str(data["dn"]),
            name=str(data.get("name", data["login"])),
            reqmgr2_roles=tuple((str(r), str(g)) for r, g in data.get("reqmgr2_roles", ())),
            poms_experiments=dict(data.get("poms_experiments", {})),
            poms_root=bool(data.get("poms_root", False)),
        )


# --------------------------------------------------------------------------- store
class Table:
    """A named map of str keys to JSON-able values.

    Values returned by ``get``/``items`` are the live stored objects (no copy, so scans over
    100k rows stay cheap). After mutating one, call ``put`` again: that is what reaches SQLite
    under ``--persist``. ``put`` checks the value is JSON-able in every mode so the in-memory
    and persistent behaviour cannot diverge.
    """

    def __init__(self, name: str, backend: _Backend | None, lock: threading.RLock) -> None:
        self.name = name
        self._rows: dict[str, Any] = {}
        self._seq = 0
        self._backend = backend
        self._lock = lock

    def get(self, key: Any, default: Any = None) -> Any:
        return self._rows.get(str(key), default)

    def put(self, key: Any, value: Any) -> None:
        text = json.dumps(value, separators=(",", ":"))
        with self._lock:
            self._rows[str(key)] = value
            if self._backend is not None:
                self._backend.put(self.name, str(key), text)

    def delete(self, key: Any) -> None:
        with self._lock:
            if self._rows.pop(str(key), None) is not None and self._backend is not None:
                self._backend.delete(self.name, str(key))

    def __contains__(self, key: object) -> bool:
        return str(key) in self._rows

    def keys(self) -> list[str]:
        return list(self._rows)

    def values(self) -> list[Any]:
        return list(self._rows.values())

    def items(self) -> list[tuple[str, Any]]:
        return list(self._rows.items())

    def __len__(self) -> int:
        return len(self._rows)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._rows))

    def next_id(self) -> int:
        """Next value of this table's own counter (1, 2, ...), never reused, survives restarts."""
        with self._lock:
            self._seq += 1
            if self._backend is not None:
                self._backend.set_seq(self.name, self._seq)
            return self._seq

    def clear(self) -> None:
        with self._lock:
            self._rows.clear()
            if self._backend is not None:
                self._backend.clear_table(self.name)


class _Backend:
    """Persistence interface implemented by ``store.SqliteBackend``."""

    def load(self) -> tuple[dict[str, dict[str, Any]], dict[str, int]]:
        raise NotImplementedError

    def put(self, table: str, key: str, text: str) -> None:
        raise NotImplementedError

    def delete(self, table: str, key: str) -> None:
        raise NotImplementedError

    def clear_table(self, table: str) -> None:
        raise NotImplementedError

    def set_seq(self, table: str, value: int) -> None:
        raise NotImplementedError

    def transaction(self) -> Any:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


class Store:
    """All tables. In memory, or write-through to SQLite when given a backend (``--persist``)."""

    def __init__(self, backend: _Backend | None = None) -> None:
        self._backend = backend
        self._lock = threading.RLock()
        self._tables: dict[str, Table] = {}
        if backend is not None:
            rows, seqs = backend.load()
            for name in set(rows) | set(seqs):
                t = Table(name, backend, self._lock)
                t._rows = rows.get(name, {})
                t._seq = seqs.get(name, 0)
                self._tables[name] = t

    @property
    def persistent(self) -> bool:
        return self._backend is not None

    def table(self, name: str) -> Table:
        with self._lock:
            t = self._tables.get(name)
            if t is None:
                t = self._tables[name] = Table(name, self._backend, self._lock)
            return t

    def table_names(self) -> list[str]:
        return sorted(self._tables)

    def transaction(self) -> Any:
        """Group many writes into one SQLite transaction (bulk loads); a no-op in memory."""
        if self._backend is None:
            from contextlib import nullcontext

            return nullcontext()
        return self._backend.transaction()

    def reset(self) -> None:
        """Empty every service table (not the core's ``_emulator*`` ones); counters are kept."""
        with self._lock:
            for name, t in self._tables.items():
                if not name.startswith(INTERNAL_PREFIX):
                    t.clear()

    def close(self) -> None:
        if self._backend is not None:
            self._backend.close()


# --------------------------------------------------------------------------- clock
class Clock:
    """Scaled emulated time: ``now = origin + (real elapsed) * scale + offset``.

    ``advance`` adds to the offset. The emulated time reached is saved in the store (table
    ``_emulator_clock``) so a restart with ``--persist`` never goes back in time.
    """

    def __init__(self, scale: float = 1.0, store: Store | None = None) -> None:
        if scale <= 0:
            raise ValueError("clock scale must be > 0")
        self.scale = float(scale)
        self._lock = threading.Lock()
        self._table = store.table(f"{INTERNAL_PREFIX}_clock") if store is not None else None
        self._real0 = time.time()
        saved = self._table.get("state") if self._table is not None else None
        self._emu0 = max(self._real0, float(saved["now"])) if saved else self._real0
        self._offset = 0.0

    def now(self) -> float:
        with self._lock:
            return self._emu0 + (time.time() - self._real0) * self.scale + self._offset

    def advance(self, seconds: float) -> float:
        """Jump forward ``seconds`` of emulated time (never backwards); returns the new now."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._offset += float(seconds)
        self.save()
        return self.now()

    @property
    def offset(self) -> float:
        return self._offset

    def save(self) -> None:
        if self._table is not None:
            self._table.put("state", {"now": self.now(), "scale": self.scale})


# --------------------------------------------------------------------------- request log
@dataclass
class LogEntry:
    """One request as seen by the server (also for faulted ones)."""

    index: int
    time: float  # real epoch seconds when the request arrived
    emulated_time: float
    method: str
    path: str
    query: str
    login: str | None
    status: int | None  # status the handler produced (None: handler never ran / no response)
    write: bool  # method other than GET/HEAD/OPTIONS
    body_size: int
    fault: str | None = None  # fault label applied, e.g. "http_503", "reset_after"
    handled: bool = False  # the service handler ran (so a write may have committed)
    duration: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


WRITE_METHODS = frozenset({"POST", "PUT", "DELETE", "PATCH"})


class RequestLog:
    """Bounded in-memory log of every request; the reliability tests read it."""

    def __init__(self, maxlen: int = 200_000) -> None:
        self._entries: deque[LogEntry] = deque(maxlen=maxlen)
        self._next = 0
        self._lock = threading.Lock()

    def start(self, method: str, path: str, query: str, login: str | None, body_size: int,
              emulated_time: float) -> LogEntry:
        """Record the arrival of a request; the server fills status/fault when it is done."""
        with self._lock:
            entry = LogEntry(self._next, time.time(), emulated_time, method, path, query, login,
                             None, method.upper() in WRITE_METHODS, body_size)
            self._next += 1
            self._entries.append(entry)
            return entry

    @property
    def next_index(self) -> int:
        """Index the next request will get: pass it as ``since`` to see only later requests."""
        return self._next

    def query(self, since: int = 0, method: str | None = None, path_prefix: str | None = None,
              writes_only: bool = False, limit: int | None = None) -> list[LogEntry]:
        with self._lock:
            entries = list(self._entries)
        out = []
        for e in entries:
            if e.index < since:
                continue
            if method and e.method.upper() != method.upper():
                continue
            if path_prefix and not e.path.startswith(path_prefix):
                continue
            if writes_only and not e.write:
                continue
            out.append(e)
            if limit is not None and len(out) >= limit:
                break
        return out

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


# --------------------------------------------------------------------------- scripts
REQMGR2_ACTIONS = frozenset({"fail", "abort", "stall"})


class ScriptBook:
    """Scripted outcomes the services consult; written by the control API and by Python.

    ReqMgr2: ``(name pattern, status, action)`` -- when a request whose name matches
    (fnmatch) reaches ``status``, the actor does ``action`` instead of its normal step.
    POMS: a status sequence for a given submission id, or for the ``"next"`` submission.
    Kept in store tables so ``--persist`` keeps them.
    """

    def __init__(self, store: Store) -> None:
        self._r = store.table(f"{INTERNAL_PREFIX}_scripts_reqmgr2")
        self._p = store.table(f"{INTERNAL_PREFIX}_scripts_poms")
        self._lock = threading.Lock()

    def reqmgr2_outcome(self, name_pattern: str, at_status: str, action: str) -> None:
        if action not in REQMGR2_ACTIONS:
            raise ValueError(f"action must be one of {sorted(REQMGR2_ACTIONS)}, not {action!r}")
        self._r.put(self._r.next_id(), {"pattern": name_pattern, "at_status": at_status,
                                         "action": action})

    def reqmgr2_outcome_for(self, name: str, status: str) -> str | None:
        """Action scripted for ``name`` at ``status`` (latest script wins), else None."""
        found = None
        for _, rec in sorted(self._r.items(), key=lambda kv: int(kv[0])):
            if rec["at_status"] == status and fnmatch.fnmatchcase(name, rec["pattern"]):
                found = rec["action"]
        return found

    def poms_outcome(self, submission_id: int | str, statuses: list[str]) -> None:
        if not statuses or not all(isinstance(s, str) for s in statuses):
            raise ValueError("statuses must be a non-empty list of status names")
        if submission_id == "next":
            self._p.put(f"next:{self._p.next_id():08d}", list(statuses))
        else:
            self._p.put(f"id:{int(submission_id)}", list(statuses))

    def poms_outcome_for(self, submission_id: int | str) -> list[str] | None:
        """Sequence for this submission; the first ask of a new id consumes a ``"next"`` script."""
        key = f"id:{int(submission_id)}"
        with self._lock:
            found = self._p.get(key)
            if found is not None:
                return list(found)
            pending = sorted(k for k in self._p if k.startswith("next:"))
            if not pending:
                return None
            seq = self._p.get(pending[0])
            self._p.delete(pending[0])
            self._p.put(key, seq)
            return list(seq)

    def to_json(self) -> dict[str, Any]:
        return {"reqmgr2": [v for _, v in sorted(self._r.items(), key=lambda kv: int(kv[0]))],
                "poms": dict(self._p.items())}

    def clear(self) -> None:
        self._r.clear()
        self._p.clear()


# --------------------------------------------------------------------------- config/context
@dataclass
class EmulatorConfig:
    """Command-line settings; ``base_url`` is filled once the socket is bound."""

    state_dir: Path
    host: str = "127.0.0.1"
    port: int = 0
    clock_scale: float = 1.0
    seed: int | None = None
    persist: bool = False
    control: bool = False
    launch_redirect: str = "submission_id"  # POMS launch Location: "submission_id" or "fname"
    request_log_size: int = 200_000
    base_url: str = ""

    @property
    def poms_url(self) -> str:
        return f"{self.base_url}/poms"

    @property
    def reqmgr2_url(self) -> str:
        return f"{self.base_url}/reqmgr2"


@dataclass
class EmulatorContext:
    """Everything a service's ``create_app``/``tick`` may use."""

    clock: Clock
    store: Store
    rng: random.Random
    faults: FaultInjector
    request_log: RequestLog
    identities: Mapping[str, Identity]
    scripts: ScriptBook
    config: EmulatorConfig
    #: per-process scratch space for services (indexes, caches); never persisted
    extra: dict[str, Any] = field(default_factory=dict)

    def identity_by_dn(self, dn: str) -> Identity | None:
        for ident in self.identities.values():
            if ident.dn == dn:
                return ident
        return None

    @classmethod
    def in_memory(cls, identities: Mapping[str, Identity] | None = None, *, clock_scale: float = 1.0,
                  seed: int | None = 0, state_dir: Path | None = None) -> EmulatorContext:
        """A context without server or files: for unit tests of a service's logic."""
        store = Store()
        return cls(
            clock=Clock(clock_scale, store),
            store=store,
            rng=random.Random(seed),
            faults=FaultInjector(seed),
            request_log=RequestLog(),
            identities=dict(identities or {}),
            scripts=ScriptBook(store),
            config=EmulatorConfig(state_dir=state_dir or Path("."), clock_scale=clock_scale, seed=seed),
        )
