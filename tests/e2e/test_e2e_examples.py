"""The shipped example DAGs on a real Airflow: triggered over REST, run by the scheduler and a
LocalExecutor, sensors deferred to the triggerer, extra links resolving on the emulator."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from e2e.helpers import RunRecord, links_of, watch

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def example_runs(local_airflow: Any) -> dict[str, RunRecord]:
    """The three examples a newcomer sees in the demo, run side by side like in production."""
    tag = uuid.uuid4().hex[:6]
    runs = [
        ("cms_request_lifecycle", local_airflow.trigger("cms_request_lifecycle", {})),
        ("poms_campaign_chain", local_airflow.trigger("poms_campaign_chain", {})),
        ("cms_campaign_fanout", local_airflow.trigger("cms_campaign_fanout", {"count": 4, "tag": tag})),
    ]
    return {record.dag_id: record for record in watch(local_airflow, runs, timeout=480)}


@pytest.mark.parametrize("dag_id", ["cms_request_lifecycle", "poms_campaign_chain", "cms_campaign_fanout"])
def test_example_succeeds(example_runs: dict[str, RunRecord], dag_id: str) -> None:
    record = example_runs[dag_id]
    assert record.state == "success", record.seen
    states = record.final_states()
    assert states and set(states.values()) <= {"success", "skipped"}, states


@pytest.mark.parametrize("dag_id", ["cms_request_lifecycle", "poms_campaign_chain", "cms_campaign_fanout"])
def test_waits_were_deferred_to_the_triggerer(
    example_runs: dict[str, RunRecord], local_airflow: Any, dag_id: str
) -> None:
    record = example_runs[dag_id]
    deferred = record.deferred_tasks()
    assert deferred, f"no task of {dag_id} was ever seen deferred: {record.seen}"
    if dag_id == "cms_campaign_fanout":
        mapped = {task for task in deferred if "[" in task}
        assert len(mapped) >= 2, f"mapped sensors did not wait in parallel: {deferred}"
    # what Airflow handed to the triggerer were the provider's triggers
    classpaths = set().union(*record.triggers.values()) if record.triggers else set()
    assert classpaths, f"no trigger recorded for {dag_id}"
    assert all(path.startswith("airflow_provider_poms.triggers.") for path in classpaths), classpaths


def test_extra_links_resolve_on_the_emulator(
    example_runs: dict[str, RunRecord], local_airflow: Any, emulator: Any
) -> None:
    session = emulator.session()
    checked = 0
    for dag_id in ("cms_request_lifecycle", "poms_campaign_chain"):
        links = links_of(local_airflow, example_runs[dag_id])
        assert links, f"{dag_id}: no task has an extra link"
        for task, urls in links.items():
            for name, url in urls.items():
                assert url.startswith(emulator.conn["url"]), (task, name, url)
                answer = session.get(url, timeout=30)
                assert answer.status_code == 200, (task, name, url, answer.status_code)
                checked += 1
    assert checked >= 2
