"""The test PKI: what is created, with which rights and roles, and that a restart reuses it."""

from __future__ import annotations

import ipaddress
import json
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID

from airflow_provider_poms.emulator.core import Identity
from airflow_provider_poms.emulator.pki import dn_for, ensure_pki, subject_to_dn


@pytest.fixture(scope="module")
def pki_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("pki")
    ensure_pki(d)
    return d


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def test_secrets_are_private_and_certificates_public(pki_dir: Path) -> None:
    pki = ensure_pki(pki_dir)
    for files in pki.files.values():
        for secret in (files.client_key, files.proxy, files.token):
            assert _mode(secret) == 0o600, secret
        assert _mode(files.client_cert) & 0o044  # readable certificate
    assert _mode(pki.server_key) == 0o600
    assert _mode(pki_dir / "pki" / "ca-key.pem") == 0o600


def test_proxy_holds_certificate_and_key_of_the_identity(pki_dir: Path) -> None:
    pki = ensure_pki(pki_dir)
    for login, files in pki.files.items():
        pem = files.proxy.read_bytes()
        cert = x509.load_pem_x509_certificate(pem)
        key = serialization.load_pem_private_key(pem, None)
        assert cert.public_key().public_numbers() == key.public_key().public_numbers()  # type: ignore[union-attr]
        assert cert == x509.load_pem_x509_certificate(files.client_cert.read_bytes())
        assert subject_to_dn(_subject_tuples(cert)) == dn_for(login) == pki.identities[login].dn


def _subject_tuples(cert: x509.Certificate) -> list[tuple[tuple[str, str], ...]]:
    """The ``getpeercert()['subject']`` shape, built from a cryptography certificate."""
    names = {"DC": "domainComponent", "OU": "organizationalUnitName", "CN": "commonName"}
    out = []
    for rdn in cert.subject.rdns:
        out.append(tuple((names[a.rfc4514_attribute_name], str(a.value)) for a in rdn))
    return out


def test_client_certificates_chain_to_the_ca_and_are_client_auth(pki_dir: Path) -> None:
    pki = ensure_pki(pki_dir)
    ca = x509.load_pem_x509_certificate(pki.ca_cert.read_bytes())
    for files in pki.files.values():
        cert = x509.load_pem_x509_certificate(files.client_cert.read_bytes())
        cert.verify_directly_issued_by(ca)
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        assert ExtendedKeyUsageOID.CLIENT_AUTH in eku


def test_server_certificate_names_loopback(pki_dir: Path) -> None:
    pki = ensure_pki(pki_dir)
    cert = x509.load_pem_x509_certificate(pki.server_cert.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert set(san.get_values_for_type(x509.IPAddress)) == {ipaddress.ip_address("127.0.0.1"),
                                                           ipaddress.ip_address("::1")}


def test_roles_of_the_built_in_identities(pki_dir: Path) -> None:
    ids = ensure_pki(pki_dir).identities
    op, rq, out = ids["operator"], ids["requestor"], ids["outsider"]
    for pair in (("admin", "reqmgr"), ("production-operator", "dataops"), ("data-manager", "reqmgr")):
        assert op.has_reqmgr2_role(*pair)
    assert op.poms_experiments == {"samdev": "production", "dune": "production"}
    assert rq.reqmgr2_roles == (("data-manager", "reqmgr"),)
    assert not rq.has_reqmgr2_role("admin")
    assert rq.poms_experiments == {"samdev": "analysis", "dune": "analysis"}
    assert out.reqmgr2_roles == () and dict(out.poms_experiments) == {}
    assert op.dn.endswith("/CN=UID:operator")


def test_restart_reuses_files_tokens_and_roles(pki_dir: Path) -> None:
    first = ensure_pki(pki_dir)
    before = {p: p.read_bytes() for f in first.files.values() for p in (f.client_cert, f.token)}
    before[first.server_cert] = first.server_cert.read_bytes()
    second = ensure_pki(pki_dir)
    assert {p: p.read_bytes() for p in before} == before
    assert second.token_map() == first.token_map()
    assert second.identities == first.identities


def test_identities_json_is_the_source_of_roles(tmp_path: Path) -> None:
    """Editing identities.json (e.g. to drop a role) is honoured on the next start."""
    ensure_pki(tmp_path)
    path = tmp_path / "identities.json"
    data = json.loads(path.read_text())
    data["requestor"]["poms_experiments"] = {"samdev": "analysis"}
    path.write_text(json.dumps(data))
    assert ensure_pki(tmp_path).identities["requestor"].poms_experiments == {"samdev": "analysis"}
    assert Identity.from_json(data["operator"]) == ensure_pki(tmp_path).identities["operator"]


def test_tokens_are_distinct_and_long(pki_dir: Path) -> None:
    tokens = [f.token.read_text().strip() for f in ensure_pki(pki_dir).files.values()]
    assert len(set(tokens)) == len(tokens)
    assert all(len(t) >= 40 for t in tokens)
