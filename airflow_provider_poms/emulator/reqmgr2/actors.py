"""Background movers: what MSTransferor, MSMonitor, StatusChangeTasks and MSRuleCleaner do.

``tick(ctx, now)`` moves each request along ``states.REQMGR2_AUTO_PATH`` once its step delay
(emulated seconds since its last transition) has passed; after a clock jump it walks several
steps in one tick, one ``RequestTransition`` entry per step, each stamped at the emulated moment
the step became due (never later than ``now``). Archiving waits ``archive_delay`` (48 h).
Scripted outcomes (``ctx.scripts.reqmgr2_outcome``) replace the normal step at a status: ``fail``
-> failed, ``abort`` -> aborted (then aborted-completed as usual), ``stall`` -> stays put.
Work is driven by a due-time heap, so a tick costs nothing while no request is due.
"""

from __future__ import annotations

import copy
from typing import Any

from airflow_provider_poms.emulator.reqmgr2.requests import append_transition
from airflow_provider_poms.emulator.reqmgr2.service import ReqMgr2Service, get_service, last_update
from airflow_provider_poms.states import REQMGR2_AUTO_PATH

#: Upper bound of steps one request may take in one tick (the whole normal path is shorter).
MAX_STEPS = 20


def tick(ctx: Any, now: float) -> None:
    svc = get_service(ctx)
    svc.repo.check_consistent()
    with svc.repo.lock:
        for _due, name, status in svc.pop_due(now):
            doc = svc.repo.get(name)
            if doc is None or doc.get("RequestStatus") != status:
                continue  # stale schedule entry: the request moved meanwhile
            _advance(svc, ctx, doc, now)


def _advance(svc: ReqMgr2Service, ctx: Any, stored: dict[str, Any], now: float) -> None:
    doc = copy.deepcopy(stored)
    name = doc["RequestName"]
    moved = False
    for _ in range(MAX_STEPS):
        status = doc["RequestStatus"]
        if status not in REQMGR2_AUTO_PATH:
            break
        due = last_update(doc) + svc.delay_for(status)
        if due > now:
            break
        action = ctx.scripts.reqmgr2_outcome_for(name, status)
        if action == "stall":
            break
        if action == "fail":
            target = "failed"
        elif action == "abort" and status not in ("aborted", "aborted-completed", "aborted-archived"):
            target = "aborted"
        else:
            target = REQMGR2_AUTO_PATH[status]
        append_transition(doc, target, due, svc.settings.system_dn)
        moved = True
    if moved:
        svc.save(doc)
