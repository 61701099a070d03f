"""One real Airflow for the end-to-end and browser tests of a session.

Starting Airflow (api-server, scheduler, dag-processor, triggerer) costs about a minute on two
cores, so every test of this directory shares one instance. Its DAGs folder links the shipped
example DAGs and the test-only DAGs of ``tests/e2e/dags``, and its connections point at the
session's emulator, so what runs here is what a user gets from ``example_dags/``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "example_dags"
E2E_DAGS = Path(__file__).resolve().parent / "dags"
#: The provider's poll floor in these runs.
MIN_POLL = "1"
#: Emulated seconds per real second here. Slower than the other tiers (600) on purpose: a request
#: then needs about a minute from ``assigned`` to ``completed``, so the sensors really defer and wait
#: in the triggerer instead of finding their target already reached on their first look.
E2E_CLOCK_SCALE = 60

sys.path.insert(0, str(REPO / "scripts"))
from airflow_local import LocalAirflow, linked_dags_folder  # noqa: E402

from airflow_provider_poms.emulator.testing import EmulatorProcess  # noqa: E402

__all__ = ["LocalAirflow"]


def connection_env(conn: dict[str, Any]) -> dict[str, str]:
    from airflow_provider_poms.emulator.connfile import airflow_connections

    return {name: json.dumps(value) for name, value in airflow_connections(conn).items()}


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorProcess]:
    """This directory's own emulator (overrides the session one): the clock of a real wait."""
    emu = EmulatorProcess(
        tmp_path_factory.mktemp("e2e_emulator"), clock_scale=E2E_CLOCK_SCALE, seed=4321, control=True
    )
    with emu:
        yield emu


@pytest.fixture(scope="session")
def local_airflow(emulator: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalAirflow]:
    """A started, healthy Airflow on SQLite with LocalExecutor; stopped by PID at the end."""
    home = tmp_path_factory.mktemp("e2e_airflow")
    airflow = LocalAirflow(
        home=home,
        dags_folder=linked_dags_folder(home, {"example_dags": EXAMPLES, "e2e": E2E_DAGS}),
        extra_env={
            **connection_env(emulator.conn),
            "AIRFLOW_PROVIDER_POMS_MIN_POLL_INTERVAL": MIN_POLL,
            "PYTHONPATH": str(REPO),
        },
        parallelism=8,
    )
    with airflow:
        yield airflow
    for name in ("api-server", "scheduler", "dag-processor", "triggerer"):
        log = home / f"{name}.log"
        if log.exists():
            out = REPO / "test-output" / "e2e-airflow"
            out.mkdir(parents=True, exist_ok=True)
            (out / log.name).write_bytes(log.read_bytes())
