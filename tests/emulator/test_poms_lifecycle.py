"""POMS over real HTTPS: a campaign uploaded from .ini, launched, walked to Located, dependents."""

from __future__ import annotations

from test_poms_helpers import Poms, make_ini, unique

from airflow_provider_poms.emulator.testing import EmulatorProcess


def test_ini_upload_launch_to_located_then_dependent_launches(emulator: EmulatorProcess) -> None:
    poms = Poms(emulator)
    name = unique("chain")
    res = poms.upload_ini(make_ini(name))
    assert res["status"] == "201 Created", res
    assert res["message"] == "OK"
    assert res["upload"] == "<uploaded_file_data>" and res["pcl_call"] == "1" and res["replace"] == "False"
    ids = dict((n, i) for i, n in res["campaign_stage_ids"])
    assert set(ids) == {"s1", "s2"}
    assert poms.stage_id(name, "s1") == ids["s1"]

    sid = poms.launch(ids["s1"])
    details = poms.json("submission_details", submission_id=sid, fmt="json")
    assert details["submission_id"] == str(sid)  # kwargs echoed as sent (a string)
    assert details["submission"]["jobsub_job_id"] is None  # nothing submitted yet
    assert details["statusmap"]["8000"] == "Located"

    hist = poms.wait_for(sid, "Located")
    assert hist[0] == "New" and hist[-2:] == ["Completed", "Located"]
    assert "Running" in hist and "Idle" in hist
    details = poms.json("submission_details", submission_id=sid, fmt="json")
    assert details["submission"]["jobsub_job_id"].endswith(".fnal.gov")
    assert details["submission"]["files_generated"] > 0

    # wrapup launched the dependent stage with the parent's id
    data = poms.json("campaign_stage_submissions", campaign_name=name, stage_name="s2", fmt="json")["data"]
    rows = data["submissions"]
    assert len(rows) == 1
    child = rows[0]["submission_id"]
    assert data["depends"][str(child)] == sid
    assert data["depth"][str(child)] == 1
    child_details = poms.json("submission_details", submission_id=child, fmt="json")
    assert child_details["submission"]["depends_on"] == sid
    assert child_details["dataset"] == f"poms_depends_{sid}_1"
    parent_details = poms.json("submission_details", submission_id=sid, fmt="json")
    assert parent_details["depend_ids"] == [child]
    assert poms.wait_for(child, "Located")[-1] == "Located"
