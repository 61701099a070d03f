"""Brings the REAL ReqMgr2 server up on loopback for one test session, and tears it down by PID.

Stack (every piece from PyPI or npm, installed by setup_real_server.sh into ~/.cache):

    client --TLS+cert--> frontend.py --signed cms-auth headers--> ReqMgr2 (CherryPy, reqmgr2==2.4.5.9)
                                                                    |--> pouchdb-server (CouchDB stand-in)
                                                                    '--> stub_services.py (TagCollector,
                                                                         CRIC, DBS, MSTransferor)

Why a class and not a script: the session fixture must own every PID so that teardown always
stops exactly what it started (the machine has two cores shared with other work), and failures
during bring-up must still stop the pieces already running.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .pki import Pki, make_pki

HERE = Path(__file__).resolve().parent
SETUP_SCRIPT = HERE / "setup_real_server.sh"
DATABASES = (
    "reqmgr_workload_cache",
    "reqmgr_auxiliary",
    "reqmgr_config_cache",
    "workqueue",
    "workqueue_inbox",
)
# (couchapp, database): abort/force-complete cancel work in the global workqueue, whose inbox views
# must exist. (wmstats_info is not served: its WMStats views are Erlang, which pouchdb cannot run.)
COUCHAPPS = (
    ("ReqMgr", "reqmgr_workload_cache"),
    ("ReqMgrAux", "reqmgr_auxiliary"),
    ("ConfigCache", "reqmgr_config_cache"),
    ("WorkQueue", "workqueue"),
    ("WorkQueue", "workqueue_inbox"),
)
# ConfigCache document that StepChain/TaskChain test requests point at (ConfigCacheID "cfg0001").
CONFIG_DOC = {
    "owner": {"group": "DATAOPS", "user": "tester"},
    "md5_hash": "x",
    "pset_tweak_details": {
        "process": {
            "outputModules_": ["RAWSIMoutput"],
            "RAWSIMoutput": {"dataset": {"filterName": "", "dataTier": "GEN-SIM"}},
        }
    },
}


class StackError(RuntimeError):
    """The real server could not be brought up; the message says which step and where the log is."""


def _die_with_parent() -> None:
    """Child side of fork: SIGTERM this process when the test process dies, even by SIGKILL, so a
    crashed session never leaves the stack running on the shared two-core machine (Linux only)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# Loopback only: never through an HTTP proxy named in the environment.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))
PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")


def without_proxies(env: dict[str, str]) -> dict[str, str]:
    """The environment for a child that talks to loopback only (pycurl and urllib honour proxies)."""
    out = {k: v for k, v in env.items() if k not in PROXY_VARS}
    out["NO_PROXY"] = out["no_proxy"] = "127.0.0.1,localhost"
    return out


