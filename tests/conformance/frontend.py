"""Authenticating TLS front-end for the real ReqMgr2 server (stand-in for the cmsweb front-end).

Run as a separate process: ``python frontend.py CONFIG.json``. Standard library only.

Why it exists: ReqMgr2 trusts only identity headers that a front-end signed with a shared key. This
process terminates TLS, requires a client certificate signed by the test CA, maps the certificate
subject to a login and CRIC-style roles, drops any identity header the client sent, adds the
``cms-auth*`` headers with their HMAC-SHA1 signature, and forwards the request over plain HTTP to
the server on loopback. A certificate the map does not know gets 401 with an empty body, as cmsweb's
auth proxy answers an unknown user.

CONFIG keys: listen_port, backend_port, server_cert, server_key, ca_cert, hmac_key_file,
identities: {dn: {"login", "name", "roles": [[role, group], ...]}}.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import re
import ssl
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "te",
    "upgrade",
    "host",
    "content-length",
    "proxy-connection",
    "trailer",
}
RDN_SHORT = {
    "domainComponent": "DC",
    "organizationalUnitName": "OU",
    "commonName": "CN",
    "organizationName": "O",
    "countryName": "C",
}


def canonical(name: str) -> str:
    """CMS canonical form of a login or role: lower case, non-alphanumeric runs become '-'."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower())


def subject_dn(peercert: dict[str, Any]) -> tuple[str, str]:
    """Return ('/DC=ch/.../CN=x', last CN) from ssl.getpeercert()'s parsed subject."""
    parts: list[str] = []
    cn = ""
    for rdn in peercert.get("subject", ()):
        for key, value in rdn:
            parts.append(f"/{RDN_SHORT.get(key, key)}={value}")
            if key == "commonName":
                cn = value
    return "".join(parts), cn


def sign(headers: dict[str, str], key: bytes) -> str:
    """HMAC-SHA1 over the cms-authn/cms-authz headers in the order and layout the backend checks."""
    prefix, suffix = [], []
    for name in sorted(h.lower() for h in headers):
        if name.startswith(("cms-authn", "cms-authz")) and name != "cms-authn-hmac":
            value = headers[name]
            prefix.append(f"h{len(name):x}v{len(value):x}")
            suffix.append(name + value)
    message = "".join(prefix) + "#" + "".join(suffix)
    return hmac.new(key, message.encode(), hashlib.sha1).hexdigest()


def identity_headers(dn: str, ident: dict[str, Any], key: bytes) -> dict[str, str]:
    roles: dict[str, list[str]] = {}
    for role, group in ident["roles"]:
        roles.setdefault(canonical(role), []).append(f"group:{canonical(group)}")
    headers = {
        "cms-authn-method": "X509Cert",
        "cms-authn-login": ident["login"],
        "cms-authn-name": ident["name"],
        "cms-authn-dn": dn,
    }
    for role, items in roles.items():
        headers[f"cms-authz-{role}"] = " ".join(items)
    headers["cms-authn-hmac"] = sign(headers, key)
    headers["cms-auth-status"] = "OK"
    return headers


class FrontEnd(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "conformance-frontend"
    config: dict[str, Any] = {}
    key: bytes = b""

    def log_message(self, format: str, *args: Any) -> None:
        sys.stderr.write(f"{self.log_date_time_string()} {format % args}\n")

    def _read_body(self) -> bytes:
        """Chunked wins over Content-Length (RFC 9112 6.3), as cmsweb's front-end does: the official
        client sends both on an empty POST."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _relay(self) -> None:
        body = self._read_body()
        peer = self.connection.getpeercert()  # type: ignore[attr-defined]
        dn, _cn = subject_dn(peer or {})
        ident = self.config["identities"].get(dn)
        if ident is None:
            self._reply(401, [], b"")
            return
        out: dict[str, str] = {}
        for name, value in self.headers.items():
            low = name.lower()
            if low in HOP_BY_HOP or low.startswith("cms-auth"):
                continue
            out[name] = value
        out.update(identity_headers(dn, ident, self.key))
        if body or self.command in ("POST", "PUT", "DELETE"):
            out["Content-Length"] = str(len(body))
        conn = http.client.HTTPConnection("127.0.0.1", self.config["backend_port"], timeout=120)
        try:
            conn.putrequest(self.command, self.path, skip_host=False, skip_accept_encoding=True)
            for name, value in out.items():
                conn.putheader(name, value)
            conn.endheaders(body or None)
            resp = conn.getresponse()
            data = resp.read()
            headers = [(k, v) for k, v in resp.getheaders() if k.lower() not in HOP_BY_HOP]
            self._reply(resp.status, headers, data, resp.reason)
        except (OSError, http.client.HTTPException) as exc:
            self._reply(502, [("Content-Type", "text/plain")], f"backend error: {exc}".encode())
        finally:
            conn.close()

    def _reply(self, status: int, headers: list[tuple[str, str]], data: bytes, reason: str = "") -> None:
        self.send_response_only(status, reason or None)
        for name, value in headers:
            self.send_header(name, value)
        if status != 304 and not (100 <= status < 200) and status != 204:
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD" and data:
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = _relay


def main() -> None:
    with open(sys.argv[1]) as fh:
        config = json.load(fh)
    FrontEnd.config = config
    with open(config["hmac_key_file"], "rb") as fh:
        FrontEnd.key = fh.read()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(config["server_cert"], config["server_key"])
    ctx.load_verify_locations(config["ca_cert"])
    ctx.verify_mode = ssl.CERT_REQUIRED
    server = ThreadingHTTPServer(("127.0.0.1", config["listen_port"]), FrontEnd)
    server.daemon_threads = True
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
