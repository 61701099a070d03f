"""What the end-to-end tests read back from a real Airflow run, in plain data."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from airflow_local import LocalAirflow


@dataclass
class RunRecord:
    """Everything seen while a DAG run was watched: the states each task went through."""

    dag_id: str
    run_id: str
    state: str = "queued"
    seen: dict[str, list[str]] = field(default_factory=dict)
    final: list[dict[str, Any]] = field(default_factory=list)
    #: task key -> classpaths of the triggers Airflow recorded for it while it was deferred
    triggers: dict[str, set[str]] = field(default_factory=dict)

    def deferred_tasks(self) -> set[str]:
        return {task for task, states in self.seen.items() if "deferred" in states}

    def final_states(self) -> dict[str, str]:
        return {key(ti): str(ti["state"]) for ti in self.final}


def key(ti: dict[str, Any]) -> str:
    index = ti.get("map_index", -1)
    return ti["task_id"] + (f"[{index}]" if index is not None and index >= 0 else "")


def watch(airflow: LocalAirflow, runs: list[tuple[str, str]], timeout: float = 420) -> list[RunRecord]:
    """Poll several runs once a second until all end, noting every state each task passes."""
    records = [RunRecord(dag_id, run_id) for dag_id, run_id in runs]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pending = [r for r in records if r.state not in ("success", "failed")]
        if not pending:
            break
        for record in pending:
            for ti in airflow.task_instances(record.dag_id, record.run_id):
                states = record.seen.setdefault(key(ti), [])
                state = str(ti["state"])
                if not states or states[-1] != state:
                    states.append(state)
                trigger = ti.get("trigger") or {}
                if trigger.get("classpath"):
                    record.triggers.setdefault(key(ti), set()).add(str(trigger["classpath"]))
            record.state = airflow.run_state(record.dag_id, record.run_id)
        time.sleep(1)
    for record in records:
        record.final = airflow.task_instances(record.dag_id, record.run_id)
        if record.state not in ("success", "failed"):
            raise TimeoutError(f"{record.dag_id}/{record.run_id} still {record.state}: {record.seen}")
    return records


def links_of(airflow: LocalAirflow, record: RunRecord) -> dict[str, dict[str, str]]:
    """{task key: {link name: url}} for every task instance of the run that has a link set."""
    found: dict[str, dict[str, str]] = {}
    for ti in record.final:
        index = ti.get("map_index")
        body = airflow.links(record.dag_id, record.run_id, ti["task_id"], -1 if index is None else index)
        links = body.get("extra_links", body)
        urls = {name: url for name, url in links.items() if isinstance(url, str) and url}
        if urls:
            found[key(ti)] = urls
    return found


def wait_for(predicate: Any, timeout: float, what: str, every: float = 0.5) -> Any:
    """Poll ``predicate`` until it returns something truthy (returned) or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise TimeoutError(what)
