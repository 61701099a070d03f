"""A triggerer restart in the middle of a wait loses nothing and duplicates nothing.

The trigger's state lives in Airflow's database (the serialized trigger), so a new triggerer
picks the wait up where the old one left it. The request waited on is moved to ``closed-out`` only
after the restart, so the event the run finishes on can only come from the new triggerer.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from airflow_provider_poms.states import REQMGR2_ACTIVE
from e2e.helpers import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

DAG_ID = "e2e_triggerer_restart"


def requests_named(emulator: Any, fragment: str) -> list[str]:
    """Every request on the emulator whose name contains ``fragment`` (fresh, by status list)."""
    answer = emulator.session().get(
        f"{emulator.conn['reqmgr2_url']}/data/request",
        params={
            "status": list(REQMGR2_ACTIVE),
            "detail": "false",
            "_nostale": "true",
        },
        headers={"Accept": "application/json"},
        timeout=30,
    )
    answer.raise_for_status()
    return [name for name in answer.json()["result"] if fragment in name]


def request_status(emulator: Any, name: str) -> str:
    answer = emulator.session().get(
        f"{emulator.conn['reqmgr2_url']}/data/request",
        params={"name": name, "mask": "RequestStatus"},
        headers={"Accept": "application/json"},
        timeout=30,
    )
    answer.raise_for_status()
    return str(answer.json()["result"][0][name]["RequestStatus"])


def test_triggerer_restart_mid_wait(local_airflow: Any, emulator: Any) -> None:
    tag = uuid.uuid4().hex[:8]
    run_id = local_airflow.trigger(DAG_ID, {"tag": tag})

    def waiting() -> dict[str, Any]:
        for ti in local_airflow.task_instances(DAG_ID, run_id):
            if ti["task_id"] == "wait_closed_out" and ti["state"] == "deferred":
                return dict(ti.get("trigger") or {})
        return {}

    def taken_by() -> int | None:
        return waiting().get("triggerer_id")

    trigger = wait_for(lambda: waiting() if taken_by() else None, 240, "the sensor never deferred")
    assert str(trigger["classpath"]).startswith("airflow_provider_poms.triggers."), trigger
    names = requests_named(emulator, f"AFrestart_{tag}")
    assert len(names) == 1, names
    name = names[0]
    wait_for(lambda: request_status(emulator, name) == "completed", 300, "request never completed")

    old_pid, old_triggerer = local_airflow.procs["triggerer"].pid, trigger["triggerer_id"]
    local_airflow.restart_component("triggerer")
    assert local_airflow.procs["triggerer"].pid != old_pid
    # the same trigger row (same id) is picked up by the new triggerer job
    wait_for(lambda: taken_by() not in (None, old_triggerer), 180, "no new triggerer took the wait")
    assert waiting()["id"] == trigger["id"]

    closed = emulator.session().put(
        f"{emulator.conn['reqmgr2_url']}/data/request/{name}",
        json={"RequestStatus": "closed-out"},
        headers={"Accept": "application/json", "Content-Type": "application/json"},
        timeout=30,
    )
    assert closed.status_code == 200, closed.text
    assert local_airflow.wait_run(DAG_ID, run_id, timeout=240) == "success"
    states = {ti["task_id"]: ti["state"] for ti in local_airflow.task_instances(DAG_ID, run_id)}
    assert states == dict.fromkeys(("create", "approve", "assign", "wait_closed_out"), "success")
    # exactly one request was made
    assert requests_named(emulator, f"AFrestart_{tag}") == [name]
