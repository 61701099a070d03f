"""Shared HTTP core of the provider (no Airflow import).

Protocol decisions are plain functions on plain data (``protocol``, ``dialects``, ``retry``,
``gzip``, ``auth``); ``sync`` and ``aio`` are the thin I/O edges (requests / httpx).
"""

from __future__ import annotations

from typing import Any

from airflow_provider_poms.http.errors import *  # noqa: F403
from airflow_provider_poms.http.errors import __all__ as _error_names
from airflow_provider_poms.http.protocol import NO_BODY, ApiRequest, ApiResponse, Dialect
from airflow_provider_poms.http.settings import ConnectionSettings

_LAZY = {
    "SyncTransport": "airflow_provider_poms.http.sync",
    "AsyncTransport": "airflow_provider_poms.http.aio",
    "shared_async_transport": "airflow_provider_poms.http.aio",
    "PomsDialect": "airflow_provider_poms.http.dialects",
    "ReqMgr2Dialect": "airflow_provider_poms.http.dialects",
    "RetryPolicy": "airflow_provider_poms.http.retry",
}

# Lazy names are not in __all__ so ``import *`` stays light.
__all__ = [
    *_error_names,
    "NO_BODY",
    "ApiRequest",
    "ApiResponse",
    "ConnectionSettings",
    "Dialect",
]


def __getattr__(name: str) -> Any:
    """Transports import requests/httpx; load them only when used."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(name)
