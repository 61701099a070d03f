"""The main job: a real Airflow runs the CMS request lifecycle and the POMS campaign chain.

``make demo`` runs this after installing everything. It starts the emulator of both services
(TLS, client certificates), a local Airflow (api-server, scheduler, dag-processor, triggerer on
SQLite) whose DAGs folder is ``example_dags/``, triggers the two example DAGs over Airflow's REST
API, prints every task state change as it happens, then what the services recorded (the ReqMgr2
request's status transitions, the POMS submissions' status history) and the extra links, and
stops everything it started, by PID, also on Ctrl-C or SIGTERM.

``--keep`` leaves everything running afterwards so the Airflow UI can be explored (Ctrl-C stops).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from urllib.parse import parse_qs, urlparse

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

from airflow_local import LocalAirflow, linked_dags_folder  # noqa: E402

from airflow_provider_poms.emulator.connfile import airflow_connections  # noqa: E402
from airflow_provider_poms.emulator.testing import EmulatorProcess  # noqa: E402
from airflow_provider_poms.states import POMS_STATUS_NAMES, PomsStatus  # noqa: E402

DAGS = ("cms_request_lifecycle", "poms_campaign_chain")
FINAL = ("success", "failed")


def say(message: str = "") -> None:
    print(message, flush=True)


class Clock:
    """Seconds since the demo started, printed before each line so the pace is visible."""

    def __init__(self) -> None:
        self.start = time.monotonic()

    def __call__(self) -> str:
        return f"[{time.monotonic() - self.start:6.1f}s]"


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """SIGTERM (e.g. from a CI runner) unwinds like Ctrl-C, so the cleanup below still runs."""

    def interrupt(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def watch(airflow: LocalAirflow, runs: dict[str, str], clock: Clock, timeout: float) -> dict[str, str]:
    """Print each task state change of the runs until all end; return the final run states."""
    seen: dict[tuple[str, str], str] = {}
    final: dict[str, str] = {}
    deadline = time.monotonic() + timeout
    while len(final) < len(runs):
        if time.monotonic() > deadline:
            raise TimeoutError(f"runs still going after {timeout:.0f}s: {sorted(set(runs) - set(final))}")
        for dag_id, run_id in runs.items():
            if dag_id in final:
                continue
            for ti in airflow.task_instances(dag_id, run_id):
                index = ti.get("map_index")
                task = ti["task_id"] + (f"[{index}]" if index is not None and index >= 0 else "")
                state = str(ti["state"])
                if seen.get((dag_id, task)) != state:
                    seen[(dag_id, task)] = state
                    if state != "None":
                        say(f"{clock()} {dag_id:24} {task:34} {state}")
            state = airflow.run_state(dag_id, run_id)
            if state in FINAL:
                final[dag_id] = state
                say(f"{clock()} {dag_id:24} {'(run)':34} {state.upper()}")
        time.sleep(1)
    return final


def report_links(airflow: LocalAirflow, dag_id: str, run_id: str) -> list[str]:
    """Print each task's extra links; return them for the service read-back."""
    urls: list[str] = []
    for ti in airflow.task_instances(dag_id, run_id):
        index = ti.get("map_index")
        body = airflow.links(dag_id, run_id, ti["task_id"], -1 if index is None else index)
        for name, url in sorted((body.get("extra_links") or body).items()):
            if isinstance(url, str) and url:
                say(f"    {ti['task_id']:30} {name:28} {url}")
                urls.append(url)
    return urls


def report_request(emulator: EmulatorProcess, url: str) -> None:
    """The ReqMgr2 request behind a link: its status transitions as the server recorded them."""
    name = parse_qs(urlparse(url).query).get("rid", [""])[0]
    if not name:
        return
    session = emulator.session()
    answer = session.get(
        f"{emulator.conn['reqmgr2_url']}/data/request",
        params={"name": name},
        headers={"Accept": "application/json"},
        timeout=30,
    )
    answer.raise_for_status()
    doc = answer.json()["result"][0].get(name, {})
    say(f"  ReqMgr2 request {name}")
    for step in doc.get("RequestTransition", []):
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(step.get("UpdateTime", 0)))
        say(f"    {when} (emulated)  {step.get('Status', '?'):22} by {step.get('DN', '?')}")


