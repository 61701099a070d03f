"""ReqMgr2 operators and sensors inside a real Airflow DAG run (``dag.test()``), against each target.

The DAG (dags/conformance_reqmgr2.py) is the same for both targets; only the connections and the
run configuration differ. The same task states and XComs are asserted on both.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from .specs import ASSIGNMENT, stepchain, unique_tag
from .tally import count
from .targets import Target

sys.path.append(str(Path(__file__).resolve().parents[1]))  # tests/ (airflow_fixtures), after stdlib
from airflow_fixtures import RESULT_MARK, TEST_MIN_POLL, DagResult

# One run is ~40 s on an idle machine, but its own limits (db migrate 300 s, the run 400 s) must fire
# before pytest's default 300 s does, so that a slow machine gets the run's output, not a bare timeout.
pytestmark = pytest.mark.timeout(900)

RUNNER = Path(__file__).resolve().parent / "dag_runner.py"
DAGS = RUNNER.parent / "dags"


@pytest.fixture(scope="module")
def dag_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """An Airflow home whose DAG bundle is this tier's DAG folder; metadata DB migrated once."""
    home = tmp_path_factory.mktemp("conformance_airflow_home")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW__", "AIRFLOW_CONN_"))}
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(DAGS),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__UNIT_TEST_MODE="False",
        AIRFLOW_PROVIDER_POMS_MIN_POLL_INTERVAL=TEST_MIN_POLL,
        PYTHONPATH=os.pathsep.join([str(RUNNER.parents[2]), env.get("PYTHONPATH", "")]),
    )
    airflow = Path(sys.executable).with_name("airflow")
    done = subprocess.run(
        [str(airflow), "db", "migrate"], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return env


def connection(target: Target, identity: str) -> str:
    ident = target.identity(identity)
    extra = {
        "client_cert": ident["client_cert"],
        "client_key": ident["client_key"],
        "ca_cert": target.connection["ca_cert"],
    }
    return json.dumps({"conn_type": "reqmgr2", "host": target.base_url, "extra": extra})


def run_conformance_dag(env: dict[str, str], target: Target, conf: dict[str, Any]) -> DagResult:
    run_env = {
        **env,
        "AIRFLOW_CONN_REQMGR2_DEFAULT": connection(target, "operator"),
        "AIRFLOW_CONN_REQMGR2_REQUESTOR": connection(target, "requestor"),
    }
    done = subprocess.run(
        [sys.executable, "-P", str(RUNNER), "conformance_reqmgr2", json.dumps(conf)],
        env=run_env,
        capture_output=True,
        text=True,
        timeout=400,
    )
    output = done.stdout + "\n" + done.stderr
    out = Path(__file__).resolve().parents[2] / "test-output"
    out.mkdir(exist_ok=True)
    (out / f"conformance-dag-{target.name}.log").write_text(output)
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith(RESULT_MARK)]
    assert lines, f"DAG produced no result (rc {done.returncode}):\n{output[-6000:]}"
    data = json.loads(lines[-1][len(RESULT_MARK) :])
    return DagResult(
        "conformance_reqmgr2",
        data["state"],
        data["states"],
        data["xcom"],
        output,
        done.returncode,
        data.get("durations") or {},
    )


def test_operators_and_sensors_in_a_dag(target: Target, dag_env: dict[str, str]) -> None:
    count(target.name, "scenario")
    tag = unique_tag("Dag")
    assignment = {
        k: v
        for k, v in ASSIGNMENT.items()
        if k not in ("RequestStatus", "Team", "SiteWhitelist", "SiteBlacklist")
    }
    conf = {
        "spec": stepchain(target, f"ConfDag_{tag}"),
        "bad_spec": stepchain(target, f"ConfDagBad_{tag}"),
        "requestor_spec": stepchain(target, f"ConfDagRq_{tag}"),
        "abort_spec": stepchain(target, f"ConfDagAb_{tag}"),
        "assignment": assignment,
        "drive": not target.moves_statuses_itself,
    }
    result = run_conformance_dag(dag_env, target, conf)
    expected_ok = [
        "create",
        "approve",
        "assign",
        "drive",
        "sense",
        "sense_deferred",
        "close_out",
        "announce",
        "update",
        "clone",
        "create_bad",
        "create_rq",
        "approve_rq",
        "create_ab",
        "approve_ab",
        "assign_ab",
        "abort_ab",
    ]
    assert {t: result.states.get(t) for t in expected_ok} == {t: "success" for t in expected_ok}, (
        result.states
    )
    assert result.states["close_out_new"] == "failed"  # new -> closed-out refused before any write
    assert result.states["assign_rq"] == "failed"  # ppd-level role may not assign
    assert result.task_log("new -> closed-out is not a legal transition")
    assert result.states["sense_ab"] == "failed"  # aborted: "completed" can never be reached
    assert (result.durations.get("sense_ab") or 0) < 60  # fails fast, long before its 120 s timeout
    assert any("-> aborted" in line for line in result.task_log("path taken")), result.log[-6000:]

    name = result.value("create")
    assert (
        isinstance(name, str)
        and name.startswith("operator_ConfDag_")
        and result.value("create", "request_name") == name
    )
    clone = result.value("clone")
    assert isinstance(clone, str) and clone != name and clone.startswith("operator_ConfDag_")
    assert result.value("create_rq").startswith("requestor_ConfDagRq_")

    from airflow_provider_poms.hooks.reqmgr2 import ReqMgr2Hook
    from airflow_provider_poms.http.settings import ConnectionSettings

    hook = ReqMgr2Hook(settings=ConnectionSettings.from_emulator(target.connection, "reqmgr2", "operator"))
    doc = hook.get_request(name)
    assert doc is not None
    path = [t["Status"] for t in doc["RequestTransition"]]
    assert path[:11] == [
        "new",
        "assignment-approved",
        "assigned",
        "staging",
        "staged",
        "acquired",
        "running-open",
        "running-closed",
        "completed",
        "closed-out",
        "announced",
    ]
    cdoc = hook.get_request(clone)
    assert cdoc is not None and cdoc["RequestPriority"] == 150000 and cdoc["Step1"]["GlobalTag"] == "DAG_V1"
    rq = hook.get_request(result.value("create_rq"))
    assert rq is not None and rq["RequestStatus"] == "assignment-approved"
