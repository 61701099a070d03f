"""POMS wire behaviour over HTTPS: verbs, encodings, path form, context resolution, return types, errors."""

from __future__ import annotations

import re

import pytest
import requests
from test_poms_helpers import Poms, make_ini, unique

from airflow_provider_poms.emulator.testing import EmulatorProcess

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$")


@pytest.fixture(scope="module")
def demo(emulator: EmulatorProcess) -> dict[str, int]:
    """The seeded demo campaign (samdev, operator): its ids."""
    poms = Poms(emulator)
    cid = poms.json("get_campaign_id", campaign_name="demo_campaign")
    return {
        "campaign_id": cid,
        "stage1": poms.stage_id("demo_campaign", "stage1"),
        "stage2": poms.stage_id("demo_campaign", "stage2"),
    }


def test_seeded_demo_campaign_exists(emulator: EmulatorProcess, demo: dict[str, int]) -> None:
    poms = Poms(emulator)
    stages = poms.json("show_campaign_stages", campaign_name="demo_campaign", fmt="json")["campaign_stages"]
    assert [s["name"] for s in stages] == ["stage1", "stage2"]
    assert all(s["experimenter_creator_obj"]["username"] == "operator" for s in stages)
    ini = poms.call("campaign_deps_ini", name="demo_campaign")
    assert "[dependencies stage2]" in ini.text and "campaign_stage_1=stage1" in ini.text


@pytest.mark.parametrize("verb", ["GET", "POST", "PUT"])
def test_any_verb_and_query_or_body(emulator: EmulatorProcess, demo: dict[str, int], verb: str) -> None:
    resp = Poms(emulator).call("get_campaign_name", verb=verb, campaign_id=demo["campaign_id"])
    assert resp.status_code == 200 and resp.text == "demo_campaign"


def test_query_and_body_are_merged(emulator: EmulatorProcess, demo: dict[str, int]) -> None:
    poms = Poms(emulator)
    resp = poms.session.post(
        f"{poms.base}/get_campaign_stage_id?campaign_name=demo_campaign",
        data={"campaign_stage_name": "stage2", "experiment": "samdev", "role": "production"},
        allow_redirects=False,
        timeout=30,
    )
    assert resp.status_code == 200 and resp.json() == demo["stage2"]


def test_multipart_body_is_accepted_for_plain_fields(emulator: EmulatorProcess, demo: dict[str, int]) -> None:
    poms = Poms(emulator)
    resp = poms.session.post(
        f"{poms.base}/get_campaign_name",
        files={
            "campaign_id": (None, str(demo["campaign_id"])),
            "experiment": (None, "samdev"),
            "role": (None, "production"),
        },
        timeout=30,
    )
    assert resp.status_code == 200 and resp.text == "demo_campaign"


def test_path_form_sets_experiment_and_role(emulator: EmulatorProcess, demo: dict[str, int]) -> None:
    poms = Poms(emulator)
    resp = poms.call("get_campaign_id", path="/samdev/production", er=False, campaign_name="demo_campaign")
    assert resp.json() == demo["campaign_id"]
    # the path wins over parameters
    resp = poms.call(
        "get_campaign_id",
        path="/samdev/production",
        er=False,
        campaign_name="demo_campaign",
        experiment="dune",
    )
    assert resp.json() == demo["campaign_id"]
    # the experiment from the path decides: in dune the campaign does not exist
    resp = poms.call("get_campaign_id", path="/dune/production", er=False, campaign_name="demo_campaign")
    assert resp.status_code == 200 and resp.json() is None


def test_saved_session_values_are_the_fallback(emulator: EmulatorProcess, demo: dict[str, int]) -> None:
    poms = Poms(emulator)
    # no experiment/role at all: the operator's saved session (samdev/production) applies
    resp = poms.call("get_campaign_id", er=False, campaign_name="demo_campaign")
    assert resp.status_code == 200 and resp.json() == demo["campaign_id"]
    # the session can be switched; the redirect goes to the new index page
    resp = poms.call("update_session_experiment", er=False, session_experiment="dune")
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/poms/index/dune/production")
    assert poms.call("get_campaign_id", er=False, campaign_name="demo_campaign").json() is None
    poms.call("update_session_experiment", er=False, session_experiment="samdev")
    assert poms.call("get_campaign_id", er=False, campaign_name="demo_campaign").json() == demo["campaign_id"]


def test_fmt_json_echoes_request_kwargs(emulator: EmulatorProcess, demo: dict[str, int]) -> None:
    poms = Poms(emulator)
    body = poms.json(
        "campaign_stage_submissions",
        campaign_name="demo_campaign",
        stage_name="stage1",
        campaign_stage_id=demo["stage1"],
        tdays="1",
        fmt="json",
    )
    assert body["campaign_name"] == "demo_campaign" and body["stage_name"] == "stage1"
    assert body["campaign_stage_id"] == str(demo["stage1"])  # echoed as sent
    assert "experiment" not in body and "tdays" not in body and "fmt" not in body  # lifted into the context
    shows = poms.json("show_campaigns", fmt="json")
    assert shows["experiment"] == "samdev" and shows["role"] == "production"  # need_er handlers keep them