def _http(
    method: str,
    url: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 10.0,
) -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with _DIRECT.open(req, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@dataclass
class RealReqMgr2:
    """One running stack. ``start()`` then ``stop()``; ``connection`` mirrors the emulator's file."""

    state_dir: Path
    cache_dir: Path = field(
        default_factory=lambda: Path(
            os.environ.get("POMS_CONFORMANCE_CACHE", Path.home() / ".cache" / "airflow-provider-poms")
        )
    )
    couch_port: int = field(default_factory=free_port)
    stub_port: int = field(default_factory=free_port)
    backend_port: int = field(default_factory=free_port)
    frontend_port: int = field(default_factory=free_port)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    pki: Pki | None = None
    connection: dict[str, Any] = field(default_factory=dict)

    # ------------------------------------------------------------------ paths
    @property
    def venv_python(self) -> Path:
        return self.cache_dir / "reqmgr2-venv" / "bin" / "python"

    @property
    def logs(self) -> Path:
        return self.state_dir / "logs"

    @property
    def couch_url(self) -> str:
        return f"http://127.0.0.1:{self.couch_port}"

    @property
    def stub_url(self) -> str:
        return f"http://127.0.0.1:{self.stub_port}"

    @property
    def base_url(self) -> str:
        return f"https://127.0.0.1:{self.frontend_port}/reqmgr2"

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Bring every piece up in order; on any failure stop what runs and raise StackError."""
        self.logs.mkdir(parents=True, exist_ok=True)
        try:
            self._step("install", self._install)
            self._step("pki", lambda: setattr(self, "pki", make_pki(self.state_dir / "pki")))
            self._step("couch", self._start_couch)
            self._step("couchapps", self._load_couch)
            self._step("stub", self._start_stub)
            self._step("reqmgr2", self._start_reqmgr2)
            self._step("frontend", self._start_frontend)
            self._step("prime", self._prime)
        except BaseException:
            self.stop()
            raise
        self._write_connection()

    def _step(self, name: str, func: Callable[[], None]) -> None:
        t0 = time.monotonic()
        try:
            func()
        except StackError:
            raise
        except Exception as exc:
            raise StackError(
                f"real ReqMgr2 bring-up failed at step {name!r}: {exc!r} (logs: {self.logs})"
            ) from exc
        self.timings[name] = round(time.monotonic() - t0, 2)

    def stop(self) -> None:
        """SIGTERM each started process group (front-end first), then SIGKILL what is left."""
        for name in ("frontend", "reqmgr2", "stub", "couch"):
            proc = self.procs.get(name)
            if proc is None or proc.poll() is not None:
                continue
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for name, proc in list(self.procs.items()):
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
            self.procs.pop(name, None)
        pidfile = self.state_dir / "pids.json"
        with contextlib.suppress(FileNotFoundError):
            pidfile.unlink()

    def _spawn(
        self, name: str, argv: list[str], env: dict[str, str] | None = None, cwd: Path | None = None
    ) -> subprocess.Popen[bytes]:
        log = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 - handed to the child
        proc = subprocess.Popen(
            argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=cwd,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        log.close()
        self.procs[name] = proc
        (self.state_dir / "pids.json").write_text(json.dumps({k: p.pid for k, p in self.procs.items()}))
        return proc

    def _wait(self, name: str, probe: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        proc = self.procs[name]
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                tail = (self.logs / f"{name}.log").read_text(errors="replace")[-3000:]
                raise StackError(f"{name} exited with {proc.returncode} during start-up:\n{tail}")
            with contextlib.suppress(OSError, ValueError):
                if probe():
                    return
            time.sleep(0.25)
        tail = (self.logs / f"{name}.log").read_text(errors="replace")[-3000:]
        raise StackError(f"{name} not ready after {timeout:.0f}s:\n{tail}")

    # ------------------------------------------------------------------ steps
    def _install(self) -> None:
        env = dict(os.environ, POMS_CONFORMANCE_CACHE=str(self.cache_dir))
        with open(self.logs / "setup.log", "ab") as log:
            rc = subprocess.run(
                ["bash", str(SETUP_SCRIPT)], stdout=log, stderr=subprocess.STDOUT, env=env, timeout=1200
            ).returncode
        if rc != 0:
            tail = (self.logs / "setup.log").read_text(errors="replace")[-3000:]
            raise StackError(f"setup_real_server.sh failed ({rc}):\n{tail}")

    def _start_couch(self) -> None:
        couch_dir = self.state_dir / "couch"
        (couch_dir / "data").mkdir(parents=True, exist_ok=True)
        binary = self.cache_dir / "pouchdb" / "node_modules" / ".bin" / "pouchdb-server"
        self._spawn(
            "couch",
            [
                str(binary),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.couch_port),
                "--dir",
                str(couch_dir / "data"),
                "--no-color",
            ],
            cwd=couch_dir,
        )
        self._wait("couch", lambda: _http("GET", self.couch_url + "/", timeout=2)[0] == 200, 60)

    def _load_couch(self) -> None:
        for db in DATABASES:
            status, body = _http("PUT", f"{self.couch_url}/{db}")
            if status not in (201, 412):
                raise StackError(f"creating database {db}: {status} {body[:200]!r}")
        couchapp = self.cache_dir / "reqmgr2-venv" / "bin" / "couchapp"
        apps = self.cache_dir / "couchapps"

        def push(item: tuple[str, str]) -> None:
            app, db = item
            done = subprocess.run(
                [str(couchapp), "push", "-p", str(apps / app), "-c", f"{self.couch_url}/{db}"],
                capture_output=True,
                timeout=120,
                env=without_proxies(dict(os.environ)),
            )
            if done.returncode != 0:
                raise StackError(f"couchapp push {app}: {done.stdout[-1500:]!r} {done.stderr[-1500:]!r}")

        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(push, COUCHAPPS))
        status, body = _http(
            "PUT",
            f"{self.couch_url}/reqmgr_config_cache/cfg0001",
            json.dumps(CONFIG_DOC).encode(),
            {"Content-Type": "application/json"},
        )
        if status not in (201, 409):
            raise StackError(f"seeding cfg0001: {status} {body[:200]!r}")

    def _start_stub(self) -> None:
        self._spawn(
            "stub",
            [
                sys.executable,
                str(HERE / "stub_services.py"),
                str(self.stub_port),
                str(self.logs / "stub-calls.jsonl"),
            ],
        )
        self._wait("stub", lambda: _http("GET", self.stub_url + "/ping", timeout=2)[0] == 404, 20)

    def server_env(self) -> dict[str, str]:
        """Environment of the real server (and of the official client, which wants the same X509 vars)."""
        assert self.pki is not None
        operator = self.pki.identities["operator"]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("X509_", "PYTHON", "VIRTUAL_ENV"))}
        env = without_proxies(env)
        env.update(
            PATH=f"{self.venv_python.parent}:{env.get('PATH', '/usr/bin:/bin')}",
            PYTHONUNBUFFERED="1",  # else WMCore.REST.Main re-execs "python3" from PATH
            DONT_DAEMONIZE_REST="True",
            X509_USER_CERT=str(operator.cert),
            X509_USER_KEY=str(operator.key),
            X509_CERT_DIR=str(self.pki.ca_dir),
            USER=env.get("USER") or "reqmgr2",
            WMCORE_CACHE_DIR=str(self.state_dir / "wmcore-cache"),
            CONFORMANCE_COUCH_URL=self.couch_url,
            CONFORMANCE_STUB_URL=self.stub_url,
            CONFORMANCE_REQMGR2_PORT=str(self.backend_port),
            CONFORMANCE_HMAC_KEY=str(self.pki.hmac_key),
            CONFORMANCE_TAGCOLLECTOR_URL=self.stub_url + "/SDT/cgi-bin/ReleasesXML",
            CONFORMANCE_CRIC_URL=self.stub_url + "/",
        )
        return env

    def _start_reqmgr2(self) -> None:
        statedir = self.state_dir / "rm2"
        statedir.mkdir(exist_ok=True)
        (self.state_dir / "wmcore-cache").mkdir(exist_ok=True)
        argv = [
            str(self.venv_python),
            str(HERE / "server" / "launcher.py"),
            "-r",
            "-d",
            str(statedir),
            "-l",
            str(self.logs / "reqmgr2-daemon.log"),
            str(HERE / "server" / "reqmgr2_config.py"),
        ]
        self._spawn("reqmgr2", argv, env=self.server_env(), cwd=statedir)
        info = f"http://127.0.0.1:{self.backend_port}/reqmgr2/data/info"
        self._wait(
            "reqmgr2",
            lambda: _http("GET", info, headers={"Accept": "application/json"}, timeout=5)[0] == 200,
            90,
        )

    def _frontend_config(self) -> dict[str, Any]:
        assert self.pki is not None
        return {
            "listen_port": self.frontend_port,
            "backend_port": self.backend_port,
            "server_cert": str(self.pki.server_cert),
            "server_key": str(self.pki.server_key),
            "ca_cert": str(self.pki.ca_cert),
            "hmac_key_file": str(self.pki.hmac_key),
            "identities": {
                ident.dn: {"login": ident.login, "name": ident.cn, "roles": [list(r) for r in ident.roles]}
                for ident in self.pki.identities.values()
            },
        }

    def _start_frontend(self) -> None:
        cfg = self.state_dir / "frontend.json"
        cfg.write_text(json.dumps(self._frontend_config(), indent=1))
        self._spawn("frontend", [sys.executable, str(HERE / "frontend.py"), str(cfg)])
        self._wait("frontend", lambda: self.get("info")[0] == 200, 20)

    def _prime(self) -> None:
        # CouchDB views are read with stale=update_after unless a request carries _nostale; one such
        # request flips the server's shared reader to fresh reads for the rest of its life. Without
        # this, a status filter right after a write returns stale names (observed on the real server).
        status, body = self.get("request?status=new&detail=false&_nostale=true")
        if status != 200:
            raise StackError(f"priming _nostale: {status} {body[:300]!r}")

    # ------------------------------------------------------------------ client helpers
    def ssl_context(self, identity: str = "operator") -> ssl.SSLContext:
        assert self.pki is not None
        ident = self.pki.identities[identity]
        ctx = ssl.create_default_context(cafile=str(self.pki.ca_cert))
        ctx.load_cert_chain(str(ident.cert), str(ident.key))
        return ctx

    def get(self, path: str, identity: str = "operator") -> tuple[int, bytes]:
        req = urllib.request.Request(f"{self.base_url}/data/{path}", headers={"Accept": "application/json"})
        opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=self.ssl_context(identity))
        )
        try:
            with opener.open(req, timeout=30) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def _write_connection(self) -> None:
        """Same layout as the emulator's connection.json so ConnectionSettings.from_emulator reads it."""
        assert self.pki is not None
        identities = {
            login: {
                "login": login,
                "dn": ident.dn,
                "name": ident.cn,
                "reqmgr2_roles": [list(r) for r in ident.roles],
                "client_cert": str(ident.cert),
                "client_key": str(ident.key),
                "proxy": str(ident.proxy),
            }
            for login, ident in self.pki.identities.items()
        }
        self.connection = {
            "url": f"https://127.0.0.1:{self.frontend_port}",
            "reqmgr2_url": self.base_url,
            "ca_cert": str(self.pki.ca_cert),
            "ca_dir": str(self.pki.ca_dir),
            **{k: identities["operator"][k] for k in ("client_cert", "client_key", "proxy")},
            "identities": identities,
            "couch_url": self.couch_url,
            "stub_calls": str(self.logs / "stub-calls.jsonl"),
        }
        (self.state_dir / "connection.json").write_text(json.dumps(self.connection, indent=1))
