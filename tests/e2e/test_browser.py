"""The Airflow UI in a real browser (headless Chromium): what an operator sees and clicks.

Why a browser and not only REST: the connection form is built by the React UI from our
declarative ``conn-fields``, the trigger form from the DAG's ``params`` JSON Schema, and the
extra-link buttons from the links the worker stored. A mistake in any of them (a field that does
not render, a form that cannot be submitted, a link the UI drops) is invisible to the REST API.
So the tests click through the same pages a person would, then check the outcome over REST.

Screenshots of every step go to ``test-output/screenshots/``. Chromium and chromedriver are
Debian's (/usr/bin), installed by ``scripts/setup.sh``; without them the tests fail, never skip.
"""

from __future__ import annotations

import json
import random
import re
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import pytest
from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from airflow_provider_poms.get_provider_info import get_provider_info

if TYPE_CHECKING:
    from airflow_provider_poms.emulator.testing import EmulatorProcess
    from tests.e2e.conftest import LocalAirflow

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.timeout(900)]

REPO = Path(__file__).resolve().parents[2]
SHOTS = REPO / "test-output" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1400,1000",
)
#: Seconds to wait for a page or element; the UI is a large bundle served by one api-server worker.
UI_WAIT = 120
UI_DAG, UI_TASK = "poms_ui_launch", "launch"
#: The params the UI-triggered example must offer (issue 5): the form's field names.
FORM_FIELDS = ("campaign_stage", "test_launch", "dataset_override", "priority")
CMS_DAG, CMS_TASK = "cms_request_lifecycle", "create"


# -- browser plumbing ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    """One headless Chromium for the module (its cache makes the later page loads cheap)."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        pytest.fail(f"browser tests need {' and '.join(missing)}: run `bash scripts/setup.sh`")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    with tempfile.TemporaryDirectory(prefix="poms-chromium-") as profile:
        options.add_argument(f"--user-data-dir={profile}")
        driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
        try:
            yield driver
        finally:
            driver.quit()


def shot(driver: WebDriver, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(SHOTS / f"browser_{name}.png"))


def wait_for(root: WebDriver | WebElement, condition: Any, what: str, timeout: float = UI_WAIT) -> Any:
    """Wait for ``condition``; on timeout keep a screenshot and say what was awaited, and where."""
    try:
        return WebDriverWait(root, timeout).until(condition)
    except TimeoutException:
        driver = root.parent if isinstance(root, WebElement) else root
        shot(driver, "timeout")
        raise AssertionError(
            f"UI: no {what} after {timeout:g}s on {driver.current_url} "
            f"(screenshot test-output/screenshots/browser_timeout.png)"
        ) from None


def visible(root: WebDriver | WebElement, xpath: str, timeout: float = UI_WAIT) -> WebElement:
    return wait_for(root, ec.visibility_of_element_located((By.XPATH, xpath)), f"visible {xpath}", timeout)


def clickable(root: WebDriver | WebElement, xpath: str, timeout: float = UI_WAIT) -> WebElement:
    return wait_for(root, ec.element_to_be_clickable((By.XPATH, xpath)), f"clickable {xpath}", timeout)


def dialog_with(driver: WebDriver, text: str) -> WebElement:
    """The open modal that contains ``text`` (the UI also uses role=dialog for popovers)."""
    return visible(driver, f"//*[@role='dialog'][.//*[contains(normalize-space(), {json.dumps(text)})]]")


def lines(element: WebElement) -> set[str]:
    return {line.strip() for line in element.text.splitlines() if line.strip()}


# -- (a) connection form ---------------------------------------------------------------------
def connection_types() -> dict[str, dict[str, Any]]:
    return {t["connection-type"]: t for t in get_provider_info()["connection-types"]}


def open_add_connection(driver: WebDriver) -> WebElement:
    clickable(driver, "//button[contains(normalize-space(), 'Add Connection')]").click()
    return dialog_with(driver, "Connection Type")


def choose_type(driver: WebDriver, dialog: WebElement, hook_name: str) -> list[str]:
    """Type the type's name into the connection-type combobox; return the offered options."""
    box = dialog.find_element(By.CSS_SELECTOR, "input[role=combobox]")
    box.click()
    box.send_keys(hook_name)
    option = visible(driver, f"//*[@role='option'][normalize-space()={json.dumps(hook_name)}]")
    offered = [o.text.strip() for o in driver.find_elements(By.CSS_SELECTOR, "[role=option]")]
    assert option.is_displayed()
    box.send_keys(Keys.ENTER)
    return offered


