"""Fixtures for the HTTP core tests: throwaway PKI files and emulator settings."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_ca(directory: Path, cn: str = "Throwaway Test CA") -> tuple[Path, Path]:
    """A self-signed CA (certificate and key PEM) that nobody else trusts."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(_name(cn))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = directory / "ca.pem", directory / "ca.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    key_path.chmod(0o600)
    return cert_path, key_path


@pytest.fixture(name="make_ca")
def make_ca_fixture() -> Callable[..., tuple[Path, Path]]:
    """``make_ca(directory, cn=...)`` -> (certificate path, key path)."""
    return make_ca


@pytest.fixture
def other_ca(tmp_path: Path) -> Path:
    """A CA certificate that did not sign the emulator's server certificate."""
    return make_ca(tmp_path / "other-ca")[0]


@pytest.fixture
def pem_pair(tmp_path: Path) -> tuple[str, str]:
    """A valid certificate + key pair (self-signed) for settings that need real files."""
    cert, key = make_ca(tmp_path / "pair", "client")
    return str(cert), str(key)


@pytest.fixture
def emu_settings(emulator: Any) -> Callable[..., Any]:
    """``emu_settings(service, identity="operator", auth="cert", **overrides)`` with fast retries."""

    def build(service: str, identity: str = "operator", auth: str = "cert", **overrides: Any) -> Any:
        overrides.setdefault("backoff", 0.01)
        overrides.setdefault("read_timeout", 20.0)
        return emulator.settings(service, identity, auth, **overrides)

    return build


@pytest.fixture
def log_since(emulator: Any) -> Callable[..., list[dict[str, Any]]]:
    """``log_since(path_prefix=None)``: request-log entries after the fixture was created."""
    start = emulator.control.log_index()

    def entries(path_prefix: str | None = None, writes_only: bool = False) -> list[dict[str, Any]]:
        return emulator.control.request_log(since=start, path_prefix=path_prefix, writes_only=writes_only)

    return entries


class ConnectCounter:
    """Counts TCP connects to one port, whatever library opens them (requests or httpx/asyncio)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.count = 0


@pytest.fixture
def count_connects(emulator: Any, monkeypatch: pytest.MonkeyPatch) -> ConnectCounter:
    import socket

    counter = ConnectCounter(int(emulator.port))
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def connect(self: socket.socket, address: Any) -> Any:
        if isinstance(address, tuple) and len(address) >= 2 and address[1] == counter.port:
            counter.count += 1
        return real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> Any:
        if isinstance(address, tuple) and len(address) >= 2 and address[1] == counter.port:
            counter.count += 1
        return real_connect_ex(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    return counter


@pytest.fixture
def hashed_ca_dir(emulator: Any, tmp_path: Path) -> Path:
    """An X509_CERT_DIR-style directory holding the emulator CA as ``<subject hash>.0`` (c_rehash naming)."""
    import shutil
    import subprocess

    ca_pem = emulator.conn["ca_cert"]
    directory = tmp_path / "certificates"
    openssl = shutil.which("openssl")
    assert openssl, "the hashed-directory test needs the openssl command (c_rehash naming)"
    digest = subprocess.run(
        [openssl, "x509", "-hash", "-noout", "-in", ca_pem], check=True, capture_output=True, text=True
    ).stdout.strip()
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copy(ca_pem, directory / f"{digest}.0")
    return directory
