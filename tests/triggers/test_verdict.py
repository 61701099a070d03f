"""Judging observed states: the decisions every wait mode shares (pure functions, no I/O)."""

from __future__ import annotations

import logging

import pytest

from airflow_provider_poms.hooks.poms import SubmissionState
from airflow_provider_poms.hooks.reqmgr2 import RequestState
from airflow_provider_poms.states import REQMGR2_STATUSES, reqmgr2_target_still_reachable
from airflow_provider_poms.triggers.verdict import (
    FAILURE,
    SUCCESS,
    WAITING,
    judge_poms,
    judge_reqmgr2,
    judge_reqmgr2_one,
    log_new_steps,
    new_steps,
    poms_snapshot,
    reqmgr2_snapshot,
)


def _req(name: str, *path: str) -> dict:
    state = RequestState(
        name, path[-1], tuple((s, 1_700_000_000 + i * 60, "/CN=op") for i, s in enumerate(path))
    )
    snap = reqmgr2_snapshot(name, state)
    assert snap is not None
    return snap


def test_target_passed_between_polls_counts_as_reached() -> None:
    snap = _req(
        "r1",
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
    )
    outcome, message = judge_reqmgr2_one(snap, "r1", ["completed"])
    assert outcome == SUCCESS
    assert "reached completed at 2023-11-14" in message and "now closed-out" in message


def test_aborted_while_waiting_for_completed_fails_with_the_path() -> None:
    snap = _req("r2", "new", "assignment-approved", "assigned", "aborted")
    outcome, message = judge_reqmgr2_one(snap, "r2", ["completed"])
    assert outcome == FAILURE
    assert "no target (completed) can be reached" in message
    assert "new (" in message and "-> assigned (" in message and "-> aborted (" in message


def test_failed_request_can_still_reach_completed_through_reassignment() -> None:
    snap = _req("r3", "new", "assignment-approved", "assigned", "staging", "staged", "failed")
    outcome, message = judge_reqmgr2_one(snap, "r3", ["completed"])
    assert outcome == WAITING
    assert "failed -> assigned" in message
    outcome, _ = judge_reqmgr2_one(snap, "r3", ["completed"], failures=["failed"])
    assert outcome == FAILURE


def test_unreachability_follows_the_transition_table_for_every_status() -> None:
    for status in REQMGR2_STATUSES:
        snap = {"name": "x", "status": status, "transitions": [[status, 1, None]]}
        outcome, _ = judge_reqmgr2_one(snap, "x", ["announced"])
        if status == "announced":
            assert outcome == SUCCESS
        elif reqmgr2_target_still_reachable(status, ["announced"]):
            assert outcome == WAITING, status
        else:
            assert outcome == FAILURE, status


def test_many_requests_wait_for_all_and_fail_on_any() -> None:
    done = _req("a", "new", "assignment-approved")
    waiting = _req("b", "new")
    rejected = _req("c", "new", "rejected")
    assert judge_reqmgr2({"a": done, "b": waiting}, ["assignment-approved"]).outcome == WAITING
    assert "1/2 done" in judge_reqmgr2({"a": done, "b": waiting}, ["assignment-approved"]).message
    assert judge_reqmgr2({"a": done, "c": rejected}, ["assignment-approved"]).outcome == FAILURE
    assert judge_reqmgr2({"a": done}, ["assignment-approved"]).outcome == SUCCESS
    assert judge_reqmgr2({"zz": None}, ["completed"]).outcome == FAILURE


def _sub(sid: int, *history: str, pct: float | None = None) -> dict:
    state = SubmissionState(
        sid,
        history[-1],
        tuple((s, f"2026-11-22 10:0{i}:00") for i, s in enumerate(history)),
        pct_complete=pct,
    )
    snap = poms_snapshot(sid, state)
    assert snap is not None
    return snap


def test_poms_located_default_and_normal_path_implication() -> None:
    snap = _sub(7, "New", "Idle", "Running", "Located")
    assert judge_poms({"7": snap}, ["Located"], ["Failed"]).outcome == SUCCESS
    # Located implies Completed even when Completed never showed up in the history
    assert judge_poms({"7": snap}, ["Completed"], ["Failed"]).outcome == SUCCESS


def test_poms_held_is_flagged_and_failure_statuses_fail() -> None:
    held = _sub(8, "New", "Idle", "Held", pct=12.5)
    judgement = judge_poms({"8": held}, ["Located"], ["Failed", "Removed"])
    assert judgement.outcome == WAITING
    assert judgement.attention and "Held" in judgement.attention[0]
    assert "12.5% complete" in judgement.message
    removed = _sub(9, "New", "Removed")
    judgement = judge_poms({"9": removed}, ["Located"], ["Failed", "Removed"])
    assert judgement.outcome == FAILURE and "Removed" in judgement.message


def test_new_steps_only_returns_what_was_not_logged() -> None:
    snap = _req("r", "new", "assignment-approved", "assigned")
    assert [s[0] for s in new_steps(snap, 1, "transitions")] == ["assignment-approved", "assigned"]
    assert new_steps(snap, 3, "transitions") == []
    assert new_steps(None, 0, "transitions") == []


def test_log_new_steps_logs_each_step_once_in_the_shared_format(caplog: pytest.LogCaptureFixture) -> None:
    """Sensors and triggers log through this one function, so both modes print the same lines."""
    log = logging.getLogger("test.verdict.steps")
    seen: dict[str, int] = {"r": 1}
    pages: list[str] = []

    def page() -> str:
        pages.append("r")
        return "https://reqmgr2.example/r"

    with caplog.at_level(logging.INFO, logger=log.name):
        log_new_steps(log, "request", "r", _req("r", "new", "assigned"), seen, "5m", page)
        log_new_steps(log, "request", "r", _req("r", "new", "assigned"), seen, "6m", page)
        log_new_steps(log, "submission", "7", _sub(7, "New", "Idle"), seen, "1m", "https://poms.example/7")
        log_new_steps(log, "submission", "8", None, seen, "1m", "unused")
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 3 and pages == ["r"], "a step is logged once; a page is made only for a step"
    assert lines[0].startswith("request r -> assigned at ") and " by /CN=op (waiting 5m) " in lines[0]
    assert lines[0].endswith("https://reqmgr2.example/r")
    assert lines[1].startswith("submission 7 -> New at ") and lines[1].endswith(
        " (waiting 1m) https://poms.example/7"
    )
    assert lines[2].startswith("submission 7 -> Idle at ")
    assert seen == {"r": 2, "7": 2}, "what was logged is remembered; an unknown id changes nothing"
