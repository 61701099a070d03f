"""A real, local Airflow 3 (api-server, scheduler, dag-processor, triggerer) on SQLite.

Used by the end-to-end tests and by the demo. Each component is its own process group, started
by us and stopped by PID, so nothing is left behind and the triggerer can be restarted mid-wait
(``airflow standalone`` hides its children's PIDs and leaves them orphaned on SIGTERM).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def linked_dags_folder(home: Path, sources: Mapping[str, Path]) -> Path:
    """``home/dags`` made of links to ``sources`` (name -> folder).

    Airflow follows linked directories when it looks for DAG files, and a DAG's templates (spec
    files, .ini files) stay beside it, so the shipped folders are used as they are, not copied.
    """
    folder = Path(home) / "dags"
    folder.mkdir(parents=True, exist_ok=True)
    for name, source in sources.items():
        link = folder / name
        if not link.exists():
            link.symlink_to(Path(source).resolve(), target_is_directory=True)
    return folder


@dataclass
class LocalAirflow:
    """Owns an AIRFLOW_HOME and the component processes running from it."""

    home: Path
    dags_folder: Path
    extra_env: Mapping[str, str] = field(default_factory=dict)
    api_port: int = 0
    parallelism: int = 4
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    _token: str | None = None

    def __post_init__(self) -> None:
        self.home = Path(self.home)
        self.home.mkdir(parents=True, exist_ok=True)
        if not self.api_port:
            self.api_port = free_port()
        # several Airflows may run on one machine (tests, demo): no fixed log-server ports
        self.log_ports = (free_port(), free_port())
        self.base_url = f"http://127.0.0.1:{self.api_port}"

    # -- environment -----------------------------------------------------------------------
    @property
    def env(self) -> dict[str, str]:
        venv_bin = str(Path(sys.executable).parent)
        env = dict(os.environ)
        env.update(
            {
                "PATH": venv_bin + os.pathsep + env.get("PATH", ""),
                "AIRFLOW_HOME": str(self.home),
                "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags_folder),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__PARALLELISM": str(self.parallelism),
                "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.base_url}/execution/",
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
                "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
                "AIRFLOW__API__HOST": "127.0.0.1",
                "AIRFLOW__API__PORT": str(self.api_port),
                "AIRFLOW__API__WORKERS": "1",
                "AIRFLOW__API__BASE_URL": self.base_url,
                "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
                "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "5",
                "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
                "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "1",
                "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
                # On a loaded two-core machine the api-server can take seconds to answer a worker;
                # the 5 s default makes the supervisor give up on a healthy task.
                "AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT": "60",
                "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(self.log_ports[0]),
                "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(self.log_ports[1]),
                "AIRFLOW__WORKERS__EXECUTION_API_RETRIES": "8",
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update(self.extra_env)
        return env

    def airflow(
        self, *args: str, check: bool = True, timeout: float = 300
    ) -> subprocess.CompletedProcess[str]:
        """Run an ``airflow`` CLI command against this home."""
        return subprocess.run(
            [str(Path(sys.executable).parent / "airflow"), *args],
            env=self.env,
            capture_output=True,
            text=True,
            check=check,
            timeout=timeout,
        )

    # -- processes ---------------------------------------------------------------------------
    def start(self, timeout: float = 420) -> None:
        self.airflow("db", "migrate")
        for name in COMPONENTS:
            self.start_component(name)
        self.wait_healthy(timeout)

    def start_component(self, name: str) -> None:
        log = open(self.home / f"{name}.log", "ab")  # noqa: SIM115 - owned by the child
        self.procs[name] = subprocess.Popen(
            [str(Path(sys.executable).parent / "airflow"), name],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()

    def stop_component(self, name: str, timeout: float = 30) -> None:
        proc = self.procs.pop(name, None)
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        # Children (task workers) may outlive the leader in its process group.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)

    def restart_component(self, name: str) -> None:
        self.stop_component(name)
        self.start_component(name)

    def stop(self) -> None:
        for name in reversed(COMPONENTS):
            self.stop_component(name)

    def __enter__(self) -> LocalAirflow:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last: object = None
        while time.monotonic() < deadline:
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    raise RuntimeError(f"airflow {name} exited early:\n{self.log_tail(name)}")
            try:
                r = requests.get(f"{self.base_url}/api/v2/monitor/health", timeout=5)
                if r.status_code == 200:
                    body = r.json()
                    if (
                        body.get("scheduler", {}).get("status") == "healthy"
                        and body.get("triggerer", {}).get("status") == "healthy"
                    ):
                        return
                    last = body
            except requests.RequestException as exc:
                last = exc
            time.sleep(1)
        raise TimeoutError(f"Airflow not healthy after {timeout}s: {last}\n{self.log_tail('api-server')}")

    def log_tail(self, name: str, lines: int = 40) -> str:
        path = self.home / f"{name}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    # -- REST API ----------------------------------------------------------------------------
    @property
    def token(self) -> str:
        if self._token is None:
            r = requests.get(f"{self.base_url}/auth/token", timeout=60)
            if r.status_code >= 400:
                r = requests.post(f"{self.base_url}/auth/token", json={}, timeout=60)
            r.raise_for_status()
            self._token = r.json()["access_token"]
        return self._token

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        """One REST call; reads are retried when a loaded two-core machine makes the server slow."""
        attempts = 4 if method == "GET" else 1
        for attempt in range(attempts):
            try:
                r = requests.request(
                    method,
                    f"{self.base_url}{path}",
                    headers={"Authorization": f"Bearer {self.token}"},
                    timeout=60,
                    **kwargs,
                )
                break
            except (requests.Timeout, requests.ConnectionError):
                if attempt == attempts - 1:
                    raise
                time.sleep(2)
        if r.status_code >= 400:
            raise RuntimeError(f"{method} {path} -> {r.status_code}: {r.text[:500]}")
        return r.json() if r.content else None

    def wait_dag(self, dag_id: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(RuntimeError):
                self.api("GET", f"/api/v2/dags/{dag_id}")
                return
            time.sleep(1)
        errors = self.api("GET", "/api/v2/importErrors")
        raise TimeoutError(
            f"DAG {dag_id} not parsed after {timeout}s; import errors: {json.dumps(errors)[:2000]}"
        )

    def trigger(self, dag_id: str, conf: Mapping[str, Any] | None = None) -> str:
        self.wait_dag(dag_id)
        self.api("PATCH", f"/api/v2/dags/{dag_id}", json={"is_paused": False})
        run = self.api(
            "POST", f"/api/v2/dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": dict(conf or {})}
        )
        return str(run["dag_run_id"])

    def run_state(self, dag_id: str, run_id: str) -> str:
        return str(self.api("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}")["state"])

    def wait_run(self, dag_id: str, run_id: str, timeout: float = 300) -> str:
        deadline = time.monotonic() + timeout
        state = "queued"
        while time.monotonic() < deadline:
            state = self.run_state(dag_id, run_id)
            if state in ("success", "failed"):
                return state
            time.sleep(2)
        raise TimeoutError(f"{dag_id}/{run_id} still {state} after {timeout}s")

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        return list(
            self.api("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances")["task_instances"]
        )

    def links(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> dict[str, Any]:
        path = f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/links"
        if map_index >= 0:
            path += f"?map_index={map_index}"
        return dict(self.api("GET", path))

    def watch_states(self, dag_id: str, run_id: str) -> Iterator[dict[str, str]]:
        """Yield {task_id: state} whenever any task changes, until the run ends."""
        seen: dict[str, str] = {}
        while True:
            now = {
                f"{ti['task_id']}" + (f"[{ti['map_index']}]" if ti.get("map_index", -1) >= 0 else ""): str(
                    ti["state"]
                )
                for ti in self.task_instances(dag_id, run_id)
            }
            if now != seen:
                seen = now
                yield now
            if self.run_state(dag_id, run_id) in ("success", "failed"):
                return
            time.sleep(1)
