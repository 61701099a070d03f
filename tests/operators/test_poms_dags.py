"""POMS operators and the submission sensor inside real DAGs (``dag.test()``) against the emulator."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_poms.emulator.poms.seed import DEMO_INI
from airflow_provider_poms.hooks.poms import PomsHook

# dag.test() in a fresh interpreter takes 40-100 s per DAG on a busy machine
pytestmark = pytest.mark.timeout(900)

MODES = ("poke", "reschedule", "deferrable")


def campaign_ini(name: str, *, drain: bool = False) -> str:
    """The emulator's demo campaign under a unique name (job type/login setup names too)."""
    tag = name.rsplit("_", 1)[-1]
    text = DEMO_INI.replace("demo_campaign", name).replace("demo_job", f"job_{tag}")
    text = text.replace("demo_login", f"login_{tag}")
    if drain:
        text += "\n[campaign_stage drain]\ncs_split_type=draining\n"
    return text


@pytest.fixture
def poms(emulator: Any) -> PomsHook:
    return PomsHook(settings=emulator.settings("poms", experiment="samdev", role="production"))


def test_upload_launch_wait_and_sense_in_every_mode(run_dag, emulator, poms, tmp_path: Path) -> None:
    tag = uuid.uuid4().hex[:8]
    name = f"af_flow_{tag}"
    ini = tmp_path / f"{name}.ini"
    ini.write_text(campaign_ini(name))
    result = run_dag("poms_flow", {"campaign": name, "ini": str(ini), "tag": tag})
    assert result.states == {t: "success" for t in result.states}, result.states
    assert isinstance(result.value("upload", "campaign_id"), int)
    stage_id = poms.get_campaign_stage_id("samdev", name, "stage1")
    for mode in MODES:
        sid = result.value(f"launch_{mode}")
        assert isinstance(sid, int) and result.value(f"launch_{mode}", "submission_id") == sid
        assert result.value(f"sense_{mode}") == {str(sid): "Located"}
        assert poms.get_submission_status(sid).status == "Located"
        assert f"submission_id={sid}" in result.value(f"launch_{mode}", "_link_PomsSubmissionLink")
        assert f"campaign_stage_id={stage_id}" in result.value(
            f"launch_{mode}", "_link_PomsCampaignStageLink"
        )
    # overrides were applied to the stage before the launches
    stage = next(s for s in poms.show_campaign_stages(name)["campaign_stages"] if s["name"] == "stage1")
    assert ["--tag=", tag] in [list(p) for p in stage["param_overrides"]]
    assert isinstance(result.value("launch_campaign"), int)
    # exactly one submission per launch task (+1 by launch_campaign), although the reschedule-mode task
    # ran execute() again at every look and the deferrable one resumed after its trigger
    from airflow_provider_poms.hooks.poms import stage_submission_rows

    rows = stage_submission_rows(poms.campaign_stage_submissions("samdev", "production", name, "stage1"))
    launched = {result.value(f"launch_{m}") for m in MODES} | {result.value("launch_campaign")}
    assert {int(r["submission_id"]) for r in rows} == launched
    assert result.task_log("Located at"), "each observed transition is logged with its time"
    progress = [
        ln for ln in result.task_log("% complete, ") if re.search(r": \w+, [\d.]+% complete, \d+ output", ln)
    ]
    assert progress, "progress (completion, available output) is logged as it changes"


def test_no_more_splits_and_held_launch_policies(run_dag, emulator, poms, tmp_path: Path) -> None:
    tag = uuid.uuid4().hex[:8]
    name = f"af_pol_{tag}"
    ini = tmp_path / f"{name}.ini"
    ini.write_text(campaign_ini(name, drain=True))
    poms.upload_wf(str(ini))
    held_stage = poms.get_campaign_stage_id("samdev", name, "stage2")
    session = emulator.session()
    answer = session.post(
        f"{emulator.conn['poms_url']}/mark_campaign_hold",
        data={"experiment": "samdev", "role": "production", "ids2HR": str(held_stage), "is_hold": "Hold"},
        allow_redirects=False,
        timeout=30,
    )
    assert answer.status_code in (200, 303), answer.text
    result = run_dag("poms_policies", {"campaign": name, "held_stage": held_stage})
    assert result.states["drain_first"] == "success"
    assert result.states["drained_skip"] == "skipped"
    assert result.states["drained_succeed"] == "success" and result.value("drained_succeed") is None
    assert result.states["drained_fail"] == "failed"
    assert result.task_log("on_no_more_splits='fail'")
    assert result.states["held_skip"] == "skipped"
    assert result.states["held_fail"] == "failed"
    assert result.task_log("on_held='fail'")
