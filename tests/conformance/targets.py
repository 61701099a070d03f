"""The two targets of the conformance tier, seen through one small interface.

A ``Target`` holds what a test needs to talk to either server: the connection file contents (same
layout for both), raw TLS contexts per identity, the values that must differ in request bodies
(DbsUrl / ConfigCacheUrl point at the local stub and store on the real server), and how to run the
official WMCore client against it. Scenario tests take a ``Target`` and never ask which one it is,
except through ``moves_statuses_itself`` (the emulator's background actors advance statuses; the real
server has none configured, so the test moves them with the operator identity).
"""

from __future__ import annotations

import json
import os
import shutil
import ssl
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .real_server import without_proxies

HERE = Path(__file__).resolve().parent
EMULATOR_DBS_URL = "https://cmsweb.cern.ch/dbs/prod/global/DBSReader"
EMULATOR_COUCH_URL = "https://cmsweb.cern.ch/couchdb"


@dataclass
class Target:
    name: str  # "emulator" | "real"
    connection: dict[str, Any]
    dbs_url: str
    config_cache_url: str
    moves_statuses_itself: bool
    venv_python: Path
    handle: Any = None  # EmulatorProcess or RealReqMgr2
    _ca_dir: Path | None = field(default=None, repr=False)

    @property
    def base_url(self) -> str:
        return str(self.connection.get("reqmgr2_url") or self.connection["url"].rstrip("/") + "/reqmgr2")

    def identity(self, login: str) -> dict[str, Any]:
        return dict(self.connection["identities"][login])

    def ssl_context(self, login: str = "operator") -> ssl.SSLContext:
        ident = self.identity(login)
        ctx = ssl.create_default_context(cafile=self.connection["ca_cert"])
        ctx.load_cert_chain(ident["client_cert"], ident["client_key"])
        return ctx

    def ca_dir(self) -> Path:
        """OpenSSL hashed CA directory (the WMCore client only verifies servers through X509_CERT_DIR)."""
        if self.connection.get("ca_dir"):
            return Path(self.connection["ca_dir"])
        if self._ca_dir is None:
            tmp = Path(tempfile.mkdtemp(prefix=f"conformance-{self.name}-ca-"))
            shutil.copy(self.connection["ca_cert"], tmp / "ca.pem")
            subprocess.run(["openssl", "rehash", str(tmp)], check=True, capture_output=True)
            self._ca_dir = tmp
        return self._ca_dir

    def run_wmcore_driver(self, plan_extra: dict[str, Any], timeout: float = 240) -> dict[str, Any]:
        """Run wmcore_driver.py in the reqmgr2 venv against this target; return its JSON record.

        ``plan_extra`` carries the request bodies (spec, requestor_spec, assignment).
        """
        op, rq = self.identity("operator"), self.identity("requestor")
        work = Path(tempfile.mkdtemp(prefix="conformance-wmcore-"))
        plan = {
            "url": self.base_url,
            "operator_cert": op["client_cert"],
            "operator_key": op["client_key"],
            "requestor_cert": rq["client_cert"],
            "requestor_key": rq["client_key"],
            "ca_dir": str(self.ca_dir()),
            **plan_extra,
        }
        (work / "plan.json").write_text(json.dumps(plan))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("X509_", "PYTHON", "VIRTUAL_ENV"))}
        env = without_proxies(env)
        env.update(WMCORE_CACHE_DIR=str(work / "cache"), PYTHONUNBUFFERED="1")
        argv = [str(self.venv_python), str(HERE / "wmcore_driver.py"), str(work / "plan.json")]
        try:
            done = subprocess.run(argv, capture_output=True, env=env, timeout=timeout)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        if done.returncode != 0:
            raise AssertionError(f"wmcore_driver failed ({done.returncode}): {done.stderr.decode()[-3000:]}")
        return dict(json.loads(done.stdout))
