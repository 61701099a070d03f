"""What Airflow's UI reads about this provider: the connection forms and the task links.

``/ui/connections/hook_meta`` is served by ``HookMetaService.hook_meta_data()``; calling it in-process
shows exactly what the API server would list (the lead checks the real API server end to end).
Links: in Airflow 3 the worker stores each link's URL in XCom ``_link_<Class>`` after the attempt;
the DAG tests (tests/operators) assert those values, this module checks the wiring.
"""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_poms import links
from airflow_provider_poms.get_provider_info import get_provider_info
from airflow_provider_poms.operators.poms import PomsLaunchStageOperator, PomsUploadWorkflowOperator
from airflow_provider_poms.operators.reqmgr2 import ReqMgr2CreateRequestOperator
from airflow_provider_poms.sensors.poms import PomsSubmissionSensor
from airflow_provider_poms.sensors.reqmgr2 import ReqMgr2RequestSensor


def test_hook_meta_lists_both_connection_types_with_their_fields() -> None:
    from airflow.api_fastapi.core_api.services.ui.connections import HookMetaService

    meta = {m.connection_type: m for m in HookMetaService.hook_meta_data()}
    poms, reqmgr2 = meta["poms"], meta["reqmgr2"]
    assert poms.hook_name == "Fermilab POMS" and reqmgr2.hook_name == "CMS ReqMgr2"
    assert poms.hook_class_name == "airflow_provider_poms.hooks.poms.PomsHook"
    assert poms.standard_fields is not None and poms.standard_fields.host is not None
    assert poms.standard_fields.host.title == "POMS base URL"
    assert poms.standard_fields.login is not None and poms.standard_fields.login.hidden
    common = {
        "client_cert",
        "client_key",
        "proxy",
        "ca_cert",
        "token_file",
        "verify",
        "connect_timeout",
        "read_timeout",
        "max_retries",
        "gzip",
    }
    assert common | {"experiment", "role"} <= set(poms.extra_fields or {})
    assert common <= set(reqmgr2.extra_fields or {})


def test_extra_links_are_registered_and_attached() -> None:
    from airflow.providers_manager import ProvidersManager

    registered = set(get_provider_info()["extra-links"])
    assert registered == {
        f"airflow_provider_poms.links.{cls.__name__}"
        for cls in (links.PomsSubmissionLink, links.PomsCampaignStageLink, links.ReqMgr2RequestLink)
    }
    assert registered <= set(ProvidersManager().extra_links_class_names)
    names = {
        type(link).__name__
        for op in (
            PomsLaunchStageOperator(task_id="a", campaign_stage_id=1),
            PomsUploadWorkflowOperator(task_id="b", file_name="x.ini"),
            PomsSubmissionSensor(task_id="c", submission_id=1),
            ReqMgr2CreateRequestOperator(task_id="d", spec="x.json-tpl"),
            ReqMgr2RequestSensor(task_id="e", request_name="r"),
        )
        for link in op.operator_extra_links
    }
    assert names == {"PomsSubmissionLink", "PomsCampaignStageLink", "ReqMgr2RequestLink"}


def test_get_link_reads_the_url_the_operator_pushed(monkeypatch: pytest.MonkeyPatch) -> None:
    pushed = {"reqmgr2_request_url": "https://cmsweb.example/reqmgr2/fetch?rid=r1"}
    asked: list[tuple[str, Any]] = []

    def get_value(*, key: str, ti_key: Any) -> Any:
        asked.append((key, ti_key))
        return pushed.get(key)

    monkeypatch.setattr(links.XCom, "get_value", staticmethod(get_value))
    sensor = ReqMgr2RequestSensor(task_id="e", request_name="r1")
    assert links.ReqMgr2RequestLink().get_link(sensor, ti_key="TI") == pushed["reqmgr2_request_url"]
    assert links.PomsSubmissionLink().get_link(sensor, ti_key="TI") == ""  # nothing pushed: no link
    assert asked[0] == ("reqmgr2_request_url", "TI")
