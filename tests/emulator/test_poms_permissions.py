"""Roles, permissions and ownership (reference section 10) over HTTPS with two real identities.

operator: samdev production member; requestor: samdev analysis member; outsider: no experiment.
"""

from __future__ import annotations

import pytest
from test_poms_helpers import Poms, make_ini, unique

from airflow_provider_poms.emulator.testing import EmulatorProcess


@pytest.fixture(scope="module")
def camps(emulator: EmulatorProcess) -> dict[str, dict[str, int]]:
    """One production campaign (operator) and one analysis campaign (requestor)."""
    out = {}
    for who, role in (("operator", "Production"), ("requestor", "Analysis")):
        poms = Poms(emulator, who)
        name = unique(f"perm_{who}")
        res = poms.upload_ini(make_ini(name, role=role))
        assert res["status"] == "201 Created", res
        ids = {n: i for i, n in res["campaign_stage_ids"]}
        out[who] = {"campaign_id": res["campaign_id"], "s1": ids["s1"], "s2": ids["s2"], "name": name}
    return out


def test_non_member_gets_401_permission_error(emulator: EmulatorProcess) -> None:
    resp = Poms(emulator, "outsider").call("show_campaigns", fmt="json")
    assert resp.status_code == 401
    assert resp.text == "PermissionError('username outsider is not in experiment samdev')"


def test_analysis_member_may_only_act_as_analysis(emulator: EmulatorProcess) -> None:
    resp = Poms(emulator, "requestor", role="production").call("show_campaigns", fmt="json")
    assert resp.status_code == 401
    assert "cannot have role production in experiment samdev" in resp.text


def test_production_member_may_not_act_as_superuser(emulator: EmulatorProcess) -> None:
    resp = Poms(emulator, role="superuser").call("show_campaigns", fmt="json")
    assert resp.status_code == 401 and "cannot have role superuser" in resp.text


def test_invalid_role_is_refused(emulator: EmulatorProcess) -> None:
    resp = Poms(emulator, role="wizard").call("show_campaigns", fmt="json")
    assert resp.status_code == 401 and resp.text == "PermissionError('invalid role wizard')"


def test_superuser_only_endpoints_refuse_production(emulator: EmulatorProcess) -> None:
    assert Poms(emulator).call("wrapup_tasks").status_code == 401


def test_view_needs_the_same_experiment(emulator: EmulatorProcess, camps: dict) -> None:
    resp = Poms(emulator, experiment="dune").call(
        "campaign_stage_submissions", campaign_stage_id=camps["operator"]["s1"], fmt="json"
    )
    assert resp.status_code == 401 and "Must be acting as experiment samdev to see this" in resp.text


def test_analysis_user_cannot_modify_or_launch_production_objects(
    emulator: EmulatorProcess, camps: dict
) -> None:
    req = Poms(emulator, "requestor")
    resp = req.call(
        "update_stage_param_overrides",
        campaign_stage=camps["operator"]["s1"],
        param_overrides='[["--x=","1"]]',
    )
    assert resp.status_code == 401 and "Must be role production to change this" in resp.text
    resp = req.call("launch_jobs", campaign_stage_id=camps["operator"]["s1"])
    assert resp.status_code == 401 and "Must be user operator to do this" in resp.text


def test_analysis_owner_may_modify_and_launch_own_objects(emulator: EmulatorProcess, camps: dict) -> None:
    req = Poms(emulator, "requestor")
    resp = req.call(
        "update_stage_param_overrides",
        campaign_stage=camps["requestor"]["s1"],
        param_overrides='[["--x=","1"]]',
    )
    assert resp.status_code == 200 and "--x=" in resp.text
    sid = req.launch(camps["requestor"]["s1"])
    det = req.json("submission_details", submission_id=sid, fmt="json")
    assert det["submission"]["experimenter_creator_obj"]["username"] == "requestor"
    req.call("kill_jobs", submission_id=sid, act="kill", confirm="y")


def test_another_user_acting_as_analysis_is_not_the_owner(emulator: EmulatorProcess, camps: dict) -> None:
    # The operator (production member) may act as analysis, but is not the analysis object's creator.
    op_as_analysis = Poms(emulator, "operator", role="analysis")
    resp = op_as_analysis.call(
        "update_stage_param_overrides",
        campaign_stage=camps["requestor"]["s1"],
        param_overrides='[["--y=","2"]]',
    )
    assert resp.status_code == 401 and "Must be user requestor to change this" in resp.text
    resp = op_as_analysis.call("launch_jobs", campaign_stage_id=camps["requestor"]["s1"])
    assert resp.status_code == 401 and "Must be user requestor to do this" in resp.text


def test_production_may_do_but_not_modify_analysis_objects(emulator: EmulatorProcess, camps: dict) -> None:
    op = Poms(emulator)
    resp = op.call("launch_jobs", campaign_stage_id=camps["requestor"]["s1"])
    assert resp.status_code == 303  # can_do: production acting on an analysis object is allowed
    resp = op.call("update_campaign_stage", campaign_stage=camps["requestor"]["s1"], completion_pct="50")
    assert resp.status_code == 401 and "Must be role analysis to change this" in resp.text


def test_analysis_user_sees_only_own_files(emulator: EmulatorProcess) -> None:
    req = Poms(emulator, "requestor")
    resp = req.call("file_uploads_json", username="operator")
    assert resp.status_code == 401 and "Only user operator can view this" in resp.text
