"""Fixtures of the conformance tier: the real ReqMgr2 stack (once per session) and the two targets.

Skipping: only ``POMS_PROVIDER_SKIP_CONFORMANCE=1`` skips this tier. Any other problem (a tool is
missing, the real server does not start) is an error in the session fixture, so every test of the
tier fails loudly instead of being silently skipped.

At the end of the session one line per target says how many scenarios, differential cases and
official-client lifecycle steps ran against it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .real_server import RealReqMgr2
from .tally import RAN, TIMINGS
from .targets import EMULATOR_COUCH_URL, EMULATOR_DBS_URL, Target

SKIP_ENV = "POMS_PROVIDER_SKIP_CONFORMANCE"
TARGETS = ("emulator", "real")
# Requests created by the differential check and the official-client run carry these RequestString
# prefixes; on the emulator they are scripted to stall at every status its actors would move, so
# that they stay exactly where the test put them, as on the real server (which runs no agents).
STATIC_PREFIXES = ("Diff", "WMCoreDriver")
AGENT_STATUSES = (
    "assigned",
    "staging",
    "staged",
    "acquired",
    "running-open",
    "running-closed",
    "force-complete",
    "completed",
    "closed-out",
    "announced",
    "aborted",
    "rejected",
    "failed",
)


# The first test of the tier also pays for the real server's bring-up (session fixture): a cold
# install on a slow machine takes minutes (setup_real_server.sh itself may run up to 1200 s), more
# than pytest's default 300 s per test. Only that test gets the longer limit.
BRING_UP_TIMEOUT = 1500


@pytest.hookimpl(trylast=True)  # after -k/-m deselection, so "first" is the first test that runs
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    skip = pytest.mark.skip(reason=f"{SKIP_ENV}=1")
    first = True
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.conformance)
            if os.environ.get(SKIP_ENV) == "1":
                item.add_marker(skip)
            elif first:
                item.add_marker(pytest.mark.timeout(BRING_UP_TIMEOUT))
                first = False


def pytest_terminal_summary(terminalreporter: Any) -> None:
    tr = terminalreporter
    if os.environ.get(SKIP_ENV) == "1":
        tr.section("conformance")
        tr.write_line(f"conformance tier skipped: {SKIP_ENV}=1")
        return
    if not RAN and not TIMINGS:
        return
    tr.section("conformance")
    for target in TARGETS:
        tr.write_line(
            f"conformance[{target}]: {RAN[(target, 'scenario')]} scenarios, "
            f"{RAN[(target, 'differential')]} differential cases, "
            f"{RAN[(target, 'wmcore-step')]} official-client steps"
        )
    if TIMINGS:
        tr.write_line(
            "conformance real-server bring-up: " + ", ".join(f"{k}={v}s" for k, v in TIMINGS.items())
        )


@pytest.fixture(scope="session")
def real_reqmgr2(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealReqMgr2]:
    """The real server stack; always stopped by PID at the end, also when bring-up fails half way."""
    stack = RealReqMgr2(tmp_path_factory.mktemp("real-reqmgr2"))
    t0 = time.monotonic()
    stack.start()  # raises StackError (-> test errors, never a skip) and stops what it started
    TIMINGS.update(stack.timings)
    TIMINGS["total"] = round(time.monotonic() - t0, 2)
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="session")
def reqmgr2_venv(real_reqmgr2: RealReqMgr2) -> Path:
    """Python of the venv holding the official WMCore client (installed with the real server)."""
    return real_reqmgr2.venv_python


@pytest.fixture(scope="session")
def real_target(real_reqmgr2: RealReqMgr2) -> Target:
    return Target(
        name="real",
        connection=real_reqmgr2.connection,
        dbs_url=real_reqmgr2.stub_url + "/dbs/prod/global/DBSReader",
        config_cache_url=real_reqmgr2.couch_url,
        moves_statuses_itself=False,
        venv_python=real_reqmgr2.venv_python,
        handle=real_reqmgr2,
    )


@pytest.fixture(scope="session")
def emulator_target(emulator: Any, reqmgr2_venv: Path) -> Target:
    for prefix in STATIC_PREFIXES:
        for status in AGENT_STATUSES:
            emulator.control.script_reqmgr2(f"*_{prefix}*", status, "stall")
    return Target(
        name="emulator",
        connection=dict(emulator.conn),
        dbs_url=EMULATOR_DBS_URL,
        config_cache_url=EMULATOR_COUCH_URL,
        moves_statuses_itself=True,
        venv_python=reqmgr2_venv,
        handle=emulator,
    )


@pytest.fixture(scope="session")
def targets(emulator_target: Target, real_target: Target) -> dict[str, Target]:
    return {"emulator": emulator_target, "real": real_target}


@pytest.fixture(params=TARGETS)
def target(request: pytest.FixtureRequest) -> Target:
    """One scenario, two targets: the same test body runs against each."""
    fixture = "emulator_target" if request.param == "emulator" else "real_target"
    return request.getfixturevalue(fixture)  # type: ignore[no-any-return]
