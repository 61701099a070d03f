"""The emulator's front-end: TLS, authentication, request log, faults, mounts, actors.

Like cmsweb's and Fermilab's front-ends, authentication happens before the service sees the
request: a client certificate signed by our CA, or ``Authorization: Bearer <token>``.
Anything else gets 401 with an empty body. The service reads the caller from
``scope["emulator.identity"]``.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import random
import signal
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import BaseRoute, Mount, Route

from airflow_provider_poms.emulator import pages
from airflow_provider_poms.emulator.core import (
    Clock,
    EmulatorConfig,
    EmulatorContext,
    Identity,
    RequestLog,
    ScriptBook,
    Store,
)
from airflow_provider_poms.emulator.faults import FaultInjector
from airflow_provider_poms.emulator.faultwire import App, Receive, Scope, Send, apply_fault
from airflow_provider_poms.emulator.pki import Pki, ensure_pki
from airflow_provider_poms.emulator.tls import PROTOCOL, STATE_PEER_DN, STATE_TRANSPORT
from airflow_provider_poms.emulator.tokens import TokenBook

log = logging.getLogger("airflow_provider_poms.emulator")

SERVICES = ("reqmgr2", "poms")
CONTROL_PREFIX = "/_emulator"
TICK_INTERVAL = 0.1


@dataclass
class Services:
    """The service modules that imported, by mount name (``reqmgr2``, ``poms``)."""

    modules: dict[str, ModuleType] = field(default_factory=dict)
    apps: dict[str, App] = field(default_factory=dict)
    _last_error: dict[str, str] = field(default_factory=dict)

    def tick(self, ctx: EmulatorContext) -> None:
        now = ctx.clock.now()
        for name, mod in self.modules.items():
            fn = getattr(mod, "tick", None)
            if fn is None:
                continue
            try:
                fn(ctx, now)
            except Exception as exc:
                # ten times a second: log a traceback only when the failure changes
                if self._last_error.get(name) != repr(exc):
                    self._last_error[name] = repr(exc)
                    log.exception("tick of %s failed", name)
            else:
                self._last_error.pop(name, None)

    def reset(self, ctx: EmulatorContext) -> None:
        """Empty service state: the store tables, scripts, and each service's own ``reset``."""
        ctx.store.reset()
        ctx.scripts.clear()
        for mod in self.modules.values():
            fn = getattr(mod, "reset", None)
            if fn is not None:
                fn(ctx)


def _placeholder(name: str, reason: str) -> App:
    """Stands in for a service whose module is missing or broken, saying so."""
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        resp = PlainTextResponse(f"emulator service {name!r} is not available: {reason}\n", 503)
        await resp(scope, receive, send)
    return app


def load_services(ctx: EmulatorContext) -> Services:
    """Import each service lazily; one that fails to import is replaced by a 503 placeholder."""
    svc = Services()
    for name in SERVICES:
        try:
            mod = importlib.import_module(f"airflow_provider_poms.emulator.{name}")
            app = mod.create_app(ctx)
        except Exception as exc:
            log.warning("service %s not mounted (%s: %s)", name, type(exc).__name__, exc)
            svc.apps[name] = _placeholder(name, f"{type(exc).__name__}")
            continue
        svc.modules[name] = mod
        svc.apps[name] = app
    return svc


