"""Campaign/stage/job type/login setup endpoints and the .ini upload semantics over HTTPS."""

from __future__ import annotations

import json

from test_poms_helpers import Poms, make_ini, unique

from airflow_provider_poms.emulator.testing import EmulatorProcess


def _upload(poms: Poms, name: str, **kw: object) -> dict:
    res = poms.upload_ini(make_ini(name, **kw))  # type: ignore[arg-type]
    assert res["status"] == "201 Created", res
    return res


def test_show_campaigns_shape_and_filters(emulator: EmulatorProcess) -> None:
    poms = Poms(emulator)
    name = unique("show")
    res = _upload(poms, name)
    body = poms.json("show_campaigns", fmt="json")
    assert body["msg"] == "OK" and body["experiment"] == "samdev"
    camp = next(c for c in body["tl"] if c["name"] == name)
    assert camp["campaign_id"] == res["campaign_id"] and camp["creator_role"] == "production"
    assert camp["defaults"]["defaults"]["software_version"] == "v2_3" and "positions" in camp["defaults"]
    assert [s["name"] for s in camp["stages"]] == ["s1", "s2"] and camp["tags"] is None
    assert camp["experimenter_creator_obj"]["username"] == "operator"
    assert len(body["data"]["authorized"]) == len(body["tl"]) and all(body["data"]["authorized"])
    assert body["data"]["view_active"] == "view_active"
    # inactive campaigns drop out of the default view
    assert (
        Poms(emulator)
        .call("mark_campaign_active", campaign_id=res["campaign_id"], is_active="False")
        .status_code
        == 200
    )
    body = poms.json("show_campaigns", fmt="json")
    assert name not in [c["name"] for c in body["tl"]]
    body = poms.json(
        "show_campaigns",
        fmt="json",
        view_inactive="view_inactive",
        view_mine="1",
        view_others="1",
        view_production="view_production",
        update_view="1",
    )
    assert name in [c["name"] for c in body["tl"]]


def test_analysis_view_shows_analysis_campaigns(emulator: EmulatorProcess) -> None:
    req = Poms(emulator, "requestor")
    name = unique("mine")
    _upload(req, name, role="Analysis")
    names = [c["name"] for c in req.json("show_campaigns", fmt="json")["tl"]]
    assert name in names and "demo_campaign" not in names  # production campaigns are not in its view


def test_lookups(emulator: EmulatorProcess) -> None:
    poms = Poms(emulator)
    name = unique("look")
    res = _upload(poms, name)
    cid = res["campaign_id"]
    assert poms.json("get_campaign_id", campaign_name=name) == cid
    assert poms.json("get_campaign_id", campaign_name=unique("none")) is None  # JSON null, HTTP 200
    assert poms.call("get_campaign_name", campaign_id=cid).text == name
    assert Poms(emulator, experiment="dune").call("get_campaign_name", campaign_id=cid).text == ""
    assert poms.json("get_campaign_stage_id", campaign_name=name, campaign_stage_name="nope") is None
    s1 = poms.stage_id(name, "s1")
    resp = poms.call("get_campaign_stage_name", campaign_stage_id=s1)
    assert resp.status_code == 400 and "Row is not JSON serializable" in resp.text  # the live server's bug
    listing = poms.json("campaign_list_json")
    assert {"campaign_stage_id": s1, "name": "s1", "experiment": "samdev"} in listing
    assert "samdev" in poms.json("experiment_list") and "dune" in poms.json("experiment_list")
    assert {"name": f"jt_{name}"} in poms.json("jobtype_list")
    full = poms.json("loginsetup_list", full="1")
    assert {
        "name": f"ls_{name}",
        "launch_host": "testgpvm01.fnal.gov",
        "launch_account": "testpro",
        "launch_setup": "source setup.sh",
    } in full


