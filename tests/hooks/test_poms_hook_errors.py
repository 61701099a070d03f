"""PomsHook error mapping and duplicate-safe launches, over real HTTPS against the emulator."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from airflow_provider_poms.emulator.testing import EmulatorProcess
from airflow_provider_poms.hooks.poms import PomsHook
from airflow_provider_poms.http.errors import (
    AuthenticationError,
    BadRequest,
    NoMoreSplits,
    PermissionDenied,
    ServerError,
    StageHeld,
    TransportError,
)
from airflow_provider_poms.http.protocol import ApiRequest, ApiResponse

from .poms_helpers import EXPERIMENT, hold_stage, stage_submission_ids, upload_campaign

MakeHook = Callable[..., PomsHook]


# ------------------------------------------------------------------ error kinds


def test_analysis_user_on_a_production_stage_is_permission_denied(
    make_poms_hook: MakeHook, poms: PomsHook, tmp_path: Path
) -> None:
    camp = upload_campaign(poms, tmp_path)
    requestor = make_poms_hook("requestor")  # analysis role in samdev
    with pytest.raises(PermissionDenied) as info:
        requestor.launch_campaign_stage_jobs(camp.stage_ids["main"])
    assert info.value.status == 401 and "PermissionError" in (info.value.server_message or "")
    with pytest.raises(PermissionDenied):
        requestor.update_stage_param_overrides(
            EXPERIMENT, camp.stage_ids["main"], param_overrides=[["-a", "b"]]
        )
    assert stage_submission_ids(poms, camp.stage_ids["main"]) == set()


def test_identity_outside_the_experiment_is_permission_denied(make_poms_hook: MakeHook) -> None:
    outsider = make_poms_hook("outsider", role="production")
    with pytest.raises(PermissionDenied, match="not in experiment"):
        outsider.get_campaign_id(EXPERIMENT, "demo_campaign")


def test_held_stage_is_stage_held_and_queued(poms: PomsHook, tmp_path: Path) -> None:
    camp = upload_campaign(poms, tmp_path)
    csid = camp.stage_ids["main"]
    hold_stage(poms, csid)
    with pytest.raises(StageHeld) as info:
        poms.launch_campaign_stage_jobs(csid)
    assert info.value.status == 423 and "held" in str(info.value)
    assert stage_submission_ids(poms, csid) == set()  # queued, not launched, not re-sent
    hold_stage(poms, csid, "Release")
    assert poms.launch_campaign_stage_jobs(csid).submission_id > 0


def test_exhausted_split_is_no_more_splits(poms: PomsHook, tmp_path: Path) -> None:
    camp = upload_campaign(poms, tmp_path, {"drained": "cs_split_type=draining"})
    csid = camp.stage_ids["drained"]
    first = poms.launch_campaign_stage_jobs(csid)
    with pytest.raises(NoMoreSplits) as info:
        poms.launch_campaign_stage_jobs(csid)
    assert isinstance(info.value, BadRequest) and info.value.status == 400
    assert "No more splits" in str(info.value)
    assert stage_submission_ids(poms, csid) == {first.submission_id}


def test_campaign_with_two_leading_stages_is_bad_request(poms: PomsHook, tmp_path: Path) -> None:
    camp = upload_campaign(poms, tmp_path, {"a": "", "b": ""})
    with pytest.raises(BadRequest, match="Cannot determine which stage"):
        poms.launch_campaign_jobs(camp.campaign_id)


def test_unknown_stage_launch_is_bad_request(poms: PomsHook) -> None:
    with pytest.raises(BadRequest, match="Not found item"):
        poms.launch_campaign_stage_jobs(987654321)


def test_bad_token_is_authentication_error(emulator: EmulatorProcess) -> None:
    settings = emulator.settings("poms", "operator", "cert", experiment=EXPERIMENT, role="production")
    bad = settings.with_changes(client_cert=None, client_key=None, token="not-a-valid-token")
    with PomsHook(settings=bad) as hook, pytest.raises(AuthenticationError):
        hook.get_campaign_id(EXPERIMENT, "demo_campaign")


# ------------------------------------------------------------------ duplicate-safe launches


def _launch_posts(emulator: EmulatorProcess, since: int) -> list[dict[str, object]]:
    return emulator.control.request_log(since=since, method="POST", path_prefix="/poms/launch_jobs")


def test_lost_answer_after_commit_leaves_exactly_one_submission(
    emulator: EmulatorProcess, poms: PomsHook, tmp_path: Path
) -> None:
    camp = upload_campaign(poms, tmp_path)
    csid = camp.stage_ids["main"]
    before = stage_submission_ids(poms, csid)
    emulator.control.add_fault("reset_after", path="/poms/launch_jobs", method="POST", count=1)
    since = emulator.control.log_index()
    result = poms.launch_campaign_stage_jobs(csid)
    new = stage_submission_ids(poms, csid) - before
    assert new == {result.submission_id}
    assert result.recovered is True
    assert len(_launch_posts(emulator, since)) == 1  # POMS acted: never sent again


def test_lost_answer_of_a_campaign_launch_is_recovered(
    emulator: EmulatorProcess, poms: PomsHook, tmp_path: Path
) -> None:
    camp = upload_campaign(poms, tmp_path)
    emulator.control.add_fault("reset_after", path="/poms/launch_campaign", method="POST", count=1)
    result = poms.launch_campaign_jobs(camp.campaign_id)
    assert result.recovered is True
    assert stage_submission_ids(poms, camp.stage_ids["main"]) == {result.submission_id}


def test_launch_that_never_reached_poms_is_sent_once_more(
    emulator: EmulatorProcess, poms: PomsHook, tmp_path: Path
) -> None:
    camp = upload_campaign(poms, tmp_path)
    csid = camp.stage_ids["main"]
    emulator.control.add_fault("reset_before", path="/poms/launch_jobs", method="POST", count=1)
    since = emulator.control.log_index()
    result = poms.launch_campaign_stage_jobs(csid)
    assert result.recovered is False and result.status == 303
    assert stage_submission_ids(poms, csid) == {result.submission_id}
    assert len(_launch_posts(emulator, since)) == 2


def test_gateway_error_before_poms_is_checked_then_sent_once_more(
    emulator: EmulatorProcess, poms: PomsHook, tmp_path: Path
) -> None:
    camp = upload_campaign(poms, tmp_path)
    csid = camp.stage_ids["main"]
    emulator.control.add_fault("http", path="/poms/launch_jobs", method="POST", status=502, count=1)
    result = poms.launch_campaign_stage_jobs(csid)
    assert stage_submission_ids(poms, csid) == {result.submission_id}


def test_launch_failing_ambiguously_twice_raises_without_a_third_try(
    emulator: EmulatorProcess, poms: PomsHook, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    camp = upload_campaign(poms, tmp_path)
    csid = camp.stage_ids["main"]
    sent = _counting(poms, monkeypatch)
    emulator.control.add_fault("reset_before", path="/poms/launch_jobs", method="POST", count=10)
    with pytest.raises((TransportError, ServerError)) as info:
        poms.launch_campaign_stage_jobs(csid)
    assert info.value.maybe_sent is True
    # snapshot, launch, check, launch again, check: the hook hands the launch to the core twice only.
    assert sent == [
        "campaign_stage_submissions",
        "launch_jobs",
        "campaign_stage_submissions",
        "launch_jobs",
        "campaign_stage_submissions",
    ]
    assert stage_submission_ids(poms, csid) == set()


def _counting(poms: PomsHook, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths of the requests the hook hands to the HTTP core."""
    sent: list[str] = []
    real_send = poms.send

    def counting_send(request: ApiRequest) -> ApiResponse:
        sent.append(request.path)
        return real_send(request)

    monkeypatch.setattr(poms, "send", counting_send)
    return sent


