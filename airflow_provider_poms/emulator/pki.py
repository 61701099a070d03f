"""Test PKI under the state directory: CA, server certificate, client identities and tokens.

Created on first start and reused afterwards (so certificates already handed to Airflow
connections stay valid across restarts). Identity -> roles lives in ``identities.json``.
Keys, proxies and tokens are written with mode 0600 and never logged.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from airflow_provider_poms.emulator.core import Identity

#: The built-in identities: login -> (ReqMgr2 (role, group) pairs, POMS experiment -> role).
DEFAULT_IDENTITIES: dict[str, tuple[tuple[tuple[str, str], ...], dict[str, str]]] = {
    "operator": (
        (("admin", "reqmgr"), ("production-operator", "dataops"), ("data-manager", "reqmgr")),
        {"samdev": "production", "dune": "production"},
    ),
    "requestor": ((("data-manager", "reqmgr"),), {"samdev": "analysis", "dune": "analysis"}),
    "outsider": ((), {}),
}


def dn_for(login: str) -> str:
    """Slash-form subject, as Apache/cmsweb show it; POMS maps the ``CN=UID:<user>`` part."""
    return f"/DC=org/DC=emulator/OU=Users/CN={login}/CN=UID:{login}"


_SHORT = {
    "domainComponent": "DC", "organizationalUnitName": "OU", "commonName": "CN", "organizationName": "O",
    "countryName": "C", "localityName": "L", "stateOrProvinceName": "ST", "emailAddress": "emailAddress",
}


def subject_to_dn(subject: Any) -> str:
    """Turn ``ssl.SSLSocket.getpeercert()["subject"]`` into the slash form of ``dn_for``."""
    parts = []
    for rdn in subject:
        for name, value in rdn:
            parts.append(f"{_SHORT.get(name, name)}={value}")
    return "/" + "/".join(parts)


@dataclass(frozen=True)
class IdentityFiles:
    """Paths of one identity's credentials."""

    client_cert: Path
    client_key: Path
    proxy: Path
    token: Path


@dataclass(frozen=True)
class Pki:
    """What the server needs: CA, its own certificate, identities and their files."""

    ca_cert: Path
    server_cert: Path
    server_key: Path
    identities: dict[str, Identity]
    files: dict[str, IdentityFiles]

    def token_map(self) -> dict[str, str]:
        """sha256(token) -> login, read from the token files (re-read on each start)."""
        out = {}
        for login, f in self.files.items():
            token = f.token.read_text().strip()
            out[hashlib.sha256(token.encode()).hexdigest()] = login
        return out


def _write(path: Path, data: bytes, secret: bool = False) -> None:
    """Atomic write; secrets are created 0600 from the start (no window with wider mode)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if secret else 0o644)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _name(login: str) -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.DOMAIN_COMPONENT, "org"),
        x509.NameAttribute(NameOID.DOMAIN_COMPONENT, "emulator"),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Users"),
        x509.NameAttribute(NameOID.COMMON_NAME, login),
        x509.NameAttribute(NameOID.COMMON_NAME, f"UID:{login}"),
    ])


def _issue(subject: x509.Name, key: ec.EllipticCurvePrivateKey, issuer: x509.Name,
           issuer_key: ec.EllipticCurvePrivateKey, *, ca: bool = False,
           san: list[x509.GeneralName] | None = None, usage: Any = None) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    b = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(key.public_key())
         .serial_number(x509.random_serial_number())
         .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=3650))
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
         .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
         .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
                        critical=False))
    if ca:
        b = b.add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False),
                            critical=True)
    else:
        b = b.add_extension(x509.KeyUsage(True, False, True, False, False, False, False, False, False),
                            critical=True)
    if usage is not None:
        b = b.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    if san:
        b = b.add_extension(x509.SubjectAlternativeName(san), critical=False)
    return b.sign(issuer_key, hashes.SHA256())


def ensure_pki(state_dir: Path) -> Pki:
    """Create what is missing under ``state_dir`` and return the paths and identities."""
    state_dir = Path(state_dir)
    pdir = state_dir / "pki"
    ca_cert, ca_key_path = pdir / "ca.pem", pdir / "ca-key.pem"
    if ca_cert.exists() and ca_key_path.exists():
        ca_key = serialization.load_pem_private_key(ca_key_path.read_bytes(), None)
        assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
        ca_name = x509.load_pem_x509_certificate(ca_cert.read_bytes()).subject
    else:
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "airflow-provider-poms emulator"),
                             x509.NameAttribute(NameOID.COMMON_NAME, "Emulator Test CA")])
        cert = _issue(ca_name, ca_key, ca_name, ca_key, ca=True)
        _write(ca_key_path, _key_pem(ca_key), secret=True)
        _write(ca_cert, cert.public_bytes(serialization.Encoding.PEM))

    server_cert, server_key = pdir / "server.pem", pdir / "server-key.pem"
    if not (server_cert.exists() and server_key.exists()):
        key = ec.generate_private_key(ec.SECP256R1())
        san: list[x509.GeneralName] = [x509.DNSName("localhost"),
                                       x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                       x509.IPAddress(ipaddress.ip_address("::1"))]
        cert = _issue(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]), key, ca_name,
                      ca_key, san=san, usage=ExtendedKeyUsageOID.SERVER_AUTH)
        _write(server_key, _key_pem(key), secret=True)
        _write(server_cert, cert.public_bytes(serialization.Encoding.PEM))

    id_path = state_dir / "identities.json"
    stored: dict[str, Any] = json.loads(id_path.read_text()) if id_path.exists() else {}
    identities: dict[str, Identity] = {}
    files: dict[str, IdentityFiles] = {}
    for login, (roles, exps) in DEFAULT_IDENTITIES.items():
        ident = Identity.from_json(stored[login]) if login in stored else Identity(
            login=login, dn=dn_for(login), name=login.capitalize(), reqmgr2_roles=roles,
            poms_experiments=dict(exps))
        identities[login] = ident
        files[login] = _ensure_identity_files(state_dir / "identities" / login, login, ca_name, ca_key)
    if stored.keys() != identities.keys():
        _write(id_path, json.dumps({k: v.to_json() for k, v in identities.items()}, indent=2).encode())
    return Pki(ca_cert, server_cert, server_key, identities, files)


def _ensure_identity_files(d: Path, login: str, ca_name: x509.Name,
                           ca_key: ec.EllipticCurvePrivateKey) -> IdentityFiles:
    f = IdentityFiles(d / "usercert.pem", d / "userkey.pem", d / "proxy.pem", d / "token")
    if not (f.client_cert.exists() and f.client_key.exists() and f.proxy.exists()):
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _issue(_name(login), key, ca_name, ca_key, usage=ExtendedKeyUsageOID.CLIENT_AUTH)
        cert_pem = cert.public_bytes(serialization.Encoding.PEM)
        _write(f.client_cert, cert_pem)
        _write(f.client_key, _key_pem(key), secret=True)
        _write(f.proxy, cert_pem + _key_pem(key), secret=True)
    if not f.token.exists():
        _write(f.token, (secrets.token_urlsafe(32) + "\n").encode(), secret=True)
    return f
