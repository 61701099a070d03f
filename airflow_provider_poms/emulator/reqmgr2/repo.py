"""Request documents in ``ctx.store`` plus the in-memory "CouchDB views" over them.

Documents live in the store table ``reqmgr2_requests`` (JSON-able dicts keyed by RequestName) so
``--persist`` keeps them; the indexes (by status, type, campaign, ...) and the pre-serialised
JSON text of each document are rebuilt from the table on start and kept in step with every write.
That is what lets a ``status=`` query over 10,000 of 100,000 requests answer quickly.

Optional staleness (``stale_views``): writes reach the views only when the next view query has
been answered (CouchDB ``stale=update_after``); ``_nostale`` brings them up to date first.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from airflow_provider_poms.emulator.reqmgr2.wire import dumps

TABLE = "reqmgr2_requests"

#: view name -> (top-level field, also per Task/Step, is a list)
_VIEWS: Mapping[str, tuple[str, bool, bool]] = {
    "status": ("RequestStatus", False, False),
    "type": ("RequestType", False, False),
    "prep_id": ("PrepID", True, False),
    "inputdataset": ("InputDataset", True, False),
    "outputdataset": ("OutputDatasets", False, True),
    "campaign": ("Campaign", False, False),
    "mc_pileup": ("MCPileup", True, False),
    "data_pileup": ("DataPileup", True, False),
    "team": ("Team", False, False),
    "requestor": ("Requestor", False, False),
}


def chain_dicts(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The ``TaskN``/``StepN`` dicts of a chain request, in order."""
    out: list[dict[str, Any]] = []
    for kind in ("Task", "Step"):
        i = 1
        while isinstance(inner := doc.get(f"{kind}{i}"), dict):
            out.append(inner)
            i += 1
    return out


def view_keys(doc: Mapping[str, Any]) -> dict[str, set[str]]:
    """Keys a document emits in each view (as the couchapp ``map.js`` functions do)."""
    inners = chain_dicts(doc) if doc.get("RequestType") in ("TaskChain", "StepChain", "Resubmission") else []
    out: dict[str, set[str]] = {}
    for view, (field, per_task, is_list) in _VIEWS.items():
        keys: set[str] = set()
        v = doc.get(field)
        if is_list:
            if isinstance(v, list):
                keys.update(x for x in v if isinstance(x, str))
        elif isinstance(v, str) and v:
            keys.add(v)
        if per_task:
            for inner in inners:
                iv = inner.get(field)
                if isinstance(iv, str) and iv:
                    keys.add(iv)
        out[view] = keys
    return out


class RequestRepo:
    """Documents + views + serialised text. Thread-safe: uvicorn handlers and the actor tick share it."""

    def __init__(self, store: Any, *, stale_views: bool = False) -> None:
        self.table = store.table(TABLE)
        self.stale_views = stale_views
        self.lock = threading.RLock()
        self._views: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
        self._emitted: dict[str, dict[str, set[str]]] = {}
        self._text: dict[str, str] = {}
        self._pending: list[tuple[str, dict[str, set[str]] | None]] = []
        self.last_injected: str | None = None
        self.rebuild()

    # ------------------------------------------------------------------ reads
    def get(self, name: str) -> dict[str, Any] | None:
        """The live stored document (do not mutate; use ``put``)."""
        return self.table.get(name)

    def __len__(self) -> int:
        return len(self.table)

    def text(self, name: str) -> str:
        """``json.dumps`` of the document as served (``_rev``/``_attachments`` never stored)."""
        t = self._text.get(name)
        if t is None:
            doc = self.table.get(name)
            t = dumps(doc)
            self._text[name] = t
        return t

    def query(self, view: str, keys: Iterable[str], *, nostale: bool = False) -> set[str]:
        """Names emitted under any of ``keys`` in ``view`` (stale unless ``nostale``)."""
        with self.lock:
            if nostale:
                self.stale_views = False  # _nostale flips the shared reader for good (quirk)
            if nostale or not self.stale_views:
                self._apply_pending()
                return self._lookup(view, keys)
            found = self._lookup(view, keys)
            self._apply_pending()  # update_after
            return found

    def _lookup(self, view: str, keys: Iterable[str]) -> set[str]:
        index = self._views[view]
        out: set[str] = set()
        for k in keys:
            hit = index.get(k)
            if hit:
                out |= hit
        return out

    # ------------------------------------------------------------------ writes
    def put(self, doc: dict[str, Any]) -> None:
        name = doc["RequestName"]
        with self.lock:
            self.table.put(name, doc)
            self._text.pop(name, None)
            self._pending.append((name, view_keys(doc)))
            if not self.stale_views:
                self._apply_pending()

    def delete(self, name: str) -> None:
        with self.lock:
            self.table.delete(name)
            self._text.pop(name, None)
            self._pending.append((name, None))
            if not self.stale_views:
                self._apply_pending()

    def _apply_pending(self) -> None:
        for name, keys in self._pending:
            old = self._emitted.pop(name, None)
            if old:
                for view, ks in old.items():
                    index = self._views[view]
                    for k in ks:
                        s = index.get(k)
                        if s is not None:
                            s.discard(name)
                            if not s:
                                del index[k]
            if keys is not None:
                self._emitted[name] = keys
                for view, ks in keys.items():
                    index = self._views[view]
                    for k in ks:
                        index[k].add(name)
        self._pending.clear()

    def rebuild(self) -> None:
        """Recompute every view from the table (start-up, or after a store reset)."""
        with self.lock:
            self._views.clear()
            self._emitted.clear()
            self._text.clear()
            self._pending.clear()
            latest: tuple[Any, str] | None = None
            for name, doc in self.table.items():
                self._pending.append((name, view_keys(doc)))
                stamp = (doc.get("RequestDate"), name)
                if latest is None or stamp > latest:
                    latest = stamp
            self._apply_pending()
            self.last_injected = latest[1] if latest else None

    def check_consistent(self) -> None:
        """After ``POST /_emulator/reset`` the table empties under us: drop our views too."""
        if not len(self.table) and self._emitted:
            self.rebuild()
