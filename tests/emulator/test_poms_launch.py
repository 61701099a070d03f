"""Launch semantics over HTTPS: 303 Location, holds (423), splits, campaign launches, test launches,
recoveries, kills."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

from test_poms_helpers import Poms, launch_sid, make_ini, unique

from airflow_provider_poms.emulator.testing import EmulatorProcess


def _campaign(poms: Poms, **kw: object) -> dict[str, int]:
    name = unique("ln")
    res = poms.upload_ini(make_ini(name, **kw))  # type: ignore[arg-type]
    assert res["status"] == "201 Created", res
    out = {n: i for i, n in res["campaign_stage_ids"]}
    out["campaign_id"] = res["campaign_id"]
    return out


def test_launch_answers_303_to_list_launch_file_with_submission_id(emulator: EmulatorProcess) -> None:
    poms = Poms(emulator)
    ids = _campaign(poms)
    resp = poms.call("launch_jobs", campaign_stage_id=ids["s1"])
    assert resp.status_code == 303
    loc = urlparse(resp.headers["Location"])
    assert f"{loc.scheme}://{loc.netloc}" == emulator.url  # absolute
    assert loc.path == "/poms/list_launch_file/samdev/production"
    q = parse_qs(loc.query)
    assert q["campaign_stage_id"] == [str(ids["s1"])]
    sid = int(q["submission_id"][0])
    assert poms.history(sid) == ["New"]
    page = poms.call(
        "list_launch_file", verb="GET", campaign_stage_id=ids["s1"], submission_id=sid, fmt="json"
    )
    assert page.status_code == 200 and page.json()["stage_name"] == "s1"


def test_launch_with_fmt_json_returns_the_launch_data(emulator: EmulatorProcess) -> None:
    poms = Poms(emulator)
    ids = _campaign(poms)
    body = poms.json("launch_jobs", campaign_stage_id=ids["s1"], fmt="json")
    assert body["campaign_stage_id"] == ids["s1"] and isinstance(body["submission_id"], int)
    assert body["outfile"].endswith(f"_operator_{body['submission_id']}")
    assert body["cs"]["name"] == "s1" and "submit.sh --version v2_3" in body["lcmd"]


def test_held_stage_answers_423_queues_and_release_lets_launch(emulator: EmulatorProcess) -> None:
    poms = Poms(emulator)
    ids = _campaign(poms)
    resp = poms.call("mark_campaign_hold", ids2HR=str(ids["s1"]), is_hold="Hold")
    assert resp.status_code == 303 and resp.headers["Location"].endswith(
        "/poms/show_campaign_stages/samdev/production"
    )
    resp = poms.call("launch_jobs", campaign_stage_id=ids["s1"])
    assert resp.status_code == 423
    assert resp.text == "Campaign stage s1 launches currently held.... queuing this request"
    held = poms.json("held_launches", fmt="json")["hl"]
    mine = [h for h in held if h["campaign_stage_id"] == ids["s1"]]
    assert len(mine) == 1 and mine[0]["launcher_obj"]["username"] == "operator"
    stage = next(
        s
        for s in poms.json("show_campaign_stages", fmt="json")["campaign_stages"]
        if s["campaign_stage_id"] == ids["s1"]
    )
    assert (
        stage["role_held_with"] == "production" and stage["experimenter_holder_obj"]["username"] == "operator"
    )
    resp = poms.call("held_launches_remove", createds=mine[0]["created"])
    assert resp.status_code == 303
    assert not [
        h for h in poms.json("held_launches", fmt="json")["hl"] if h["campaign_stage_id"] == ids["s1"]
    ]
    assert poms.call("mark_campaign_hold", ids2HR=str(ids["s1"]), is_hold="Release").status_code == 303
    assert poms.call("launch_jobs", campaign_stage_id=ids["s1"]).status_code == 303


def test_dependent_launch_of_a_held_stage_is_queued(emulator: EmulatorProcess) -> None:
    poms = Poms(emulator)
    ids = _campaign(poms)
    poms.call("mark_campaign_hold", ids2HR=str(ids["s2"]), is_hold="Queue")
    sid = poms.launch(ids["s1"])
    poms.wait_for(sid, "Located")
    held = [h for h in poms.json("held_launches", fmt="json")["hl"] if h["campaign_stage_id"] == ids["s2"]]
    assert len(held) == 1
    assert held[0]["parent_submission_id"] == sid and held[0]["dataset"] == f"poms_depends_{sid}_1"


def test_exhausted_list_split_answers_no_more_splits(emulator: EmulatorProcess) -> None:
    poms = Poms(emulator)
    ids = _campaign(poms, split="list", dataset="run_a,run_b", stages=("only",), chain=False)
    first = poms.launch(ids["only"])
    second = poms.launch(ids["only"])
    datasets = [
        poms.json("submission_details", submission_id=s, fmt="json")["dataset"] for s in (first, second)
    ]
    assert datasets == ["run_a", "run_b"]
    resp = poms.call("launch_jobs", campaign_stage_id=ids["only"])
    assert resp.status_code == 400
    assert resp.text == "Unknown error AssertionError('No more splits in this campaign.')"


def test_drainingn_split_runs_dry_after_its_slices(emulator: EmulatorProcess) -> None:
    poms = Poms(emulator)
    ids = _campaign(poms, split="drainingn(10)", stages=("only",), chain=False)  # 20 files -> 2 slices
    assert poms.call("launch_jobs", campaign_stage_id=ids["only"]).status_code == 303
    assert poms.call("launch_jobs", campaign_stage_id=ids["only"]).status_code == 303
    resp = poms.call("launch_jobs", campaign_stage_id=ids["only"])
    assert resp.status_code == 400 and "No more splits" in resp.text


def test_launch_campaign_starts_the_single_leading_stage(emulator: EmulatorProcess) -> None:
    poms = Poms(emulator)
    ids = _campaign(poms)
    resp = poms.call("launch_campaign", campaign_id=ids["campaign_id"])
    assert resp.status_code == 303
    sid = launch_sid(resp.headers["Location"])
    assert parse_qs(urlparse(resp.headers["Location"]).query)["campaign_stage_id"] == [str(ids["s1"])]
    assert (
        poms.json("submission_details", submission_id=sid, fmt="json")["submission"]["campaign_stage_id"]
        == ids["s1"]
    )


def test_launch_campaign_with_two_leading_stages_is_400(emulator: EmulatorProcess) -> None:
    poms = Poms(emulator)
    ids = _campaign(poms, chain=False)
    resp = poms.call("launch_campaign", campaign_id=ids["campaign_id"])
    assert resp.status_code == 400
    assert "Cannot determine which stage" in resp.text and "of 2 candidates" in resp.text


def test_test_launch_is_any_truthy_string_even_False(emulator: EmulatorProcess) -> None:
    poms = Poms(emulator)
    ids = _campaign(poms)
    for value in ("1", "False"):
        body = poms.json("launch_jobs", campaign_stage_id=ids["s1"], test_launch=value, fmt="json")
        params = poms.json("submission_details", submission_id=body["submission_id"], fmt="json")
        assert params["submission"]["submission_params"]["test"] == 1
        assert "--events=10" in body["lcmd"]  # the stage's test_param_overrides apply
    plain = poms.json("launch_jobs", campaign_stage_id=ids["s1"], fmt="json")
    assert (
        "test"
        not in poms.json("submission_details", submission_id=plain["submission_id"], fmt="json")[
            "submission"
        ]["submission_params"]
    )
    assert "--events=10" not in plain["lcmd"]


def test_test_flag_propagates_to_dependents(emulator: EmulatorProcess) -> None:
    poms = Poms(emulator)
    ids = _campaign(poms)
    sid = poms.json("launch_jobs", campaign_stage_id=ids["s1"], test_launch="1", fmt="json")["submission_id"]
    poms.wait_for(sid, "Located")
    child = poms.json("submission_details", submission_id=sid, fmt="json")["depend_ids"][0]
    assert (
        poms.json("submission_details", submission_id=child, fmt="json")["submission"]["submission_params"][
            "test"
        ]
        == 1
    )


def test_launch_recovery_for(emulator: EmulatorProcess) -> None:
    poms = Poms(emulator)
    ids = _campaign(poms)
    sid = poms.launch(ids["s1"])
    poms.wait_for(sid, "Located")
    # nothing unconsumed: a consumed_status recovery has nothing to do
    resp = poms.call("launch_recovery_for", submission_id=sid, campaign_stage_id=ids["s1"], recovery_type="1")
    assert resp.status_code == 400 and resp.text == "No recovery needed, launch skipped."
    # script_run always reruns
    resp = poms.call("launch_recovery_for", submission_id=sid, campaign_stage_id=ids["s1"], recovery_type="5")
    assert resp.status_code == 303
    rec = launch_sid(resp.headers["Location"])
    det = poms.json("submission_details", submission_id=rec, fmt="json")
    assert det["submission"]["recovery_tasks_parent"] == sid
    assert poms.json("submission_details", submission_id=sid, fmt="json")["recovery_ids"] == [rec]


def test_kill_cancel_hold_release(emulator: EmulatorProcess) -> None:
    poms = Poms(emulator)
    ids = _campaign(poms)
    a, b, c = (poms.launch(ids["s1"]) for _ in range(3))
    # without confirm nothing happens, the would-be commands are listed
    body = poms.json("kill_jobs", submission_id=a, act="kill", fmt="json")
    assert body["confirm_needed"] is True and poms.history(a) == ["New"]
    assert poms.json("kill_jobs", submission_id=a, act="kill", confirm="yes", fmt="json")["output"]
    assert poms.status(a) == "Removed"
    poms.json("kill_jobs", submission_id=b, act="cancel", confirm="yes", fmt="json")
    assert poms.status(b) == "Cancelled"
    poms.wait_for(c, "Running", step=60)
    poms.json("kill_jobs", submission_id=c, act="hold", confirm="yes", fmt="json")
    assert poms.wait_for(c, "Held", step=30)[-1] == "Held"
    poms.json("kill_jobs", submission_id=c, act="release", confirm="yes", fmt="json")
    hist = poms.wait_for(c, "Located")
    assert hist[-4:] == ["Held", "Running", "Completed", "Located"]
    # killed submissions stay Removed: the system's later reports are ignored
    emulator.control.advance_clock(3600)
    assert poms.status(a) == "Removed" and poms.status(b) == "Cancelled"


def test_global_hold_on_stage_0_holds_every_launch(emulator: EmulatorProcess) -> None:
    poms = Poms(emulator)
    ids = _campaign(poms)
    assert poms.call("mark_campaign_hold", ids2HR="0", is_hold="Hold").status_code == 303
    try:
        resp = poms.call("launch_jobs", campaign_stage_id=ids["s1"])
        assert resp.status_code == 423
        assert resp.text == "Job launches currently held.... queuing this request"
    finally:
        assert poms.call("mark_campaign_hold", ids2HR="0", is_hold="Release").status_code == 303
    assert poms.call("launch_jobs", campaign_stage_id=ids["s1"]).status_code == 303


def test_approval_stage_waits_for_a_human(emulator: EmulatorProcess) -> None:
    poms = Poms(emulator)
    ids = _campaign(poms, stages=("ok",), chain=False, extra_stage="stage_type=approval")
    sid = poms.launch(ids["ok"])
    emulator.control.advance_clock(3600)
    assert poms.history(sid) == ["New", "Awaiting Approval"]
    poms.call("update_submission", submission_id=sid, jobsub_job_id="", status="Completed")  # "approve"
    assert poms.wait_for(sid, "Located")[-2:] == ["Completed", "Located"]


def test_get_task_id_for_is_the_old_name(emulator: EmulatorProcess) -> None:
    poms = Poms(emulator)
    ids = _campaign(poms)
    resp = poms.call("get_task_id_for", campaign=ids["s1"], command_executed="x")
    assert resp.status_code == 200 and resp.text.startswith("Task=")
    assert poms.history(int(resp.text[5:])) == ["New"]
