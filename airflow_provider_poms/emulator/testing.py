"""Run the emulator from tests (ours and users' own DAG tests), the way ``moto`` serves AWS users.

    with EmulatorProcess(clock_scale=600, seed=1) as emu:
        hook = ReqMgr2Hook(settings=emu.settings("reqmgr2"))
        emu.control.add_fault("http", path="/reqmgr2/data/request*", status=503, count=1)
        ...

The server runs as a subprocess (``python -m airflow_provider_poms.emulator``) so tests exercise
real TLS sockets and a restart really loses the process memory.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import requests

if TYPE_CHECKING:
    from airflow_provider_poms.http.settings import ConnectionSettings

__all__ = ["EmulatorControl", "EmulatorProcess"]


class EmulatorControl:
    """Small client for ``/_emulator/`` (operator certificate + our CA)."""

    def __init__(self, conn: dict[str, Any], timeout: float = 30.0) -> None:
        if "control_url" not in conn:
            raise RuntimeError("the emulator was started without --control")
        self.base = conn["control_url"]
        self.timeout = timeout
        self.session = requests.Session()
        # trust_env off: REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE would silently replace our CA
        # (requests lets the environment win over Session.verify) and proxies must not apply.
        self.session.trust_env = False
        self.session.cert = (conn["client_cert"], conn["client_key"])
        self.session.verify = conn["ca_cert"]

    def _call(self, method: str, path: str, **kw: Any) -> Any:
        resp = self.session.request(method, f"{self.base}/{path}", timeout=self.timeout, **kw)
        if resp.status_code >= 400:
            raise RuntimeError(f"control {method} {path}: HTTP {resp.status_code}: {resp.text[:300]}")
        return resp.json()

    def state(self) -> dict[str, Any]:
        return self._call("GET", "state")

    def health(self) -> dict[str, Any]:
        return self._call("GET", "health")

    def now(self) -> float:
        return float(self.health()["now"])

    def advance_clock(self, seconds: float) -> float:
        """Move emulated time forward; the actors run once before this returns. Returns the new now."""
        return float(self._call("POST", "clock/advance", json={"seconds": seconds})["now"])

    def add_fault(self, kind: str, path: str = "*", **fields: Any) -> dict[str, Any]:
        """``kind``: http (with status=500/502/503/504/429), "503" etc., reset_before, reset_after,
        delay (seconds=), truncated_gzip, invalid_json. Fields: regex, method, count, probability,
        retry_after. Returns the rule with its id."""
        return self._call("POST", "faults", json={"kind": kind, "path": path, **fields})

    def faults(self) -> list[dict[str, Any]]:
        return self._call("GET", "faults")

    def remove_fault(self, rule_id: int) -> bool:
        return bool(self._call("DELETE", "faults", params={"id": rule_id})["removed"])

    def clear_faults(self) -> None:
        self._call("DELETE", "faults")

    def fault_stats(self) -> dict[str, int]:
        return self._call("GET", "faults/stats")

    def reset_fault_stats(self) -> None:
        self._call("DELETE", "faults/stats")

    def log_index(self) -> int:
        """Index the next request will get: pass it as ``since`` to see only later requests."""
        return int(self.state()["request_log_next"])

    def request_log(self, since: int = 0, method: str | None = None, path_prefix: str | None = None,
                    writes_only: bool = False, limit: int | None = None) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"since": since}
        if method:
            params["method"] = method
        if path_prefix:
            params["path_prefix"] = path_prefix
        if writes_only:
            params["writes_only"] = "true"
        if limit is not None:
            params["limit"] = limit
        return self._call("GET", "requests-log", params=params)["entries"]

    def script_reqmgr2(self, name: str, at_status: str, action: str) -> None:
        """When a request matching ``name`` (fnmatch) reaches ``at_status``: fail, abort or stall."""
        self._call("POST", "scripts/reqmgr2", json={"name": name, "at_status": at_status, "action": action})

    def script_poms(self, submission_id: int | str, statuses: Sequence[str]) -> None:
        """Status sequence for a submission id, or for the ``"next"`` submission created."""
        self._call("POST", "scripts/poms", json={"submission_id": submission_id, "statuses": list(statuses)})

    def scripts(self) -> dict[str, Any]:
        return self._call("GET", "scripts")

    def issue_token(self, identity: str = "operator", expires_in: float | None = None) -> str:
        """A fresh token for ``identity`` in a new 0600 file; returns the file path. ``expires_in``
        is in emulated seconds (advance the clock to expire it)."""
        body: dict[str, Any] = {"identity": identity}
        if expires_in is not None:
            body["expires_in"] = expires_in
        return str(self._call("POST", "tokens", json=body)["token_file"])

    def revoke_token(self, token_file: str) -> bool:
        return bool(self._call("DELETE", "tokens", params={"token_file": token_file})["revoked"])

    def reset(self) -> None:
        """Wipe service state (requests, campaigns, submissions, scripts); PKI and faults stay."""
        self._call("POST", "reset")

    def close(self) -> None:
        self.session.close()


class EmulatorProcess:
    """The emulator as a subprocess; a context manager that stops it on exit."""

    def __init__(self, state_dir: str | os.PathLike[str] | None = None, *, clock_scale: float = 1.0,
                 seed: int | None = None, persist: bool = False, control: bool = True,
                 host: str = "127.0.0.1", port: int = 0, extra_args: Sequence[str] = (),
                 startup_timeout: float = 60.0) -> None:
        self._own_dir = state_dir is None
        self.state_dir = (Path(state_dir) if state_dir is not None
                          else Path(tempfile.mkdtemp(prefix="emulator-")))
        self.clock_scale = clock_scale
        self.seed = seed
        self.persist = persist
        self.control_enabled = control
        self.host = host
        self.port = port
        self.extra_args = tuple(extra_args)
        self.startup_timeout = startup_timeout
        self.proc: subprocess.Popen[bytes] | None = None
        self.conn: dict[str, Any] = {}
        self._control: EmulatorControl | None = None

    # ------------------------------------------------------------------ lifecycle
    @property
    def log_path(self) -> Path:
        return self.state_dir / "emulator.log"

    def command(self) -> list[str]:
        cmd = [sys.executable, "-m", "airflow_provider_poms.emulator", "--state-dir", str(self.state_dir),
               "--host", self.host, "--port", str(self.port), "--clock-scale", str(self.clock_scale)]
        if self.seed is not None:
            cmd += ["--seed", str(self.seed)]
        if self.persist:
            cmd.append("--persist")
        if self.control_enabled:
            cmd.append("--control")
        return cmd + list(self.extra_args)

    def start(self) -> EmulatorProcess:
        if self.proc is not None and self.proc.poll() is None:
            raise RuntimeError(f"emulator already running (pid {self.proc.pid})")
        self.state_dir.mkdir(parents=True, exist_ok=True)
        conn_path = self.state_dir / "connection.json"
        conn_path.unlink(missing_ok=True)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + self.startup_timeout
        while True:
            if conn_path.exists():
                with contextlib.suppress(ValueError, OSError):
                    data = json.loads(conn_path.read_text())
                    if data.get("pid") == self.proc.pid:
                        self.conn = data
                        break
            if self.proc.poll() is not None:
                raise RuntimeError(f"emulator exited with {self.proc.returncode}:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"emulator not ready after {self.startup_timeout}s:\n{self.log_tail()}")
            time.sleep(0.05)
        self.port = int(self.conn["url"].rsplit(":", 1)[1])
        self._control = None
        return self

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM (clean shutdown, state flushed); SIGKILL if it does not go in time."""
        if self._control is not None:
            self._control.close()
            self._control = None
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def kill(self) -> None:
        """SIGKILL: a crash, for tests of what survives one."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def restart(self) -> EmulatorProcess:
        """Stop and start again on the same state dir, on the same port when it is still free."""
        self.stop()
        try:
            return self.start()
        except RuntimeError:
            self.port = 0
            return self.start()

    def close(self) -> None:
        self.stop()
        if self._own_dir:
            shutil.rmtree(self.state_dir, ignore_errors=True)

    def __enter__(self) -> EmulatorProcess:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # ------------------------------------------------------------------ helpers
    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    @property
    def control(self) -> EmulatorControl:
        if self._control is None:
            self._control = EmulatorControl(self.conn)
        return self._control

    @property
    def url(self) -> str:
        return str(self.conn["url"])

    def settings(self, service: str, identity: str = "operator", auth: str = "cert",
                 **overrides: Any) -> ConnectionSettings:
        """``ConnectionSettings`` for ``service`` ("poms"/"reqmgr2") as ``identity``."""
        from airflow_provider_poms.http.settings import ConnectionSettings

        return ConnectionSettings.from_emulator(self.conn, service, identity, auth, **overrides)  # type: ignore[arg-type]

    def session(self, identity: str = "operator", auth: str = "cert") -> requests.Session:
        """A plain ``requests.Session`` that authenticates as ``identity`` (for low-level tests)."""
        ident = self.conn["identities"][identity]
        s = requests.Session()
        s.trust_env = False  # see EmulatorControl: the environment would override our CA
        s.verify = self.conn["ca_cert"]
        if auth == "cert":
            s.cert = (ident["client_cert"], ident["client_key"])
        elif auth == "proxy":
            s.cert = ident["proxy"]
        elif auth == "token":
            s.headers["Authorization"] = "Bearer " + Path(ident["token"]).read_text().strip()
        else:
            raise ValueError(f"auth must be cert, proxy or token, not {auth!r}")
        return s

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"
