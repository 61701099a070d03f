"""Test PKI for the real-server stack: a CA, a loopback server certificate, client identities.

The real ReqMgr2 server sits behind a TLS front-end that authenticates clients by certificate, the
way cmsweb does. This module makes the throw-away certificates for that front-end. It mirrors the
emulator's identity idea (an operator holding every ReqMgr2 role, a requestor holding only the
ppd-level one) so the same scenario can run against either target with the same login names.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# (role, group) pairs, CRIC style, as the front-end turns them into cms-authz-<role> headers.
# The configuration written by real_server.py maps permission levels onto these names the way
# production cmsweb does: admin = {admin, developer, web-service} x {reqmgr, facops};
# ops adds production-operator x dataops; ppd adds data-manager x reqmgr.
OPERATOR_ROLES: tuple[tuple[str, str], ...] = (
    ("admin", "reqmgr"),
    ("production-operator", "dataops"),
    ("data-manager", "reqmgr"),
)
REQUESTOR_ROLES: tuple[tuple[str, str], ...] = (("data-manager", "reqmgr"),)


@dataclass(frozen=True)
class ClientIdentity:
    """One client certificate the front-end maps to a login and CRIC-style roles."""

    login: str
    cn: str
    roles: tuple[tuple[str, str], ...]
    cert: Path
    key: Path
    proxy: Path

    @property
    def dn(self) -> str:
        return f"/DC=ch/DC=cern/OU=Organic Units/OU=Users/CN={self.cn}"


@dataclass(frozen=True)
class Pki:
    ca_cert: Path
    ca_dir: Path  # OpenSSL hashed directory (X509_CERT_DIR for the WMCore clients)
    server_cert: Path
    server_key: Path
    identities: dict[str, ClientIdentity]
    hmac_key: Path


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _write_key(path: Path, key: rsa.RSAPrivateKey) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)


def _cern_subject(cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.DOMAIN_COMPONENT, "ch"),
            x509.NameAttribute(NameOID.DOMAIN_COMPONENT, "cern"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Organic Units"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Users"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def _sign(
    subject: x509.Name,
    key: rsa.RSAPrivateKey,
    issuer: x509.Name,
    issuer_key: rsa.RSAPrivateKey,
    *,
    ca: bool = False,
    server: bool = False,
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        ).add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    elif server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        ).add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    else:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
        )
    return builder.sign(issuer_key, hashes.SHA256())


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def make_pki(directory: Path) -> Pki:
    """Create every file under ``directory`` (fresh each session: certificates are cheap)."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_key = _key()
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Conformance Test CA")])
    ca = _sign(ca_name, ca_key, ca_name, ca_key, ca=True)
    ca_cert = directory / "ca.pem"
    ca_cert.write_bytes(_pem(ca))
    ca_dir = directory / "ca-dir"
    ca_dir.mkdir(exist_ok=True)
    (ca_dir / "ca.pem").write_bytes(_pem(ca))
    subprocess.run(["openssl", "rehash", str(ca_dir)], check=True, capture_output=True)

    srv_key = _key()
    srv = _sign(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]),
        srv_key,
        ca_name,
        ca_key,
        server=True,
    )
    server_cert, server_key = directory / "server.pem", directory / "server.key"
    server_cert.write_bytes(_pem(srv))
    _write_key(server_key, srv_key)

    identities: dict[str, ClientIdentity] = {}
    for login, roles in (("operator", OPERATOR_ROLES), ("requestor", REQUESTOR_ROLES)):
        key = _key()
        cert = _sign(_cern_subject(login), key, ca_name, ca_key)
        cert_path, key_path, proxy_path = (
            directory / f"{login}.pem",
            directory / f"{login}.key",
            directory / f"{login}-proxy.pem",
        )
        cert_path.write_bytes(_pem(cert))
        _write_key(key_path, key)
        proxy_path.write_bytes(_pem(cert) + key_path.read_bytes())
        proxy_path.chmod(0o600)
        identities[login] = ClientIdentity(login, login, roles, cert_path, key_path, proxy_path)

    hmac_key = directory / "header-auth-key"
    hmac_key.write_bytes(os.urandom(20))
    hmac_key.chmod(0o600)
    return Pki(ca_cert, ca_dir, server_cert, server_key, identities, hmac_key)
