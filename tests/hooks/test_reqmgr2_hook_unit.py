"""Unit-level edge cases of ReqMgr2Hook that the emulator cannot easily produce (scripted answers).

Everything reachable over the wire is tested against the emulator in the other test_reqmgr2_*
modules; here the transport is replaced by a script of answers to pin down the parsing and the
duplicate-safety decisions exactly.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from airflow_provider_poms.hooks import reqmgr2_wire as rm
from airflow_provider_poms.hooks.reqmgr2 import EditResult, ReqMgr2Hook, RequestState
from airflow_provider_poms.http.errors import LogicalError, ProviderError, TransportError, ValidationError
from airflow_provider_poms.http.protocol import ApiRequest, ApiResponse
from airflow_provider_poms.http.settings import ConnectionSettings

from .reqmgr2_helpers import stepchain

Answer = ApiResponse | ProviderError | Callable[[ApiRequest], ApiResponse]


def ok(result: list[Any]) -> ApiResponse:
    return ApiResponse(
        200,
        {"Content-Type": "application/json"},
        json.dumps({"result": result}).encode(),
        "https://reqmgr2.invalid/reqmgr2/data/x",
    )


class ScriptedHook(ReqMgr2Hook):
    """A ReqMgr2Hook whose transport is a list of answers; records what it was asked."""

    def __init__(self, answers: list[Answer]) -> None:
        super().__init__(settings=ConnectionSettings(base_url="https://reqmgr2.invalid/reqmgr2"))
        self.answers = list(answers)
        self.sent: list[ApiRequest] = []

    def send(self, request: ApiRequest) -> ApiResponse:
        self.sent.append(request)
        answer = self.answers.pop(0)
        if isinstance(answer, ProviderError):
            raise answer
        if callable(answer):
            return answer(request)
        return answer

    async def asend(self, request: ApiRequest) -> ApiResponse:
        return self.send(request)


def test_empty_create_result_then_found_by_marker() -> None:
    spec = stepchain("Empty")

    def search(request: ApiRequest) -> ApiResponse:
        marked = hook.sent[0].json["RequestString"]
        return ok([f"operator_{marked}_261122_120000_1", "operator_Other_261122_120000_2"])

    def confirm(request: ApiRequest) -> ApiResponse:
        marked = hook.sent[0].json["RequestString"]
        return ok([{f"operator_{marked}_261122_120000_1": {"RequestString": marked}}])

    hook = ScriptedHook([ok([]), search, confirm])
    name = hook.create_request(spec)
    assert name.startswith("operator_Empty_af")
    assert [r.method for r in hook.sent] == ["POST", "GET", "GET"]
    search_params = dict(hook.sent[1].params)
    assert search_params["_nostale"] == "true" and search_params["detail"] == "false"
    assert search_params["request_type"] == "StepChain"
    assert hook.sent[0].idempotent is False


def test_empty_create_result_twice_is_a_logical_error() -> None:
    hook = ScriptedHook([ok([]), ok([]), ok([]), ok([])])
    with pytest.raises(LogicalError, match="empty result"):
        hook.create_request(stepchain())
    posts = [r for r in hook.sent if r.method == "POST"]
    assert len(posts) == 2
    assert posts[0].json == posts[1].json  # the re-send carries the same marker


def test_lost_answer_found_returns_existing_name_without_resend() -> None:
    lost = TransportError("connection reset", maybe_sent=True)

    def search(request: ApiRequest) -> ApiResponse:
        return ok([f"operator_{hook.sent[0].json['RequestString']}_261122_120000_1"])

    def confirm(request: ApiRequest) -> ApiResponse:
        rs = hook.sent[0].json["RequestString"]
        return ok([{f"operator_{rs}_261122_120000_1": {"RequestString": rs}}])

    hook = ScriptedHook([lost, search, confirm])
    name = hook.create_request(stepchain("Lost"))
    assert name.endswith("_261122_120000_1")
    assert [r.method for r in hook.sent].count("POST") == 1


def test_a_candidate_with_another_request_string_is_not_taken() -> None:
    lost = TransportError("reset", maybe_sent=True)

    def search(request: ApiRequest) -> ApiResponse:
        return ok([f"operator_{hook.sent[0].json['RequestString']}_261122_120000_1"])

    def confirm(request: ApiRequest) -> ApiResponse:
        return ok([{request.params[0][1]: {"RequestString": "SomethingElse"}}])

    hook = ScriptedHook([lost, search, confirm, ok([{"request": "operator_New_1"}])])
    assert hook.create_request(stepchain("Confirm")) == "operator_New_1"


def test_failures_that_prove_nothing_was_done_are_raised_at_once() -> None:
    before_send = TransportError("connect refused", maybe_sent=False)
    hook = ScriptedHook([before_send])
    with pytest.raises(TransportError):
        hook.create_request(stepchain())
    assert len(hook.sent) == 1


def test_put_answer_error_is_a_logical_error() -> None:
    def state(request: ApiRequest) -> ApiResponse:
        return ok([{"wf_A": {"RequestStatus": "new", "RequestTransition": []}}])

    hook = ScriptedHook([state, ok([{"wf_A": "ERROR"}])])
    with pytest.raises(LogicalError, match="answered 'ERROR'"):
        hook.change_status("wf_A", "assignment-approved")


def test_build_by_names_threshold() -> None:
    short = rm._build_by_names(["a", "b"], ["RequestStatus"])
    assert len(short) == 1 and short[0].method == "GET"
    assert short[0].params == (("name", "a"), ("name", "b"), ("mask", "RequestStatus"))
    many = [f"name_{i:05d}_{'z' * 50}" for i in range(200)]
    post = rm._build_by_names(many)
    assert len(post) == 1 and post[0].method == "POST" and post[0].path == "data/request/bynames"
    assert post[0].json == many and post[0].idempotent
    chunks = rm._build_by_names(many, ["RequestStatus"])
    assert len(chunks) > 1
    assert all(rm._query_length(c.params) <= rm.URL_QUERY_LIMIT for c in chunks)
    assert [v for c in chunks for k, v in c.params if k == "name"] == many
    assert rm._build_by_names([]) == []


def test_team_queries_ask_for_the_field_and_filter_themselves() -> None:
    query = rm._build_query(status="assigned", team="production", detail=False)
    assert query.params == (("status", "assigned"), ("team", "production"), ("mask", "Team"))
    response = ok([{"a": {"Team": "production"}, "b": {"Team": "relval"}}])
    assert rm._parse_query(query, response) == ["a"]
    full = rm._build_query(status="assigned", team="production")
    assert full.params == (("status", "assigned"), ("team", "production"))
    docs = ok([{"a": {"Team": "production", "X": 1}, "b": {"Team": "relval"}}])
    assert rm._parse_query(full, docs) == {"a": {"Team": "production", "X": 1}}
    masked = rm._build_query(status="new", requestor="alice", mask=["Campaign"], common_dict=True)
    assert ("mask", "Requestor") in masked.params and ("common_dict", "1") not in masked.params
    rows = ok([{"a": {"Campaign": "C", "Requestor": "alice"}, "b": {"Campaign": "C", "Requestor": "bob"}}])
    assert rm._parse_query(masked, rows) == [{"Campaign": "C", "RequestName": "a"}]


def test_plain_query_params_are_strings() -> None:
    query = rm._build_query(names=["a b.c"], mask="DAS&x", detail=False, common_dict=True, fresh=True)
    assert query.params == (
        ("name", "a b.c"),
        ("mask", "DAS&x"),
        ("detail", "false"),
        ("common_dict", "1"),
        ("_nostale", "true"),
    )


def test_marker_stamping_replaces_an_earlier_marker() -> None:
    marker = rm._new_marker()
    assert rm.MARKER_RE.fullmatch(marker)
    assert rm._stamp("MyReq", marker) == f"MyReq{marker}"
    assert rm._stamp("MyReq_af0123abcd", marker) == f"MyReq{marker}"
    assert rm._new_marker() != marker


def test_edit_comparison() -> None:
    assert rm._same(5, 5.0)
    assert rm._same(["T1_US_FNAL"], ("T1_US_FNAL",))
    assert not rm._same(True, 1)
    assert not rm._same(["a", "b"], ["b", "a"])


def test_edit_result_and_state_are_plain_data() -> None:
    state = RequestState("n", "assigned", (("new", 1.0, "dn"), ("assigned", 2.0, None)))
    assert state.entered_at == 2.0
    assert state.to_dict() == {
        "name": "n",
        "status": "assigned",
        "transitions": [["new", 1.0, "dn"], ["assigned", 2.0, None]],
    }
    assert RequestState("n", "new").entered_at is None
    result = EditResult(
        "n", {"RequestPriority": 1, "Team": "t"}, changed=("RequestPriority",), dropped=("Team",)
    )
    assert not result.applied
    assert result.to_dict()["dropped"] == ["Team"]


def test_validate_methods_list_every_problem() -> None:
    hook = ScriptedHook([])
    with pytest.raises(ValidationError) as info:
        hook.validate_spec({"RequestType": "StepChain", "StepChain": 1})
    assert len(info.value.problems) >= 5
    hook.validate_assignment({"Team": "production", "SiteWhitelist": ["T1_US_FNAL"]})
    with pytest.raises(ValidationError, match=r"\$\.SiteWhitelist"):
        hook.validate_assignment({"Team": "production"})
    assert hook.sent == []


def test_aux_conflict_entry_is_an_error() -> None:
    with pytest.raises(LogicalError, match="conflict: Document update conflict"):
        rm._parse_aux_write(
            ok([{"id": "X", "error": "conflict", "reason": "Document update conflict."}]), "op"
        )
    assert rm._parse_aux_write(ok([{"ok": True, "id": "X"}]), "op") == {"ok": True, "id": "X"}


def test_not_an_envelope_is_a_logical_error() -> None:
    bad = ApiResponse(200, {"Content-Type": "application/json"}, b'{"rows": []}', "https://x/")
    with pytest.raises(LogicalError, match="envelope"):
        rm._result(bad)


def test_names_are_quoted_in_paths() -> None:
    assert rm._build_put("a b.c", {}, "op").path == "data/request/a%20b.c"
    with pytest.raises(ValidationError):
        rm._q("")
    with pytest.raises(ValidationError, match="'/'"):  # refused, never sent as %2F (tests/corpus)
        rm._build_put("a/b c", {}, "op")


async def test_async_flow_runs_the_same_steps() -> None:
    def state(request: ApiRequest) -> ApiResponse:
        return ok(
            [{"wf_A": {"RequestStatus": "new", "RequestTransition": [{"Status": "new", "UpdateTime": 1}]}}]
        )

    hook = ScriptedHook([state, ok([{"wf_A": "OK"}])])
    await hook.achange_status("wf_A", "rejected")
    assert [r.method for r in hook.sent] == ["GET", "PUT"]
    assert hook.sent[1].json == {"RequestStatus": "rejected"}


@pytest.mark.parametrize(
    "name",
    ["a", "user_Run1_StepChain 1.2-x", "x" * 100, ".a", "a..b"],
)
def test_valid_names_take_the_fast_path_unchanged(name: str) -> None:
    assert rm._check_name(name) == name


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("", "non-empty"),
        (".", "not names"),
        ("..", "not names"),
        ("x" * 101, "at most 100"),
        ("a/b", "'/'"),
        ("caf\u00e9", "'\u00e9'"),
        ("\u0663", "'\u0663'"),  # a digit, but not ASCII
        ("a\n", "'\\n'"),
    ],
)
def test_bad_names_still_get_the_precise_error(name: str, why: str) -> None:
    with pytest.raises(ValidationError) as info:
        rm._check_name(name)
    assert why in str(info.value)