def report_submission(emulator: EmulatorProcess, url: str) -> None:
    """The POMS submission behind a link: its status history as POMS recorded it."""
    query = parse_qs(urlparse(url).query)
    if "submission_id" not in query:
        return
    submission_id = query["submission_id"][0]
    parts = urlparse(url).path.rstrip("/").split("/")
    experiment, role = parts[-2], parts[-1]
    session = emulator.session()
    answer = session.get(
        f"{emulator.conn['poms_url']}/submission_details/{experiment}/{role}",
        params={"submission_id": submission_id, "fmt": "json"},
        timeout=30,
    )
    answer.raise_for_status()
    body = answer.json()
    history = body.get("history") or body.get("submission", {}).get("history") or []
    say(f"  POMS submission {submission_id} ({experiment}/{role}), times in POMS local time (emulated)")
    for entry in history:
        if isinstance(entry, dict):
            say(f"    {entry.get('created', '?')}  {status_name(entry.get('status_id'))}")
        else:
            say(f"    {json.dumps(entry)}")


def status_name(status_id: object) -> str:
    """POMS history rows carry the numeric status; people read its name."""
    try:
        return POMS_STATUS_NAMES[PomsStatus(int(str(status_id)))]
    except (KeyError, ValueError):
        return str(status_id)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--keep", action="store_true", help="leave everything running until Ctrl-C")
    parser.add_argument("--timeout", type=float, default=480, help="seconds to wait for the DAG runs")
    parser.add_argument("--clock-scale", type=float, default=60, help="emulated seconds per real second")
    args = parser.parse_args(argv)
    clock = Clock()
    workdir = Path(tempfile.mkdtemp(prefix="poms-provider-demo-"))
    results: dict[str, str] = {}
    with stop_on_signals(), ExitStack() as stack:
        try:
            say(f"{clock()} starting the emulator of POMS and ReqMgr2 (TLS, client certificates)")
            emulator = stack.enter_context(
                EmulatorProcess(workdir / "emulator", clock_scale=args.clock_scale, seed=2026, control=False)
            )
            say(f"{clock()} emulator at {emulator.conn['url']} (pid {emulator.pid})")
            say(f"{clock()} starting Airflow: api-server, scheduler, dag-processor, triggerer (SQLite)")
            airflow = LocalAirflow(
                home=workdir / "airflow",
                dags_folder=linked_dags_folder(workdir / "airflow", {"example_dags": REPO / "example_dags"}),
                extra_env={
                    **{k: json.dumps(v) for k, v in airflow_connections(emulator.conn).items()},
                    "AIRFLOW_PROVIDER_POMS_MIN_POLL_INTERVAL": "1",
                    "PYTHONPATH": str(REPO),
                },
                parallelism=8,
            )
            stack.enter_context(airflow)
            say(
                f"{clock()} Airflow is healthy: UI and REST API at {airflow.base_url}"
                f" (logs in {airflow.home})"
            )
            runs = {dag_id: airflow.trigger(dag_id) for dag_id in DAGS}
            for dag_id, run_id in runs.items():
                say(f"{clock()} triggered {dag_id} over the REST API: run {run_id}")
            results = watch(airflow, runs, clock, args.timeout)
            say()
            say("What the services recorded, and the links on the task pages:")
            for dag_id, run_id in runs.items():
                say(f"  {dag_id} ({results[dag_id]}):")
                # several tasks link the same object: report each request or submission once
                for url in dict.fromkeys(report_links(airflow, dag_id, run_id)):
                    if "rid=" in url:
                        report_request(emulator, url)
                    elif "submission_id=" in url:
                        report_submission(emulator, url)
            if args.keep:
                say(f"\nEverything is still running. Airflow UI: {airflow.base_url}  (Ctrl-C stops it all)")
                while True:
                    time.sleep(3600)
        except KeyboardInterrupt as exc:
            say(f"\n{clock()} interrupted ({exc or 'Ctrl-C'}); stopping everything")
        finally:
            say(f"{clock()} stopping Airflow and the emulator")
    ok = len(results) == len(DAGS) and all(state == "success" for state in results.values())
    say(f"{clock()} demo {'SUCCEEDED' if ok else 'FAILED'}: {json.dumps(results)} (work dir {workdir})")
    return 0 if ok or args.keep else 1


if __name__ == "__main__":
    sys.exit(main())