def reveal(driver: WebDriver, dialog: WebElement, label: str) -> WebElement:
    """Scroll the field labelled ``label`` into view and wait until a person could see it."""
    xpath = f".//label[contains(normalize-space(), {json.dumps(label)})]"
    element = wait_for(dialog, ec.presence_of_element_located((By.XPATH, xpath)), f"field {label!r}")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", element)
    return visible(dialog, xpath)


def check_connection_form(driver: WebDriver, base_url: str) -> None:
    """Both types are offered; each shows its relabelled standard fields and its own extras."""
    types = connection_types()
    driver.get(f"{base_url}/connections")
    shot(driver, "a1_connections_page")
    for conn_type, info in types.items():
        dialog = open_add_connection(driver)
        offered = choose_type(driver, dialog, info["hook-name"])
        assert info["hook-name"] in offered
        behaviour = info["ui-field-behaviour"]
        for label in behaviour["relabeling"].values():
            visible(dialog, f".//label[contains(normalize-space(), {json.dumps(label)})]")
        standard = lines(dialog)
        shot(driver, f"a2_{conn_type}_standard_fields")
        for hidden in behaviour["hidden-fields"]:
            assert hidden.capitalize() not in standard, f"{conn_type}: {hidden} should be hidden"
        clickable(dialog, ".//button[contains(normalize-space(), 'Extra Fields')]").click()
        mine = {f["label"] for f in info["conn-fields"].values()}
        for field in info["conn-fields"].values():
            # The section expands with an animation inside a scrolling dialog: bring each field
            # into view and wait until it is visible (fails naming the field if it never is).
            reveal(driver, dialog, field["label"])
        shown = lines(dialog)
        shot(driver, f"a3_{conn_type}_extra_fields")
        others = {f["label"] for t, i in types.items() if t != conn_type for f in i["conn-fields"].values()}
        assert not (others - mine) & shown, f"{conn_type} shows another type's fields"
        dialog.find_element(
            By.XPATH, ".//button[starts-with(@id, 'dialog:') and contains(@id, ':close')]"
        ).click()
        wait_for(driver, ec.staleness_of(dialog), "closed dialog")


def test_connection_form_offers_both_types_with_their_fields(
    local_airflow: LocalAirflow, browser: WebDriver
) -> None:
    check_connection_form(browser, local_airflow.base_url)


# -- (b) trigger form --------------------------------------------------------------------------
@dataclass(frozen=True)
class FormRun:
    """A run started from the UI's trigger form, and what was typed into it."""

    run_id: str
    priority: int
    defaults: dict[str, Any]


def dag_params(airflow: LocalAirflow, dag_id: str) -> dict[str, dict[str, Any]]:
    airflow.wait_dag(dag_id)
    return dict(airflow.api("GET", f"/api/v2/dags/{dag_id}/details")["params"])


def trigger_from_form(driver: WebDriver, airflow: LocalAirflow, dag_id: str) -> FormRun:
    """Open the DAG page, click Trigger, check the params form, change priority, submit."""
    params = dag_params(airflow, dag_id)
    schema = params["priority"]["schema"]
    low = int(schema.get("minimum", 0))
    choices = [
        v for v in range(low, int(schema.get("maximum", low + 100)) + 1) if v != params["priority"]["value"]
    ]
    priority = random.choice(choices)
    run_id = f"ui_form_{uuid.uuid4().hex[:10]}"
    driver.get(f"{airflow.base_url}/dags/{dag_id}")
    clickable(driver, "//button[normalize-space()='Trigger']").click()
    form = dialog_with(driver, "Run Parameters")
    assert set(FORM_FIELDS) <= set(params), f"{dag_id} lacks params {set(FORM_FIELDS) - set(params)}"
    shown = lines(form)
    for name, spec in params.items():
        form.find_element(By.NAME, f"element_{name}")  # every param has its input...
        title = spec["schema"].get("title", name)
        assert title in shown, f"trigger form lacks {title!r}"  # ...under its title
    shot(driver, "b1_trigger_form")
    field = form.find_element(By.NAME, "element_priority")
    field.click()
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys(str(priority))
    shot(driver, "b2_priority_typed")
    clickable(form, ".//button[contains(normalize-space(), 'Advanced Options')]").click()
    run_field = visible(form, ".//input[@name='dagRunId']")
    run_field.send_keys(run_id)
    shot(driver, "b3_run_id_and_conf")
    clickable(form, ".//button[normalize-space()='Trigger']").click()
    wait_for(driver, ec.url_contains(f"/runs/{run_id}"), f"page of run {run_id}")
    shot(driver, "b4_run_started")
    return FormRun(run_id, priority, {k: v["value"] for k, v in params.items()})


