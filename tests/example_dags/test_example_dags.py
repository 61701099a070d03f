"""The shipped example DAGs (``example_dags/``): they load cleanly, and each one runs to success
with ``dag.test()`` against the session's emulator, checked from the services' side too.

Why both: a user's first contact with the provider is copying one of these files, so a parse
error, a deprecation warning or a DAG that only "succeeds" without the services agreeing would be
the first thing they meet. Every run uses names made unique by a tag, so the runs never depend on
each other or on other tests using the same emulator.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from airflow_fixtures import DagResult  # tests/ is on sys.path (conftest.py)

from airflow_provider_poms.emulator.poms.seed import DEMO_INI
from airflow_provider_poms.hooks.poms import PomsHook
from airflow_provider_poms.hooks.reqmgr2 import ReqMgr2Hook

# dag.test() in a fresh interpreter takes ~40 s per DAG; five DAGs plus their waits
pytestmark = pytest.mark.timeout(600)

EXAMPLES = Path(__file__).resolve().parents[2] / "example_dags"
DAG_IDS = {
    "poms_campaign_chain",
    "cms_request_lifecycle",
    "cms_request_recovery",
    "poms_ui_launch",
    "cms_campaign_fanout",
}

LOAD_SCRIPT = """
import json, sys, warnings
warnings.simplefilter("always")
with warnings.catch_warnings(record=True) as caught:
    from airflow.dag_processing.dagbag import DagBag
    bag = DagBag(dag_folder=sys.argv[1], safe_mode=False)
provider = [f"{w.category.__name__}: {w.message} ({w.filename}:{w.lineno})" for w in caught
            if "airflow_provider_poms" in str(w.filename) or "example_dags" in str(w.filename)]