def test_update_stage_param_overrides(emulator: EmulatorProcess) -> None:
    poms = Poms(emulator)
    name = unique("ovr")
    _upload(poms, name)
    s1 = poms.stage_id(name, "s1")
    resp = poms.call(
        "update_stage_param_overrides",
        campaign_stage=s1,
        param_overrides='[["-Osubmit.memory=","2000MB"],["--extra=","1"]]',
    )
    assert resp.status_code == 200
    assert resp.text == (
        "([['--step=', 's1'], ['-Osubmit.memory=', '2000MB'], ['--extra=', '1']], [['--events=', '10']])"
    )
    # an empty value removes the key; [campaign, stage] may be sent as a repeated key
    resp = poms.session.post(
        f"{poms.base}/update_stage_param_overrides",
        data=[
            ("campaign_stage", name),
            ("campaign_stage", "s1"),
            ("experiment", "samdev"),
            ("role", "production"),
            ("param_overrides", '[["--extra=",""]]'),
            ("test_param_overrides", '[["--events=","5"]]'),
        ],
        timeout=30,
    )
    assert resp.status_code == 200
    assert resp.text == "([['--step=', 's1'], ['-Osubmit.memory=', '2000MB']], [['--events=', '5']])"
    stage = next(
        s
        for s in poms.json("show_campaign_stages", campaign_name=name, fmt="json")["campaign_stages"]
        if s["name"] == "s1"
    )
    assert stage["param_overrides"] == [["--step=", "s1"], ["-Osubmit.memory=", "2000MB"]]
    # a list sent as repeated form keys is refused (the value must be a string literal)
    resp = poms.session.post(
        f"{poms.base}/update_stage_param_overrides",
        data=[
            ("campaign_stage", str(s1)),
            ("experiment", "samdev"),
            ("role", "production"),
            ("param_overrides", "-Ox="),
            ("param_overrides", "1"),
        ],
        timeout=30,
    )
    assert resp.status_code == 400 and resp.text.startswith("Invalid argument:")
    # unknown stage: empty text
    assert (
        poms.call("update_stage_param_overrides", campaign_stage="99999999", param_overrides="[]").text == ""
    )


def test_update_campaign_stage(emulator: EmulatorProcess) -> None:
    poms = Poms(emulator)
    name = unique("ucs")
    _upload(poms, name)
    s2 = poms.stage_id(name, "s2")
    resp = poms.call("update_campaign_stage", campaign_stage=s2, completion_pct="80", software_version="v9")
    assert resp.status_code == 200 and resp.text == "Success"
    stage = next(
        s
        for s in poms.json("show_campaign_stages", campaign_name=name, fmt="json")["campaign_stages"]
        if s["campaign_stage_id"] == s2
    )
    assert stage["completion_pct"] == 80 and stage["software_version"] == "v9"
    resp = poms.call("update_campaign_stage", campaign_stage=s2, no_such_column="1")
    assert resp.status_code == 400 and resp.text.startswith("Not found item: AttributeError(")


def test_modify_job_type_recoveries_merges_by_name(emulator: EmulatorProcess) -> None:
    poms = Poms(emulator)
    name = unique("rec")
    _upload(poms, name)
    jt_id = next(iter(poms.json("show_campaign_stages", campaign_name=name, fmt="json")["campaign_stages"]))[
        "job_type_id"
    ]
    body = poms.json(
        "modify_job_type_recoveries",
        job_type_id=jt_id,
        recoveries=json.dumps([["consumed_status", [["--retry=", "2"]]], ["added_files", []]]),
    )
    assert body == [
        ["consumed_status", [["-Osubmit.memory=", "4000MB"], ["--retry=", "2"]]],
        ["added_files", []],
    ]


def test_tags(emulator: EmulatorProcess) -> None:
    poms = Poms(emulator)
    a, b = _upload(poms, unique("tga")), _upload(poms, unique("tgb"))
    ids = f"{a['campaign_id']},{b['campaign_id']}"
    tag = unique("tag")
    body = poms.json("link_tags", campaign_id=ids, tag_name=tag)
    assert body["campaign_id"] == ids and body["tag_name"] == tag and body["msg"] == "OK"
    assert isinstance(body["tag_id"], int)
    again = poms.json("link_tags", campaign_id=str(a["campaign_id"]), tag_name=tag)
    assert again["tag_id"] == body["tag_id"]  # one tag per experiment and name
    gone = poms.json("delete_campaigns_tags", campaign_id=ids, tag_id=str(body["tag_id"]))
    assert gone["msg"] == "OK"


