"""Short chaos run (issue 8 part 1) in ``make test``: the same invariants as ``make chaos``.

20 ReqMgr2 lifecycles and 10 POMS stage chains run at once through the provider's operators and
triggers (driven like Airflow does, scripts/chaos_harness.py) while the emulator injects every fault
kind on both services. What is asserted comes from the emulator's own state afterwards: every
pipeline where it should be, exactly one request per lifecycle and one submission per stage launch,
and every terminal state reported by its task (scripted failures and aborts included).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from airflow_provider_poms.emulator.testing import EmulatorProcess

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

from chaos_run import FAULT_KINDS, ChaosConfig, run_chaos

pytestmark = [pytest.mark.chaos, pytest.mark.timeout(240)]


def _labels() -> set[str]:
    """Fault-stats labels of every kind the run injects (``http_503``, ``reset_after``, ...)."""
    return {f"http_{f['status']}" if kind == "http" else kind for kind, f in FAULT_KINDS}


def test_short_chaos_run_loses_nothing_duplicates_nothing_misses_nothing(emulator: EmulatorProcess) -> None:
    config = ChaosConfig(lifecycles=20, chains=10, fault_rate=0.15, scripted=0.1, workers=12, timeout=150)
    report = run_chaos(emulator, config)

    assert report.problems == [], "\n".join(report.problems)
    assert report.duplicate_requests == 0 and report.duplicate_submissions == 0
    assert report.missed == 0 and report.lost == 0
    # every fault kind really reached the services, on every path the run takes
    assert _labels() <= set(report.faults), report.faults
    assert report.faulted >= 2 * len(FAULT_KINDS)
    # creates and launches whose answer was lost after the server committed them were adopted
    # (the duplicate count above is 0), at least the two of each the run forces
    assert report.lost_answers.get("ReqMgr2 create", 0) >= 2, report.lost_answers
    assert report.lost_answers.get("POMS launch", 0) >= 2, report.lost_answers
    # the scripted lifecycles ended failed/aborted on the server and their tasks said so
    assert report.scripted_fail >= 1 and report.scripted_abort >= 1
    assert report.outcomes.get("ReqMgr2 failed, task failed") == report.scripted_fail
    assert report.outcomes.get("ReqMgr2 aborted, task failed") == report.scripted_abort
    normal = config.lifecycles - report.scripted_fail - report.scripted_abort
    assert report.outcomes.get("ReqMgr2 completed, task success") == normal
    assert report.outcomes.get("POMS chain Located, Located") == config.chains
    # the waits went through the triggerer (a retried task may find its target already reached),
    # and the scripted failures were reported by it as failures, not as errors or timeouts
    assert report.deferrals >= config.lifecycles + config.chains
    assert report.trigger_events.get("failure", 0) >= 1
    assert report.trigger_events.get("timeout", 0) == 0
