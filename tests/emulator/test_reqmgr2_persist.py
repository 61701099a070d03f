"""``--persist``: ReqMgr2 documents, views, aux docs and the actor schedule survive a restart."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest

from airflow_provider_poms.emulator.reqmgr2.rawclient import RawReqMgr2
from airflow_provider_poms.emulator.reqmgr2.samples import assignment_body, stepchain_spec
from airflow_provider_poms.emulator.testing import EmulatorProcess


@pytest.fixture(scope="module")
def persistent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorProcess]:
    emu = EmulatorProcess(
        tmp_path_factory.mktemp("emulator-persist"), clock_scale=1, seed=7, persist=True, control=True
    )
    with emu:
        yield emu


def _rm(emu: EmulatorProcess) -> RawReqMgr2:
    return RawReqMgr2(emu.session("operator"), emu.conn["reqmgr2_url"])


def test_state_survives_restart(persistent: EmulatorProcess) -> None:
    rm = _rm(persistent)
    tag = uuid.uuid4().hex[:8]
    camp = f"Persist{tag}"
    waiting = rm.create(stepchain_spec(f"PersistNew{tag}", Campaign=camp))
    moving = rm.create(stepchain_spec(f"PersistMove{tag}", Campaign=camp))
    rm.move(moving, "assignment-approved")
    rm.result(rm.put(moving, assignment_body()))
    rm.result(rm.call("POST", f"campaignconfig/{camp}", body={"CampaignName": camp}))
    before = rm.doc(moving)

    persistent.restart()
    rm = _rm(persistent)
    assert rm.doc(moving) == before
    assert rm.status(waiting) == "new"
    # the views are rebuilt from the store
    names = rm.result(rm.get("request", params={"campaign": camp, "status": "assigned", "detail": "false"}))
    assert names == [moving]
    assert rm.result(rm.get(f"campaignconfig/{camp}")) == [
        {"CampaignName": camp, "ConfigType": "CAMPAIGN_CONFIG"}
    ]
    # and so is the actors' schedule: the assigned request moves on
    persistent.control.advance_clock(700)
    deadline = time.monotonic() + 20
    while rm.status(moving) == "assigned":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert rm.status(moving) == "staging"
    # names stay unique after the restart
    again = rm.create(stepchain_spec(f"PersistNew{tag}", Campaign=camp))
    assert again != waiting