def test_send_launch_once_launches_a_stage_and_a_campaign_with_one_request_each(
    emulator: EmulatorProcess, poms: PomsHook, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    camp = upload_campaign(poms, tmp_path)
    csid = camp.stage_ids["main"]
    sent = _counting(poms, monkeypatch)
    stage = poms.send_launch_once("stage", csid, experiment=EXPERIMENT)
    campaign = poms.send_launch_once("campaign", camp.campaign_id, test_launch=True)
    assert sent == ["launch_jobs", "launch_campaign"]  # no submission listing before or after
    assert stage.status == 303 and not stage.recovered
    assert campaign.submission_id > stage.submission_id
    assert stage_submission_ids(poms, csid) == {stage.submission_id, campaign.submission_id}
    details = poms.submission_details(EXPERIMENT, None, campaign.submission_id)["submission"]
    assert details["submission_params"]["test"] == 1
    with pytest.raises(ValueError, match="scope"):
        poms.send_launch_once("stages", csid)


def test_send_launch_once_raises_a_lost_answer_without_looking_or_sending_again(
    emulator: EmulatorProcess, poms: PomsHook, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The caller (the launch operator) reconciles over the read timeout; the hook must not."""
    camp = upload_campaign(poms, tmp_path)
    csid = camp.stage_ids["main"]
    emulator.control.add_fault("reset_after", path="/poms/launch_jobs", method="POST", count=1)
    since = emulator.control.log_index()
    sent = _counting(poms, monkeypatch)
    with pytest.raises((TransportError, ServerError)) as info:
        poms.send_launch_once("stage", csid)
    assert info.value.maybe_sent is True
    assert sent == ["launch_jobs"]
    assert len(_launch_posts(emulator, since)) == 1
    assert len(stage_submission_ids(poms, csid)) == 1  # POMS acted: the caller will find it


# ------------------------------------------------------------------ the other launch redirect form


@pytest.fixture(scope="module")
def fname_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorProcess]:
    """A second emulator answering launches the main-branch way (``fname=<ts>_<user>_<sid>``)."""
    emu = EmulatorProcess(
        tmp_path_factory.mktemp("emulator-fname"),
        clock_scale=600,
        seed=7,
        control=True,
        extra_args=["--launch-redirect", "fname"],
    )
    with emu:
        yield emu


def test_launch_redirect_with_fname_is_parsed(fname_emulator: EmulatorProcess) -> None:
    settings = fname_emulator.settings("poms", "operator", "cert", experiment=EXPERIMENT, role="production")
    with PomsHook(settings=settings) as hook:
        csid = hook.get_campaign_stage_id(EXPERIMENT, "demo_campaign", "stage1")
        assert csid is not None
        result = hook.launch_campaign_stage_jobs(csid)
        assert "fname=" in result.location and "submission_id=" not in result.location
        assert result.location.endswith(f"_operator_{result.submission_id}")
        assert hook.get_submission_status(result.submission_id).submission_id == result.submission_id
