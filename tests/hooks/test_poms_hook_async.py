"""PomsHook's async twins (used by triggers) over real HTTPS against the emulator."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from airflow_provider_poms.emulator.testing import EmulatorProcess
from airflow_provider_poms.hooks.poms import PomsHook, SubmissionState
from airflow_provider_poms.http.errors import NotFound, PermissionDenied

from .poms_helpers import EXPERIMENT, upload_campaign

MakeHook = Callable[..., PomsHook]


@pytest.mark.parametrize("auth", ["cert", "proxy", "token"])
@pytest.mark.parametrize("gzip", [True, False], ids=["gzip", "identity"])
async def test_aget_submission_status(
    make_poms_hook: MakeHook, tmp_path: Path, auth: str, gzip: bool
) -> None:
    hook = make_poms_hook(auth=auth, gzip=gzip)
    camp = upload_campaign(hook, tmp_path)
    sid = hook.launch_campaign_stage_jobs(camp.stage_ids["main"]).submission_id
    state = await hook.aget_submission_status(sid)
    assert isinstance(state, SubmissionState) and state.submission_id == sid
    assert state.history[0][0] == "New"


async def test_aget_submission_statuses_batches_and_skips_unknown_ids(
    emulator: EmulatorProcess, poms: PomsHook, tmp_path: Path
) -> None:
    camp = upload_campaign(poms, tmp_path)
    sids = [poms.get_submission_id_for(camp.stage_ids["main"]) for _ in range(12)]
    poms.update_submission(sids[0], status="Running")
    since = emulator.control.log_index()
    states = await poms.aget_submission_statuses([*sids, sids[0], 987654321])
    assert set(states) == set(sids)  # duplicates asked once, unknown ids left out
    assert states[sids[0]].status == "Running"
    assert all(states[s].status == "New" for s in sids[1:])
    calls = emulator.control.request_log(since=since, path_prefix="/poms/session_status_history")
    assert len(calls) == len(sids) + 1


async def test_aget_submission_statuses_raises_other_errors(make_poms_hook: MakeHook) -> None:
    outsider = make_poms_hook("outsider", role="production")
    with pytest.raises(PermissionDenied):
        await outsider.aget_submission_statuses([1, 2])


async def test_async_unknown_submission(poms: PomsHook) -> None:
    with pytest.raises(NotFound):
        await poms.aget_submission_status(987654321)


async def test_asubmission_details_and_acampaign_stage_submissions(poms: PomsHook, tmp_path: Path) -> None:
    camp = upload_campaign(poms, tmp_path)
    sid = poms.launch_campaign_stage_jobs(camp.stage_ids["main"]).submission_id
    details = await poms.asubmission_details(EXPERIMENT, "production", sid)
    assert details["submission"]["submission_id"] == sid
    page = await poms.acampaign_stage_submissions(EXPERIMENT, "production", camp.name, "main", tdays=1)
    assert [r["submission_id"] for r in page["data"]["submissions"]] == [sid]
