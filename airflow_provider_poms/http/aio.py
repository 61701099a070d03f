"""Asyncio transport on ``httpx.AsyncClient`` (HTTP/1.1, keep-alive, one pool per event loop).

Same protocol core as ``sync.py``; only the I/O and the sleep differ. An httpx client's
connections belong to the event loop that opened them, so a transport keeps one client per running
loop, and ``shared_async_transport`` hands out one transport per (loop, connection settings,
service): every trigger of a triggerer process that talks to the same service shares one pool of
keep-alive connections.

The client is rebuilt when a certificate, key, proxy or CA file changes on disk (proxies are
renewed in place), so long-running triggerers pick up renewed credentials.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
import weakref
from typing import Any

import httpx

from airflow_provider_poms.http import failures
from airflow_provider_poms.http.auth import amask_secrets
from airflow_provider_poms.http.errors import ConfigurationError, ProviderError
from airflow_provider_poms.http.gzip import BodyDecoder
from airflow_provider_poms.http.protocol import (
    ApiRequest,
    ApiResponse,
    Dialect,
    Headers,
    PreparedCall,
    finish_response,
)
from airflow_provider_poms.http.retry import RetryPolicy, TransportBase
from airflow_provider_poms.http.settings import ConnectionSettings

__all__ = ["AsyncTransport", "shared_async_transport"]

log = logging.getLogger(__name__)


class _LoopClient:
    __slots__ = ("client", "tls_state")

    def __init__(self, client: httpx.AsyncClient, tls_state: tuple[object, ...]) -> None:
        self.client = client
        self.tls_state = tls_state


class AsyncTransport(TransportBase):
    """Async twin of ``SyncTransport``; use one per connection (see ``shared_async_transport``)."""

    def __init__(
        self,
        settings: ConnectionSettings,
        dialect: Dialect,
        *,
        policy: RetryPolicy | None = None,
        max_connections: int = 20,
    ) -> None:
        super().__init__(settings, dialect, policy)
        self._limits = httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections, keepalive_expiry=60.0
        )
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopClient] = (
            weakref.WeakKeyDictionary()
        )
        self._closed = False

    async def __aenter__(self) -> AsyncTransport:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the pool of the running loop (pools of other loops die with their loop)."""
        self._closed = True
        loop = asyncio.get_running_loop()
        entry = self._clients.pop(loop, None)
        if entry is not None:
            await entry.client.aclose()

    # -- client per loop ----------------------------------------------------------------------
    def _new_client(self) -> httpx.AsyncClient:
        s = self.settings
        try:
            verify: ssl.SSLContext = self.credentials.ssl_context()
        except ssl.SSLError as exc:
            raise ConfigurationError(f"cannot load TLS files ({exc.reason or exc})") from None
        return httpx.AsyncClient(
            verify=verify,
            http1=True,
            http2=False,
            limits=self._limits,
            timeout=httpx.Timeout(
                connect=s.connect_timeout, read=s.read_timeout, write=s.read_timeout, pool=s.connect_timeout
            ),
            follow_redirects=False,
            trust_env=True,  # HTTP(S)_PROXY; verify is an explicit context, so SSL_CERT_* is ignored
        )

    async def _client(self) -> httpx.AsyncClient:
        if self._closed:
            raise ConfigurationError("transport is closed")
        loop = asyncio.get_running_loop()
        state = self.credentials.tls_files_state()
        entry = self._clients.get(loop)
        if entry is not None and entry.tls_state == state:
            return entry.client
        if entry is not None:
            log.info("TLS files of %s changed; opening new connections", self.settings.base_url)
            await entry.client.aclose()
        entry = _LoopClient(self._new_client(), state)
        self._clients[loop] = entry
        return entry.client

    # -- public -------------------------------------------------------------------------------
    async def send(self, request: ApiRequest) -> ApiResponse:
        """Send with retries; return the success answer or raise a ``ProviderError`` subclass."""
        call, plan = self._plan(request, log)
        plan.record(await self._try(call))
        for delay in plan:
            await asyncio.sleep(delay)
            plan.record(await self._try(call))
        return plan.result()

    async def _try(self, call: PreparedCall) -> ApiResponse | ProviderError:
        try:
            return await self._exchange(call)
        except ProviderError as exc:
            return exc

    # -- one exchange ---------------------------------------------------------------------------
    async def _exchange(self, call: PreparedCall) -> ApiResponse:
        client = await self._client()
        creds = self.credentials
        headers = call.with_headers(creds.auth_headers())
        await amask_secrets(creds.take_new_secrets())
        creds.warn_if_unverified()
        started = time.monotonic()
        try:
            async with client.stream(call.method, call.url, headers=headers, content=call.body) as resp:
                body = await self._read_body(resp, call)
                status, resp_headers = resp.status_code, Headers(resp.headers.multi_items())
        except ProviderError:
            raise
        except httpx.HTTPError as exc:
            raise self._request_failed(exc, call) from None
        response = finish_response(call.method, status, resp_headers, body, call.safe_url)
        log.debug(
            "%s %s -> %d in %.3f s (%d bytes)",
            call.method,
            call.safe_url,
            status,
            time.monotonic() - started,
            len(body),
        )
        return response

    async def _read_body(self, resp: httpx.Response, call: PreparedCall) -> bytes:
        decoder = BodyDecoder(
            resp.headers.get("Content-Encoding"), self.settings.max_response_bytes, call.safe_url
        )
        received = 0
        try:
            async for chunk in resp.aiter_raw():
                received += len(chunk)
                decoder.feed(chunk)
        except ProviderError:
            raise
        except httpx.ReadTimeout:
            raise failures.read_timeout(call.safe_url, self.settings) from None
        except (httpx.HTTPError, OSError) as exc:
            raise failures.truncated(exc, call.safe_url, received) from None
        return decoder.finish()

    def _request_failed(self, exc: httpx.HTTPError, call: PreparedCall) -> ProviderError:
        url, settings = call.safe_url, self.settings
        if isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout):
            return failures.connect_failed(exc, url, settings, timeout=True)
        if failures.is_tls_config_problem(exc):
            handshake = isinstance(exc, httpx.ConnectError)
            return failures.tls_failed(exc, url, settings, handshake=handshake)
        if isinstance(exc, httpx.ConnectError):
            return failures.connect_failed(exc, url, settings, timeout=False)
        if isinstance(exc, httpx.ReadTimeout | httpx.WriteTimeout):
            return failures.read_timeout(url, settings)
        if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
            return ConfigurationError(f"invalid URL {url}: {exc}")
        return failures.send_failed(exc, url)


_SHARED: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[Any, ...], AsyncTransport]] = (
    weakref.WeakKeyDictionary()
)


def shared_async_transport(settings: ConnectionSettings, dialect: Dialect) -> AsyncTransport:
    """The running loop's transport for these settings and service (created on first use).

    All triggers in one triggerer run on one loop, so they share keep-alive connections. Must be
    called from inside a running event loop.
    """
    loop = asyncio.get_running_loop()
    per_loop = _SHARED.setdefault(loop, {})
    key = (settings.key(), dialect.name)
    transport = per_loop.get(key)
    if transport is None or transport._closed:
        transport = AsyncTransport(settings, dialect)
        per_loop[key] = transport
    return transport
