"""Offline POMS: every ``poms_client`` call's server method, the submission life cycle, .ini upload.

``create_app(ctx)`` serves the wire protocol (mounted at ``/poms``); ``tick(ctx, now)`` moves time
(fake batch side, wrapup cron, LaunchFailed marking). See docs/emulator.md, section "POMS".
"""

from typing import Any

from .actors import tick
from .app import create_app
from .model import Db, store_lock
from .seed import ensure_seeded
from .settings import PomsSettings

__all__ = ["PomsSettings", "create_app", "reset", "tick"]


def reset(ctx: Any) -> None:
    """After ``POST /_emulator/reset`` emptied the store: seed the demo campaign again at once."""
    with store_lock(ctx):
        ensure_seeded(Db(ctx))
