"""Offline ReqMgr2 (``/reqmgr2/data/...``), faithful on the wire; see docs/emulator.md."""

from __future__ import annotations

from typing import Any

from airflow_provider_poms.emulator.reqmgr2.actors import tick
from airflow_provider_poms.emulator.reqmgr2.app import create_app
from airflow_provider_poms.emulator.reqmgr2.service import (
    EXTRA_KEY,
    ReqMgr2Service,
    ReqMgr2Settings,
    get_service,
)

__all__ = ["ReqMgr2Service", "ReqMgr2Settings", "create_app", "get_service", "reset", "tick"]


def reset(ctx: Any) -> None:
    """After the store was emptied: rebuild views and schedule from the (empty) tables."""
    svc = ctx.extra.get(EXTRA_KEY)
    if svc is not None:
        svc.repo.rebuild()
        svc.reschedule_all()
