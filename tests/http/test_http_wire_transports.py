"""Both transports over real HTTPS against the emulator: auth, TLS, gzip, retries, no duplicate writes.

``SyncTransport`` (requests) and ``AsyncTransport`` (httpx) share every protocol decision and must
behave the same on the wire, so each test here runs once per transport (``wire`` fixture, ids
``sync``/``async``). What only one of them has (the per-loop shared pool) is in
test_http_wire_async.py.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_poms.http.aio import AsyncTransport
from airflow_provider_poms.http.dialects import PomsDialect, ReqMgr2Dialect
from airflow_provider_poms.http.errors import (
    AuthenticationError,
    BadRequest,
    InvalidResponse,
    RequestTimeout,
    ResponseTooLarge,
    ServerError,
    TLSError,
    TransportError,
    TruncatedResponse,
)
from airflow_provider_poms.http.protocol import ApiRequest, ApiResponse, Dialect
from airflow_provider_poms.http.settings import ConnectionSettings
from airflow_provider_poms.http.sync import SyncTransport

INFO = ApiRequest("GET", "data/info", operation="reqmgr2 info")
CAMPAIGNS = ApiRequest(
    "POST",
    "show_campaigns",
    form=(("experiment", "samdev"), ("role", "production"), ("fmt", "json")),
    operation="show campaigns",
)
CREATE = ApiRequest(
    "POST", "data/request", json={"RequestType": "StepChain"}, idempotent=False, operation="create request"
)

Settings = Callable[..., ConnectionSettings]


class Opened:
    """One open transport behind a blocking ``send``; the async one runs on its own event loop."""

    def __init__(self, kind: str, settings: ConnectionSettings, dialect: Dialect) -> None:
        self._sync = SyncTransport(settings, dialect) if kind == "sync" else None
        self._async = AsyncTransport(settings, dialect) if kind == "async" else None
        self._loop = asyncio.new_event_loop() if kind == "async" else None

    def send(self, request: ApiRequest) -> ApiResponse:
        if self._sync is not None:
            return self._sync.send(request)
        assert self._loop is not None and self._async is not None
        return self._loop.run_until_complete(self._async.send(request))

    def __enter__(self) -> Opened:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._sync is not None:
            self._sync.close()
        if self._loop is not None and self._async is not None:
            self._loop.run_until_complete(self._async.aclose())
            self._loop.close()


class Wire:
    """``wire(settings, dialect=ReqMgr2Dialect())`` opens the transport under test."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        #: where the transport logs its retries
        self.logger = f"airflow_provider_poms.http.{'sync' if kind == 'sync' else 'aio'}"

    def __call__(self, settings: ConnectionSettings, dialect: Dialect | None = None) -> Opened:
        return Opened(self.kind, settings, dialect or ReqMgr2Dialect())


@pytest.fixture(params=["sync", "async"])
def wire(request: pytest.FixtureRequest) -> Wire:
    return Wire(request.param)


@pytest.mark.parametrize("auth", ["cert", "proxy", "token"])
def test_every_auth_kind_identifies_the_caller(
    wire: Wire, auth: str, emu_settings: Settings, log_since: Any
) -> None:
    with wire(emu_settings("reqmgr2", "requestor", auth)) as t:
        assert t.send(INFO).json()["result"][0]["wmcore_reqmgr_version"]
    with wire(emu_settings("poms", "operator", auth), PomsDialect()) as t:
        assert t.send(CAMPAIGNS).json()["experiment"] == "samdev"
    logins = [(e["path"], e["login"]) for e in log_since()]
    assert logins == [("/reqmgr2/data/info", "requestor"), ("/poms/show_campaigns", "operator")]


