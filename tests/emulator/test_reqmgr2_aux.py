"""Aux documents, app_config and the small read APIs of the ReqMgr2 emulator over real HTTPS."""

from __future__ import annotations

import uuid

import pytest

from airflow_provider_poms.emulator.reqmgr2.rawclient import RawReqMgr2
from airflow_provider_poms.emulator.reqmgr2.samples import stepchain_spec
from airflow_provider_poms.emulator.testing import EmulatorProcess
from airflow_provider_poms.states import REQMGR2_TRANSITIONS


@pytest.fixture(scope="module")
def op(emulator: EmulatorProcess) -> RawReqMgr2:
    return RawReqMgr2(emulator.session("operator"), emulator.conn["reqmgr2_url"])


@pytest.fixture(scope="module")
def outsider(emulator: EmulatorProcess) -> RawReqMgr2:
    return RawReqMgr2(emulator.session("outsider"), emulator.conn["reqmgr2_url"])


def test_campaignconfig_crud_and_conflict(op: RawReqMgr2, outsider: RawReqMgr2) -> None:
    camp = f"Camp{uuid.uuid4().hex[:8]}"
    path = f"campaignconfig/{camp}"
    resp = op.get(path)
    assert resp.status_code == 404 and resp.headers["X-Rest-Status"] == "206"
    assert resp.headers["X-Error-Detail"] == "No such instance"
    # no role check on aux writes: any authenticated user may write
    created = outsider.result(outsider.call("POST", path, body={"CampaignName": camp, "MaxCopies": 1}))
    assert created[0]["ok"] is True and created[0]["id"] == f"CAMPAIGN_CONFIG_{camp}"
    assert created[0]["rev"].startswith("1-")
    again = op.result(op.call("POST", path, body={"CampaignName": camp}))
    assert again == [
        {"id": f"CAMPAIGN_CONFIG_{camp}", "error": "conflict", "reason": "Document update conflict."}
    ]
    assert op.result(op.get(path)) == [
        {"CampaignName": camp, "MaxCopies": 1, "ConfigType": "CAMPAIGN_CONFIG"}
    ]
    replaced = op.result(op.call("PUT", path, body={"CampaignName": camp, "MaxCopies": 3}))
    assert replaced[0]["ok"] is True and replaced[0]["rev"].startswith("2-")
    assert op.result(op.get(path))[0]["MaxCopies"] == 3
    docs = op.result(op.get("campaignconfig/all_docs"))
    mine = [d for d in docs if d.get("_id") == f"CAMPAIGN_CONFIG_{camp}"]
    assert mine and mine[0]["MaxCopies"] == 3 and "_rev" not in mine[0]
    # the handler returns CouchDB's answer dict; the framework streams it as rows of its keys (quirk)
    assert op.result(op.call("DELETE", path)) == ["ok", "id", "rev"]
    assert op.get(path).status_code == 404
    assert op.result(op.call("DELETE", path)) == [""]


def test_aux_body_errors(op: RawReqMgr2) -> None:
    path = f"wmagentconfig/agent{uuid.uuid4().hex[:8]}"
    resp = op.call("POST", path, body={})
    assert resp.status_code == 400 and resp.headers["X-Rest-Status"] == "1201"
    assert resp.headers["X-Error-Detail"] == "User did not pass any body data with the request"
    resp = op.call("PUT", path, raw=b"not json")
    assert resp.status_code == 500 and resp.headers["X-Error-Detail"] == "Server error"
    resp = op.call("PUT", "unifiedconfig/x" + uuid.uuid4().hex[:6], body={"key": 5})
    assert resp.status_code == 400 and resp.headers["X-Rest-Status"] == "1202"
    assert resp.headers["X-Error-Detail"].startswith(
        "Unified schema error. It is missing some of the required parameters: {"
    )
    good = {
        k: {"value": ["RAW"], "description": "d"}
        for k in ("tiers_to_DDM", "tiers_no_DDM", "tiers_with_no_custodial")
    }
    assert op.result(op.call("PUT", "unifiedconfig/x" + uuid.uuid4().hex[:6], body=good))[0]["ok"] is True
    bad = {**good, "tiers_no_DDM": {"value": "RAW", "description": "d"}}
    resp = op.call("PUT", "unifiedconfig/x" + uuid.uuid4().hex[:6], body=bad)
    assert resp.headers["X-Error-Detail"] == "bad operand type for unary +: 'str'"  # WMCore's =+ typo