@pytest.fixture(scope="module")
def form_run(local_airflow: LocalAirflow, browser: WebDriver) -> FormRun:
    return trigger_from_form(browser, local_airflow, UI_DAG)


def test_trigger_form_starts_a_run_with_the_typed_values(
    local_airflow: LocalAirflow, form_run: FormRun
) -> None:
    run = local_airflow.api("GET", f"/api/v2/dags/{UI_DAG}/dagRuns/{form_run.run_id}")
    assert run["conf"] == {**form_run.defaults, "priority": form_run.priority}
    assert local_airflow.wait_run(UI_DAG, form_run.run_id, timeout=300) == "success"
    ti = local_airflow.api("GET", f"/api/v2/dags/{UI_DAG}/dagRuns/{form_run.run_id}/taskInstances/{UI_TASK}")
    # The typed priority reached the operator's templated override (what POMS is sent).
    overrides = json.dumps(ti["rendered_fields"]["param_overrides"])
    assert re.search(rf"\b{form_run.priority}\b", overrides), overrides


# -- (c) extra links -------------------------------------------------------------------------
@pytest.fixture(scope="module", autouse=True)
def cms_run(local_airflow: LocalAirflow) -> str:
    """A ReqMgr2 run started (over REST) when the module starts, so it runs while the UI is driven."""
    return local_airflow.trigger(CMS_DAG, {"request_prefix": f"AFui_{uuid.uuid4().hex[:8]}"})


def xcom(airflow: LocalAirflow, dag_id: str, run_id: str, task_id: str, key: str) -> Any:
    path = f"/api/v2/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}/taskInstances/{task_id}/xcomEntries/{key}"
    return airflow.api("GET", path)["value"]


def wait_task_success(airflow: LocalAirflow, dag_id: str, run_id: str, task_id: str) -> None:
    """The task, not the whole run: a link is there as soon as its task has finished."""
    deadline = time.monotonic() + 300
    state = None
    while time.monotonic() < deadline:
        state = next(t["state"] for t in airflow.task_instances(dag_id, run_id) if t["task_id"] == task_id)
        if state in ("success", "failed", "upstream_failed"):
            break
        time.sleep(2)
    assert state == "success", f"{dag_id}/{run_id}/{task_id} ended {state}"


def link_on_task_page(
    driver: WebDriver, airflow: LocalAirflow, dag_id: str, run_id: str, task_id: str, name: str
) -> str:
    """Open the task instance's Details page and return the href of the extra-link button ``name``."""
    driver.get(f"{airflow.base_url}/dags/{dag_id}/runs/{quote(run_id, safe='')}/tasks/{task_id}/details")
    link = visible(driver, f"//a[normalize-space()={json.dumps(name)}]")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", link)
    shot(driver, f"c_{dag_id}_{task_id}_links")
    assert link.get_attribute("target") == "_blank"  # an outside page opens in a new tab
    return str(link.get_attribute("href"))


def test_poms_task_shows_its_submission_link(
    local_airflow: LocalAirflow, browser: WebDriver, emulator: EmulatorProcess, form_run: FormRun
) -> None:
    wait_task_success(local_airflow, UI_DAG, form_run.run_id, UI_TASK)
    sid = xcom(local_airflow, UI_DAG, form_run.run_id, UI_TASK, "submission_id")
    href = link_on_task_page(browser, local_airflow, UI_DAG, form_run.run_id, UI_TASK, "POMS submission")
    assert href.startswith(emulator.conn["poms_url"] + "/")
    assert f"submission_id={sid}" in href
    rest = local_airflow.links(UI_DAG, form_run.run_id, UI_TASK)["extra_links"]
    assert rest["POMS submission"] == href


def test_reqmgr2_task_shows_its_request_link(
    local_airflow: LocalAirflow, browser: WebDriver, emulator: EmulatorProcess, cms_run: str
) -> None:
    wait_task_success(local_airflow, CMS_DAG, cms_run, CMS_TASK)
    name = xcom(local_airflow, CMS_DAG, cms_run, CMS_TASK, "return_value")
    href = link_on_task_page(browser, local_airflow, CMS_DAG, cms_run, CMS_TASK, "ReqMgr2 request")
    assert href.startswith(emulator.conn["reqmgr2_url"] + "/")
    assert quote(str(name), safe="") in href
    rest = local_airflow.links(CMS_DAG, cms_run, CMS_TASK)["extra_links"]
    assert rest["ReqMgr2 request"] == href
