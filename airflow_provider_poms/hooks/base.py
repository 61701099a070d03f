"""ServiceHook: Airflow connection -> ConnectionSettings -> transports, shared by both services.

Subclasses (PomsHook, ReqMgr2Hook) set the Airflow class attributes, ``dialect`` and
``_probe_request()``; every API method is ``_parse_x(self.send(_build_x(...)))`` and, where
triggers need it, ``_parse_x(await self.asend(_build_x(...)))``.

Sync code reads the connection with ``BaseHook.get_connection`` (cached per hook). Async code (the
triggerer's event loop) must not: ``aget_settings`` uses ``await BaseHook.aget_connection`` and
``await conn.aextra_dejson()``, and caches the result in the same slot.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, ClassVar

from airflow.sdk import BaseHook

from airflow_provider_poms.http.aio import AsyncTransport, shared_async_transport
from airflow_provider_poms.http.errors import ConfigurationError, ProviderError
from airflow_provider_poms.http.protocol import ApiRequest, ApiResponse, Dialect
from airflow_provider_poms.http.settings import ConnectionSettings
from airflow_provider_poms.http.sync import SyncTransport

__all__ = ["ServiceHook"]

log = logging.getLogger(__name__)


class ServiceHook(BaseHook):
    """Base hook of the POMS and ReqMgr2 hooks.

    ``settings`` bypasses the Airflow connection (scripts, tests, benchmarks). The sync transport is
    owned by the hook (one keep-alive session); the async path uses the event loop's shared
    transport, so all triggers of a triggerer share connections.
    """

    conn_name_attr: ClassVar[str] = "conn_id"
    default_conn_name: ClassVar[str] = ""
    conn_type: ClassVar[str] = ""
    hook_name: ClassVar[str] = ""
    dialect: ClassVar[Dialect]

    def __init__(self, conn_id: str | None = None, settings: ConnectionSettings | None = None) -> None:
        super().__init__()
        self.conn_id = conn_id or self.default_conn_name
        self._settings = settings
        self._sync: SyncTransport | None = None
        self._owned_async: AsyncTransport | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(conn_id={self.conn_id!r})"

    # -- settings -----------------------------------------------------------------------------
    def get_settings(self) -> ConnectionSettings:
        """Settings from the Airflow connection (read once per hook) or the ones given."""
        if self._settings is None:
            conn = self.get_connection(self.conn_id)
            self._settings = self._settings_from_connection(conn, None)
        return self._settings

    async def aget_settings(self) -> ConnectionSettings:
        """Same as ``get_settings`` without blocking the event loop (triggers)."""
        if self._settings is None:
            conn = await BaseHook.aget_connection(self.conn_id)
            extra: Any = None
            aextra = getattr(conn, "aextra_dejson", None)
            if aextra is not None:
                extra = await aextra()
            self._settings = self._settings_from_connection(conn, extra)
        return self._settings

    def _settings_from_connection(self, conn: Any, extra: Any) -> ConnectionSettings:
        expected = self.conn_type
        actual = getattr(conn, "conn_type", None)
        if expected and actual and actual != expected:
            log.warning(
                "Connection %r has type %r, expected %r; using it anyway", self.conn_id, actual, expected
            )
        return ConnectionSettings.from_connection(conn, extra=extra)

    # -- transports ---------------------------------------------------------------------------
    @property
    def transport(self) -> SyncTransport:
        """The hook's sync transport (created on first use, keep-alive across calls)."""
        if self._sync is None:
            with self._lock:
                if self._sync is None:
                    self._sync = SyncTransport(self.get_settings(), self.dialect)
        return self._sync

    async def atransport(self) -> AsyncTransport:
        """The running loop's shared async transport for this connection."""
        return shared_async_transport(await self.aget_settings(), self.dialect)

    def send(self, request: ApiRequest) -> ApiResponse:
        """Send through the service dialect; raises typed ``ProviderError`` subclasses."""
        return self.transport.send(request)

    async def asend(self, request: ApiRequest) -> ApiResponse:
        transport = await self.atransport()
        return await transport.send(request)

    def close(self) -> None:
        """Close the sync session (async pools are shared per loop and live with the loop)."""
        if self._sync is not None:
            self._sync.close()
            self._sync = None

    def __enter__(self) -> ServiceHook:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- connection test ----------------------------------------------------------------------
    def _probe_request(self) -> ApiRequest:
        """A cheap authenticated read that proves URL, TLS and credentials work."""
        raise NotImplementedError

    def _probe_summary(self, response: ApiResponse) -> str:
        """What test_connection reports on success; subclasses may say more."""
        return f"HTTP {response.status} from {response.url}"

    def test_connection(self) -> tuple[bool, str]:
        """Airflow's connection test: one cheap call, a readable verdict, no exception."""
        try:
            response = self.send(self._probe_request())
            return True, f"Connection successful: {self._probe_summary(response)}"
        except ConfigurationError as exc:
            return False, f"Connection settings invalid: {exc}"
        except ProviderError as exc:
            return False, str(exc)
        except Exception as exc:  # never let the UI see a traceback
            return False, f"{type(exc).__name__}: {exc}"
        finally:
            self.close()