class EmulatorApp:
    """Root ASGI app: authenticate, log, maybe fault, then route to the mounted services."""

    def __init__(self, ctx: EmulatorContext, tokens: TokenBook, services: Services,
                 control: App | None = None) -> None:
        self.ctx = ctx
        self.services = services
        self.tokens = tokens
        self._by_dn = {i.dn: i for i in ctx.identities.values()}
        # The GUI pages live under the services' prefixes, so they must match before the mounts.
        routes: list[BaseRoute] = list(pages.routes(ctx))
        routes += [Mount(f"/{name}", app=app) for name, app in services.apps.items()]
        if control is not None:
            routes.append(Mount(CONTROL_PREFIX, app=control))
        routes.append(Route("/", self._root))
        self.router = Starlette(routes=routes)

    async def _root(self, request: Request) -> PlainTextResponse:
        return PlainTextResponse("airflow-provider-poms emulator: /reqmgr2 /poms\n")

    def authenticate(self, scope: Scope, peer_dn: str | None) -> Identity | None:
        if peer_dn:
            return self._by_dn.get(peer_dn)
        for k, v in scope.get("headers", ()):
            if k == b"authorization":
                scheme, _, token = v.decode("latin-1").strip().partition(" ")
                if scheme.lower() != "bearer" or not token.strip():
                    return None
                login = self.tokens.login_for(token.strip())
                return self.ctx.identities.get(login) if login else None
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "lifespan":
                await self._lifespan(receive, send)
            return
        state = scope.get("state") or {}
        scope["emulator.transport"] = state.pop(STATE_TRANSPORT, None)
        peer_dn = state.pop(STATE_PEER_DN, None)
        path: str = scope["path"]
        method: str = scope["method"]
        internal = path == CONTROL_PREFIX or path.startswith(CONTROL_PREFIX + "/")
        identity = self.authenticate(scope, peer_dn)
        scope["emulator.identity"] = identity
        entry = None
        if not internal:
            entry = self.ctx.request_log.start(method, path, scope.get("query_string", b"").decode("latin-1"),
                                               identity.login if identity else None, _content_length(scope),
                                               self.ctx.clock.now())
        started = time.monotonic()
        received = 0

        async def counting_receive() -> Any:
            nonlocal received
            msg = await receive()
            if entry is not None and msg["type"] == "http.request":
                received += len(msg.get("body", b""))
                entry.body_size = max(entry.body_size, received)  # chunked bodies have no length
            return msg

        async def recording_send(msg: Any) -> None:
            if entry is not None and msg["type"] == "http.response.start":
                entry.status = int(msg["status"])
            await send(msg)

        try:
            if identity is None:
                # The front-end answer for a missing or bad credential: 401 and nothing else.
                await recording_send({"type": "http.response.start", "status": 401,
                                      "headers": [(b"content-length", b"0")]})
                await recording_send({"type": "http.response.body", "body": b""})
                return
            rule = None if internal else self.ctx.faults.pick(method, path)
            if rule is not None:
                if entry is not None:
                    entry.fault = rule.label
                log.info("fault %s on %s %s", rule.label, method, path)
                await apply_fault(rule, scope, counting_receive, send, self.router, entry)
            else:
                if entry is not None:
                    entry.handled = True
                await self.router(scope, counting_receive, recording_send)
        finally:
            if entry is not None:
                entry.duration = time.monotonic() - started

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            msg = await receive()
            if msg["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif msg["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return


def _content_length(scope: Scope) -> int:
    for k, v in scope.get("headers", ()):
        if k == b"content-length":
            try:
                return int(v)
            except ValueError:
                return 0
    return 0


def build_context(config: EmulatorConfig, pki: Pki) -> EmulatorContext:
    """Wire the core objects for one server process."""
    if config.persist:
        from airflow_provider_poms.emulator.store import SqliteBackend

        store = Store(SqliteBackend(config.state_dir / "emulator.sqlite"))
    else:
        store = Store()
    return EmulatorContext(
        clock=Clock(config.clock_scale, store),
        store=store,
        rng=random.Random(config.seed),
        faults=FaultInjector(config.seed),
        request_log=RequestLog(config.request_log_size),
        identities=dict(pki.identities),
        scripts=ScriptBook(store),
        config=config,
    )


def ssl_context(pki: Pki) -> ssl.SSLContext:
    """TLS 1.2+, our server certificate, client certificates optional but verified against our CA."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(str(pki.server_cert), str(pki.server_key))
    ctx.load_verify_locations(cafile=str(pki.ca_cert))
    ctx.verify_mode = ssl.CERT_OPTIONAL
    return ctx


def bind_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # An explicit IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on sockets whose proto says
    # TCP, and without it every response waits ~40 ms on Nagle + delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def url_for(host: str, port: int) -> str:
    return f"https://[{host}]:{port}" if ":" in host else f"https://{host}:{port}"


class _Server(uvicorn.Server):
    """uvicorn re-raises SIGTERM after its graceful shutdown, killing the process before our
    cleanup (final clock save, SQLite checkpoint/close) runs; here the signal only ends
    ``serve()`` and the process exits 0."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        original = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in original.items():
                signal.signal(sig, handler)


async def _tick_loop(ctx: EmulatorContext, services: Services, stop: asyncio.Event) -> None:
    last_save = 0.0
    while not stop.is_set():
        services.tick(ctx)
        if ctx.store.persistent and time.monotonic() - last_save > 1.0:
            ctx.clock.save()
            last_save = time.monotonic()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), TICK_INTERVAL)


async def serve(config: EmulatorConfig, on_ready: Callable[[EmulatorContext, Pki], None] | None = None,
                control_factory: Callable[[EmulatorContext, Services, TokenBook], App] | None = None) -> None:
    """Run until SIGINT/SIGTERM. ``on_ready`` is called once the socket accepts connections."""
    pki = ensure_pki(config.state_dir)
    sock = bind_socket(config.host, config.port)
    config.port = sock.getsockname()[1]
    config.base_url = url_for(config.host, config.port)
    ctx = build_context(config, pki)
    tokens = TokenBook(pki.token_map(), ctx.store, ctx.clock, config.state_dir / "tokens")
    services = load_services(ctx)
    control = control_factory(ctx, services, tokens) if control_factory is not None else None
    app = EmulatorApp(ctx, tokens, services, control)

    ucfg = uvicorn.Config(app, http=PROTOCOL, lifespan="off", log_level="warning", access_log=False,
                          timeout_graceful_shutdown=3, server_header=False, date_header=True,
                          ssl_context_factory=lambda _cfg, _default: ssl_context(pki))
    server = _Server(ucfg)
    stop = asyncio.Event()
    ticker = asyncio.create_task(_tick_loop(ctx, services, stop))
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started and not serving.done():
            await asyncio.sleep(0.02)
        if server.started and on_ready is not None:
            on_ready(ctx, pki)
        await serving
    finally:
        stop.set()
        await ticker
        if ctx.store.persistent:
            ctx.clock.save()
        ctx.store.close()


def identities_json(pki: Pki) -> Mapping[str, Any]:
    """The ``identities`` object of connection.json."""
    out = {}
    for login, ident in pki.identities.items():
        f = pki.files[login]
        out[login] = {
            "client_cert": str(f.client_cert), "client_key": str(f.client_key), "proxy": str(f.proxy),
            "token": str(f.token), "dn": ident.dn,
            "reqmgr2_roles": [list(p) for p in ident.reqmgr2_roles],
            "poms_experiments": dict(ident.poms_experiments),
        }
    return out
