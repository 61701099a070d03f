"""PomsHook over real HTTPS against the emulator: every poms_client function and the sensor calls.

Each test uploads its own campaign (unique names) through ``upload_wf`` when it needs to change
something, so tests never depend on each other or on order. Error mapping, duplicate-safe launches,
deprecated aliases and the async twins have their own files.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from airflow_provider_poms.hooks.poms import LaunchResult, PomsHook, SubmissionState
from airflow_provider_poms.http.errors import LogicalError, NotFound, ValidationError
from airflow_provider_poms.states import PomsStatus

from .poms_helpers import EXPERIMENT, campaign_ini, stage_submission_ids, upload_campaign

MakeHook = Callable[..., PomsHook]


# ------------------------------------------------------------------ transport matrix


@pytest.mark.parametrize("auth", ["cert", "proxy", "token"])
@pytest.mark.parametrize("gzip", [True, False], ids=["gzip", "identity"])
def test_reads_and_a_launch_with_every_auth_and_gzip_setting(
    make_poms_hook: MakeHook, auth: str, gzip: bool
) -> None:
    hook = make_poms_hook(auth=auth, gzip=gzip)
    assert hook.test_connection()[0] is True
    page = hook.show_campaigns()
    assert "demo_campaign" in [c["name"] for c in page["tl"]]
    cid = hook.get_campaign_id(EXPERIMENT, "demo_campaign")
    assert isinstance(cid, int)
    assert hook.get_campaign_name(EXPERIMENT, cid) == "demo_campaign"
    csid = hook.get_campaign_stage_id(EXPERIMENT, "demo_campaign", "stage1")
    assert isinstance(csid, int)
    result = hook.launch_campaign_stage_jobs(csid)
    assert hook.get_submission_status(result.submission_id).submission_id == result.submission_id


# ------------------------------------------------------------------ campaigns, stages, lookups


def test_show_campaigns_and_stages(poms: PomsHook) -> None:
    page = poms.show_campaigns(view_active=True, view_mine=True, view_others=True, view_production=True)
    demo = next(c for c in page["tl"] if c["name"] == "demo_campaign")
    assert {s["name"] for s in demo["stages"]} >= {"stage1", "stage2"}
    assert page["experiment"] == EXPERIMENT and page["role"] == "production"
    stages = poms.show_campaign_stages(campaign_name="demo_campaign")
    assert {s["name"] for s in stages["campaign_stages"]} >= {"stage1", "stage2"}


def test_show_campaigns_false_view_flags_are_omitted_not_sent_as_false(poms: PomsHook) -> None:
    # view_inactive=False must not turn into the truthy "False": inactive campaigns stay hidden.
    page = poms.show_campaigns(
        view_active=True, view_inactive=False, view_mine=True, view_others=True, view_production=True
    )
    assert page["data"]["view_inactive"] is None


def test_lookups_unknown_names_are_none(poms: PomsHook) -> None:
    assert poms.get_campaign_id(EXPERIMENT, "no_such_campaign_xyz") is None
    assert poms.get_campaign_stage_id(EXPERIMENT, "demo_campaign", "no_such_stage") is None
    assert poms.get_campaign_stage_id(EXPERIMENT, "no_such_campaign_xyz", "stage1") is None
    assert poms.get_campaign_name(EXPERIMENT, 987654321) is None


def test_get_campaign_stage_name_works_around_the_server_400(poms: PomsHook) -> None:
    csid = poms.get_campaign_stage_id(EXPERIMENT, "demo_campaign", "stage2")
    assert csid is not None
    assert poms.get_campaign_stage_name(EXPERIMENT, csid) == "stage2"


def test_get_campaign_list_maps_names_to_ids(poms: PomsHook) -> None:
    listing = poms.get_campaign_list()
    assert listing["stage1"] == poms.get_campaign_stage_id(EXPERIMENT, "demo_campaign", "stage1")


def test_tag_campaigns(poms: PomsHook, tmp_path: Path) -> None:
    camp = upload_campaign(poms, tmp_path)
    answer = poms.tag_campaigns(f"tag_{camp.tag}", [camp.campaign_id], EXPERIMENT)
    assert answer["msg"] == "OK" and answer["tag_name"] == f"tag_{camp.tag}"
    assert str(answer["campaign_id"]) == str(camp.campaign_id)


# ------------------------------------------------------------------ upload_wf and removals


def test_upload_wf_returns_campaign_and_stage_ids(poms: PomsHook, tmp_path: Path) -> None:
    camp = upload_campaign(poms, tmp_path, {"first": "", "second": "cs_split_type=draining"})
    assert set(camp.stage_ids) == {"first", "second"}
    assert poms.get_campaign_id(EXPERIMENT, camp.name) == camp.campaign_id
    assert poms.get_campaign_stage_id(EXPERIMENT, camp.name, "second") == camp.stage_ids["second"]


def test_upload_wf_replace_again_updates_the_campaign(poms: PomsHook, tmp_path: Path) -> None:
    camp = upload_campaign(poms, tmp_path)
    path = tmp_path / "again.ini"
    path.write_text(campaign_ini(camp.tag, {"main": "", "extra": ""}))
    answer = poms.upload_wf(path, replace=True)
    assert int(answer["campaign_id"]) == camp.campaign_id
    assert {name for _, name in answer["campaign_stage_ids"]} == {"main", "extra"}


def test_upload_wf_logical_error_inside_http_200(poms: PomsHook, tmp_path: Path) -> None:
    path = tmp_path / "broken.ini"
    path.write_text("[campaign]\nname=broken_campaign_no_stages\n")
    with pytest.raises(LogicalError, match="upload_wf rejected the file") as info:
        poms.upload_wf(path)
    assert info.value.status == 200
    assert info.value.rest_status == "400 Bad Request"


def test_campaign_job_type_and_login_setup_removal(poms: PomsHook, tmp_path: Path) -> None:
    camp = upload_campaign(poms, tmp_path)
    with pytest.raises(LogicalError, match="cannot be deleted"):
        poms.job_type_rm(EXPERIMENT, camp.job_type)  # still used by the stage
    assert "deleted" in poms.campaign_rm(EXPERIMENT, camp.name)["msg"]
    assert poms.get_campaign_id(EXPERIMENT, camp.name) is None
    assert "deleted" in poms.job_type_rm(EXPERIMENT, camp.job_type)["message"]
    assert "deleted" in poms.login_setup_rm(EXPERIMENT, camp.login_setup)["message"]
    with pytest.raises(NotFound):
        poms.login_setup_rm(EXPERIMENT, camp.login_setup)
    with pytest.raises(NotFound):
        poms.campaign_rm(EXPERIMENT, camp.name)


def test_campaign_rm_refuses_a_campaign_with_submissions(poms: PomsHook, tmp_path: Path) -> None:
    camp = upload_campaign(poms, tmp_path)
    poms.launch_campaign_stage_jobs(camp.stage_ids["main"])
    with pytest.raises(LogicalError, match="has submissions"):
        poms.campaign_rm(EXPERIMENT, camp.name)


def test_upload_download_and_remove_a_file(make_poms_hook: MakeHook, tmp_path: Path) -> None:
    hook = make_poms_hook("requestor")  # uploads are an analysis user's area
    path = tmp_path / f"notes_{tmp_path.name}.txt"
    path.write_text("hello POMS\n")
    assert hook.upload_file(path) is True
    assert hook.download_file(path.name) == "hello POMS\n"
    assert hook.uploaded_files_rm(EXPERIMENT, path.name) == "Ok."
    with pytest.raises(NotFound):
        hook.download_file(path.name)


# ------------------------------------------------------------------ stage edits


def test_update_stage_param_overrides_by_id_and_by_names(poms: PomsHook, tmp_path: Path) -> None:
    camp = upload_campaign(poms, tmp_path)
    po, tpo = poms.update_stage_param_overrides(
        EXPERIMENT, camp.stage_ids["main"], param_overrides=[["-Osubmit.memory=", "2000MB"]]
    )
    assert ["-Osubmit.memory=", "2000MB"] in po
    assert ["--events=", "10"] in tpo
    po, tpo = poms.update_stage_param_overrides(
        EXPERIMENT,
        (camp.name, "main"),
        param_overrides='[["-Osubmit.memory=", ""]]',
        test_param_overrides=[["--events=", "5"]],
    )
    assert all(k != "-Osubmit.memory=" for k, _ in po)  # an empty value removes the key
    assert ["--events=", "5"] in tpo


def test_update_stage_param_overrides_validates_before_any_io(poms: PomsHook) -> None:
    with pytest.raises(ValidationError) as info:
        poms.update_stage_param_overrides(EXPERIMENT, 1, param_overrides=[["-Ox="], ["", 3]])
    assert len(info.value.problems) >= 2


def test_update_stage_param_overrides_unknown_stage(poms: PomsHook) -> None:
    with pytest.raises(NotFound):
        poms.update_stage_param_overrides(
            EXPERIMENT, ("no_such_campaign_xyz", "x"), param_overrides=[["-a", "b"]]
        )


def test_modify_job_type_recoveries(poms: PomsHook, tmp_path: Path) -> None:
    camp = upload_campaign(poms, tmp_path)
    stages = poms.show_campaign_stages(campaign_name=camp.name)["campaign_stages"]
    jt_id = stages[0]["job_type_id"]
    merged = poms.modify_job_type_recoveries(jt_id, [["consumed_status", [["-Osubmit.memory=", "4000MB"]]]])
    assert merged == [["consumed_status", [["-Osubmit.memory=", "4000MB"]]]]
    with pytest.raises(ValidationError):
        poms.modify_job_type_recoveries(jt_id, [["no_such_recovery", []]])


# ------------------------------------------------------------------ launches and submissions


def test_launch_stage_and_campaign(poms: PomsHook, tmp_path: Path) -> None:
    camp = upload_campaign(poms, tmp_path)
    first = poms.launch_campaign_stage_jobs(camp.stage_ids["main"])
    assert isinstance(first, LaunchResult) and first.status == 303 and not first.recovered
    assert f"submission_id={first.submission_id}" in first.location
    second = poms.launch_campaign_jobs(camp.campaign_id)
    assert second.submission_id > first.submission_id
    assert stage_submission_ids(poms, camp.stage_ids["main"]) >= {first.submission_id, second.submission_id}


def test_test_launch_false_is_a_normal_launch_and_true_a_test_launch(poms: PomsHook, tmp_path: Path) -> None:
    camp = upload_campaign(poms, tmp_path)
    normal = poms.launch_campaign_stage_jobs(camp.stage_ids["main"], test_launch=False)
    test = poms.launch_campaign_stage_jobs(camp.stage_ids["main"], test_launch=True)
    params_normal = poms.submission_details(EXPERIMENT, None, normal.submission_id)["submission"]
    params_test = poms.submission_details(EXPERIMENT, None, test.submission_id)["submission"]
    assert "test" not in (params_normal["submission_params"] or {})
    assert params_test["submission_params"]["test"] == 1


def test_get_submission_id_for_creates_and_updates(poms: PomsHook, tmp_path: Path) -> None:
    camp = upload_campaign(poms, tmp_path)
    sid = poms.get_submission_id_for(camp.stage_ids["main"], command_executed="jobsub_submit -N 3 x.sh")
    assert isinstance(sid, int)
    assert (
        poms.get_submission_id_for(
            camp.stage_ids["main"], submission_id=sid, command_executed="jobsub_submit again"
        )
        == sid
    )
    details = poms.submission_details(EXPERIMENT, "production", sid)
    assert details["submission"]["command_executed"] == "jobsub_submit again"


def test_update_submission_and_status_history(poms: PomsHook, tmp_path: Path) -> None:
    camp = upload_campaign(poms, tmp_path)
    sid = poms.get_submission_id_for(camp.stage_ids["main"])
    assert (
        poms.update_submission(
            sid, jobsub_job_id="123.0@jobsub01.fnal.gov", status="Running", project="proj_x", pct_complete=10
        )
        == "Ok."
    )
    history = poms.session_status_history(sid)
    assert [h["status"] for h in history][-1] == "Running"
    state = poms.get_submission_status(sid)
    assert state.status == "Running" and state.poms_status is PomsStatus.RUNNING
    assert [s for s, _ in state.history][:1] == ["New"]
    assert poms.update_submission(sid, status=PomsStatus.HELD) == "Ok."
    assert poms.get_submission_status(sid).status == "Held"


def test_update_submission_unknown_and_bad_status(poms: PomsHook) -> None:
    with pytest.raises(NotFound):
        poms.update_submission(987654321, status="Running")
    with pytest.raises(ValidationError, match="unknown POMS submission status"):
        poms.update_submission(1, status="Finished")


def test_submission_status_follows_the_batch_side_to_located(poms: PomsHook, tmp_path: Path) -> None:
    camp = upload_campaign(poms, tmp_path)
    sid = poms.launch_campaign_stage_jobs(camp.stage_ids["main"]).submission_id
    deadline = time.monotonic() + 30
    state: SubmissionState = poms.get_submission_status(sid)
    while state.status != "Located" and time.monotonic() < deadline:
        time.sleep(0.5)
        state = poms.get_submission_status(sid)
    assert state.status == "Located"
    assert state.history[0][0] == "New"


def test_submission_details_and_stage_submissions(poms: PomsHook, tmp_path: Path) -> None:
    camp = upload_campaign(poms, tmp_path)
    sid = poms.launch_campaign_stage_jobs(camp.stage_ids["main"]).submission_id
    details = poms.submission_details(EXPERIMENT, "production", sid)
    assert details["submission"]["submission_id"] == sid
    assert details["statusmap"]["1000"] == "New"
    page = poms.campaign_stage_submissions(EXPERIMENT, "production", camp.name, "main", tdays=1)
    rows = page["data"]["submissions"]
    assert [r["submission_id"] for r in rows] == [sid]
    assert page["data"]["tdays"] == 1
    with pytest.raises(TypeError, match="unexpected"):
        poms.campaign_stage_submissions(EXPERIMENT, "production", camp.name, "main", bogus=1)


def test_submission_details_unknown_submission(poms: PomsHook) -> None:
    with pytest.raises(Exception) as info:
        poms.submission_details(EXPERIMENT, "production", 987654321)
    assert "No row was found" in str(info.value)


def test_unknown_submission_status_is_not_found(poms: PomsHook) -> None:
    with pytest.raises(NotFound):
        poms.get_submission_status(987654321)


# ------------------------------------------------------------------ links and experiment defaults


def test_urls_point_at_the_gui_pages(poms: PomsHook) -> None:
    base = poms.get_settings().base_url
    assert poms.submission_url(12) == f"{base}/submission_details/samdev/production?submission_id=12"
    assert poms.campaign_stage_url(3, role="analysis") == (
        f"{base}/campaign_stage_info/samdev/analysis?campaign_stage_id=3"
    )


def test_experiment_and_role_from_the_call_override_the_connection(make_poms_hook: MakeHook) -> None:
    hook = make_poms_hook(experiment="nova", role="analysis")  # operator is not in nova
    with pytest.raises(Exception, match="not in experiment"):
        hook.get_campaign_id(None, "demo_campaign")
    assert hook.get_campaign_id(EXPERIMENT, "demo_campaign", role="production") is not None


def test_server_selection_arguments(poms: PomsHook) -> None:
    with pytest.raises(ValueError, match="use a connection"):
        poms.get_campaign_id(EXPERIMENT, "demo_campaign", test="dev")
    with pytest.raises(ValueError, match="use a connection"):
        poms.get_campaign_list(test_client="int")
    assert poms.get_campaign_id(EXPERIMENT, "demo_campaign", test=False) is not None
    with pytest.deprecated_call(match="configfile is ignored"):
        assert poms.get_campaign_id(EXPERIMENT, "demo_campaign", configfile="client.cfg") is not None