def test_transferinfo_and_parentlocks(op: RawReqMgr2) -> None:
    wf = f"wf_{uuid.uuid4().hex[:8]}"
    doc = {
        "workflowName": wf,
        "lastUpdate": 1700000000,
        "transfers": [
            {
                "dataset": "/A/B-v1/RAW",
                "dataType": "primary",
                "transferIDs": ["r1"],
                "campaignName": "C",
                "completion": [0.0],
            }
        ],
    }
    assert op.result(op.call("POST", f"transferinfo/{wf}", body=doc))[0]["ok"] is True
    assert op.result(op.get(f"transferinfo/{wf}"))[0]["transfers"][0]["transferIDs"] == ["r1"]
    assert any(d["_id"] == f"TRANSFER_{wf}" for d in op.result(op.get("transferinfo/ALL_DOCS")))
    if op.get("parentlocks").status_code == 404:  # absent until someone writes it
        assert op.get("parentlocks").headers["X-Rest-Status"] == "206"
    op.result(op.call("PUT", "parentlocks", body={"parentlocks": ["/Parent/Era-v1/RAW"]}))
    assert op.result(op.get("parentlocks"))[0]["parentlocks"] == ["/Parent/Era-v1/RAW"]


def test_app_config(op: RawReqMgr2) -> None:
    resp = op.get("app_config")
    assert resp.status_code == 400 and resp.headers["X-Rest-Status"] == "205"
    default = op.result(op.get("app_config/EDITABLE_SPLITTING_PARAM_CONFIG"))[0]
    assert default["algo_params"]["EventBased"] == {"events_per_job": "", "events_per_lumi": ""}
    assert default["algo_list_by_types"]["Production"] == ["EventBased"]
    das = op.result(op.get("app_config/DAS_RESULT_FILTER"))[0]  # other tests may have replaced it
    assert isinstance(das, dict)
    assert op.result(op.get("app_config/NOTHING_HERE")) == [None]
    key = "CUSTOM_" + uuid.uuid4().hex[:6]
    op.result(op.call("PUT", f"app_config/{key}", body={"a": 1}))
    assert op.result(op.get(f"app_config/{key}")) == [{"a": 1}]


def test_status_and_transition_table(op: RawReqMgr2) -> None:
    assert op.result(op.get("status")) == list(REQMGR2_TRANSITIONS)
    table = op.result(op.get("status", params={"transition": "true"}))
    assert table == [{k: list(v) for k, v in REQMGR2_TRANSITIONS.items()}]
    assert op.result(op.get("status", params={"transition": "false"})) == list(REQMGR2_TRANSITIONS)
    resp = op.get("status", params={"transition": "yes"})
    assert resp.status_code == 400 and resp.headers["X-Rest-Status"] == "302"
    assert op.get("status", params={"transition": "True"}).status_code == 400


def test_type_info_about(op: RawReqMgr2) -> None:
    assert op.result(op.get("type")) == [
        "ReReco",
        "StoreResults",
        "Resubmission",
        "TaskChain",
        "DQMHarvest",
        "StepChain",
    ]
    name = op.create(stepchain_spec(f"Info_{uuid.uuid4().hex[:8]}"))
    info = op.result(op.get("info"))[0]
    assert info["wmcore_reqmgr_version"].startswith("2.4.5")
    assert "reqmgr_couch_url" in info["reqmgr_db_info"]
    last = info["reqmgr_last_injected_request"]["rows"][0]
    assert last["value"]["RequestName"] == name and last["value"]["RequestStatus"] == "new"
    about = op.result(op.get("about"))[0]  # the same entity under another name
    assert set(about) == set(info) and about["wmcore_reqmgr_version"] == info["wmcore_reqmgr_version"]
    assert op.get("about").headers["Cache-Control"].startswith("no-store")


