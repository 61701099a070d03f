"""Unit tests (no network) of PomsHook's request building and response parsing.

These are the protocol decisions shared by the sync and async paths: how values go on the wire
(booleans, None, lists), how redirects and text answers are read. The over-the-wire behaviour is in
test_poms_hook.py against the emulator.
"""

from __future__ import annotations

import json
import warnings
from typing import Any

import pytest

from airflow_provider_poms.hooks import poms_wire
from airflow_provider_poms.hooks.poms_wire import (
    LaunchResult,
    SubmissionState,
    build_call,
    check_server_selection,
    encode_fields,
    is_ambiguous,
    new_submission,
    parse_campaign_list,
    parse_launch,
    parse_optional_int,
    parse_optional_text,
    parse_param_overrides_result,
    parse_status_history,
    parse_task_id,
    parse_update_submission,
    parse_upload_wf,
    stage_submission_rows,
    submission_id_from_location,
)
from airflow_provider_poms.http.errors import (
    AuthenticationError,
    LogicalError,
    NotFound,
    ServerError,
    TransportError,
    ValidationError,
)
from airflow_provider_poms.http.protocol import ApiResponse, encode_body
from airflow_provider_poms.states import PomsStatus

BASE = "https://poms.example:8443/poms"


def resp(status: int = 200, body: Any = b"", headers: dict[str, str] | None = None) -> ApiResponse:
    if not isinstance(body, bytes):
        body = json.dumps(body).encode() if not isinstance(body, str) else body.encode()
    return ApiResponse(status=status, headers=headers or {}, body=body, url=f"{BASE}/x")


# ---------------------------------------------------------------------------------- encoding


def test_booleans_are_sent_as_1_or_omitted_never_false() -> None:
    pairs = encode_fields(
        [("test_launch", False), ("replace", True), ("a", None), ("view_mine", "False"), ("view_active", 1)],
        flags=("test_launch", "replace", "view_mine", "view_active"),
    )
    assert pairs == (("replace", "1"), ("view_active", "1"))
    assert "False" not in json.dumps(pairs)


def test_flag_rejects_garbage_and_scalars_reject_booleans() -> None:
    with pytest.raises(ValueError, match="test_launch must be a boolean"):
        encode_fields([("test_launch", "maybe")], flags=("test_launch",))
    with pytest.raises(ValueError, match="a boolean is not a valid value"):
        encode_fields([("campaign_stage_id", False)])


def test_lists_become_repeated_keys_and_numbers_strings() -> None:
    assert encode_fields([("campaign_stage", ["camp", "stage"]), ("submission_id", 12)]) == (
        ("campaign_stage", "camp"),
        ("campaign_stage", "stage"),
        ("submission_id", "12"),
    )


def test_build_call_is_a_form_post_without_query_and_fmt_json_where_client_adds_it() -> None:
    req = build_call("submission_details", [("submission_id", 5)], experiment="samdev", role="production")
    assert (req.method, req.path, req.params) == ("POST", "submission_details", ())
    assert req.form == (
        ("submission_id", "5"),
        ("experiment", "samdev"),
        ("role", "production"),
        ("fmt", "json"),
    )
    body, ctype = encode_body(req)
    assert ctype == "application/x-www-form-urlencoded"
    assert body == b"submission_id=5&experiment=samdev&role=production&fmt=json"
    launch = build_call(
        "launch_jobs",
        [("campaign_stage_id", 3), ("test_launch", None)],
        flags=("test_launch",),
        idempotent=False,
    )
    assert launch.form == (("campaign_stage_id", "3"),) and launch.idempotent is False


def test_experiment_and_role_none_are_dropped() -> None:
    assert build_call("get_campaign_id", [("campaign_name", "c")]).form == (("campaign_name", "c"),)


def test_server_selection_falsy_ignored_truthy_refused_configfile_warns() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_server_selection(test=None, test_client=False)
        check_server_selection(test="", test_client=0)
    for value in (True, "dev", "int", 1):
        with pytest.raises(ValueError, match="use a connection"):
            check_server_selection(test=value)
    with pytest.raises(ValueError, match="test_client"):
        check_server_selection(test_client="int")
    with pytest.deprecated_call(match="configfile is ignored"):
        check_server_selection(configfile="/etc/client.cfg")


# ---------------------------------------------------------------------------------- launch redirects


def test_location_submission_id_form() -> None:
    loc = f"{BASE}/list_launch_file/samdev/production?campaign_stage_id=14&submission_id=3153766"
    assert submission_id_from_location(loc) == 3153766


def test_location_fname_form_uses_suffix_after_last_underscore() -> None:
    loc = f"{BASE}/list_launch_file/samdev/production?campaign_stage_id=14&fname=20260917_100019_my_user_1234"
    assert submission_id_from_location(loc) == 1234