def test_token_file_rotation_is_picked_up(
    wire: Wire, emulator: Any, emu_settings: Settings, tmp_path: Path, log_since: Any
) -> None:
    idents = emulator.conn["identities"]
    token = tmp_path / "bt_u1000"
    shutil.copy(idents["operator"]["token"], token)
    token.chmod(0o600)
    settings = emu_settings("reqmgr2", auth="token").with_changes(token_file=str(token))
    with wire(settings) as t:
        t.send(INFO)
        new = Path(idents["requestor"]["token"]).read_text()
        token.write_text(new)
        st = token.stat()
        os.utime(token, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
        t.send(INFO)
    assert [e["login"] for e in log_since()] == ["operator", "requestor"]


@pytest.mark.parametrize(("service", "dialect"), [("reqmgr2", ReqMgr2Dialect()), ("poms", PomsDialect())])
def test_wrong_token_is_an_authentication_error(
    wire: Wire, service: str, dialect: Any, emulator: Any
) -> None:
    settings = ConnectionSettings(
        emulator.conn[f"{service}_url"],
        ca_cert=emulator.conn["ca_cert"],
        token="not-a-token-the-emulator-issued",
        backoff=0.01,
    )
    request = INFO if service == "reqmgr2" else CAMPAIGNS
    with wire(settings, dialect) as t, pytest.raises(AuthenticationError) as info:
        t.send(request)
    assert info.value.status == 401
    assert "not-a-token" not in str(info.value)


def test_tls_verification_is_on_by_default(wire: Wire, emulator: Any) -> None:
    """No ca_cert: the system CAs do not know the emulator's CA, so the call must fail."""
    settings = ConnectionSettings(
        emulator.conn["reqmgr2_url"],
        client_cert=emulator.conn["client_cert"],
        client_key=emulator.conn["client_key"],
        backoff=0.01,
    )
    assert settings.verify is True
    with wire(settings) as t, pytest.raises(TLSError, match="not trusted") as info:
        t.send(INFO)
    assert "system/certifi CAs" in str(info.value) and not info.value.maybe_sent


def test_wrong_ca_fails_fast_with_a_clear_error(
    wire: Wire, other_ca: Path, emu_settings: Settings, log_since: Any
) -> None:
    settings = emu_settings("reqmgr2", ca_cert=str(other_ca), backoff=1.0)
    started = time.monotonic()
    with wire(settings) as t, pytest.raises(TLSError) as info:
        t.send(INFO)
    assert time.monotonic() - started < 5, "a TLS failure must not be retried"
    text = str(info.value)
    assert "certificate of 127.0.0.1" in text and "not trusted" in text and str(other_ca) in text
    assert "set ca_cert" in text
    assert log_since() == []  # never reached HTTP


def test_hashed_ca_directory(wire: Wire, hashed_ca_dir: Path, emu_settings: Settings) -> None:
    with wire(emu_settings("reqmgr2", ca_cert=str(hashed_ca_dir))) as t:
        assert t.send(INFO).status == 200


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_verify_false_works_and_warns_every_call(
    wire: Wire, emu_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    settings = emu_settings("reqmgr2").with_changes(ca_cert=None, verify=False)
    with wire(settings) as t, caplog.at_level(logging.WARNING, logger="airflow_provider_poms.http.auth"):
        t.send(INFO)
        t.send(INFO)
    warnings = [r for r in caplog.records if "verification is OFF" in r.getMessage()]
    assert len(warnings) == 2


@pytest.mark.parametrize("gzip", [True, False])
def test_gzip_on_and_off(wire: Wire, gzip: bool, emu_settings: Settings) -> None:
    with wire(emu_settings("reqmgr2", gzip=gzip)) as t:
        response = t.send(ApiRequest("GET", "data/request", params=(("name", "no-such-request"),)))
    assert response.json() == {"result": []}
    assert response.headers.get("Content-Encoding") == ("gzip" if gzip else None)


def test_response_cap_over_the_wire(wire: Wire, emu_settings: Settings) -> None:
    transport = wire(emu_settings("poms", max_response_bytes=1024), PomsDialect())
    with transport as t, pytest.raises(ResponseTooLarge, match="limit") as info:
        t.send(CAMPAIGNS)
    assert str(info.value).startswith("show campaigns failed: response body exceeds the 1024 bytes limit")


@pytest.mark.parametrize(
    "fault",
    [
        {"kind": "http", "status": 503},
        {"kind": "http", "status": 502},
        {"kind": "http", "status": 504},
        {"kind": "http", "status": 500},
        {"kind": "reset_before"},
        {"kind": "reset_after"},
        {"kind": "truncated_gzip"},
        {"kind": "invalid_json"},
    ],
)
def test_reads_are_retried(
    wire: Wire, fault: dict[str, Any], emulator: Any, emu_settings: Settings, log_since: Any
) -> None:
    emulator.control.add_fault(path="/reqmgr2/data/info", count=2, **fault)
    with wire(emu_settings("reqmgr2")) as t:
        assert t.send(INFO).json()["result"]
    seen = [(e["fault"] is not None) for e in log_since("/reqmgr2/data/info")]
    assert seen == [True, True, False]


def test_retry_after_is_honoured(wire: Wire, emulator: Any, emu_settings: Settings, log_since: Any) -> None:
    emulator.control.add_fault("http", path="/reqmgr2/data/info", status=429, retry_after=1, count=1)
    started = time.monotonic()
    with wire(emu_settings("reqmgr2")) as t:
        t.send(INFO)
    assert time.monotonic() - started >= 1.0
    entries = log_since("/reqmgr2/data/info")
    assert [e["fault"] for e in entries] == ["http_429", None]
    assert entries[1]["time"] - entries[0]["time"] >= 1.0


def test_retries_give_up_with_a_readable_error(
    wire: Wire, emulator: Any, emu_settings: Settings, log_since: Any
) -> None:
    emulator.control.add_fault("http", path="/reqmgr2/data/info", status=503)
    with wire(emu_settings("reqmgr2", max_retries=2)) as t, pytest.raises(ServerError) as info:
        t.send(INFO)
    assert len(log_since("/reqmgr2/data/info")) == 3
    assert str(info.value).startswith(
        "reqmgr2 info failed: HTTP 503: 503 Service Unavailable (after 2 retries)"
    )


@pytest.mark.parametrize(
    ("kind", "error"),
    [
        ("reset_after", TransportError),
        ("reset_before", TransportError),
        ("truncated_gzip", TruncatedResponse),
        ("invalid_json", InvalidResponse),
    ],
)
@pytest.mark.parametrize("warm", [False, True], ids=["new-connection", "kept-alive-connection"])
def test_non_idempotent_write_is_never_resent(
    wire: Wire,
    warm: bool,
    kind: str,
    error: type[Exception],
    emulator: Any,
    emu_settings: Settings,
    log_since: Any,
) -> None:
    emulator.control.add_fault(kind, path="/reqmgr2/data/request", method="POST", count=1)
    with wire(emu_settings("reqmgr2")) as t, pytest.raises(error) as info:
        if warm:  # the POST goes over a pooled connection, as in a hook making several calls
            t.send(INFO)
        t.send(CREATE)
    assert info.value.maybe_sent is True  # type: ignore[attr-defined]
    writes = log_since("/reqmgr2/data/request", writes_only=True)
    assert len(writes) == 1 and writes[0]["fault"] == kind
    assert "create request failed" in str(info.value)


@pytest.mark.parametrize("status", [503, 504])
def test_error_answer_to_a_write_is_not_retried(
    wire: Wire, status: int, emulator: Any, emu_settings: Settings, log_since: Any
) -> None:
    """503 says the backend refused (nothing committed); a gateway's 504 says nothing: maybe sent."""
    emulator.control.add_fault("http", path="/reqmgr2/data/request", method="POST", status=status, count=1)
    with wire(emu_settings("reqmgr2")) as t, pytest.raises(ServerError) as info:
        t.send(CREATE)
    assert info.value.maybe_sent is (status == 504) and info.value.status == status
    assert len(log_since("/reqmgr2/data/request", writes_only=True)) == 1


def test_timeouts(wire: Wire, emulator: Any, emu_settings: Settings, log_since: Any) -> None:
    emulator.control.add_fault("delay", path="/reqmgr2/data/info", seconds=1.5, count=1)
    with wire(emu_settings("reqmgr2", read_timeout=0.5)) as t:
        assert t.send(INFO).status == 200  # the second attempt is not delayed
    emulator.control.add_fault("delay", path="/reqmgr2/data/request", method="POST", seconds=1.5, count=1)
    with wire(emu_settings("reqmgr2", read_timeout=0.5)) as t, pytest.raises(RequestTimeout) as info:
        t.send(CREATE)
    assert info.value.maybe_sent and "read_timeout" in str(info.value)
    assert len(log_since("/reqmgr2/data/request", writes_only=True)) == 1


def test_connect_failure_retries_even_writes(
    wire: Wire, emu_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = emu_settings("reqmgr2", max_retries=2).with_changes(
        base_url=f"https://127.0.0.1:{port}/reqmgr2"
    )
    with (
        wire(settings) as t,
        caplog.at_level(logging.INFO, logger=wire.logger),
        pytest.raises(TransportError, match="could not connect") as info,
    ):
        t.send(CREATE)
    assert not info.value.maybe_sent and "after 2 retries" in str(info.value)
    assert len([r for r in caplog.records if "retry" in r.getMessage()]) == 2


def test_keep_alive_one_connection_for_many_calls(
    wire: Wire, emu_settings: Settings, count_connects: Any
) -> None:
    with wire(emu_settings("reqmgr2")) as t:
        for _ in range(20):
            t.send(INFO)
        # an error answer is read to the end, so the connection stays reusable
        with pytest.raises(BadRequest):
            t.send(ApiRequest("PUT", "data/request/no-such-request", json={"RequestPriority": 1}))
        t.send(INFO)
    assert count_connects.count == 1
    with wire(emu_settings("reqmgr2")) as other:  # the counter is live: a new pool connects once more
        other.send(INFO)
    assert count_connects.count == 2


def test_debug_log_has_no_secrets(
    wire: Wire, emulator: Any, emu_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    settings = emu_settings("reqmgr2", auth="token")
    token = Path(settings.token_file or "").read_text().strip()
    with wire(settings) as t, caplog.at_level(logging.DEBUG):
        t.send(INFO)
    lines = [r.getMessage() for r in caplog.records]
    assert any("GET https://127.0.0.1" in line and "-> 200" in line for line in lines)
    assert all(token not in line and "Authorization" not in line for line in lines)


def test_poms_303_is_an_answer_and_never_followed(wire: Wire, emu_settings: Settings, log_since: Any) -> None:
    form = (("experiment", "samdev"), ("role", "production"))
    with wire(emu_settings("poms"), PomsDialect()) as t:
        stage = t.send(
            ApiRequest(
                "POST",
                "get_campaign_stage_id",
                form=(*form, ("campaign_name", "demo_campaign"), ("campaign_stage_name", "stage1")),
            )
        ).json()
        launch = ApiRequest(
            "POST", "launch_jobs", form=(*form, ("campaign_stage_id", str(stage))), idempotent=False
        )
        response = t.send(launch)
    assert response.status == 303
    assert "/poms/list_launch_file/" in response.headers["Location"]
    assert [e["path"] for e in log_since()] == ["/poms/get_campaign_stage_id", "/poms/launch_jobs"]
