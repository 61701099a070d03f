"""Running real Airflow DAGs (``dag.test()``) against the emulator, from pytest.

Why a subprocess per DAG run: Airflow reads ``AIRFLOW_HOME``, the DAGs folder and the metadata DB
settings when it is first imported, and other test modules of the session import it long before
these tests run. A fresh interpreter per run gets a clean, fully configured Airflow (own
``AIRFLOW_HOME`` in a tmp dir, SQLite migrated once per session, connections as
``AIRFLOW_CONN_POMS_DEFAULT`` / ``AIRFLOW_CONN_REQMGR2_DEFAULT`` built from the emulator's
connection.json) and cannot leak state into other tests.

Usage from a test module::

    from tests.airflow_fixtures import airflow_env, run_dag  # noqa: F401  (fixtures)

    def test_x(run_dag):
        result = run_dag("reqmgr2_flow", {"tag": "abc"})
        assert result.states["sense_poke"] == "success"

Run as a script (what the fixture does): ``python -P tests/airflow_fixtures.py DAG_ID CONF_JSON``
(``-P``: the tests/ directory must not shadow stdlib modules such as ``http``).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

DAGS_FOLDER = Path(__file__).resolve().parent / "operators" / "dags"
RESULT_MARK = "DAGRESULT "
#: Tells the subprocess which folder to search for the DAG (tests/operators/dags by default).
DAGS_ENV = "POMS_TEST_DAGS_FOLDER"
#: Floor of the shared poller in these runs (the emulator's clock runs 600x).
TEST_MIN_POLL = "0.5"


@dataclass
class DagResult:
    """What a DAG run left behind: task states, XComs by task and key, the whole log."""

    dag_id: str
    state: str
    states: dict[str, str]
    xcom: dict[str, dict[str, Any]]
    log: str = field(repr=False)
    returncode: int = 0
    durations: dict[str, float | None] = field(default_factory=dict)

    def value(self, task_id: str, key: str = "return_value") -> Any:
        return self.xcom.get(task_id, {}).get(key)

    def task_log(self, marker: str) -> list[str]:
        return [line for line in self.log.splitlines() if marker in line]


def airflow_connections(conn: dict[str, Any]) -> dict[str, str]:
    from airflow_provider_poms.emulator.connfile import airflow_connections as build

    return {name: json.dumps(value) for name, value in build(conn).items()}


@pytest.fixture(scope="session")
def airflow_env(emulator: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Environment of the DAG-run subprocesses; ``airflow db migrate`` runs once per session."""
    home = tmp_path_factory.mktemp("airflow_home")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW__", "AIRFLOW_CONN_"))}
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            "AIRFLOW_PROVIDER_POMS_MIN_POLL_INTERVAL": TEST_MIN_POLL,
            "PYTHONPATH": os.pathsep.join(
                [str(Path(__file__).resolve().parent.parent), env.get("PYTHONPATH", "")]
            ),
            **airflow_connections(emulator.conn),
        }
    )
    airflow = Path(sys.executable).with_name("airflow")
    done = subprocess.run(
        [str(airflow), "db", "migrate"], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return env


@pytest.fixture
def run_dag(airflow_env: dict[str, str]) -> Iterator[Callable[..., DagResult]]:
    def run(
        dag_id: str,
        conf: dict[str, Any] | None = None,
        timeout: float = 800,
        dags_folder: Path | str | None = None,
        **env: str,
    ) -> DagResult:
        """Run ``dag_id`` (found in ``dags_folder``, default tests/operators/dags) to its end."""
        folder = str(dags_folder or DAGS_FOLDER)
        done = subprocess.run(
            [sys.executable, "-P", __file__, dag_id, json.dumps(conf or {})],
            env={**airflow_env, "AIRFLOW__CORE__DAGS_FOLDER": folder, DAGS_ENV: folder, **env},
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        output = done.stdout + "\n" + done.stderr
        logs = Path(tempfile.gettempdir()) / "airflow-provider-poms-dag-runs"
        logs.mkdir(exist_ok=True)
        (logs / f"{dag_id}-{time.strftime('%H%M%S')}.log").write_text(output)
        lines = [ln for ln in done.stdout.splitlines() if ln.startswith(RESULT_MARK)]
        assert lines, f"DAG {dag_id} produced no result (rc {done.returncode}):\n{output[-6000:]}"
        data = json.loads(lines[-1][len(RESULT_MARK) :])
        return DagResult(
            dag_id,
            data["state"],
            data["states"],
            data["xcom"],
            output,
            done.returncode,
            data.get("durations") or {},
        )

    yield run


# ------------------------------------------------------------------------------------------
# the subprocess side
# ------------------------------------------------------------------------------------------


def _find_dag(dag_id: str) -> Any:
    import importlib.util

    from airflow.sdk import DAG

    folder = Path(os.environ.get(DAGS_ENV) or DAGS_FOLDER)
    for path in sorted(folder.glob("*.py")):
        spec = importlib.util.spec_from_file_location(f"testdags_{path.stem}", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        for value in vars(module).values():
            if isinstance(value, DAG) and value.dag_id == dag_id:
                return value
    raise SystemExit(f"no DAG {dag_id!r} in {folder}")


def _summary(dag: Any, run: Any) -> dict[str, Any]:
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        tis = session.scalars(
            select(TaskInstance).where(TaskInstance.dag_id == dag.dag_id, TaskInstance.run_id == run.run_id)
        ).all()
        states = {ti.task_id: str(ti.state.value if hasattr(ti.state, "value") else ti.state) for ti in tis}
        durations = {ti.task_id: ti.duration for ti in tis}
        rows = session.scalars(
            select(XComModel).where(XComModel.dag_id == dag.dag_id, XComModel.run_id == run.run_id)
        ).all()
        xcom: dict[str, dict[str, Any]] = {}
        for row in rows:
            value = row.value
            with contextlib.suppress(ValueError):
                value = json.loads(value) if isinstance(value, str | bytes) else value
            xcom.setdefault(row.task_id, {})[row.key] = value
    state = run.state.value if hasattr(run.state, "value") else str(run.state)
    return {"state": state, "states": states, "xcom": xcom, "durations": durations}


def main(argv: list[str]) -> int:
    dag_id, conf = argv[0], json.loads(argv[1]) if len(argv) > 1 else {}
    dag = _find_dag(dag_id)
    run = dag.test(run_conf=conf)
    print(RESULT_MARK + json.dumps(_summary(dag, run), default=str), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