def test_spec_template(op: RawReqMgr2) -> None:
    tpl = op.result(op.get("spec_template", params={"name": "ReReco"}))[0]
    assert tpl["InputDataset"] == "REPLACE-InputDataset" and tpl["ConfigCacheID"] == "REPLACE-ConfigCacheID"
    assert tpl["Group"] == "DATAOPS" and tpl["RequestPriority"] == 8000
    assert "CMSSW_10_6_29" in tpl["CMSSWVersion"] and "slc7_amd64_gcc700" in tpl["ScramArch"]
    assert "RequestorDN" not in tpl
    resp = op.get("spec_template", params={"name": "MonteCarlo"})  # no such spec module: 500
    assert resp.status_code == 500 and resp.headers["X-Error-Detail"] == "Server error"


def test_workload_config_splitting_wmstats(op: RawReqMgr2) -> None:
    name = op.create(stepchain_spec(f"Split_{uuid.uuid4().hex[:8]}"))
    text = op.result(op.get(f"workload_config/{name}"))[0]
    assert isinstance(text, str) and f"workload.RequestName = '{name}'" in text
    resp = op.get("workload_config")
    assert resp.status_code == 405 and resp.headers["X-Rest-Status"] == "203"
    rows = op.result(op.get(f"splitting/{name}"))
    paths = [r["taskName"] for r in rows]
    assert paths == sorted(paths)
    top = rows[paths.index(f"/{name}/GENSIM")]
    assert top["taskType"] == "Production" and top["splitAlgo"] == "EventBased"
    assert top["splitParams"]["events_per_job"] == 200 and top["splitParams"]["events_per_lumi"] == 100
    assert top["splitParams"]["algorithm"] == "EventBased" and top["splitParams"]["type"] == "Production"
    assert [(r["taskType"], r["splitAlgo"], r["taskName"]) for r in rows] == [
        ("Production", "EventBased", f"/{name}/GENSIM"),
        ("Cleanup", "SiblingProcessingBased", f"/{name}/GENSIM/GENSIMCleanupUnmergedRAWSIMoutput"),
        ("Merge", "ParentlessMergeBySize", f"/{name}/GENSIM/GENSIMMergeRAWSIMoutput"),
        (
            "LogCollect",
            "MinFileBased",
            f"/{name}/GENSIM/GENSIMMergeRAWSIMoutput/GENSIMRAWSIMoutputMergeLogCollect",
        ),
    ]
    update = [
        {"taskName": f"/{name}/GENSIM", "splitAlgo": "EventBased", "splitParams": {"events_per_job": 500}}
    ]
    assert op.result(op.call("POST", f"splitting/{name}", body=update)) == [{name: "OK"}]
    after = {r["taskName"]: r for r in op.result(op.get(f"splitting/{name}"))}
    assert after[f"/{name}/GENSIM"]["splitParams"]["events_per_job"] == 500
    assert after[f"/{name}/GENSIM"]["splitParams"]["events_per_lumi"] == 100
    bad = [{"taskName": f"/{name}/GENSIM", "splitAlgo": "EventBased", "splitParams": {"bogus": 1}}]
    resp = op.call("POST", f"splitting/{name}", body=bad)
    assert resp.status_code == 400 and "X-Rest-Status" not in resp.headers
    assert op.get("splitting/unknown_" + uuid.uuid4().hex).status_code == 404
    summary = op.result(op.get(f"wmstats_info/{name}"))[0]
    assert summary["RequestName"] == name and summary["RequestStatus"] == "new"
    assert op.get("proc_status").headers["Cache-Control"] == "max-age=3600"


def test_splitting_update_only_view(op: RawReqMgr2) -> None:
    name = op.create(stepchain_spec(f"SplitU_{uuid.uuid4().hex[:8]}"))
    rows = op.result(op.get(f"splitting/update_only/{name}"))
    assert {r["taskType"] for r in rows} == {"Production", "Merge"}  # no Cleanup, no LogCollect
    top = next(r for r in rows if r["taskType"] == "Production")
    assert top["splitParams"] == {"events_per_job": 200, "events_per_lumi": 100}  # editable ones only
