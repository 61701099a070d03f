"""Front-end behaviour over real HTTPS: TLS, the three ways to authenticate, 401s, routing."""

from __future__ import annotations

import datetime as dt
import socket
import ssl
import uuid
from pathlib import Path

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from airflow_provider_poms.emulator.testing import EmulatorProcess


def _bare_session() -> requests.Session:
    s = requests.Session()
    s.trust_env = False
    return s


def _last(emulator: EmulatorProcess, path: str) -> dict:
    entries = [e for e in emulator.control.request_log(path_prefix=path) if e["path"] == path]
    assert entries, f"{path} not in the request log"
    return entries[-1]


@pytest.mark.parametrize("auth", ["cert", "proxy", "token"])
@pytest.mark.parametrize("identity", ["operator", "requestor", "outsider"])
def test_each_identity_authenticates_each_way(emulator: EmulatorProcess, identity: str, auth: str) -> None:
    path = f"/auth-probe/{uuid.uuid4().hex}"
    resp = emulator.session(identity, auth).get(emulator.url + path, timeout=10)
    assert resp.status_code == 404  # authenticated, then routed: no such page
    assert _last(emulator, path)["login"] == identity


def test_root_page_answers_authenticated_callers(emulator: EmulatorProcess) -> None:
    resp = emulator.session().get(emulator.url + "/", timeout=10)
    assert resp.status_code == 200
    assert "/reqmgr2" in resp.text and "/poms" in resp.text


def test_no_credential_gets_401_with_empty_body(emulator: EmulatorProcess) -> None:
    s = _bare_session()
    resp = s.get(emulator.url + "/reqmgr2/data/info", verify=emulator.conn["ca_cert"], timeout=10)
    assert resp.status_code == 401
    assert resp.content == b""
    assert _last(emulator, "/reqmgr2/data/info")["login"] is None


@pytest.mark.parametrize("header", ["Bearer not-a-valid-token", "Bearer ", "Basic dXNlcjpwYXNz"])
def test_wrong_token_gets_401_with_empty_body(emulator: EmulatorProcess, header: str) -> None:
    s = _bare_session()
    resp = s.get(emulator.url + "/poms/index", headers={"Authorization": header},
                 verify=emulator.conn["ca_cert"], timeout=10)
    assert resp.status_code == 401
    assert resp.content == b""


def test_certificate_wins_over_a_token(emulator: EmulatorProcess) -> None:
    path = f"/both/{uuid.uuid4().hex}"
    s = emulator.session("requestor", "cert")
    token = Path(emulator.conn["identities"]["operator"]["token"]).read_text().strip()
    s.get(emulator.url + path, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert _last(emulator, path)["login"] == "requestor"


def _self_signed(tmp: Path) -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "UID:operator")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=1)).sign(key, hashes.SHA256()))
    cpath, kpath = tmp / "rogue.pem", tmp / "rogue-key.pem"
    cpath.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    kpath.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption()))
    return str(cpath), str(kpath)


def test_client_certificate_from_another_ca_is_rejected(emulator: EmulatorProcess, tmp_path: Path) -> None:
    s = _bare_session()
    before = emulator.control.log_index()
    with pytest.raises(requests.exceptions.ConnectionError):
        s.get(emulator.url + "/", cert=_self_signed(tmp_path), verify=emulator.conn["ca_cert"], timeout=10)
    assert emulator.control.request_log(since=before) == []


def test_server_certificate_verifies_against_the_emulator_ca(emulator: EmulatorProcess) -> None:
    ctx = ssl.create_default_context(cafile=emulator.conn["ca_cert"])
    for host in ("127.0.0.1", "localhost"):
        port = emulator.port
        with ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)),
                             server_hostname=host) as tls:
            assert tls.version() in {"TLSv1.2", "TLSv1.3"}
            peer = tls.getpeercert()
            assert peer and peer["subject"]


def test_server_certificate_is_refused_without_the_ca(emulator: EmulatorProcess) -> None:
    s = _bare_session()
    with pytest.raises(requests.exceptions.SSLError):
        s.get(emulator.url + "/", verify=True, timeout=10,
              cert=(emulator.conn["client_cert"], emulator.conn["client_key"]))


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_tls_below_1_2_is_refused(emulator: EmulatorProcess) -> None:
    ctx = ssl.create_default_context(cafile=emulator.conn["ca_cert"])
    ctx.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    with pytest.raises((ssl.SSLError, OSError)), ctx.wrap_socket(
        socket.create_connection(("127.0.0.1", emulator.port)), server_hostname="127.0.0.1"
    ):
        pass


def test_unknown_top_level_path_is_404_and_logged(emulator: EmulatorProcess) -> None:
    path = f"/nowhere/{uuid.uuid4().hex}"
    resp = emulator.session().get(emulator.url + path, params={"a": "1"}, timeout=10)
    assert resp.status_code == 404
    entry = _last(emulator, path)
    assert entry["query"] == "a=1" and entry["method"] == "GET" and entry["write"] is False
    assert entry["handled"] is True and entry["status"] == 404


def test_write_body_size_is_logged(emulator: EmulatorProcess) -> None:
    path = f"/nowhere/{uuid.uuid4().hex}"
    emulator.session("operator", "token").post(emulator.url + path, data=b"x" * 1234, timeout=10)
    entry = _last(emulator, path)
    assert entry["write"] is True and entry["body_size"] == 1234 and entry["login"] == "operator"


def test_both_services_are_mounted(emulator: EmulatorProcess) -> None:
    """Each mount answers with something other than the router's 404 (placeholder 503 if missing)."""
    s = emulator.session()
    for prefix in ("/reqmgr2/", "/poms/"):
        resp = s.get(emulator.url + prefix, timeout=10)
        assert resp.status_code != 401
        assert not (resp.status_code == 404 and resp.text == "Not Found"), prefix
