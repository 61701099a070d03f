"""ReqMgr2Hook reads over real HTTPS against the emulator: every query form and service read."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from airflow_provider_poms.hooks.reqmgr2 import ReqMgr2Hook, RequestState
from airflow_provider_poms.http.errors import NotFound, ValidationError
from airflow_provider_poms.states import REQMGR2_STATUSES, REQMGR2_TRANSITIONS

from .reqmgr2_helpers import stepchain, unique


@pytest.fixture(scope="module")
def created(emulator: Any) -> dict[str, Any]:
    """Two requests made once for the read tests: a plain one and one with odd filter values."""
    hook = ReqMgr2Hook(settings=emulator.settings("reqmgr2", "operator", "cert", backoff=0.01))
    campaign = unique("Camp")
    prep = f"TEST-{unique('prep')} & #1"  # space, '&' and '#': must be URL-encoded
    a = hook.create_request(stepchain(Campaign=campaign, PrepID=prep))
    b = hook.create_request(stepchain(Campaign=campaign))
    hook.close()
    return {"a": a, "b": b, "campaign": campaign, "prep": prep}


def test_get_request_returns_the_document(reqmgr2: ReqMgr2Hook, created: dict[str, Any]) -> None:
    doc = reqmgr2.get_request(created["a"])
    assert doc is not None
    assert doc["RequestName"] == created["a"]
    assert doc["RequestStatus"] == "new"
    assert doc["RequestType"] == "StepChain"
    assert doc["Requestor"] == "operator"


def test_unknown_names_are_none_or_absent(reqmgr2: ReqMgr2Hook, created: dict[str, Any]) -> None:
    assert reqmgr2.get_request("operator_NoSuch_200101_000000_1") is None
    assert reqmgr2.get_requests_by_names(["operator_NoSuch_200101_000000_1"]) == {}
    assert reqmgr2.get_status_and_transitions(["operator_NoSuch_200101_000000_1"]) == {}
    assert reqmgr2.get_requests(names=["operator_NoSuch_200101_000000_1"]) == {}
    assert reqmgr2.get_requests(names=["operator_NoSuch_200101_000000_1"], detail=False) == []


def test_get_requests_by_names_with_mask(reqmgr2: ReqMgr2Hook, created: dict[str, Any]) -> None:
    got = reqmgr2.get_requests_by_names([created["a"], created["b"]], mask=["RequestStatus", "Campaign"])
    assert got == {
        created["a"]: {"RequestStatus": "new", "Campaign": created["campaign"]},
        created["b"]: {"RequestStatus": "new", "Campaign": created["campaign"]},
    }


def test_long_name_lists_use_post_bynames(
    reqmgr2: ReqMgr2Hook, emulator: Any, created: dict[str, Any]
) -> None:
    names = [created["a"], *(f"operator_Missing{i:04d}_{'x' * 60}" for i in range(150)), created["b"]]
    since = emulator.control.log_index()
    got = reqmgr2.get_requests_by_names(names)
    assert set(got) == {created["a"], created["b"]}
    log = emulator.control.request_log(since=since, path_prefix="/reqmgr2/data/request")
    assert [(e["method"], e["path"]) for e in log] == [("POST", "/reqmgr2/data/request/bynames")]


def test_long_name_lists_with_mask_use_several_short_gets(
    reqmgr2: ReqMgr2Hook, emulator: Any, created: dict[str, Any]
) -> None:
    names = [created["a"], *(f"operator_Missing{i:04d}_{'y' * 60}" for i in range(150)), created["b"]]
    since = emulator.control.log_index()
    got = reqmgr2.get_requests_by_names(names, mask="RequestStatus")
    assert got == {created["a"]: {"RequestStatus": "new"}, created["b"]: {"RequestStatus": "new"}}
    log = emulator.control.request_log(since=since, path_prefix="/reqmgr2/data/request")
    assert len(log) >= 2 and all(e["method"] == "GET" for e in log)


def test_status_and_transitions_in_one_call(
    reqmgr2: ReqMgr2Hook, emulator: Any, created: dict[str, Any]
) -> None:
    since = emulator.control.log_index()
    states = reqmgr2.get_status_and_transitions([created["a"], created["b"]])
    assert set(states) == {created["a"], created["b"]}
    state = states[created["a"]]
    assert isinstance(state, RequestState)
    assert state.status == "new"
    assert state.transitions[0][0] == "new"
    assert state.transitions[0][2].endswith("CN=UID:operator")
    assert state.entered_at == state.transitions[-1][1]
    log = emulator.control.request_log(since=since, path_prefix="/reqmgr2/data/request")
    assert len(log) == 1
    assert log[0]["method"] == "GET"
    assert "mask=RequestStatus" in log[0]["query"] and "mask=RequestTransition" in log[0]["query"]


@pytest.mark.parametrize(
    ("filters", "expect_both"),
    [
        ({"status": "new"}, True),
        ({"status": "ACTIVE"}, True),
        ({"status": ["new", "assignment-approved"], "request_type": "StepChain"}, True),
        ({"request_type": "StepChain"}, True),
        ({"requestor": "operator", "status": "new"}, True),
        ({"requestor": "operator", "status": "new", "request_type": "StepChain"}, True),
        ({"requestor": "someone_else", "status": "new"}, False),
    ],
)
def test_filters_intersect_with_campaign(
    reqmgr2: ReqMgr2Hook, created: dict[str, Any], filters: dict[str, Any], expect_both: bool
) -> None:
    got = reqmgr2.get_requests(campaign=created["campaign"], detail=False, fresh=True, **filters)
    assert sorted(got) == (sorted([created["a"], created["b"]]) if expect_both else [])


def test_prep_id_value_is_url_encoded(reqmgr2: ReqMgr2Hook, created: dict[str, Any]) -> None:
    got = reqmgr2.get_requests(prep_id=created["prep"], fresh=True, mask="Campaign")
    assert got == {created["a"]: {"Campaign": created["campaign"]}}
    # Chain masks aggregate per-step values (Step1 has its own PrepID): the server's shape, unchanged.
    masked = reqmgr2.get_requests(names=created["a"], mask="PrepID")
    assert masked == {created["a"]: {"PrepID": ["TEST-Step1"]}}


@pytest.mark.parametrize(
    "key",
    ["inputdataset", "outputdataset", "mc_pileup", "data_pileup"],
)
def test_dataset_filters_match_nothing_for_a_generator_request(
    reqmgr2: ReqMgr2Hook, created: dict[str, Any], key: str
) -> None:
    got = reqmgr2.get_requests(
        campaign=created["campaign"], detail=False, fresh=True, **{key: "/Some/Dataset-v1/AODSIM"}
    )
    assert got == []


def test_output_dataset_filter_finds_the_request(reqmgr2: ReqMgr2Hook, created: dict[str, Any]) -> None:
    doc = reqmgr2.get_request(created["b"])
    assert doc is not None
    outputs = doc.get("OutputDatasets") or []
    if not outputs:
        pytest.fail(f"the emulator computed no OutputDatasets for {created['b']}")
    got = reqmgr2.get_requests(outputdataset=outputs[0], detail=False, fresh=True)
    assert created["b"] in got


def test_common_dict_returns_a_list_of_documents(reqmgr2: ReqMgr2Hook, created: dict[str, Any]) -> None:
    got = reqmgr2.get_requests(campaign=created["campaign"], common_dict=True, fresh=True)
    assert isinstance(got, list)
    assert sorted(d["RequestName"] for d in got) == sorted([created["a"], created["b"]])


def test_team_filter_is_applied_even_when_the_server_would_ignore_it(
    reqmgr2: ReqMgr2Hook, created: dict[str, Any]
) -> None:
    # Not assigned yet: no Team; the campaign+team combination is ignored by the server, the hook filters.
    assert reqmgr2.get_requests(campaign=created["campaign"], team="production", fresh=True) == {}
    assert reqmgr2.get_requests(campaign=created["campaign"], team="production", detail=False) == []


def test_query_mistakes_fail_before_any_request(reqmgr2: ReqMgr2Hook, emulator: Any) -> None:
    since = emulator.control.log_index()
    with pytest.raises(ValidationError, match="unknown ReqMgr2 status 'running'"):
        reqmgr2.get_requests(status="running")
    with pytest.raises(ValidationError, match="detail=False"):
        reqmgr2.get_requests(status="normal-archived")
    with pytest.raises(ValidationError, match="ACTIVE"):
        reqmgr2.get_requests(status=["ACTIVE", "new"])
    with pytest.raises(ValidationError, match="team alone matches nothing"):
        reqmgr2.get_requests(team="production")
    with pytest.raises(ValidationError, match="no filter"):
        reqmgr2.get_requests()
    assert emulator.control.request_log(since=since, path_prefix="/reqmgr2") == []


def test_archived_statuses_with_detail_false(reqmgr2: ReqMgr2Hook) -> None:
    got = reqmgr2.get_requests(status="rejected-archived", detail=False)
    assert isinstance(got, list)


def test_service_reads(reqmgr2: ReqMgr2Hook) -> None:
    assert reqmgr2.get_statuses() == list(REQMGR2_STATUSES)
    table = reqmgr2.get_transition_table()
    assert {k: tuple(v) for k, v in table.items()} == dict(REQMGR2_TRANSITIONS)
    assert set(reqmgr2.get_request_types()) == {
        "ReReco",
        "StoreResults",
        "Resubmission",
        "TaskChain",
        "DQMHarvest",
        "StepChain",
    }
    info = reqmgr2.get_info()
    assert info["wmcore_reqmgr_version"]
    assert "reqmgr_db_info" in info
    assert isinstance(reqmgr2.get_proc_status(), dict)
    template = reqmgr2.get_spec_template("StepChain")
    assert "StepChain" in template or "RequestType" in template


def test_test_connection_reports_the_version(reqmgr2: ReqMgr2Hook) -> None:
    ok, message = reqmgr2.test_connection()
    assert ok, message
    assert "ReqMgr2 2.4.5.9" in message


def test_request_url_points_at_the_web_ui(reqmgr2: ReqMgr2Hook, emulator: Any) -> None:
    url = reqmgr2.request_url("operator_A B_1")
    assert url == f"{emulator.conn['reqmgr2_url']}/fetch?rid=operator_A%20B_1"


def test_workload_config_splitting_and_wmstats(reqmgr2: ReqMgr2Hook, created: dict[str, Any]) -> None:
    text = reqmgr2.get_workload_config(created["a"])
    assert created["a"] in text
    tasks = reqmgr2.get_splitting(created["a"])
    assert tasks and {"taskName", "splitAlgo", "splitParams"} <= set(tasks[0])
    task = tasks[0]
    answer = reqmgr2.update_splitting(
        created["a"],
        [
            {
                "taskName": task["taskName"],
                "splitAlgo": "EventBased",
                "splitParams": {"events_per_job": 321, "events_per_lumi": 100},
            }
        ],
    )
    assert answer == [{created["a"]: "OK"}]
    again = {t["taskName"]: t for t in reqmgr2.get_splitting(created["a"])}
    assert again[task["taskName"]]["splitParams"]["events_per_job"] == 321
    info = reqmgr2.get_wmstats_info(created["a"])
    assert info is not None and info["RequestName"] == created["a"]


def test_workload_config_of_unknown_request_is_not_found(reqmgr2: ReqMgr2Hook) -> None:
    with pytest.raises(NotFound, match="Cannot find workload"):
        reqmgr2.get_workload_config("operator_NoSuch_200101_000000_1")
    with pytest.raises(NotFound):
        reqmgr2.get_splitting("operator_NoSuch_200101_000000_1")


def test_app_config_read_and_write(reqmgr2: ReqMgr2Hook) -> None:
    doc = reqmgr2.get_app_config("EDITABLE_SPLITTING_PARAM_CONFIG")
    assert isinstance(doc, dict) and "EventBased" in doc["algo_params"]
    rows = reqmgr2.update_app_config("DAS_RESULT_FILTER", {"RequestName": 1, "RequestStatus": 1})
    assert isinstance(rows, list)
    assert reqmgr2.get_app_config("DAS_RESULT_FILTER") is not None


async def test_async_reads(make_reqmgr2_hook: Callable[..., ReqMgr2Hook], created: dict[str, Any]) -> None:
    hook = make_reqmgr2_hook()
    states = await hook.aget_status_and_transitions([created["a"], "operator_NoSuch_200101_000000_1"])
    assert list(states) == [created["a"]]
    assert states[created["a"]].status == "new"
    doc = await hook.aget_request(created["b"])
    assert doc is not None and doc["RequestName"] == created["b"]
    assert await hook.aget_request("operator_NoSuch_200101_000000_1") is None
    names = await hook.aget_requests(campaign=created["campaign"], detail=False, fresh=True)
    assert sorted(names) == sorted([created["a"], created["b"]])
    by_names = await hook.aget_requests_by_names([created["a"]], mask="RequestStatus")
    assert by_names == {created["a"]: {"RequestStatus": "new"}}
