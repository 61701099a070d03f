"""ServiceHook: Airflow connection -> settings -> transports, sync and async, and test_connection."""

from __future__ import annotations

import json
from typing import Any, ClassVar

import pytest

from airflow_provider_poms.hooks.base import ServiceHook
from airflow_provider_poms.http.dialects import ReqMgr2Dialect
from airflow_provider_poms.http.errors import AuthenticationError
from airflow_provider_poms.http.protocol import ApiRequest, ApiResponse
from airflow_provider_poms.http.settings import ConnectionSettings


class InfoHook(ServiceHook):
    """The smallest service hook: what PomsHook/ReqMgr2Hook add on top of ServiceHook."""

    conn_name_attr: ClassVar[str] = "reqmgr2_conn_id"
    default_conn_name: ClassVar[str] = "reqmgr2_default"
    conn_type: ClassVar[str] = "reqmgr2"
    hook_name: ClassVar[str] = "CMS ReqMgr2"
    dialect = ReqMgr2Dialect()

    def _probe_request(self) -> ApiRequest:
        return ApiRequest("GET", "data/info", operation="read ReqMgr2 info")

    def _probe_summary(self, response: ApiResponse) -> str:
        return "ReqMgr2 " + response.json()["result"][0]["wmcore_reqmgr_version"]


def airflow_conn(emulator: Any, conn_id: str, monkeypatch: pytest.MonkeyPatch, **extra: Any) -> None:
    """An environment-variable connection, the way users and the CI define them."""
    ident = emulator.conn["identities"]["operator"]
    body = {
        "conn_type": "reqmgr2",
        "host": emulator.conn["reqmgr2_url"],
        "extra": {
            "client_cert": ident["client_cert"],
            "client_key": ident["client_key"],
            "ca_cert": emulator.conn["ca_cert"],
            "backoff": 0.01,
            **extra,
        },
    }
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(body))


def test_hook_with_explicit_settings(emu_settings: Any) -> None:
    with InfoHook(settings=emu_settings("reqmgr2")) as hook:
        assert hook.send(ApiRequest("GET", "data/request", params=(("name", "x"),))).json() == {"result": []}
        transport = hook.transport
        hook.send(ApiRequest("GET", "data/info"))
        assert hook.transport is transport  # one keep-alive session per hook


def test_test_connection_success_and_failures(emulator: Any, emu_settings: Any) -> None:
    ok, message = InfoHook(settings=emu_settings("reqmgr2")).test_connection()
    assert ok and message == "Connection successful: ReqMgr2 2.4.5.9"
    wrong = ConnectionSettings(
        emulator.conn["reqmgr2_url"], ca_cert=emulator.conn["ca_cert"], token="wrong-token"
    )
    ok, message = InfoHook(settings=wrong).test_connection()
    assert not ok and "read ReqMgr2 info failed: HTTP 401" in message and "wrong-token" not in message


def test_settings_from_airflow_connection(emulator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    airflow_conn(emulator, "r2_emulator", monkeypatch, max_retries="3", gzip="false")
    hook = InfoHook("r2_emulator")
    settings = hook.get_settings()
    assert settings.base_url == emulator.conn["reqmgr2_url"]
    assert (settings.max_retries, settings.gzip, settings.verify) == (3, False, True)
    assert hook.get_settings() is settings  # read once
    assert hook.send(ApiRequest("GET", "data/info")).status == 200


def test_default_connection_id_and_bad_connection(emulator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    assert InfoHook().conn_id == "reqmgr2_default"
    airflow_conn(emulator, "r2_broken", monkeypatch, connect_timeout="soon")
    ok, message = InfoHook("r2_broken").test_connection()
    assert not ok
    assert (
        message
        == "Connection settings invalid: connection 'r2_broken': connect_timeout must be a number, got 'soon'"
    )


async def test_async_path_uses_async_connection_lookup(
    emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    airflow_conn(emulator, "r2_async", monkeypatch)
    hook = InfoHook("r2_async")
    response = await hook.asend(ApiRequest("GET", "data/info"))
    assert response.json()["result"][0]["wmcore_reqmgr_version"]
    other = InfoHook("r2_async")
    assert await other.atransport() is await hook.atransport()  # triggers share one pool per loop
    await (await hook.atransport()).aclose()


async def test_async_errors_are_typed(emulator: Any) -> None:
    wrong = ConnectionSettings(
        emulator.conn["reqmgr2_url"], ca_cert=emulator.conn["ca_cert"], token="nope-token"
    )
    with pytest.raises(AuthenticationError):
        await InfoHook(settings=wrong).asend(ApiRequest("GET", "data/info"))
