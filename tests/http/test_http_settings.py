"""ConnectionSettings: parsing Airflow connections, validation before I/O, no secrets in repr."""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from airflow_provider_poms.get_provider_info import get_provider_info
from airflow_provider_poms.http.errors import ConfigurationError
from airflow_provider_poms.http.settings import ConnectionSettings

TOKEN = "eyJhbGciOiJSUzI1NiJ9.secret-token-value"


def conn(host: str = "https://cmsweb.cern.ch:8443/reqmgr2", password: str | None = None, **extra: Any) -> Any:
    return SimpleNamespace(
        conn_id="reqmgr2_default", host=host, port=None, schema=None, password=password, extra_dejson=extra
    )


def test_extras_are_named_as_in_provider_info() -> None:
    info = get_provider_info()
    declared = set()
    for ct in info["connection-types"]:
        declared |= set(ct["conn-fields"])
    from airflow_provider_poms.http import settings

    assert declared == set(settings._EXTRA_KEYS)


def test_from_connection_parses_strings_and_units(pem_pair: tuple[str, str], tmp_path: Path) -> None:
    cert, key = pem_pair
    s = ConnectionSettings.from_connection(
        conn(
            "https://pomsgpvm01.fnal.gov:8443/poms/",
            password=TOKEN,
            client_cert=cert,
            client_key=key,
            ca_cert=str(tmp_path),
            verify="true",
            gzip="false",
            connect_timeout="3.5",
            read_timeout=30,
            max_retries="2",
            backoff="0.5",
            max_response_mb="16",
            experiment="samdev",
            role="production",
        ),
        environ={},
    )
    assert s.base_url == "https://pomsgpvm01.fnal.gov:8443/poms"
    assert s.token == TOKEN and s.client_cert == cert and s.ca_cert == str(tmp_path)
    assert s.verify is True and s.gzip is False
    assert (s.connect_timeout, s.read_timeout, s.max_retries, s.backoff) == (3.5, 30.0, 2, 0.5)
    assert s.max_response_bytes == 16 << 20
    assert (s.experiment, s.role) == ("samdev", "production")


def test_uri_form_host_port_schema() -> None:
    c = SimpleNamespace(
        conn_id="x", host="cmsweb.cern.ch", port=8443, schema="reqmgr2", password="", extra_dejson={}
    )
    assert ConnectionSettings.from_connection(c, environ={}).base_url == "https://cmsweb.cern.ch:8443/reqmgr2"


def test_real_airflow_connection_object(pem_pair: tuple[str, str]) -> None:
    from airflow.sdk import Connection

    cert, key = pem_pair
    c = Connection(
        conn_id="r2",
        conn_type="reqmgr2",
        host="https://h:8443/reqmgr2",
        password=TOKEN,
        extra=json.dumps({"client_cert": cert, "client_key": key, "verify": True, "max_retries": 1}),
    )
    s = ConnectionSettings.from_connection(c, environ={})
    assert (s.base_url, s.token, s.client_cert, s.max_retries) == ("https://h:8443/reqmgr2", TOKEN, cert, 1)


def test_env_fallbacks_only_when_connection_is_silent(tmp_path: Path, pem_pair: tuple[str, str]) -> None:
    token_file = tmp_path / "bt"
    token_file.write_text("tok\n")
    proxy = tmp_path / "x509up"
    proxy.write_text("pem")
    env = {
        "BEARER_TOKEN_FILE": str(token_file),
        "X509_USER_PROXY": str(proxy),
        "X509_CERT_DIR": str(tmp_path),
    }
    s = ConnectionSettings.from_connection(conn(), environ=env)
    assert s.token_file == str(token_file) and s.proxy is None and s.ca_cert == str(tmp_path)
    s = ConnectionSettings.from_connection(conn(), environ={"X509_USER_PROXY": str(proxy)})
    assert s.proxy == str(proxy) and s.token_file is None
    cert, key = pem_pair
    explicit = ConnectionSettings.from_connection(
        conn(client_cert=cert, client_key=key, ca_cert=cert), environ=env
    )
    assert explicit.token_file is None and explicit.proxy is None and explicit.ca_cert == cert
    with_token = ConnectionSettings.from_connection(conn(password=TOKEN), environ=env)
    assert with_token.token_file is None and with_token.proxy is None


