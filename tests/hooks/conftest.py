"""Hook fixtures on top of the session-wide ``emulator`` (tests/conftest.py).

Shared by the POMS and ReqMgr2 hook tests; each service keeps its fixtures in its own section.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from airflow_provider_poms.emulator.testing import EmulatorProcess
from airflow_provider_poms.hooks.poms import PomsHook

# ------------------------------------------------------------------------------------- POMS

#: Retries in tests: quick backoff so injected faults do not slow the suite down.
POMS_TEST_OVERRIDES: dict[str, Any] = {"backoff": 0.01, "read_timeout": 30.0}


@pytest.fixture
def make_poms_hook(emulator: EmulatorProcess) -> Iterator[Callable[..., PomsHook]]:
    """``make_poms_hook(identity="operator", auth="cert", gzip=True, **settings)`` -> a PomsHook
    talking HTTPS to the emulator; experiment ``samdev`` and the identity's role are the connection
    defaults (operator: production, requestor: analysis). Closed after the test."""
    hooks: list[PomsHook] = []
    roles = {"operator": "production", "requestor": "analysis"}

    def factory(identity: str = "operator", auth: str = "cert", **overrides: Any) -> PomsHook:
        fields = {**POMS_TEST_OVERRIDES, "experiment": "samdev", "role": roles.get(identity), **overrides}
        hook = PomsHook(settings=emulator.settings("poms", identity, auth, **fields))
        hooks.append(hook)
        return hook

    yield factory
    for hook in hooks:
        hook.close()


@pytest.fixture
def poms(make_poms_hook: Callable[..., PomsHook]) -> PomsHook:
    """The operator (production role in samdev) over certificate auth."""
    return make_poms_hook()


# ------------------------------------------------------------------------------------- ReqMgr2

#: Quick backoff so injected 5xx faults do not slow the suite down.
REQMGR2_TEST_OVERRIDES: dict[str, Any] = {"backoff": 0.01, "read_timeout": 30.0}


@pytest.fixture
def make_reqmgr2_hook(emulator: EmulatorProcess) -> Iterator[Callable[..., Any]]:
    """``make_reqmgr2_hook(identity="operator", auth="cert", gzip=True, **settings)`` -> a ReqMgr2Hook
    talking HTTPS to the emulator (operator: admin + production-operator + data-manager roles;
    requestor: data-manager only; outsider: no role). Closed after the test."""
    from airflow_provider_poms.hooks.reqmgr2 import ReqMgr2Hook

    hooks: list[ReqMgr2Hook] = []

    def factory(identity: str = "operator", auth: str = "cert", **overrides: Any) -> ReqMgr2Hook:
        fields = {**REQMGR2_TEST_OVERRIDES, **overrides}
        hook = ReqMgr2Hook(settings=emulator.settings("reqmgr2", identity, auth, **fields))
        hooks.append(hook)
        return hook

    yield factory
    for hook in hooks:
        hook.close()


@pytest.fixture
def reqmgr2(make_reqmgr2_hook: Callable[..., Any]) -> Any:
    """The operator over certificate auth."""
    return make_reqmgr2_hook()
