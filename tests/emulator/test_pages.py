"""The GUI pages behind the provider's extra links open on the emulator, over HTTPS."""

from __future__ import annotations

from typing import Any

from airflow_provider_poms.emulator.reqmgr2.samples import stepchain_spec
from airflow_provider_poms.hooks.poms import PomsHook
from airflow_provider_poms.hooks.reqmgr2 import ReqMgr2Hook


def test_request_page_shows_status_and_history(emulator: Any) -> None:
    hook = ReqMgr2Hook(settings=emulator.settings("reqmgr2"))
    name = hook.create_request(stepchain_spec("AFpage"))
    page = emulator.session().get(hook.request_url(name), timeout=30)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert name in page.text and "new" in page.text


def test_request_page_for_unknown_name_is_404(emulator: Any) -> None:
    page = emulator.session().get(f"{emulator.conn['reqmgr2_url']}/fetch?rid=nope_nothing", timeout=30)
    assert page.status_code == 404
    assert "no request named" in page.text


def test_campaign_stage_page_lists_the_stage(emulator: Any) -> None:
    hook = PomsHook(settings=emulator.settings("poms"))
    url = hook.campaign_stage_url(1, "samdev", "production")
    page = emulator.session().get(url, timeout=30)
    assert page.status_code == 200
    assert "stage1" in page.text


def test_pages_need_a_credential(emulator: Any) -> None:
    import requests

    url = f"{emulator.conn['reqmgr2_url']}/fetch?rid=x"
    page = requests.get(url, verify=emulator.conn["ca_cert"], timeout=30)
    assert page.status_code == 401
