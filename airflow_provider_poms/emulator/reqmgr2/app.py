"""Routing of ``/reqmgr2/data/<api>[/<args>]`` with the WMCore REST framework's check order.

Order (reference 8.5): method known (405/202) -> no query string on writes (405/203) -> API named
(400/205), known (404/207), offered for this verb (405/204) -> Accept (406/201) -> the entity
(JSON parsing, authorization 403, validation 400) -> handler (500 on surprises). HEAD is GET.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from airflow_provider_poms.emulator.reqmgr2 import aux, misc
from airflow_provider_poms.emulator.reqmgr2 import requests as req
from airflow_provider_poms.emulator.reqmgr2.service import Call, ReqMgr2Service, get_service
from airflow_provider_poms.emulator.reqmgr2.wire import (
    GET_FORMATS,
    JSON_ONLY,
    APIMethodMismatch,
    APINotSpecified,
    APINotSupported,
    BareHTTPError,
    MethodWithoutQueryString,
    RestError,
    Rows,
    ServerError,
    UnsupportedMethod,
    envelope,
    error_response,
    negotiate,
    success_response,
)

log = logging.getLogger("airflow_provider_poms.emulator.reqmgr2")

Handler = Callable[[ReqMgr2Service, Call], Rows]
SERVER_METHODS = ("DELETE", "GET", "HEAD", "POST", "PUT")
#: ``EMULATOR_REQMGR2_PRELOAD=N`` fills an empty emulator with N requests (benchmarks)
PRELOAD_ENV = "EMULATOR_REQMGR2_PRELOAD"
#: statuses the preloaded requests are spread over (N/10 each; none of them moves on its own)
PRELOAD_STATUSES = (
    "new",
    "assignment-approved",
    "failed",
    "completed",
    "closed-out",
    "normal-archived",
    "aborted-archived",
    "rejected-archived",
    "new",
    "completed",
)


def _aux(api: str) -> dict[str, Handler]:
    return {
        "GET": lambda s, c: aux.get(api, s, c),
        "POST": lambda s, c: aux.post(api, s, c),
        "PUT": lambda s, c: aux.put(api, s, c),
        "DELETE": lambda s, c: aux.delete(api, s, c),
    }


#: In ``RestApiHub`` registration order: the unknown-API error lists them in this order.
ENTITIES: Mapping[str, Mapping[str, Handler]] = {
    "about": {"GET": misc.info},
    "info": {"GET": misc.info},
    "app_config": {"GET": aux.app_config_get, "PUT": aux.app_config_put},
    "request": {"GET": req.get, "POST": req.post, "PUT": req.put, "DELETE": req.delete},
    **{api: _aux(api) for api in aux.AUX_TYPES if api != "parentlocks"},
    "status": {"GET": misc.status},
    "type": {"GET": misc.types},
    "spec_template": {"GET": misc.spec_template},
    "workload_config": {"GET": misc.workload_config},
    "splitting": {"GET": misc.splitting_get, "POST": misc.splitting_post},
    "wmstats_info": {"GET": misc.wmstats_info},
    "proc_status": {"GET": misc.proc_status},
    "parentlocks": _aux("parentlocks"),
}
#: GET entities that offer only application/json
JSON_ONLY_GET = frozenset({"status", "type", "wmstats_info"})
#: ``tools.expires(secs=-1)`` entities
NO_STORE = frozenset({"info", "about", "spec_template", "workload_config", "splitting", "wmstats_info"})


def _us(started: float) -> int:
    return int((time.perf_counter() - started) * 1e6)


def _allow(api: str) -> str:
    methods = set(ENTITIES[api])
    if "GET" in methods:
        methods.add("HEAD")
    return " ".join(sorted(methods))


class ReqMgr2App:
    """ASGI endpoint for everything under the mount point."""

    def __init__(self, ctx: Any) -> None:
        self.ctx = ctx

    @property
    def svc(self) -> ReqMgr2Service:
        return get_service(self.ctx)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        started = time.perf_counter()
        try:
            response = await self._handle(request, started)
        except (RestError, BareHTTPError, ServerError) as exc:
            response = error_response(exc, elapsed_us=_us(started), head=request.method == "HEAD")
        except Exception:
            log.exception("reqmgr2 handler failed")
            response = error_response(ServerError(), elapsed_us=_us(started), head=request.method == "HEAD")
        await response(scope, receive, send)

    async def _handle(self, request: Request, started: float) -> Any:
        method = request.method.upper()
        rest: str = request.path_params.get("rest", "")
        parts = rest.split("/")
        if not parts or parts[0] != "data":
            raise BareHTTPError(404, f"The path '/reqmgr2/{rest}' was not found.")
        if method not in SERVER_METHODS:
            raise UnsupportedMethod(headers=[("Allow", " ".join(SERVER_METHODS))])
        query = request.scope.get("query_string", b"").decode("latin-1")
        if method not in ("GET", "HEAD") and query:
            raise MethodWithoutQueryString(headers=[("Allow", "GET HEAD")])
        args = parts[1:]
        while args and args[-1] == "":
            args.pop()
        if not args or not args[0]:
            raise APINotSpecified()
        api = args[0]
        entity = ENTITIES.get(api)
        verb = "GET" if method == "HEAD" else method
        if entity is None:
            offered = [name for name, e in ENTITIES.items() if verb in e]
            raise APINotSupported(
                f'Api "{api}" not found. This method supports these Apis: {offered!r}',
                headers=[("Allow", "")],
            )
        handler = entity.get(verb)
        if handler is None:
            allow = _allow(api)
            raise APIMethodMismatch(
                f'Api "{api}" only supported in method(s): "{allow}"', headers=[("Allow", allow)]
            )
        formats = GET_FORMATS if verb == "GET" and api not in JSON_ONLY_GET else JSON_ONLY
        fmt = negotiate(request.headers.get("accept"), formats)
        body = await request.body()
        call = Call(
            method=method,
            args=args[1:],
            params=parse_qsl(query, keep_blank_values=True),
            body=body,
            identity=request.scope.get("emulator.identity"),
            now=self.ctx.clock.now(),
            content_type=request.headers.get("content-type", ""),
        )
        svc = self.svc
        svc.repo.check_consistent()
        rows = handler(svc, call)
        payload = envelope(rows, fmt)
        h = request.headers
        return success_response(
            method=method,
            body=payload,
            fmt=fmt,
            accept_encoding=h.get("accept-encoding"),
            if_match=h.get("if-match"),
            if_none_match=h.get("if-none-match"),
            no_store=api in NO_STORE,
            elapsed_us=int((time.perf_counter() - started) * 1e6),
        )


def create_app(ctx: Any) -> Starlette:
    """The ReqMgr2 service, to be mounted at ``/reqmgr2``."""
    svc = get_service(ctx)  # build views and the actor schedule from the store now, not on first call
    preload = int(os.environ.get(PRELOAD_ENV, "0") or 0)
    if preload > 0 and len(svc.repo) == 0:
        from airflow_provider_poms.emulator.reqmgr2.samples import bulk_load

        bulk_load(ctx, preload, statuses=PRELOAD_STATUSES)
    endpoint = ReqMgr2App(ctx)
    return Starlette(routes=[Route("/{rest:path}", endpoint)])
