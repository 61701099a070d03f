"""Per-process state of the ReqMgr2 emulator and the small helpers every API shares.

``ReqMgr2Service`` sits in ``ctx.extra`` (never persisted) and holds the request repository with
its views, the actor schedule and the settings. ``Call`` is one parsed HTTP request as the
handlers see it; handlers return ``Rows`` or raise the errors of ``wire.py``.
"""

from __future__ import annotations

import heapq
import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_poms.emulator.reqmgr2.repo import RequestRepo
from airflow_provider_poms.emulator.reqmgr2.wire import InvalidSpecParameterValue, forbidden
from airflow_provider_poms.states import REQMGR2_AUTO_PATH, reqmgr2_allowed, reqmgr2_permission

EXTRA_KEY = "reqmgr2"
SYSTEM_DN = "/DC=ch/DC=cern/OU=computers/CN=wmagent/vocms0192.cern.ch"
#: Statuses whose automatic next step waits the archive delay (MSRuleCleaner), not a step delay.
ARCHIVE_FROM = frozenset({"announced", "aborted-completed", "rejected"})


def _env_float(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default


@dataclass
class ReqMgr2Settings:
    """Tunables. Environment variables let a user set them without code (``EMULATOR_REQMGR2_*``)."""

    #: emulated seconds per automatic step (StatusChangeTasks/MSTransferor/MSMonitor run every ~10 min)
    step_delay: float = field(default_factory=lambda: _env_float("EMULATOR_REQMGR2_STEP_DELAY", 600.0))
    #: emulated seconds before MSRuleCleaner archives (``archiveDelayHours = 48``)
    archive_delay: float = field(
        default_factory=lambda: _env_float("EMULATOR_REQMGR2_ARCHIVE_DELAY", 48 * 3600.0)
    )
    #: CouchDB-like stale views for non-name filters (``_nostale`` forces fresh answers)
    stale_views: bool = field(
        default_factory=lambda: os.environ.get("EMULATOR_REQMGR2_STALE_VIEWS", "") == "1"
    )
    #: DN written into RequestTransition entries made by the background actors
    system_dn: str = SYSTEM_DN
    #: how many upcoming creates answer the "spec attachment failed" quirk (200 ``{"result": []}``)
    empty_create_results: int = 0
    couch_url: str = "https://cmsweb.cern.ch/couchdb"
    version: str = "2.4.5.9"


class ReqMgr2Service:
    """Everything the handlers and the actors share for one EmulatorContext."""

    def __init__(self, ctx: Any, settings: ReqMgr2Settings | None = None) -> None:
        self.ctx = ctx
        self.settings = settings or ReqMgr2Settings()
        self.repo = RequestRepo(ctx.store, stale_views=self.settings.stale_views)
        self.aux = ctx.store.table("reqmgr2_aux")
        self.app_config = ctx.store.table("reqmgr2_app_config")
        self.splitting = ctx.store.table("reqmgr2_splitting")
        self.started = time.time()
        self._heap: list[tuple[float, str, str]] = []
        self.reschedule_all()

    # ------------------------------------------------------------------ actor schedule
    def delay_for(self, status: str) -> float:
        return self.settings.archive_delay if status in ARCHIVE_FROM else self.settings.step_delay

    def schedule(self, doc: Mapping[str, Any]) -> None:
        status = str(doc.get("RequestStatus"))
        if status not in REQMGR2_AUTO_PATH:
            return
        entry = (last_update(doc) + self.delay_for(status), str(doc["RequestName"]), status)
        heapq.heappush(self._heap, entry)

    def reschedule_all(self) -> None:
        self._heap = []
        for status in REQMGR2_AUTO_PATH:
            for name in self.repo.query("status", [status], nostale=True):
                doc = self.repo.get(name)
                if doc is not None:
                    self.schedule(doc)

    def pop_due(self, now: float) -> list[tuple[float, str, str]]:
        out = []
        while self._heap and self._heap[0][0] <= now:
            out.append(heapq.heappop(self._heap))
        return out

    def save(self, doc: dict[str, Any]) -> None:
        """Store a document (views, text cache and actor schedule follow)."""
        self.repo.put(doc)
        self.schedule(doc)


def get_service(ctx: Any) -> ReqMgr2Service:
    svc = ctx.extra.get(EXTRA_KEY)
    if svc is None:
        svc = ctx.extra[EXTRA_KEY] = ReqMgr2Service(ctx)
    return svc


def last_update(doc: Mapping[str, Any]) -> float:
    trans = doc.get("RequestTransition") or []
    return float(trans[-1]["UpdateTime"]) if trans else 0.0


@dataclass
class Call:
    """One request as the handlers see it."""

    method: str
    args: list[str]  # path segments after the API name
    params: list[tuple[str, str]]  # query items in order
    body: bytes
    identity: Any  # core Identity or None
    now: float  # emulated epoch seconds
    content_type: str = ""

    def kwargs(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for k, v in self.params:
            out.setdefault(k, []).append(v)
        return out

    def json_body(self) -> Any:
        """``json.loads`` of the raw body, as the handlers do (errors surface as the caller decides)."""
        return json.loads(self.body.decode("utf-8"))

    @property
    def login(self) -> str:
        return self.identity.login if self.identity is not None else "anonymous"

    @property
    def dn(self) -> str | None:
        return self.identity.dn if self.identity is not None else None


def authorize(call: Call, target_status: Any) -> None:
    """``isUserAllowed``: permission by the target status (an unknown one is a KeyError -> 1102)."""
    try:
        level = reqmgr2_permission(target_status)
    except (KeyError, TypeError):
        raise InvalidSpecParameterValue(
            repr(target_status) if isinstance(target_status, str) else f"{target_status!r}"
        ) from None
    roles = call.identity.reqmgr2_roles if call.identity is not None else ()
    if not reqmgr2_allowed(level, roles):
        raise forbidden()
