"""SQLite write-through backend for ``core.Store`` (``--persist``).

One key/value table (``tbl, key -> JSON text``) and one counter table. Rows are loaded into
memory once at start; every ``put`` is written at once (autocommit, WAL, ``synchronous=NORMAL``)
so a killed process loses at most what the OS had not flushed, and a clean stop loses nothing.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from airflow_provider_poms.emulator.core import _Backend

_SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (tbl TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
                               PRIMARY KEY (tbl, key));
CREATE TABLE IF NOT EXISTS seq (tbl TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


class SqliteBackend(_Backend):
    """Thread-safe (one connection behind a lock): Starlette runs sync endpoints in threads."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._in_tx = 0

    def load(self) -> tuple[dict[str, dict[str, Any]], dict[str, int]]:
        rows: dict[str, dict[str, Any]] = {}
        with self._lock:
            for tbl, key, value in self._db.execute("SELECT tbl, key, value FROM kv"):
                rows.setdefault(tbl, {})[key] = json.loads(value)
            seqs = {tbl: int(v) for tbl, v in self._db.execute("SELECT tbl, value FROM seq")}
        return rows, seqs

    def put(self, table: str, key: str, text: str) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO kv (tbl, key, value) VALUES (?, ?, ?)",
                             (table, key, text))

    def delete(self, table: str, key: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM kv WHERE tbl = ? AND key = ?", (table, key))

    def clear_table(self, table: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM kv WHERE tbl = ?", (table,))

    def set_seq(self, table: str, value: int) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO seq (tbl, value) VALUES (?, ?)", (table, value))

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Hold the lock and one transaction for a bulk load (nested calls join the outer one)."""
        with self._lock:
            outer = self._in_tx == 0
            if outer:
                self._db.execute("BEGIN")
            self._in_tx += 1
            try:
                yield
            except BaseException:
                self._in_tx -= 1
                if outer:
                    self._db.execute("ROLLBACK")
                raise
            self._in_tx -= 1
            if outer:
                self._db.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            try:
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                self._db.close()
