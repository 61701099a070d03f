"""The ReqMgr2 request sensor inside real DAGs (``dag.test()``) against the emulator: failing fast
when the target becomes unreachable, and counting a target passed between two looks."""

from __future__ import annotations

import uuid

import pytest

# dag.test() in a fresh interpreter takes 40-100 s per DAG on a busy machine
pytestmark = pytest.mark.timeout(900)

MODES = ("poke", "reschedule", "deferrable")


def test_request_aborted_while_waiting_for_completed_fails_fast_with_its_path(run_dag, emulator) -> None:
    tag = uuid.uuid4().hex[:8]
    emulator.control.script_reqmgr2(f"*AFabort_{tag}*", "running-open", "abort")
    result = run_dag("reqmgr2_abort", {"tag": tag})
    for mode in MODES:
        assert result.states[f"assign_{mode}"] == "success"
        assert result.states[f"sense_{mode}"] == "failed", (mode, result.states)
        # the sensor's timeout is 120 s: failing fast means well before it
        assert (result.durations[f"sense_{mode}"] or 0) < 60
    failures = result.task_log("can be reached any more; path taken:")
    assert len(failures) >= 3, result.log[-8000:]
    assert all("-> aborted" in line and "new (" in line and "-> assigned (" in line for line in failures)
    # a transition the table forbids is refused before any write, naming the legal next steps
    assert result.states["close_out_new"] == "failed"
    refused = result.task_log("new -> closed-out is not a legal transition")
    assert refused and "allowed: new, assignment-approved, rejected" in refused[0]


def test_target_passed_between_two_polls_counts_as_reached(run_dag) -> None:
    tag = uuid.uuid4().hex[:8]
    result = run_dag("reqmgr2_passed", {"tag": tag})
    for mode in ("poke", "deferrable"):
        assert result.states[f"sense_{mode}"] == "success", result.states
    reached = result.task_log("reached staged at")
    # seen only in RequestTransition: by the time of the look the request had moved on
    assert any("(now " in line for line in reached), result.log[-8000:]