def test_campaign_rm(emulator: EmulatorProcess) -> None:
    poms = Poms(emulator)
    busy, idle = unique("busy"), unique("idle")
    res = _upload(poms, busy)
    _upload(poms, idle)
    poms.launch(res["campaign_stage_ids"][0][0])
    body = poms.json("show_campaigns", action="delete", del_campaign_name=busy, pcl_call="1", fmt="json")
    assert "has submissions" in body["msg"]  # refused, HTTP 200
    assert poms.json("get_campaign_id", campaign_name=busy) is not None
    # only the creator may remove (pcl_call=1 filters on creator)
    other = Poms(emulator, "requestor").json(
        "show_campaigns", action="delete", del_campaign_name=idle, pcl_call="1", fmt="json"
    )
    assert "not found or not owned by you" in other["msg"]
    body = poms.json("show_campaigns", action="delete", del_campaign_name=idle, pcl_call="1", fmt="json")
    assert "has been deleted" in body["msg"]
    assert poms.json("get_campaign_id", campaign_name=idle) is None


def test_job_type_and_login_setup_rm(emulator: EmulatorProcess) -> None:
    poms = Poms(emulator)
    name = unique("rm")
    _upload(poms, name)
    body = poms.json("job_type_rm", ae_definition_name=f"jt_{name}", pcl_call="1")
    assert "cannot be deleted" in body["message"] and body["ae_definition_name"] == f"jt_{name}"
    assert (
        "cannot be deleted"
        in poms.json("login_setup_rm", ae_launch_name=f"ls_{name}", pcl_call="1")["message"]
    )
    assert (
        "not created by you"
        in Poms(emulator, "requestor").json("job_type_rm", ae_definition_name=f"jt_{name}", pcl_call="1")[
            "message"
        ]
    )
    poms.json("show_campaigns", action="delete", del_campaign_name=name, pcl_call="1", fmt="json")
    assert (
        "has been deleted"
        in poms.json("job_type_rm", ae_definition_name=f"jt_{name}", pcl_call="1")["message"]
    )
    # login_setup_rm: deleted, then the answer fails to encode (400), as inferred for the real server
    resp = poms.call("login_setup_rm", ae_launch_name=f"ls_{name}", pcl_call="1")
    assert resp.status_code == 400 and "Query is not JSON serializable" in resp.text
    assert {"name": f"ls_{name}"} not in poms.json("loginsetup_list")


def test_ini_update_detaches_and_rebuilds(emulator: EmulatorProcess) -> None:
    poms = Poms(emulator)
    name = unique("upd")
    first = _upload(poms, name, stages=("a", "b", "c"))
    ids = {n: i for i, n in first["campaign_stage_ids"]}
    # second upload: same name -> update; c is gone (detached), b no longer depends on a
    second = poms.upload_ini(make_ini(name, stages=("a", "b"), chain=False))
    assert second["status"] == "201 Created" and second["campaign_id"] == first["campaign_id"]
    assert {n: i for i, n in second["campaign_stage_ids"]} == {"a": ids["a"], "b": ids["b"]}
    assert sorted(second["message"]) == [
        f"JobType 'jt_{name}' already exists and will not change.",
        f"LoginSetup 'ls_{name}' already exists and will not change.",
    ]
    ini = poms.call("campaign_deps_ini", name=name).text
    assert "[dependencies" not in ini and "campaign_stage_list=a,b" in ini
    assert poms.json("get_campaign_stage_id", campaign_name=name, campaign_stage_name="c") is None
    assert ids["c"] in [s["campaign_stage_id"] for s in poms.json("campaign_list_json")]  # not deleted
    # two leading stages now
    assert poms.call("launch_campaign", campaign_id=first["campaign_id"]).status_code == 400


