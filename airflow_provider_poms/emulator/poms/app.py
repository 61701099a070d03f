"""The POMS Starlette app (mounted at ``/poms`` by the core server)."""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

# Importing the handler modules registers every method in dispatch.METHODS.
from . import h_camp, h_edit, h_launch, h_misc, h_stage, h_subs  # noqa: F401
from .dispatch import read_params, run_method
from .model import Db, store_lock
from .seed import ensure_seeded

VERBS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]


def create_app(ctx: Any) -> Starlette:
    """One catch-all route: ``/<method>[/<experiment>/<role>[/<user>]]``, any verb."""

    async def endpoint(request: Request) -> Response:
        with store_lock(ctx):
            ensure_seeded(Db(ctx))
        parts = [p for p in request.path_params.get("path", "").split("/") if p]
        if not parts:
            parts = ["index"]
        params = await read_params(request)
        return run_method(request, ctx, parts[0], parts[1:], params)

    return Starlette(routes=[Route("/{path:path}", endpoint, methods=VERBS)])