print("LOADED " + json.dumps({
    "errors": {k: str(v) for k, v in bag.import_errors.items()},
    "dags": sorted(bag.dag_ids),
    "warnings": provider,
    "files": sorted({d.fileloc for d in bag.dags.values()}),
    "waits": {d.dag_id: sorted(t.task_id for t in d.tasks if t.task_id.startswith(("wait", "launch"))
                               and (getattr(t, "partial_kwargs", None) or vars(t)).get("deferrable"))
              for d in bag.dags.values()},
}))
"""


def _ok(result: DagResult) -> None:
    """The run succeeded and no task failed (skipped branches are fine)."""
    assert result.state == "success", (result.states, result.log[-4000:])
    bad = {t: s for t, s in result.states.items() if s not in ("success", "skipped")}
    assert not bad, bad


def test_every_example_loads_without_errors_or_provider_warnings(airflow_env: dict[str, str]) -> None:
    """A DagBag of the folder, in a fresh interpreter with the test Airflow home."""
    import json

    done = subprocess.run(
        [sys.executable, "-P", "-c", LOAD_SCRIPT, str(EXAMPLES)],
        env=airflow_env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("LOADED ")]
    assert lines, done.stdout[-3000:] + done.stderr[-3000:]
    loaded = json.loads(lines[-1][len("LOADED ") :])
    assert loaded["errors"] == {}
    assert set(loaded["dags"]) == DAG_IDS
    assert loaded["warnings"] == []
    # one DAG per file, named like its file: easy to find from the UI
    assert {Path(f).stem for f in loaded["files"]} == DAG_IDS
    # every wait hands its polling to the triggerer (mapped sensors included)
    assert loaded["waits"] == {
        "poms_campaign_chain": ["wait_stage1_located", "wait_stage2_located"],
        "cms_request_lifecycle": ["wait_completed"],
        "cms_request_recovery": ["wait_0", "wait_1", "wait_2"],
        "poms_ui_launch": ["launch"],
        "cms_campaign_fanout": ["wait_completed"],
    }


@pytest.mark.parametrize(
    ("conf", "problem"),
    [
        ({"priority": 500}, "maximum"),
        ({"priority": 0}, "minimum"),
        ({"campaign_stage": "bad name!"}, "does not match"),
        ({"test_launch": "maybe"}, "boolean"),
        ({"dataset_override": "two words"}, "does not match"),
        ({"campaign_stage": "12", "priority": 5, "dataset_override": "", "test_launch": False}, None),
    ],
)
def test_ui_form_validates_what_the_operator_types(conf: dict[str, Any], problem: str | None) -> None:
    """The trigger form refuses bad values before a run exists (Airflow checks the params' schema)."""
    import copy
    import importlib.util

    from airflow.sdk.exceptions import ParamValidationError

    spec = importlib.util.spec_from_file_location("example_poms_ui_launch", EXAMPLES / "poms_ui_launch.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    params = copy.deepcopy(module.dag.params)
    if problem is None:
        params.update(conf)
        assert params.validate() == {**module.dag.params.validate(), **conf}
    else:
        with pytest.raises(ParamValidationError, match=problem):
            params.update(conf)  # checks each value as it is set
            params.validate()


def test_cms_request_lifecycle(run_dag: Any, emulator: Any) -> None:
    tag = uuid.uuid4().hex[:8]
    campaign = f"AFlife_{tag}"
    result = run_dag(
        "cms_request_lifecycle",
        {
            "campaign": campaign,
            "request_prefix": f"AFlife_{tag}",
            "priority": 123456,
            "site_whitelist": ["T2_CH_CERN"],
        },
        dags_folder=EXAMPLES,
    )
    _ok(result)
    name = result.value("create")
    assert isinstance(name, str) and f"AFlife_{tag}" in name
    reqmgr2 = ReqMgr2Hook(settings=emulator.settings("reqmgr2"))
    doc = reqmgr2.get_request(name)
    assert doc is not None
    # the spec came from the templated file with the run's params
    assert doc["RequestType"] == "ReReco" and doc["Campaign"] == campaign
    assert doc["RequestPriority"] == 123456 and doc["SiteWhitelist"] == ["T2_CH_CERN"]
    path = [t[0] for t in reqmgr2.get_status_and_transitions([name])[name].transitions]
    assert path[:3] == ["new", "assignment-approved", "assigned"]
    assert path[-3:] == ["completed", "closed-out", "announced"]
    assert result.value("wait_completed") == {name: "completed"}
    assert result.value("announce", "reqmgr2_request_url") == reqmgr2.request_url(name)
    assert result.task_log("running trigger in line"), "the wait was deferred"


@pytest.fixture
def poms(emulator: Any) -> PomsHook:
    return PomsHook(settings=emulator.settings("poms", experiment="samdev", role="production"))


@pytest.fixture
def reqmgr2(emulator: Any) -> ReqMgr2Hook:
    return ReqMgr2Hook(settings=emulator.settings("reqmgr2"))


def _sid(result: DagResult, task_id: str) -> int:
    value = result.value(task_id, "submission_id")
    assert isinstance(value, int), (task_id, result.xcom.get(task_id))
    return value


def _children(poms: PomsHook, stage_id: int, parent: int) -> list[int]:
    """Submissions of ``stage_id`` that POMS records as launched after ``parent``."""
    page = poms.campaign_stage_submissions(
        "samdev", "production", "", "", campaign_stage_id=stage_id, tdays=2
    )
    data = page.get("data") or {}
    here = {int(r["submission_id"]) for r in data.get("submissions") or []}
    return sorted(
        int(s)
        for s, p in (data.get("depends") or {}).items()
        if p is not None and int(p) == parent and int(s) in here
    )


def test_poms_campaign_chain(run_dag: Any, poms: PomsHook) -> None:
    """The shipped .ini and default params, as the scheduler would run it (empty conf)."""
    result = run_dag("poms_campaign_chain", {}, dags_folder=EXAMPLES)
    _ok(result)
    upload = result.value("upload_campaign")
    assert upload["campaign_id"] == poms.get_campaign_id("samdev", "demo_campaign")
    first, second = _sid(result, "launch_stage1"), _sid(result, "launch_stage2")
    assert result.value("wait_stage1_located") == {str(first): "Located"}
    assert result.value("wait_stage2_located") == {str(second): "Located"}
    stage1 = poms.get_campaign_stage_id("samdev", "demo_campaign", "stage1")
    stage2 = poms.get_campaign_stage_id("samdev", "demo_campaign", "stage2")
    assert poms.get_submission_status(first).status == "Located"
    assert poms.get_submission_status(second).status == "Located"
    details = poms.submission_details("samdev", "production", second)
    assert details["submission"]["campaign_stage_id"] == stage2
    # stage 2 ran once for this stage-1 submission: the one POMS launched, adopted by the DAG
    assert _children(poms, stage2, first) == [second]
    assert details["submission"]["campaign_stage_id"] != stage1
    assert result.value("launch_stage2", "poms_submission_url") == poms.submission_url(second)
    assert result.task_log("adopting it")


def test_poms_ui_launch_form_values_reach_poms(run_dag: Any, poms: PomsHook, tmp_path: Path) -> None:
    """Every form field is used: stage by name, test launch, dataset override, priority."""
    tag = uuid.uuid4().hex[:8]
    campaign = f"af_ui_{tag}"
    ini = tmp_path / f"{campaign}.ini"
    ini.write_text(
        DEMO_INI.replace("demo_campaign", campaign)
        .replace("demo_job", f"job_{tag}")
        .replace("demo_login", f"login_{tag}")
    )
    poms.upload_wf(str(ini))
    conf = {
        "campaign": campaign,
        "campaign_stage": "stage1",
        "test_launch": True,
        "dataset_override": f"af_ds_{tag}",
        "priority": 7,
    }
    result = run_dag("poms_ui_launch", conf, dags_folder=EXAMPLES)
    _ok(result)
    sid = _sid(result, "launch")
    stage = poms.get_campaign_stage_id("samdev", campaign, "stage1")
    details = poms.submission_details("samdev", "production", sid)
    sub = details["submission"]
    assert sub["campaign_stage_id"] == stage
    assert details["dataset"] == f"af_ds_{tag}"
    assert sub["submission_params"]["test"] == 1
    assert "-Oglobal.priority=7" in sub["command_executed"]
    assert ["-Oglobal.priority=", "7"] in sub["campaign_stage_obj"]["test_param_overrides"]
    assert poms.get_submission_status(sid).status == "Located"
    assert result.value("launch", "poms_submission_url") == poms.submission_url(sid)
    assert result.value("launch", "poms_campaign_stage_url") == poms.campaign_stage_url(stage)


def test_cms_request_recovery_clones_once_after_a_failure(
    run_dag: Any, emulator: Any, reqmgr2: ReqMgr2Hook
) -> None:
    tag = uuid.uuid4().hex[:8]
    campaign = f"AFrec_{tag}"
    prefix = f"AFrec_{tag}"
    # the first attempt (its name starts with <login>_<prefix>; clones start with R<n>_) fails
    emulator.control.script_reqmgr2(f"operator_{prefix}_*", "running-open", "fail")
    conf = {"campaign": campaign, "request_prefix": prefix, "memory": 2500, "recovery_sites": ["T2_DE_DESY"]}
    result = run_dag("cms_request_recovery", conf, dags_folder=EXAMPLES)
    _ok(result)
    original, clone = result.value("create"), result.value("clone_1")
    assert result.value("wait_0") == {original: "failed"}
    assert result.value("wait_1") == {clone: "completed"}
    assert result.states["check_0"] == "success" and result.states["check_1"] == "success"
    assert result.states["clone_2"] == "skipped" and result.states["wait_2"] == "skipped"
    # the emulator's side: exactly one clone, with the overrides, and it completed
    names = set(reqmgr2.get_requests(campaign=campaign, detail=False))
    assert names == {original, clone}
    first, second = reqmgr2.get_request(original), reqmgr2.get_request(clone)
    assert first["RequestStatus"] == "failed" and second["RequestStatus"] == "completed"
    assert second["Memory"] == 2500 + 1000 and second["RequestString"].startswith(f"R1_{prefix}")
    assert second["SiteWhitelist"] == ["T2_DE_DESY"]
    assert second["InputDataset"] == first["InputDataset"]


def test_cms_campaign_fanout(run_dag: Any, reqmgr2: ReqMgr2Hook) -> None:
    tag = uuid.uuid4().hex[:8]
    campaign = f"AFfan_{tag}"
    result = run_dag(
        "cms_campaign_fanout", {"count": 3, "campaign": campaign, "tag": tag}, dags_folder=EXAMPLES
    )
    _ok(result)
    summary = result.value("summary")
    assert isinstance(summary, dict) and len(summary) == 3
    assert set(summary.values()) == {"completed"}
    # the mapped sensors deferred (dag.test runs their triggers in line, together)
    assert result.task_log("running trigger in line")
    names = reqmgr2.get_requests(campaign=campaign, detail=False)
    assert set(names) == set(summary)
    for name in names:
        path = [t[0] for t in reqmgr2.get_status_and_transitions([name])[name].transitions]
        assert path[:3] == ["new", "assignment-approved", "assigned"] and path[-1] == "completed"
