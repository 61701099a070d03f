"""Submission statuses over HTTPS: ids, updates, rollback rules, scripted outcomes, time, JSON shapes."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from test_poms_helpers import Poms, make_ini, unique

from airflow_provider_poms.emulator.testing import EmulatorProcess


@pytest.fixture()
def stages(emulator: EmulatorProcess) -> dict[str, object]:
    poms = Poms(emulator)
    name = unique("sub")
    res = poms.upload_ini(make_ini(name))
    assert res["status"] == "201 Created"
    out: dict[str, object] = {n: i for i, n in res["campaign_stage_ids"]}
    out["name"] = name
    out["campaign_id"] = res["campaign_id"]
    return out


def _task(poms: Poms, **fields: object) -> int:
    resp = poms.call("get_submission_id_for", **fields)
    assert resp.status_code == 200 and resp.text.startswith("Task="), resp.text
    return int(resp.text.removeprefix("Task="))


def test_get_submission_id_for_creates_then_updates(emulator: EmulatorProcess, stages: dict) -> None:
    poms = Poms(emulator)
    sid = _task(poms, campaign_stage_id=stages["s1"], user="operator", command_executed="fake test job")
    assert poms.history(sid) == ["New"]
    same = _task(
        poms, campaign_stage_id=stages["s1"], submission_id=sid, command_executed="jobsub_submit -G x"
    )
    assert same == sid
    sub = poms.json("submission_details", submission_id=sid, fmt="json")["submission"]
    assert sub["command_executed"] == "jobsub_submit -G x" and sub["jobsub_job_id"] is None


def test_get_submission_id_for_takes_a_stage_name(emulator: EmulatorProcess) -> None:
    poms = Poms(emulator)
    stage = unique("named")
    res = poms.upload_ini(make_ini(unique("nm"), stages=(stage,), chain=False))
    csid = res["campaign_stage_ids"][0][0]
    sid = _task(poms, campaign_stage_id=stage[2:])  # matched like LIKE %name% in the experiment
    assert (
        poms.json("submission_details", submission_id=sid, fmt="json")["submission"]["campaign_stage_id"]
        == csid
    )


def test_get_submission_id_for_ambiguous_name_is_400(emulator: EmulatorProcess, stages: dict) -> None:
    resp = Poms(emulator).call("get_submission_id_for", campaign_stage_id="s")
    assert resp.status_code == 400 and "MultipleResultsFound" in resp.text


def test_update_submission_requires_jobsub_job_id(emulator: EmulatorProcess, stages: dict) -> None:
    poms = Poms(emulator)
    sid = _task(poms, campaign_stage_id=stages["s1"])
    resp = poms.call("update_submission", submission_id=sid, status="Running")
    assert resp.status_code == 400 and resp.text.startswith("TypeError(") and "jobsub_job_id" in resp.text
    resp = poms.call("update_submission", submission_id=sid, jobsub_job_id="", status="Running")
    assert resp.status_code == 200 and resp.text == "Ok."
    assert poms.call("update_submission", submission_id=987654321, jobsub_job_id="").text == "Unknown."


def test_update_submission_ignores_unknown_status_and_sets_fields(
    emulator: EmulatorProcess, stages: dict
) -> None:
    poms = Poms(emulator)
    sid = _task(poms, campaign_stage_id=stages["s1"])
    resp = poms.call(
        "update_submission",
        submission_id=sid,
        jobsub_job_id="12345.0@jobsub01.fnal.gov",
        status="Exploded",
        project="proj1",
    )
    assert resp.text == "Ok." and poms.history(sid) == ["New"]
    sub = poms.json("submission_details", submission_id=sid, fmt="json")["submission"]
    assert sub["jobsub_job_id"] == "12345.0@jobsub01.fnal.gov" and sub["project"] == "proj1"
    rows = poms.json("campaign_stage_submissions", campaign_name=stages["name"], stage_name="s1", fmt="json")[
        "data"
    ]["submissions"]
    row = next(r for r in rows if r["submission_id"] == sid)
    assert row["jobsub_cluster"] == "12345.0" and row["jobsub_schedd"] == "jobsub01.fnal.gov"


def test_rollback_rules(emulator: EmulatorProcess) -> None:
    poms = Poms(emulator)
    # completion_type=located: the wrapup waits 30 emulated minutes before Located, so it cannot
    # interleave with this test's updates (3 s of real time at the test clock scale)
    res = poms.upload_ini(make_ini(unique("rb"), completion_type="located", stages=("a",), chain=False))
    sid = _task(poms, campaign_stage_id=res["campaign_stage_ids"][0][0])

    def upd(status: str) -> None:
        assert (
            poms.call("update_submission", submission_id=sid, jobsub_job_id="", status=status).text == "Ok."
        )

    upd("Running")
    upd("Running")  # duplicate dropped
    upd("Completed")
    upd("Running")  # <= Completed after Completed: ignored
    upd("Idle")
    assert poms.history(sid) == ["New", "Running", "Completed"]
    upd("Failed")  # still <= Completed: ignored, even from a person
    upd("Removed")  # a person may move on
    upd("Running")  # and may overwrite a final status
    assert poms.history(sid) == ["New", "Running", "Completed", "Removed", "Running"]


def test_system_user_cannot_overwrite_a_final_status(emulator: EmulatorProcess, stages: dict) -> None:
    poms = Poms(emulator)
    sid = poms.launch(stages["s1"])
    poms.wait_for(sid, "Running", step=60)
    poms.call("update_submission", submission_id=sid, jobsub_job_id="", status="Failed")
    for _ in range(12):  # the batch side (user poms) keeps reporting Running/Completed
        emulator.control.advance_clock(600)
    hist = poms.history(sid)
    assert hist[-1] == "Failed" and "Completed" not in hist


def test_pct_complete_reaching_completion_pct_completes(emulator: EmulatorProcess, stages: dict) -> None:
    poms = Poms(emulator)
    sid = _task(poms, campaign_stage_id=stages["s1"])
    poms.call(
        "update_submission", submission_id=sid, jobsub_job_id="1.0@j", status="Running", pct_complete="50"
    )
    assert poms.status(sid) == "Running"
    poms.call("update_submission", submission_id=sid, jobsub_job_id="1.0@j", pct_complete="96")
    assert poms.history(sid)[:3] == ["New", "Running", "Completed"]  # (the wrapup may already follow)
    # the wrapup cron then locates it (completion_type=complete)
    assert poms.wait_for(sid, "Located")[-1] == "Located"


def test_jobsub_job_id_appears_only_after_a_delay(emulator: EmulatorProcess, stages: dict) -> None:
    poms = Poms(emulator)
    sid = poms.launch(stages["s1"])
    assert (
        poms.json("submission_details", submission_id=sid, fmt="json")["submission"]["jobsub_job_id"] is None
    )
    poms.wait_for(sid, "Idle", step=30)
    assert poms.json("submission_details", submission_id=sid, fmt="json")["submission"]["jobsub_job_id"]


def test_output_grows_while_running(emulator: EmulatorProcess, stages: dict) -> None:
    poms = Poms(emulator)
    sid = poms.launch(stages["s1"])
    poms.wait_for(sid, "Running", step=60)
    seen = []
    for _ in range(6):
        emulator.control.advance_clock(150)
        seen.append(
            poms.json("submission_details", submission_id=sid, fmt="json")["submission"]["files_generated"]
        )
    assert seen == sorted(seen) and seen[-1] > seen[0]


def test_scripted_held_then_located(emulator: EmulatorProcess, stages: dict) -> None:
    poms = Poms(emulator)
    emulator.control.script_poms("next", ["Held", "Located"])  # belongs to the next client launch
    sid = poms.launch(stages["s1"])
    hist = poms.wait_for(sid, "Located", step=30)
    assert hist == ["New", "Held", "Located"]
    # Located by script still launches the dependent stage
    assert poms.json("submission_details", submission_id=sid, fmt="json")["depend_ids"]


@pytest.mark.parametrize("outcome", [["Failed"], ["Idle", "Removed"], ["Failed", "Completed", "Located"]])
def test_scripted_outcomes(emulator: EmulatorProcess, stages: dict, outcome: list[str]) -> None:
    poms = Poms(emulator)
    emulator.control.script_poms("next", outcome)
    sid = poms.launch(stages["s1"])
    hist = poms.wait_for(sid, outcome[-1], step=30)
    assert hist == ["New", *outcome]
    emulator.control.advance_clock(3600)
    assert poms.history(sid) == ["New", *outcome]  # settled: nothing moves it afterwards


def test_script_by_id_takes_over_a_running_submission(emulator: EmulatorProcess, stages: dict) -> None:
    poms = Poms(emulator)
    sid = poms.launch(stages["s1"])
    poms.wait_for(sid, "Running", step=30)
    emulator.control.script_poms(sid, ["Held", "Running", "Failed"])
    hist = poms.wait_for(sid, "Failed", step=30)
    assert hist[-4:] == ["Running", "Held", "Running", "Failed"]


def test_scripted_launch_failed_never_gets_a_job_id(emulator: EmulatorProcess, stages: dict) -> None:
    poms = Poms(emulator)
    emulator.control.script_poms("next", ["LaunchFailed"])
    sid = poms.launch(stages["s1"])
    hist = poms.wait_for(sid, "LaunchFailed", step=30)
    assert hist == ["New", "LaunchFailed"]
    assert (
        poms.json("submission_details", submission_id=sid, fmt="json")["submission"]["jobsub_job_id"] is None
    )


def test_still_new_becomes_launch_failed_after_the_timeout(emulator: EmulatorProcess, stages: dict) -> None:
    poms = Poms(emulator)
    sid = _task(poms, campaign_stage_id=stages["s1"])  # nobody reports for it
    emulator.control.advance_clock(3 * 3600)
    assert poms.status(sid) == "New"
    hist = poms.wait_for(sid, "LaunchFailed", step=600)
    assert hist == ["New", "LaunchFailed"]


def test_completion_type_located_waits_or_force_locate(emulator: EmulatorProcess) -> None:
    poms = Poms(emulator)
    name = unique("loc")
    res = poms.upload_ini(make_ini(name, completion_type="located", stages=("a",), chain=False))
    csid = res["campaign_stage_ids"][0][0]
    a, b = _task(poms, campaign_stage_id=csid), _task(poms, campaign_stage_id=csid)
    for sid in (a, b):
        poms.call("update_submission", submission_id=sid, jobsub_job_id="9.0@j", status="Completed")
    assert poms.call("force_locate_submission", submission_id=b).text == "Ok."
    emulator.control.advance_clock(300)  # one wrapup run at least, well under the located delay
    assert poms.status(a) == "Completed" and poms.status(b) == "Located"
    assert (
        poms.json("submission_details", submission_id=b, fmt="json")["submission"]["submission_params"][
            "force_located"
        ]
        is True
    )
    assert poms.wait_for(a, "Located", step=600)[-1] == "Located"


def test_campaign_stage_submissions_time_window(emulator: EmulatorProcess, stages: dict) -> None:
    poms = Poms(emulator)
    sid = _task(poms, campaign_stage_id=stages["s1"])
    now = datetime.fromtimestamp(emulator.control.now(), UTC)
    fmt = "%Y-%m-%d %H:%M:%S"

    def rows(**window: str) -> list[int]:
        data = poms.json(
            "campaign_stage_submissions", campaign_name=stages["name"], stage_name="s1", fmt="json", **window
        )["data"]
        return [r["submission_id"] for r in data["submissions"]]

    assert sid in rows()  # default: stage creation until now
    assert sid in rows(tdays="1")
    past = (now - timedelta(days=3)).strftime(fmt)
    assert rows(tmax=past, tdays="1") == []  # [tmax - 1 day, tmax] is before it existed
    data = poms.json(
        "campaign_stage_submissions",
        campaign_name=stages["name"],
        stage_name="s1",
        fmt="json",
        tmin=(now - timedelta(days=2)).strftime(fmt),
        tmax=(now + timedelta(hours=1)).strftime(fmt),
    )["data"]
    assert data["tdays"] == pytest.approx(2.04, abs=0.01)
    assert sid in [r["submission_id"] for r in data["submissions"]]
    assert data["nextlink"].startswith("/poms/campaign_stage_submissions/samdev/production?campaign_name=")
    assert "&tdays=2.04" in data["nextlink"] and "&tmax=" in data["prevlink"]
    assert int(data["tminsec"]) == int((now - timedelta(days=2)).timestamp())
    row = next(r for r in data["submissions"] if r["submission_id"] == sid)
    assert row["jobsub_job_id"] is None and row["jobsub_cluster"] == "unknown.0"
    assert (
        row["jobsub_schedd"] == "unknown.un.known" and row["status"] == "New" and row["creator"] == "operator"
    )
    assert set(row) >= {
        "submission_id",
        "jobsub_job_id",
        "created",
        "creator",
        "status",
        "jobsub_cluster",
        "jobsub_schedd",
        "campaign_stage_name",
        "available_output",
        "output_dims",
    }
    assert data["depends"][str(sid)] is None and data["depth"][str(sid)] == 0


def test_campaign_stage_submissions_unknown_name_has_no_rows(emulator: EmulatorProcess) -> None:
    data = Poms(emulator).json(
        "campaign_stage_submissions", campaign_name=unique("nope"), stage_name="x", fmt="json"
    )["data"]
    assert "submissions" not in data and "tmin" in data


def test_running_submissions(emulator: EmulatorProcess, stages: dict) -> None:
    poms = Poms(emulator)
    sid = _task(poms, campaign_stage_id=stages["s1"])
    by_campaign = poms.json("running_submissions", campaign_id_list=str(stages["campaign_id"]))
    assert by_campaign[str(stages["campaign_id"])] >= 1
    rows = poms.json("running_submissions", campaign_id_list="")
    assert [sid, None, "samdev"] in rows


def test_submission_details_shape(emulator: EmulatorProcess, stages: dict) -> None:
    poms = Poms(emulator)
    sid = poms.launch(stages["s1"])
    det = poms.json("submission_details", submission_id=sid, fmt="json")
    assert set(det) >= {
        "submission_id",
        "submission",
        "history",
        "dataset",
        "recoverymap",
        "statusmap",
        "ds",
        "submission_log_format",
        "recovery_ids",
        "depend_ids",
        "statuses",
    }
    sub = det["submission"]
    for key in (
        "submission_id",
        "campaign_stage_id",
        "creator",
        "created",
        "submission_params",
        "depends_on",
        "depend_threshold",
        "updater",
        "updated",
        "command_executed",
        "project",
        "files_consumed",
        "files_generated",
        "campaign_stage_snapshot_id",
        "job_type_snapshot_id",
        "login_setup_snapshot_id",
        "recovery_position",
        "recovery_tasks_parent",
        "jobsub_job_id",
        "pct_complete",
        "campaign_stage_obj",
        "experimenter_creator_obj",
        "campaign_stage_snapshot_obj",
        "job_type_snapshot_obj",
        "login_setup_snapshot_obj",
    ):
        assert key in sub, key
    assert "status" not in sub  # no flat status field
    assert det["history"][0]["status_id"] == 1000 and det["history"][0]["submission_id"] == sid
    assert det["recoverymap"]["consumed_status"][0] == 1
    assert sub["campaign_stage_obj"]["campaign_obj"] == {"name": stages["name"]}
    assert sub["experimenter_creator_obj"]["username"] == "operator"
    time.sleep(0)  # keep the submission untouched for the next assertions
    assert det["dataset"] == "ds_test"
