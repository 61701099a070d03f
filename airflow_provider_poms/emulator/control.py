"""Control API under ``/_emulator/`` (only with ``--control``): clock, faults, scripts, log, reset.

JSON in, JSON out. The front-end has already authenticated the caller; control requests
are neither faulted nor written to the request log, so tests can steer the emulator
without disturbing what they measure.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from airflow_provider_poms.emulator.core import EmulatorContext
from airflow_provider_poms.emulator.faults import FaultRule
from airflow_provider_poms.emulator.server import Services
from airflow_provider_poms.emulator.tokens import TokenBook


class BadInput(ValueError):
    """Invalid control request body -> 400."""


async def _body(request: Request) -> Any:
    raw = await request.body()
    if not raw:
        return {}
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise BadInput(f"body is not JSON: {exc}") from None


def _bool(value: str | None) -> bool:
    return (value or "").lower() in {"1", "true", "yes", "on"}


def create_control_app(ctx: EmulatorContext, services: Services, tokens: TokenBook) -> Starlette:
    """The control routes, bound to one context."""

    def state() -> dict[str, Any]:
        return {
            "now": ctx.clock.now(), "clock_scale": ctx.clock.scale, "clock_offset": ctx.clock.offset,
            "seed": ctx.config.seed, "persist": ctx.store.persistent,
            "services": sorted(services.modules),
            "tables": {name: len(ctx.store.table(name)) for name in ctx.store.table_names()},
            "faults": [r.to_json() for r in ctx.faults.rules()],
            "fault_stats": ctx.faults.stats(),
            "scripts": ctx.scripts.to_json(),
            "request_log_next": ctx.request_log.next_index,
            "identities": sorted(ctx.identities),
        }

    async def get_state(request: Request) -> JSONResponse:
        return JSONResponse(state())

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"ok": True, "now": ctx.clock.now(), "services": sorted(services.modules)})

    async def advance(request: Request) -> JSONResponse:
        body = await _body(request)
        try:
            seconds = float(body["seconds"])
            now = ctx.clock.advance(seconds)
        except (KeyError, TypeError, ValueError) as exc:
            raise BadInput(f"need {{'seconds': <number >= 0>}}: {exc}") from None
        services.tick(ctx)  # let the actors catch up before the caller looks
        return JSONResponse({"now": now, "offset": ctx.clock.offset})

    async def add_faults(request: Request) -> JSONResponse:
        body = await _body(request)
        items = body if isinstance(body, list) else [body]
        try:
            rules = [FaultRule.from_json(dict(item)) for item in items]
        except (TypeError, ValueError) as exc:
            raise BadInput(str(exc)) from None
        added = [ctx.faults.add(r).to_json() for r in rules]
        return JSONResponse(added if isinstance(body, list) else added[0], status_code=201)

    async def list_faults(request: Request) -> JSONResponse:
        return JSONResponse([r.to_json() for r in ctx.faults.rules()])

    async def clear_faults(request: Request) -> JSONResponse:
        rule_id = request.query_params.get("id")
        if rule_id is not None:
            if not rule_id.isdigit():
                raise BadInput(f"id must be an integer, not {rule_id!r}")
            return JSONResponse({"removed": ctx.faults.remove(int(rule_id))})
        ctx.faults.clear()
        return JSONResponse({"removed": "all"})

    async def fault_stats(request: Request) -> JSONResponse:
        if request.method == "DELETE":
            ctx.faults.reset_stats()
        return JSONResponse(ctx.faults.stats())

    async def requests_log(request: Request) -> JSONResponse:
        q = request.query_params
        try:
            since = int(q.get("since", "0"))
            limit = int(q["limit"]) if "limit" in q else None
        except ValueError as exc:
            raise BadInput(str(exc)) from None
        entries = ctx.request_log.query(since=since, method=q.get("method"), path_prefix=q.get("path_prefix"),
                                        writes_only=_bool(q.get("writes_only")), limit=limit)
        return JSONResponse({"next_index": ctx.request_log.next_index,
                             "entries": [e.to_json() for e in entries]})

    async def script_reqmgr2(request: Request) -> JSONResponse:
        body = await _body(request)
        try:
            ctx.scripts.reqmgr2_outcome(str(body["name"]), str(body["at_status"]), str(body["action"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise BadInput(f"need name, at_status, action (fail/abort/stall): {exc}") from None
        return JSONResponse(ctx.scripts.to_json(), status_code=201)

    async def script_poms(request: Request) -> JSONResponse:
        body = await _body(request)
        try:
            sid = body["submission_id"]
            ctx.scripts.poms_outcome(sid if sid == "next" else int(sid), list(body["statuses"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise BadInput(f"need submission_id (int or 'next') and statuses: {exc}") from None
        return JSONResponse(ctx.scripts.to_json(), status_code=201)

    async def get_scripts(request: Request) -> JSONResponse:
        return JSONResponse(ctx.scripts.to_json())

    async def reset(request: Request) -> JSONResponse:
        services.reset(ctx)
        return JSONResponse({"reset": True})

    async def issue_token(request: Request) -> JSONResponse:
        body = await _body(request)
        login = body.get("identity", "operator") if isinstance(body, dict) else None
        if login not in ctx.identities:
            raise BadInput(f"unknown identity {login!r}")
        expires_in = body.get("expires_in")
        if expires_in is not None and (not isinstance(expires_in, int | float) or expires_in < 0):
            raise BadInput("expires_in must be a number of emulated seconds >= 0")
        return JSONResponse(tokens.issue(str(login), expires_in), status_code=201)

    async def revoke_token(request: Request) -> JSONResponse:
        path = request.query_params.get("token_file")
        if not path:
            raise BadInput("need ?token_file=<path>")
        return JSONResponse({"revoked": tokens.revoke(path)})

    async def bad_input(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=400)

    return Starlette(
        routes=[
            Route("/state", get_state, methods=["GET"]),
            Route("/health", health, methods=["GET"]),
            Route("/clock/advance", advance, methods=["POST"]),
            Route("/faults", add_faults, methods=["POST"]),
            Route("/faults", list_faults, methods=["GET"]),
            Route("/faults", clear_faults, methods=["DELETE"]),
            Route("/faults/stats", fault_stats, methods=["GET", "DELETE"]),
            Route("/requests-log", requests_log, methods=["GET"]),
            Route("/scripts", get_scripts, methods=["GET"]),
            Route("/scripts/reqmgr2", script_reqmgr2, methods=["POST"]),
            Route("/scripts/poms", script_poms, methods=["POST"]),
            Route("/reset", reset, methods=["POST"]),
            Route("/tokens", issue_token, methods=["POST"]),
            Route("/tokens", revoke_token, methods=["DELETE"]),
        ],
        exception_handlers={BadInput: bad_input},
    )
