"""What a DAG file pays at parse time: the operators and sensors import only what they validate with.

The DAG processor imports the provider's operators/sensors and builds the tasks at every parse. The
trigger classes (and with them Airflow's ``airflow.triggers.base``), the hooks, the HTTP core, the
wire helpers, the wait machinery's verdicts, jsonschema and the emulator are needed only once a task
runs, so they are imported inside the methods that use them (bench/parse_cost.py, case 4). A fresh
interpreter is used: the test session itself has imported all of them long ago.
"""

from __future__ import annotations

import json
import subprocess
import sys

#: Modules (and their submodules) that building the tasks below must not import.
NOT_AT_PARSE = (
    "airflow.triggers.base",
    "airflow_provider_poms.triggers",
    "airflow_provider_poms.hooks",
    "airflow_provider_poms.http",
    "airflow_provider_poms.validation",
    "airflow_provider_poms.emulator",
)

_CODE = """
import json, sys
import airflow.sdk
import pendulum
from airflow.sdk import DAG
before = set(sys.modules)
from airflow_provider_poms.operators.poms import (
    PomsLaunchCampaignOperator, PomsLaunchStageOperator, PomsUploadWorkflowOperator,
)
from airflow_provider_poms.operators.reqmgr2 import (
    ReqMgr2ApproveRequestOperator, ReqMgr2AssignRequestOperator, ReqMgr2ChangeStatusOperator,
    ReqMgr2CloneRequestOperator, ReqMgr2UpdateRequestOperator,
)
from airflow_provider_poms.sensors.poms import PomsSubmissionSensor
from airflow_provider_poms.sensors.reqmgr2 import ReqMgr2RequestSensor

with DAG("parse_imports", schedule=None, start_date=pendulum.datetime(2026, 1, 1)) as dag:
    ReqMgr2ApproveRequestOperator(task_id="approve", request_name="r", wait_for_completion=True)
    ReqMgr2ChangeStatusOperator(task_id="status", request_name="r", status="rejected")
    ReqMgr2CloneRequestOperator(task_id="clone", request_name="r")
    ReqMgr2UpdateRequestOperator(task_id="update", request_name="r", priority=5)
    ReqMgr2RequestSensor(task_id="wait", request_name="r", target_statuses=["completed"])
    ReqMgr2RequestSensor(task_id="wait_d", request_name="r", deferrable=True, mode="reschedule")
    PomsLaunchStageOperator(task_id="launch", campaign_stage_id=1, wait_for_completion=True,
                            param_overrides={"-Osubmit.memory=": "2000MB"})
    PomsLaunchCampaignOperator(task_id="launch_c", campaign_id=2, deferrable=True)
    PomsUploadWorkflowOperator(task_id="upload", file_name="c.ini")
    PomsSubmissionSensor(task_id="wait_s", submission_id=3)
new = sorted(set(sys.modules) - before)
print(json.dumps({"new": new, "before": sorted(before), "tasks": len(dag.tasks)}))
"""


def test_building_provider_tasks_imports_no_trigger_hook_or_http_module() -> None:
    out = subprocess.run(
        [sys.executable, "-P", "-c", _CODE], capture_output=True, text=True, check=False, timeout=300
    )
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["tasks"] == 10
    new = result["new"]
    assert "airflow_provider_poms.operators.reqmgr2" in new  # the imports above did happen here
    loaded = sorted(m for m in new for heavy in NOT_AT_PARSE if m == heavy or m.startswith(heavy + "."))
    assert loaded == [], f"imported while building tasks: {loaded}"
    # airflow.sdk alone does not load it (else the check above would prove nothing)
    assert "airflow.triggers.base" not in result["before"]