def test_location_submission_id_param_wins_over_fname() -> None:
    loc = f"{BASE}/list_launch_file/e/r?fname=20260917_100019_u_77&submission_id=78"
    assert submission_id_from_location(loc) == 78


def test_location_without_id_is_a_logical_error() -> None:
    with pytest.raises(LogicalError, match="no submission id"):
        submission_id_from_location(f"{BASE}/list_launch_file/e/r?campaign_stage_id=14")


def test_parse_launch_303() -> None:
    loc = f"{BASE}/list_launch_file/samdev/production?campaign_stage_id=14&submission_id=9"
    assert parse_launch(resp(303, headers={"Location": loc})) == LaunchResult(9, loc, 303)


def test_parse_launch_auth_redirect_is_authentication_error() -> None:
    loc = f"{BASE}/auth/samdev/analysis?redir=%2Fpoms%2Flaunch_jobs"
    with pytest.raises(AuthenticationError):
        parse_launch(resp(303, headers={"Location": loc}))


def test_parse_launch_200_is_not_a_launch() -> None:
    with pytest.raises(LogicalError, match="without a redirect"):
        parse_launch(resp(200, "{}"))


# ---------------------------------------------------------------------------------- text answers


def test_task_id() -> None:
    assert parse_task_id(resp(body="Task=1234")) == 1234
    assert parse_task_id(resp(body="Task=77\n")) == 77
    with pytest.raises(LogicalError, match="Task="):
        parse_task_id(resp(body="<html>oops</html>"))


def test_optional_ids_null_is_none() -> None:
    assert parse_optional_int(resp(body="null")) is None
    assert parse_optional_int(resp(body="")) is None
    assert parse_optional_int(resp(body="42")) == 42
    with pytest.raises(LogicalError):
        parse_optional_int(resp(body='{"a": 1}'))
    assert parse_optional_text(resp(body="")) is None
    assert parse_optional_text(resp(body="demo_campaign")) == "demo_campaign"


def test_update_submission_unknown_is_not_found() -> None:
    assert parse_update_submission(resp(body="Ok.")) == "Ok."
    with pytest.raises(NotFound):
        parse_update_submission(resp(body="Unknown."))


def test_upload_wf_400_inside_200_is_logical_error() -> None:
    ok = {"status": "201 Created", "message": "OK", "campaign_id": 3, "campaign_stage_ids": [[5, "s"]]}
    assert parse_upload_wf(resp(body=ok))["campaign_id"] == 3
    bad = {"status": "400 Bad Request", "message": ["JobType 'x' not found", "LoginSetup 'y' not found"]}
    with pytest.raises(LogicalError, match="JobType 'x' not found; LoginSetup 'y' not found") as info:
        parse_upload_wf(resp(body=bad))
    assert info.value.rest_status == "400 Bad Request"


def test_param_overrides_result() -> None:
    text = repr(([["-Ox=", "1"]], []))
    assert parse_param_overrides_result(resp(body=text)) == ([["-Ox=", "1"]], [])
    with pytest.raises(NotFound):
        parse_param_overrides_result(resp(body=""))


def test_campaign_list_shapes() -> None:
    rows = [{"name": "a", "campaign_id": 1}, {"name": "b", "campaign_id": 2}]
    assert parse_campaign_list(resp(body=rows)) == {"a": 1, "b": 2}
    assert parse_campaign_list(resp(body={"a": 1})) == {"a": 1}


def test_status_history_newest_row_wins() -> None:
    rows = [
        {"created": "2026-01-01 10:05:00", "status": "Idle"},
        {"created": "2026-01-01 10:00:00", "status": "New"},
    ]
    state = parse_status_history(7, resp(body=rows))
    assert state == SubmissionState(
        7, "Idle", (("New", "2026-01-01 10:00:00"), ("Idle", "2026-01-01 10:05:00"))
    )
    assert state.poms_status is PomsStatus.IDLE
    assert state.to_dict()["history"][0] == ["New", "2026-01-01 10:00:00"]
    with pytest.raises(NotFound):
        parse_status_history(8, resp(body=[]))


# ---------------------------------------------------------------------------------- duplicate safety


def test_ambiguity_classification() -> None:
    assert is_ambiguous(TransportError("reset", maybe_sent=True))
    assert not is_ambiguous(TransportError("refused", maybe_sent=False))
    assert is_ambiguous(ServerError("bad gateway", status=502, maybe_sent=True))
    assert not is_ambiguous(LogicalError("x"))


def test_new_submission_excludes_snapshot_and_older_ids() -> None:
    rows = [{"submission_id": 5}, {"submission_id": 3}, {"submission_id": 9}, {"submission_id": 8}]
    assert new_submission({5, 7}, rows) == 9
    assert new_submission({5, 9}, [{"submission_id": 5}, {"submission_id": 3}]) is None
    assert new_submission(set(), [{"submission_id": 4}, {"submission_id": 6}]) == 6


