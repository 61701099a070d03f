"""ReqMgr2 operators and the request sensor inside real DAGs (``dag.test()``) against the emulator,
in poke, reschedule and deferrable mode."""

from __future__ import annotations

import uuid

import pytest

from airflow_provider_poms.hooks.reqmgr2 import ReqMgr2Hook

# dag.test() in a fresh interpreter takes 40-100 s per DAG on a busy machine
pytestmark = pytest.mark.timeout(900)

MODES = ("poke", "reschedule", "deferrable")


def test_full_request_lifecycle_in_every_mode(run_dag, emulator) -> None:
    tag = uuid.uuid4().hex[:8]
    result = run_dag("reqmgr2_flow", {"tag": tag})
    assert result.states == {t: "success" for t in result.states}, result.states
    reqmgr2 = ReqMgr2Hook(settings=emulator.settings("reqmgr2"))
    for mode in MODES:
        name = result.value(f"create_{mode}")
        assert isinstance(name, str) and tag in name
        assert result.value(f"create_{mode}", "request_name") == name
        assert result.value(f"sense_{mode}") == {name: "completed"}
        # the link the UI shows is the request's page on the connection's host
        assert result.value(f"sense_{mode}", "_link_ReqMgr2RequestLink") == reqmgr2.request_url(name)
        path = [t[0] for t in reqmgr2.get_status_and_transitions([name])[name].transitions]
        assert path[:3] == ["new", "assignment-approved", "assigned"] and path[-2:] == [
            "closed-out",
            "announced",
        ]
        assert path.count("assigned") == 1, "a reschedule or a deferral never assigns twice"
        # priority cannot change once announced: reported, not silently lost
        assert result.value(f"update_{mode}")["dropped"] == ["RequestPriority"]
        clone = result.value(f"clone_{mode}")
        assert clone != name and f"AFclone_{tag}_{mode}" in clone
        assert reqmgr2.get_request(clone)["RequestPriority"] == 150000
    assert "file" in result.value("create_deferrable"), (
        "the deferrable chain's spec came from a .json-tpl file"
    )
    assert result.task_log("UP_FOR_RESCHEDULE") or result.task_log("up_for_reschedule")
    assert result.task_log("running trigger in line")
    assert result.task_log("request ") and result.task_log(" -> staging at ")