def test_datetimes_are_naive_local_and_statusmap_keys_strings(
    emulator: EmulatorProcess, demo: dict[str, int]
) -> None:
    poms = Poms(emulator)
    stages = poms.json("show_campaign_stages", campaign_name="demo_campaign", fmt="json")["campaign_stages"]
    assert ISO.match(stages[0]["created"])
    sid = poms.launch(demo["stage1"])
    det = poms.json("submission_details", submission_id=sid, fmt="json")
    assert ISO.match(det["submission"]["created"])
    assert det["statusmap"] == {
        "1000": "New",
        "1500": "Cancelled",
        "2000": "LaunchFailed",
        "2400": "Awaiting Approval",
        "2500": "Approved",
        "3000": "Idle",
        "4000": "Running",
        "5000": "Held",
        "6000": "Failed",
        "7000": "Completed",
        "8000": "Located",
        "9000": "Removed",
    }
    assert re.match(r"^\d{8}_\d{6}$", det["ds"])
    hist = poms.json("session_status_history", submission_id=sid)
    assert re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$", hist[0]["created"]) and hist[0]["status"] == "New"
    poms.call("kill_jobs", submission_id=sid, act="kill", confirm="yes")


def test_redirects_are_303_absolute_and_redirect_0_suppresses(emulator: EmulatorProcess) -> None:
    poms = Poms(emulator, "requestor")
    up = poms.call("upload_file", files={"filename": ("probe.txt", b"hello")})
    assert up.status_code == 303
    assert up.headers["Location"] == f"{poms.base}/file_uploads/samdev/analysis/requestor"
    rm = poms.call("remove_uploaded_files", filename="probe.txt", action="delete", redirect="0")
    assert rm.status_code == 200 and rm.text == "Ok."


def test_headers_probe_names_the_user_and_masks_tokens(emulator: EmulatorProcess) -> None:
    resp = Poms(emulator, auth="token").call("headers")
    assert resp.status_code == 200
    assert "'X-Shib-Userid': 'operator'" in resp.text
    assert "Bearer" not in resp.text and "<masked>" in resp.text


@pytest.mark.parametrize("auth", ["cert", "proxy", "token"])
def test_every_auth_mode_reaches_poms(emulator: EmulatorProcess, demo: dict[str, int], auth: str) -> None:
    resp = Poms(emulator, auth=auth).call("get_campaign_id", campaign_name="demo_campaign")
    assert resp.status_code == 200 and resp.json() == demo["campaign_id"]


def test_unknown_method_is_404(emulator: EmulatorProcess) -> None:
    assert Poms(emulator).call("no_such_method").status_code == 404


def test_error_texts_are_plain(emulator: EmulatorProcess, demo: dict[str, int]) -> None:
    poms = Poms(emulator)
    # unexpected keyword (e.g. a stale client's configfile) -> TypeError repr
    resp = poms.call("launch_jobs", campaign_stage_id=demo["stage1"], configfile="/x/client.cfg")
    assert resp.status_code == 400
    assert resp.text.startswith("TypeError(") and "configfile" in resp.text
    assert resp.headers["Content-Type"].startswith("text/plain")
    # required key read from kwargs -> KeyError
    resp = poms.call("running_submissions")
    assert resp.status_code == 400 and resp.text == "Missing form field: KeyError('campaign_id_list')"
    # bad value -> ValueError
    sid = int(poms.call("get_submission_id_for", campaign_stage_id=demo["stage2"]).text.split("=")[1])
    resp = poms.call("update_submission", submission_id=sid, jobsub_job_id="", pct_complete="lots")
    assert resp.status_code == 400 and resp.text.startswith("Invalid argument: ValueError(")
    # anything else -> Unknown error <repr>
    resp = poms.call("submission_details", submission_id=999999999, fmt="json")
    assert resp.status_code == 400 and resp.text.startswith("Unknown error NoResultFound(")


def test_no_certificate_no_token_is_refused_before_poms(emulator: EmulatorProcess) -> None:
    s = requests.Session()
    s.trust_env = False
    resp = s.post(f"{emulator.conn['poms_url']}/headers", verify=emulator.conn["ca_cert"], timeout=10)
    assert resp.status_code == 401


def test_campaign_deps_ini_round_trips(emulator: EmulatorProcess) -> None:
    poms = Poms(emulator)
    name = unique("rt")
    assert poms.upload_ini(make_ini(name, stages=("a", "b", "c")))["status"] == "201 Created"
    exported = poms.call("campaign_deps_ini", name=name)
    assert exported.status_code == 200 and exported.headers["Content-Type"].startswith("text/ini")
    text = exported.text
    assert f"name={name}" in text and "campaign_stage_list=a,b,c" in text
    assert "[dependencies c]" in text and "campaign_stage_1=b" in text
    assert "[job_type jt_" in text and "[login_setup ls_" in text
    again = poms.upload_ini(text)
    assert again["status"] == "201 Created"
    assert [n for _, n in again["campaign_stage_ids"]] == ["a", "b", "c"]
    full = poms.call("campaign_deps_ini", name=name, full="1").text
    assert "[node_positions]" in full


def test_stale_credential_probe_path_form_get(emulator: EmulatorProcess) -> None:
    """check_stale_proxy/token: GET file_uploads/<exp>/analysis/<user>?fmt=json."""
    req = Poms(emulator, "requestor")
    name = unique("x509up_voms_samdev_Analysis_requestor")
    req.call("upload_file", files={"filename": (name, b"proxy")})
    resp = req.session.get(
        f"{req.base}/file_uploads/samdev/analysis/requestor",
        params={"fmt": "json"},
        allow_redirects=False,
        timeout=30,
    )
    assert resp.status_code == 200
    body = resp.json()
    assert body["user"] == "requestor"  # the path's third segment, echoed
    assert name in [row[0] for row in body["file_stat_list"]]
