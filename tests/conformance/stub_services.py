"""Stub of the external services the real ReqMgr2 server calls while creating and assigning requests.

Run as a separate process: ``python stub_services.py PORT LOGFILE``. Standard library only.

ReqMgr2 validates CMSSW releases against TagCollector, data tiers against DBS, may look sites up in
CRIC, and tells MSTransferor about priority/site-list changes. None of those may be reached from a
test machine, so one loopback server answers them all with the minimum the server needs. Every call
is appended to LOGFILE (one JSON line) so a test can see which outbound calls a write caused.
"""

from __future__ import annotations

import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

# ScramArch -> CMSSW releases the test request bodies use.
RELEASES: dict[str, list[str]] = {
    "slc6_amd64_gcc530": ["CMSSW_8_0_21"],
    "slc6_amd64_gcc481": ["CMSSW_7_1_25_patch2"],
    "slc7_amd64_gcc700": ["CMSSW_10_6_29"],
    "el8_amd64_gcc11": ["CMSSW_13_0_10", "CMSSW_12_4_0"],
    "el9_amd64_gcc12": ["CMSSW_14_0_0"],
}
SITES = ["T1_US_FNAL", "T2_CH_CERN", "T2_US_Nebraska", "T2_DE_DESY", "T1_IT_CNAF"]
TIERS = [
    "GEN-SIM",
    "GEN-SIM-RAW",
    "GEN-SIM-DIGI-RAW",
    "AODSIM",
    "MINIAODSIM",
    "NANOAODSIM",
    "RAW",
    "AOD",
    "MINIAOD",
    "NANOAOD",
    "DQMIO",
    "LHE",
    "GEN",
    "RECO",
    "USER",
]


def releases_xml() -> bytes:
    parts = ["<projects>"]
    for arch, releases in RELEASES.items():
        parts.append(f'<architecture name="{arch}">')
        parts.extend(f'<project label="{rel}" type="Production" state="Announced"/>' for rel in releases)
        parts.append("</architecture>")
    parts.append("</projects>")
    return "\n".join(parts).encode()


def cric_sites() -> dict[str, Any]:
    rows: list[list[str]] = []
    for site in SITES:
        rows.append(["psn", site, site])
        rows.append(["phedex", site + "_Disk", site + "_Disk"])
    return {"desc": {"columns": ["type", "site_name", "alias"]}, "result": rows}


class Stub(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    log_path = ""

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path = urlsplit(self.path).path.rstrip("/")
        with open(self.log_path, "a") as fh:
            fh.write(
                json.dumps(
                    {
                        "t": time.time(),
                        "method": self.command,
                        "path": self.path,
                        "body": body.decode(errors="replace"),
                    }
                )
                + "\n"
            )
        if path.endswith("/SDT/cgi-bin/ReleasesXML"):
            self._send(200, "text/xml", releases_xml())
        elif path.startswith("/api/cms/site/query") or "/api/cms/site" in path:
            self._send(200, "application/json", json.dumps(cric_sites()).encode())
        elif path.endswith("/serverinfo"):
            self._send(
                200,
                "application/json",
                json.dumps({"dbs_instance": "prod/global", "dbs_version": "4.0.19"}).encode(),
            )
        elif path.endswith("/datatiers"):
            self._send(200, "application/json", json.dumps([{"data_tier_name": t} for t in TIERS]).encode())
        elif path.endswith("/data/transferor") and self.command == "POST":
            self._send(200, "application/json", json.dumps({"result": [{"status": "ok"}]}).encode())
        else:
            self._send(404, "application/json", json.dumps({"error": "not stubbed", "path": path}).encode())

    def _send(self, status: int, ctype: str, data: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = _answer


def main() -> None:
    Stub.log_path = sys.argv[2]
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Stub)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
