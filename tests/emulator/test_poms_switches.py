"""The non-default POMS switches and persistence, on a second emulator process.

Started with ``--launch-redirect fname`` (main-branch Location), ``--persist`` and a
``poms-settings.json`` in its state directory turning on the credential check and the
``modify_job_type_recoveries`` merge bug, turning off the ``get_campaign_stage_name`` bug and setting
a 4 KiB upload quota.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from test_poms_helpers import Poms, launch_sid, make_ini, unique

from airflow_provider_poms.emulator.testing import EmulatorProcess


@pytest.fixture(scope="module")
def emu2(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorProcess]:
    state = Path(tmp_path_factory.mktemp("emulator_poms_switches"))
    (state / "poms-settings.json").write_text(
        json.dumps(
            {
                "credential_check": True,
                "bug_stage_name": False,
                "bug_recoveries_merge": True,
                "upload_quota": 4096,
            }
        )
    )
    emu = EmulatorProcess(
        state, clock_scale=600, seed=7, control=True, persist=True, extra_args=["--launch-redirect", "fname"]
    )
    with emu:
        yield emu


def test_fname_launch_redirect(emu2: EmulatorProcess) -> None:
    poms = Poms(emu2)
    csid = poms.stage_id("demo_campaign", "stage1")
    resp = poms.call("launch_jobs", campaign_stage_id=csid)
    assert resp.status_code == 303
    q = parse_qs(urlparse(resp.headers["Location"]).query)
    assert "submission_id" not in q
    fname = q["fname"][0]
    stamp, user, sid = (
        fname.split("_")[0] + "_" + fname.split("_")[1],
        fname.split("_")[2],
        fname.rsplit("_", 1)[1],
    )
    assert len(stamp) == 15 and user == "operator"
    assert launch_sid(resp.headers["Location"]) == int(sid)
    assert poms.history(int(sid)) == ["New"]


def test_credential_check_redirects_analysis_launches_to_auth(emu2: EmulatorProcess) -> None:
    req = Poms(emu2, "requestor")
    res = req.upload_ini(make_ini(unique("cred"), role="Analysis"))
    csid = res["campaign_stage_ids"][0][0]
    resp = req.call("launch_jobs", campaign_stage_id=csid)
    assert resp.status_code == 303
    loc = urlparse(resp.headers["Location"])
    assert loc.path == "/poms/auth/samdev/analysis" and "redir" in parse_qs(loc.query)
    assert (
        req.call("upload_file", files={"filename": ("vt_samdev_Analysis_requestor", b"vault")}).status_code
        == 303
    )
    resp = req.call("launch_jobs", campaign_stage_id=csid)
    assert resp.status_code == 303 and "/poms/list_launch_file/samdev/analysis" in resp.headers["Location"]
    # production launches never need the uploaded token
    assert Poms(emu2).call("launch_jobs", campaign_stage_id=csid).status_code == 303


def test_stage_name_lookup_works_with_the_bug_switched_off(emu2: EmulatorProcess) -> None:
    poms = Poms(emu2)
    csid = poms.stage_id("demo_campaign", "stage2")
    assert poms.json("get_campaign_stage_name", campaign_stage_id=csid) == "stage2"


def test_recoveries_merge_bug_merges_into_the_last_key(emu2: EmulatorProcess) -> None:
    poms = Poms(emu2)
    stage = poms.json("show_campaign_stages", campaign_name="demo_campaign", fmt="json")["campaign_stages"][0]
    jt = stage["job_type_id"]
    poms.json("modify_job_type_recoveries", job_type_id=jt, recoveries='[["added_files", []]]')
    body = poms.json(
        "modify_job_type_recoveries", job_type_id=jt, recoveries='[["consumed_status", [["--retry=", "3"]]]]'
    )
    # the options meant for consumed_status landed on the last existing key (added_files)
    assert body == [
        ["consumed_status", [["-Osubmit.memory=", "2000MB"]]],
        ["added_files", [["--retry=", "3"]]],
    ]


def test_state_survives_a_restart(emu2: EmulatorProcess) -> None:
    poms = Poms(emu2)
    name = unique("persist")
    res = poms.upload_ini(make_ini(name))
    sid = poms.launch(res["campaign_stage_ids"][0][0])
    poms.wait_for(sid, "Running", step=60)
    before = poms.history(sid)
    emu2.restart()
    poms = Poms(emu2)
    assert poms.json("get_campaign_id", campaign_name=name) == res["campaign_id"]
    assert poms.history(sid)[: len(before)] == before
    assert poms.wait_for(sid, "Located")[-1] == "Located"  # the actors pick it up again


def test_upload_over_quota_is_400(emu2: EmulatorProcess) -> None:
    req = Poms(emu2, "requestor")
    assert req.call("upload_file", files={"filename": ("small.txt", b"x" * 1000)}).status_code == 303
    resp = req.call("upload_file", files={"filename": ("big.txt", b"x" * 4000)})
    assert resp.status_code == 400 and resp.text == "Upload exeeds quota"
    names = [r[0] for r in req.json("file_uploads_json")["file_stat_list"]]
    assert "small.txt" in names and "big.txt" not in names