def test_ini_logical_errors_are_http_200(emulator: EmulatorProcess) -> None:
    poms = Poms(emulator)
    assert poms.upload_ini("this is [not an ini") == {
        "status": "400 Bad Request",
        "message": "Bad file format",
        "upload": "<uploaded_file_data>",
        "pcl_call": "1",
        "replace": "False",
    }
    assert (
        poms.upload_ini("[campaign_defaults]\nvo_role=Production\n")["message"]
        == "No Campaign section in the file"
    )
    assert (
        poms.upload_ini(f"[campaign]\nname={unique('e')}\n")["message"]
        == "No Campaign Stage sections in the file"
    )
    name = unique("nojt")
    text = make_ini(name, jt="missing_jt_" + name)
    text = text.split(f"[job_type missing_jt_{name}]")[0]
    res = poms.upload_ini(text)
    assert res["status"] == "400 Bad Request"
    assert any(f"JobType 'missing_jt_{name}' not found" in m for m in res["message"])
    resp = poms.call(
        "ini_to_campaign",
        files={"upload": ("x.ini", b"[campaign]\nfoo=1\n[campaign_stage a]\n")},
        pcl_call="1",
    )
    assert resp.status_code == 400 and resp.text == "Missing form field: KeyError('name')"


def test_file_uploads(emulator: EmulatorProcess) -> None:
    req = Poms(emulator, "requestor")
    fname = unique("vt_samdev_analysis_requestor")
    assert req.call("upload_file", files={"filename": (fname, b"token-bytes")}).status_code == 303
    listing = req.json("file_uploads_json")
    row = next(r for r in listing["file_stat_list"] if r[0] == fname)
    assert row[1] == len(b"token-bytes") and row[2].endswith("Z")
    assert listing["quota"] > 0 and listing["total"] >= len(b"token-bytes")
    assert req.call("download_file", filename=fname).text == "token-bytes"
    assert req.call("remove_uploaded_files", filename=fname, action="delete", redirect="0").text == "Ok."
    assert fname not in [r[0] for r in req.json("file_uploads_json")["file_stat_list"]]
    # the production role is sent to the index page
    assert Poms(emulator).call("file_uploads").status_code == 303


def test_deprecated_edit_endpoints(emulator: EmulatorProcess) -> None:
    poms = Poms(emulator)
    ls, jt = unique("ls"), unique("jt")
    resp = poms.call(
        "launch_template_edit",
        pcl_call="1",
        action="add",
        ae_launch_name=ls,
        ae_launch_host="h.fnal.gov",
        ae_launch_account="acct",
        ae_launch_setup="setup x",
    )
    assert resp.status_code == 200
    assert {"name": ls, "launch_host": "h.fnal.gov", "launch_account": "acct", "launch_setup": "setup x"} in (
        poms.json("loginsetup_list", full="1")
    )
    resp = poms.call(
        "campaign_definition_edit",
        pcl_call="1",
        action="add",
        ae_definition_name=jt,
        ae_launch_script="run.sh",
        ae_output_file_patterns="%.root",
        ae_definition_parameters='[["-a","1"]]',
    )
    assert resp.status_code == 200 and {"name": jt} in poms.json("jobtype_list")
    assert (
        poms.call(
            "job_type_edit", pcl_call="1", action="edit", ae_definition_name=jt, ae_launch_script="run2.sh"
        ).status_code
        == 200
    )
    assert {
        "name": jt,
        "launch_script": "run2.sh",
        "definition_parameters": [["-a", "1"]],
        "output_file_patterns": "%.root",
    } in poms.json("jobtype_list", full="1")
    name = unique("cse")
    res = poms.upload_ini(make_ini(name, jt=jt, ls=ls).split(f"[login_setup {ls}]")[0])
    assert res["status"] == "201 Created", res
    resp = poms.call(
        "campaign_stage_edit",
        pcl_call="1",
        action="edit",
        ae_campaign_name=name,
        ae_stage_name="s1",
        ae_completion_pct="42",
        ae_param_overrides='[["--p=","q"]]',
    )
    assert resp.status_code == 200
    s1 = next(
        s
        for s in poms.json("show_campaign_stages", campaign_name=name, fmt="json")["campaign_stages"]
        if s["name"] == "s1"
    )
    assert s1["completion_pct"] == 42 and s1["param_overrides"] == [["--p=", "q"]]
    resp = poms.call(
        "campaign_stage_edit", pcl_call="1", action="edit", ae_campaign_name=name, ae_stage_name="zz"
    )
    assert resp.status_code == 400 and "not found" in resp.text
    assert (
        poms.call("login_setup_edit", pcl_call="1", action="delete", ae_launch_name=ls)
        .json()["data"]["message"]
        .startswith(f"LoginSetup '{ls}' is used by")
    )