def test_stage_submission_rows_tolerates_missing_data() -> None:
    assert stage_submission_rows({"campaign_name": "x"}) == []
    assert stage_submission_rows({"data": {"submissions": [{"submission_id": 1}, {"x": 2}]}}) == [
        {"submission_id": 1}
    ]


# ---------------------------------------------------------------------------------- input checks


def test_param_overrides_sent_as_literal_string_after_validation() -> None:
    assert (
        poms_wire.overrides_literal("po", [["-Osubmit.memory=", "2000MB"]])
        == '[["-Osubmit.memory=", "2000MB"]]'
    )
    assert poms_wire.overrides_literal("po", "[['-Ox=', '1']]") == '[["-Ox=", "1"]]'
    assert poms_wire.overrides_literal("po", None) is None
    with pytest.raises(ValidationError):
        poms_wire.overrides_literal("po", [["only-one"]])
    with pytest.raises(ValidationError):
        poms_wire.overrides_literal("po", "not a list at all (")


def test_unknown_status_is_refused_before_io() -> None:
    assert poms_wire.status_label("located") == "Located"
    assert poms_wire.status_label(PomsStatus.HELD) == "Held"
    with pytest.raises(ValidationError, match="unknown POMS submission status"):
        poms_wire.status_label("Finished")


# ---------------------------------------------------------------------------------- launch loop


class ScriptedHook:
    """A PomsHook whose ``send`` plays a script: each item is an ApiResponse or an exception."""

    def __init__(self, script: list[Any]) -> None:
        from airflow_provider_poms.hooks.poms import PomsHook
        from airflow_provider_poms.http.settings import ConnectionSettings

        self.hook = PomsHook(
            settings=ConnectionSettings(base_url=BASE, experiment="samdev", role="production")
        )
        self.script = list(script)
        self.sent: list[str] = []
        self.requests: list[Any] = []
        self.hook.send = self.send  # type: ignore[method-assign]

    def send(self, request: Any) -> ApiResponse:
        self.sent.append(request.path)
        self.requests.append(request)
        item = self.script.pop(0)
        if isinstance(item, BaseException):
            raise item
        return item


def listing(*ids: int) -> ApiResponse:
    return resp(body={"data": {"submissions": [{"submission_id": i} for i in ids]}})


LOST = TransportError("reset", maybe_sent=True)
LOC = f"{BASE}/list_launch_file/samdev/production?campaign_stage_id=3&submission_id=12"


def test_launch_loop_returns_the_submission_poms_made_for_a_lost_answer() -> None:
    fake = ScriptedHook([listing(5, 7), LOST, listing(5, 7, 9)])
    result = fake.hook.launch_campaign_stage_jobs(3)
    assert result == LaunchResult(9, "", 0, recovered=True)
    assert fake.sent == ["campaign_stage_submissions", "launch_jobs", "campaign_stage_submissions"]


def test_launch_loop_sends_once_more_when_nothing_appeared() -> None:
    fake = ScriptedHook([listing(5), LOST, listing(5), resp(303, headers={"Location": LOC})])
    assert fake.hook.launch_campaign_stage_jobs(3) == LaunchResult(12, LOC, 303)


def test_launch_loop_definitive_errors_are_not_checked_or_resent() -> None:
    fake = ScriptedHook([listing(), ServerError("down", status=503, maybe_sent=False)])
    with pytest.raises(ServerError):
        fake.hook.launch_campaign_stage_jobs(3)
    assert fake.sent == ["campaign_stage_submissions", "launch_jobs"]


def test_launch_loop_reports_a_failed_check_on_the_launch_error() -> None:
    fake = ScriptedHook([listing(), LOST, TransportError("refused", maybe_sent=False)])
    with pytest.raises(
        TransportError, match="the check for a submission POMS may have created failed"
    ) as info:
        fake.hook.launch_campaign_stage_jobs(3)
    assert info.value.maybe_sent is True


def test_launch_request_is_not_idempotent_and_test_launch_only_when_true() -> None:
    forms = []
    for flag in (False, True):
        fake = ScriptedHook([listing(), resp(303, headers={"Location": LOC})])
        fake.hook.launch_campaign_stage_jobs(3, test_launch=flag)
        launch = fake.requests[1]
        assert launch.idempotent is False and launch.path == "launch_jobs" and launch.params == ()
        forms.append(launch.form)
    assert forms[0] == (("campaign_stage_id", "3"), ("experiment", "samdev"), ("role", "production"))
    assert forms[1] == (
        ("campaign_stage_id", "3"),
        ("test_launch", "1"),
        ("experiment", "samdev"),
        ("role", "production"),
    )