def test_env_proxy_missing_is_reported_with_its_path() -> None:
    with pytest.raises(ConfigurationError, match=r"proxy: file not found: /nonexistent/x509up_u1"):
        ConnectionSettings.from_connection(conn(), environ={"X509_USER_PROXY": "/nonexistent/x509up_u1"})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"base_url": "cmsweb.cern.ch/reqmgr2"}, "http\\(s\\) URL"),
        ({"base_url": ""}, "empty"),
        ({"base_url": "https://user:pw@h/x"}, "must not embed credentials"),
        ({"client_cert": "CERT"}, "without client_key"),
        ({"client_key": "CERT"}, "without client_cert"),
        ({"client_cert": "CERT", "client_key": "CERT", "proxy": "CERT"}, "not both"),
        ({"token": "a", "token_file": "CERT"}, "not both"),
        (
            {"client_cert": "/no/such/cert.pem", "client_key": "CERT"},
            "client_cert: file not found: /no/such/cert.pem",
        ),
        ({"proxy": "/no/such/x509up"}, "proxy: file not found"),
        ({"token_file": "/no/such/token"}, "token_file: file not found: /no/such/token"),
        ({"ca_cert": "/no/such/ca"}, "ca_cert: file or directory not found"),
        ({"connect_timeout": 0}, "connect_timeout must be a positive"),
        ({"read_timeout": -1}, "read_timeout must be a positive"),
        ({"max_retries": 21}, "between 0 and 20"),
        ({"max_retries": 1.5}, "integer"),
        ({"backoff": -1}, "backoff"),
        ({"max_response_bytes": 10}, "max_response_bytes"),
        ({"verify": "no"}, "verify must be a boolean"),
        ({"token": "a\nb"}, "line break"),
    ],
)
def test_validation_before_any_io(kwargs: dict[str, Any], message: str, pem_pair: tuple[str, str]) -> None:
    kwargs = {k: (pem_pair[0] if v == "CERT" else v) for k, v in kwargs.items()}
    kwargs.setdefault("base_url", "https://h/reqmgr2")
    with pytest.raises(ConfigurationError, match=message):
        ConnectionSettings(**kwargs)


def test_unreadable_file_named_without_content(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        # root reads everything; check the "not a regular file" branch instead
        with pytest.raises(ConfigurationError, match=f"proxy: not a regular file: {tmp_path}"):
            ConnectionSettings("https://h/x", proxy=str(tmp_path))
        return
    secret = tmp_path / "key.pem"
    secret.write_text("-----BEGIN PRIVATE KEY-----SECRETSTUFF")
    secret.chmod(0)
    with pytest.raises(ConfigurationError, match="not readable") as info:
        ConnectionSettings("https://h/x", proxy=str(secret))
    assert "SECRETSTUFF" not in str(info.value)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"verify": "maybe"}, "verify must be true or false"),
        ({"connect_timeout": "fast"}, "connect_timeout must be a number"),
        ({"max_retries": "2.5"}, "max_retries must be an integer"),
        ({"max_response_mb": 0}, "max_response_mb must be >= 1"),
    ],
)
def test_bad_extras_name_the_connection(extra: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message) as info:
        ConnectionSettings.from_connection(conn(**extra), environ={})
    assert "reqmgr2_default" in str(info.value) or "connection" in str(info.value)


def test_missing_host() -> None:
    with pytest.raises(ConfigurationError, match="no host"):
        ConnectionSettings.from_connection(conn(host=""), environ={})


def test_repr_and_key_never_show_the_token() -> None:
    s = ConnectionSettings("https://h/poms", token=TOKEN, experiment="dune")
    for text in (repr(s), str(s), str(s.key())):
        assert TOKEN not in text
    assert "token='***'" in repr(s) and "experiment='dune'" in repr(s)
    hash(s.key())
    assert s.key() == ConnectionSettings("https://h/poms", token=TOKEN, experiment="dune").key()
    assert s.key() != ConnectionSettings("https://h/poms", token=TOKEN + "x", experiment="dune").key()
    assert s.auth_kind == "token"


def test_from_emulator_dict_and_path(tmp_path: Path, pem_pair: tuple[str, str]) -> None:
    cert, key = pem_pair
    token = tmp_path / "token"
    token.write_text("tok")
    ident = {"client_cert": cert, "client_key": key, "proxy": cert, "token": str(token)}
    data = {
        "url": "https://127.0.0.1:1",
        "poms_url": "https://127.0.0.1:1/poms",
        "reqmgr2_url": "https://127.0.0.1:1/reqmgr2",
        "ca_cert": cert,
        **ident,
        "identities": {"operator": ident, "requestor": ident},
    }
    path = tmp_path / "connection.json"
    path.write_text(json.dumps(data))
    s = ConnectionSettings.from_emulator(str(path), "reqmgr2")
    assert (s.base_url, s.client_cert, s.ca_cert) == ("https://127.0.0.1:1/reqmgr2", cert, cert)
    assert ConnectionSettings.from_emulator(data, "poms", "requestor", "proxy").proxy == cert
    t = ConnectionSettings.from_emulator(data, "poms", auth="token", backoff=0.01)
    assert t.token_file == str(token) and t.backoff == 0.01 and t.base_url.endswith("/poms")
    with pytest.raises(ConfigurationError, match="no identity 'nobody'"):
        ConnectionSettings.from_emulator(data, "poms", "nobody")
    with pytest.raises(ConfigurationError, match="unreadable"):
        ConnectionSettings.from_emulator(tmp_path / "missing.json", "poms")
