"""The POMS submission sensor inside real DAGs (``dag.test()``) against the emulator: a submission
that goes Held and then Located (reported at every look, in every mode), and one Held for too long."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from airflow_provider_poms.hooks.poms import PomsHook

# dag.test() in a fresh interpreter takes 40-100 s per DAG on a busy machine
pytestmark = pytest.mark.timeout(900)

MODES = ("poke", "reschedule", "deferrable")


@pytest.fixture
def poms(emulator: Any) -> PomsHook:
    return PomsHook(settings=emulator.settings("poms", experiment="samdev", role="production"))


def _launch_scripted(emulator: Any, poms: PomsHook, statuses: list[str]) -> int:
    emulator.control.script_poms("next", statuses)
    stage = poms.get_campaign_stage_id("samdev", "demo_campaign", "stage1")
    return poms.launch_campaign_stage_jobs(stage).submission_id


class Releaser(threading.Thread):
    """Plays the shifter: once a sensor has looked a few times at its Held submission, the jobs are
    released (Running, then Located), one submission after the other in DAG order."""

    def __init__(self, emulator: Any, poms: PomsHook, order: list[int], looks: int = 4) -> None:
        super().__init__(daemon=True)
        self.emulator, self.poms, self.order, self.looks = emulator, poms, order, looks
        self.stop = threading.Event()
        self.released: list[int] = []

    def run(self) -> None:
        since = self.emulator.control.log_index()
        for sid in self.order:
            while not self.stop.is_set():
                polls = self.emulator.control.request_log(since, path_prefix="/poms/session_status_history")
                if len(polls) >= self.looks:
                    break
                time.sleep(0.5)
            if self.stop.is_set():
                return
            self.poms.update_submission(sid, status="Running")
            self.poms.update_submission(sid, status="Located")
            self.released.append(sid)
            since = self.emulator.control.log_index()


def test_submission_held_then_located_and_held_for_too_long(run_dag, emulator, poms) -> None:
    conf = {mode: _launch_scripted(emulator, poms, ["Idle", "Held"]) for mode in (*MODES, "stuck")}
    releaser = Releaser(emulator, poms, [conf[m] for m in MODES])
    releaser.start()
    try:
        result = run_dag("poms_held", conf)
    finally:
        releaser.stop.set()
        releaser.join(10)
    assert releaser.released == [conf[m] for m in MODES]
    for mode in MODES:
        assert result.states[f"sense_{mode}"] == "success", result.states
        assert result.value(f"sense_{mode}") == {str(conf[mode]): "Located"}
        warnings = result.task_log(
            f"submission {conf[mode]} is Held: it will not progress until someone acts"
        )
        assert warnings, f"{mode}: Held must be reported clearly"
        assert result.task_log(f"submission {conf[mode]} reached Located")
    assert result.states["sense_stuck"] == "failed"
    assert result.task_log(f"submission {conf['stuck']} has been Held for")
