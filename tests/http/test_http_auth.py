"""Credentials: token files that rotate, permission warnings, precise errors, masking."""

from __future__ import annotations

import logging
import os
import ssl
from collections.abc import Callable
from pathlib import Path

import pytest

from airflow_provider_poms.http.auth import Credentials, amask_secrets, mask_secrets
from airflow_provider_poms.http.errors import ConfigurationError
from airflow_provider_poms.http.settings import ConnectionSettings


def write_token(path: Path, value: str, mode: int = 0o600) -> None:
    path.write_text(value + "\n")
    path.chmod(mode)
    st = path.stat()
    # make sure the change is visible even on filesystems with coarse mtimes
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))


def test_token_file_reread_when_it_changes(tmp_path: Path) -> None:
    token = tmp_path / "bt_u1000"
    write_token(token, "first-token")
    creds = Credentials(ConnectionSettings("https://h/poms", token_file=str(token)))
    assert creds.auth_headers() == {"Authorization": "Bearer first-token"}
    assert creds.auth_headers() == {"Authorization": "Bearer first-token"}
    write_token(token, "second-token")
    assert creds.auth_headers() == {"Authorization": "Bearer second-token"}
    assert creds.take_new_secrets() == ["first-token", "second-token"]
    assert creds.take_new_secrets() == []


def test_literal_token_and_no_token() -> None:
    creds = Credentials(ConnectionSettings("https://h/poms", token="lit"))
    assert creds.auth_headers() == {"Authorization": "Bearer lit"}
    assert creds.take_new_secrets() == ["lit"]
    assert Credentials(ConnectionSettings("https://h/poms")).auth_headers() == {}


def test_group_readable_token_file_warns(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    token = tmp_path / "token"
    write_token(token, "value-1", mode=0o640)
    with caplog.at_level(logging.WARNING, logger="airflow_provider_poms.http.auth"):
        Credentials(ConnectionSettings("https://h/poms", token_file=str(token)))
    assert any("readable by group/others" in r.getMessage() for r in caplog.records)
    assert all("value-1" not in r.getMessage() for r in caplog.records)
    caplog.clear()
    write_token(token, "value-2", mode=0o600)
    with caplog.at_level(logging.WARNING, logger="airflow_provider_poms.http.auth"):
        Credentials(ConnectionSettings("https://h/poms", token_file=str(token))).auth_headers()
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_token_file_problems_name_field_and_path_not_content(tmp_path: Path) -> None:
    token = tmp_path / "token"
    write_token(token, "secret-value")
    creds = Credentials(ConnectionSettings("https://h/poms", token_file=str(token)))
    token.unlink()
    with pytest.raises(ConfigurationError, match=f"token_file: file not found: {token}"):
        creds.auth_headers()
    token.write_text("   \n")
    with pytest.raises(ConfigurationError, match="token_file: file is empty"):
        Credentials(ConnectionSettings("https://h/poms", token_file=str(token)))
    token.write_text("two secret-tokens\n")
    with pytest.raises(ConfigurationError, match="more than one token") as info:
        Credentials(ConnectionSettings("https://h/poms", token_file=str(token)))
    assert "secret-tokens" not in str(info.value)


def test_bad_pem_is_a_configuration_error(
    tmp_path: Path, pem_pair: tuple[str, str], make_ca: Callable[..., tuple[Path, Path]]
) -> None:
    junk = tmp_path / "proxy.pem"
    junk.write_text("-----BEGIN CERTIFICATE-----\nNOTBASE64SECRET\n-----END CERTIFICATE-----\n")
    with pytest.raises(ConfigurationError, match="proxy/proxy: not a usable PEM") as info:
        Credentials(ConnectionSettings("https://h/poms", proxy=str(junk)))
    assert "NOTBASE64SECRET" not in str(info.value)
    cert, _ = pem_pair
    other_key = tmp_path / "other.key"
    _, key2 = make_ca(tmp_path / "x")
    other_key.write_bytes(key2.read_bytes())
    with pytest.raises(ConfigurationError, match="client_cert/client_key"):
        Credentials(ConnectionSettings("https://h/poms", client_cert=cert, client_key=str(other_key)))


def test_cert_pair_for_cert_and_proxy(pem_pair: tuple[str, str], tmp_path: Path) -> None:
    cert, key = pem_pair
    assert Credentials(ConnectionSettings("https://h/x", client_cert=cert, client_key=key)).cert_pair == (
        cert,
        key,
    )
    proxy = tmp_path / "proxy.pem"
    proxy.write_bytes(Path(cert).read_bytes() + Path(key).read_bytes())
    assert Credentials(ConnectionSettings("https://h/x", proxy=str(proxy))).cert_pair == (
        str(proxy),
        str(proxy),
    )


def test_verification_on_by_default_off_warns_every_call(caplog: pytest.LogCaptureFixture) -> None:
    on = Credentials(ConnectionSettings("https://h/x"))
    assert on.requests_verify() is True
    ctx = on.ssl_context()
    assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname
    off = Credentials(ConnectionSettings("https://h/x", verify=False))
    assert off.requests_verify() is False and off.ssl_context().verify_mode == ssl.CERT_NONE
    with caplog.at_level(logging.WARNING, logger="airflow_provider_poms.http.auth"):
        off.warn_if_unverified()
        off.warn_if_unverified()
        on.warn_if_unverified()
    assert [r.getMessage().startswith("TLS server verification is OFF") for r in caplog.records] == [
        True,
        True,
    ]


def test_ca_file_and_hashed_directory(pem_pair: tuple[str, str], tmp_path: Path) -> None:
    cert, _ = pem_pair
    assert Credentials(ConnectionSettings("https://h/x", ca_cert=cert)).requests_verify() == cert
    ctx = Credentials(ConnectionSettings("https://h/x", ca_cert=cert)).ssl_context()
    assert ctx.cert_store_stats()["x509_ca"] == 1
    ctx = Credentials(ConnectionSettings("https://h/x", ca_cert=str(tmp_path))).ssl_context()
    assert ctx.verify_mode == ssl.CERT_REQUIRED  # capath is consulted lazily during the handshake


def test_masking_registers_with_airflow() -> None:
    import airflow.sdk  # noqa: F401  (inside Airflow the SDK is loaded)
    from airflow.sdk.log import redact

    mask_secrets(["token-from-file-abc123"])
    assert redact("Authorization: Bearer token-from-file-abc123") == "Authorization: Bearer ***"


async def test_async_masking_registers_with_airflow() -> None:
    import airflow.sdk  # noqa: F401
    from airflow.sdk.log import redact

    await amask_secrets(["async-token-xyz789"])
    assert "async-token-xyz789" not in str(redact("t=async-token-xyz789"))
