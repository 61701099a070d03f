"""Duplicate safety of create/clone over real HTTPS (docs/duplicate-safety.md).

The emulator commits a request and then drops the connection (``reset_after``), or drops it before
acting (``reset_before``), or answers 503: each time exactly one request must exist afterwards and the
hook must return its name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_poms.emulator.testing import EmulatorProcess
from airflow_provider_poms.hooks.reqmgr2 import ReqMgr2Hook
from airflow_provider_poms.http.errors import ServerError, TransportError

from .reqmgr2_helpers import stepchain, unique

CREATE = "/reqmgr2/data/request"


def _requests_with(hook: ReqMgr2Hook, request_string: str) -> list[str]:
    """Every request whose name embeds ``request_string`` (fresh view, names only)."""
    names = hook.get_requests(status="ACTIVE", detail=False, fresh=True)
    return sorted(n for n in names if f"_{request_string}_" in n)


def _posts(emulator: Any, since: int, path: str) -> list[dict[str, Any]]:
    return [e for e in emulator.control.request_log(since=since, method="POST") if e["path"] == path]


def test_create_whose_answer_is_lost_after_commit_leaves_one_request(
    reqmgr2: ReqMgr2Hook, emulator: Any
) -> None:
    rs = unique("LostAnswer")
    emulator.control.add_fault("reset_after", path=CREATE, method="POST", count=1)
    since = emulator.control.log_index()
    name = reqmgr2.create_request(stepchain(rs))
    assert _requests_with(reqmgr2, rs) == [name]
    posts = _posts(emulator, since, CREATE)
    assert len(posts) == 1 and posts[0]["fault"] == "reset_after" and posts[0]["handled"]


def test_create_reset_before_the_server_acted_is_sent_once_more(reqmgr2: ReqMgr2Hook, emulator: Any) -> None:
    rs = unique("ResetBefore")
    emulator.control.add_fault("reset_before", path=CREATE, method="POST", count=1)
    since = emulator.control.log_index()
    name = reqmgr2.create_request(stepchain(rs))
    assert _requests_with(reqmgr2, rs) == [name]
    assert len(_posts(emulator, since, CREATE)) == 2


def test_create_503_is_looked_up_then_sent_once_more(reqmgr2: ReqMgr2Hook, emulator: Any) -> None:
    rs = unique("Gateway")
    emulator.control.add_fault("http", path=CREATE, method="POST", status=503, count=1)
    since = emulator.control.log_index()
    name = reqmgr2.create_request(stepchain(rs))
    assert _requests_with(reqmgr2, rs) == [name]
    assert len(_posts(emulator, since, CREATE)) == 2


def test_two_ambiguous_failures_raise_and_create_nothing(reqmgr2: ReqMgr2Hook, emulator: Any) -> None:
    rs = unique("TwiceDown")
    emulator.control.add_fault("http", path=CREATE, method="POST", status=503, count=2)
    since = emulator.control.log_index()
    with pytest.raises(ServerError) as info:
        reqmgr2.create_request(stepchain(rs))
    assert info.value.status == 503
    assert _requests_with(reqmgr2, rs) == []
    assert len(_posts(emulator, since, CREATE)) == 2  # never more than one re-send


def test_without_dedupe_a_lost_answer_is_raised_not_resent(reqmgr2: ReqMgr2Hook, emulator: Any) -> None:
    rs = unique("NoDedupe")
    emulator.control.add_fault("reset_after", path=CREATE, method="POST", count=1)
    with pytest.raises(TransportError) as info:
        reqmgr2.create_request(stepchain(rs), dedupe=False)
    assert info.value.maybe_sent
    # The server did create it: exactly the case the marker exists for.
    assert len(_requests_with(reqmgr2, rs)) == 1


def test_clone_whose_answer_is_lost_after_commit_leaves_one_clone(
    reqmgr2: ReqMgr2Hook, emulator: Any
) -> None:
    rs = unique("CloneSrc")
    original = reqmgr2.create_request(stepchain(rs))
    path = f"/reqmgr2/data/request/clone/{original}"
    emulator.control.add_fault("reset_after", path=path, method="POST", count=1)
    since = emulator.control.log_index()
    clone = reqmgr2.clone_request(original, {"RequestPriority": 7})
    names = _requests_with(reqmgr2, rs)
    assert sorted(names) == sorted([original, clone])
    assert len(_posts(emulator, since, path)) == 1
    assert (reqmgr2.get_request(clone) or {})["RequestPriority"] == 7


@pytest.fixture(scope="module")
def stale_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorProcess]:
    """A second emulator whose non-name queries lag behind writes, like CouchDB's stale views."""
    mp = pytest.MonkeyPatch()
    mp.setenv("EMULATOR_REQMGR2_STALE_VIEWS", "1")
    try:
        emu = EmulatorProcess(Path(tmp_path_factory.mktemp("stale")), clock_scale=600, seed=7, control=True)
        with emu:
            mp.undo()
            yield emu
    finally:
        mp.undo()


def test_lost_answer_with_stale_views_still_leaves_one_request(
    stale_emulator: EmulatorProcess, make_reqmgr2_hook: Callable[..., ReqMgr2Hook]
) -> None:
    hook = ReqMgr2Hook(settings=stale_emulator.settings("reqmgr2", backoff=0.01))
    try:
        rs = unique("Stale")
        # Views lag behind writes here (until the next view read or actor pass refreshes them); the
        # marker search sends _nostale, and the decision is made on a fresh name look-up.
        stale_emulator.control.add_fault("reset_after", path=CREATE, method="POST", count=1)
        name = hook.create_request(stepchain(rs))
        assert _requests_with(hook, rs) == [name]
    finally:
        hook.close()
