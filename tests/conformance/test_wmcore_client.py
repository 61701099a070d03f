"""The official WMCore ReqMgr client drives a request through its whole life against each target.

Issue 2's acceptance check: create -> approve -> assign -> ... -> announced, clone, a forbidden
transition, an unknown name, and a role that may not assign, with the same status codes,
X-REST-Status values and result shapes that the real server showed (real-reqmgr2-server.md 15/16).
The client runs in its own virtualenv (wmcore_driver.py); this side only judges its record.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from .specs import ASSIGNMENT, stepchain, unique_tag
from .tally import count
from .targets import Target

NAME = r"_\d{6}_\d{6}_\d{1,4}$"
LIFECYCLE = [
    "new",
    "assignment-approved",
    "assigned",
    "staging",
    "staged",
    "acquired",
    "running-open",
    "running-closed",
    "completed",
    "closed-out",
    "announced",
]


def only_doc(result: Any, name: str) -> dict[str, Any]:
    assert isinstance(result, list) and len(result) == 1, result
    assert list(result[0]) == [name], list(result[0])
    return dict(result[0][name])


def ok_row(rec: dict[str, Any], name: str) -> None:
    assert rec["ok"], f"{rec['step']}: {rec.get('error')}"
    assert rec["result"] == [{name: "OK"}], rec["result"]


def failed(rec: dict[str, Any], status: int, rest: str | None) -> dict[str, Any]:
    assert not rec["ok"], f"{rec['step']} unexpectedly succeeded: {rec.get('result')}"
    err = rec["error"]
    assert "exception" not in err, err
    assert err["status"] == status, err
    assert err["x-rest-status"] == rest, err
    assert (err["content-type"] or "").startswith("text/html"), err
    return dict(err)


@pytest.fixture(scope="module")
def records(targets: dict[str, Target]) -> dict[str, dict[str, Any]]:
    out = {}
    for name, tgt in targets.items():
        tag = unique_tag("W")
        plan = {
            "spec": stepchain(tgt, f"WMCoreDriver_{tag}", Campaign=f"Camp_{tag}"),
            "requestor_spec": stepchain(tgt, f"WMCoreDriver_{tag}rq"),
            "assignment": ASSIGNMENT,
        }
        out[name] = tgt.run_wmcore_driver(plan)
        count(name, "wmcore-step", len(out[name]["steps"]))
    dump = Path(__file__).resolve().parents[2] / "test-output"
    dump.mkdir(exist_ok=True)
    (dump / "conformance-wmcore-client.json").write_text(json.dumps(out, indent=1, default=str))
    return out


@pytest.mark.parametrize("which", ["emulator", "real"])
def test_official_client_lifecycle(records: dict[str, dict[str, Any]], which: str) -> None:
    rec = records[which]
    steps = {s["step"]: s for s in rec["steps"]}
    name = rec["name"]

    assert steps["create"]["ok"], steps["create"]
    assert steps["create"]["result"] == [{"request": name}]
    assert re.match(r"^operator_WMCoreDriver_W[0-9a-f]{8}" + NAME, name), name

    doc = only_doc(steps["get"]["result"], name)
    assert doc["RequestStatus"] == "new"
    assert doc["RequestType"] == "StepChain"
    assert doc["RequestPriority"] == 100000
    assert doc["Requestor"] == "operator"  # overwritten with the caller's login
    assert doc["RequestName"] == name and doc["_id"] == name
    assert [t["Status"] for t in doc["RequestTransition"]] == ["new"]
    assert set(doc["RequestTransition"][0]) == {"Status", "UpdateTime", "DN"}
    assert [p["Priority"] for p in doc["PriorityTransition"]] == [100000]

    masked = only_doc(steps["mask"]["result"], name)
    assert masked == {"RequestStatus": "new", "Campaign": doc["Campaign"]}

    for step in ("priority", "approve", "assign"):
        ok_row(steps[step], name)
    err = failed(steps["skip-acquired"], 400, "1102")  # assigned -> acquired skips staging/staged
    assert err["x-error-detail"].startswith("Invalid spec parameter value: InvalidStateTransition")
    for status in LIFECYCLE[3:]:
        ok_row(steps[f"to-{status}"], name)

    final = only_doc(steps["final"]["result"], name)
    assert final["RequestStatus"] == "announced"
    assert [t["Status"] for t in final["RequestTransition"]] == LIFECYCLE
    assert [p["Priority"] for p in final["PriorityTransition"]] == [100000, 200000]
    assert final["Team"] == "production" and final["SiteWhitelist"] == ["T1_US_FNAL"]

    err = failed(steps["forbidden"], 400, "1102")
    assert err["x-error-detail"].startswith("Invalid spec parameter value: InvalidStateTransition")
    assert err["x-error-detail"].endswith("...") and len(err["x-error-detail"]) == 200
    assert "from 'announced' to 'new'" in err["body"]

    assert steps["unknown-get"]["ok"] and steps["unknown-get"]["result"] == []
    failed(steps["unknown-put"], 400, "1102")

    clone = rec["clone"]
    assert steps["clone"]["ok"] and steps["clone"]["result"] == [{"request": clone}]
    assert clone != name and re.match(r"^operator_WMCoreDriver_W[0-9a-f]{8}" + NAME, clone)
    cdoc = only_doc(steps["clone-get"]["result"], clone)
    assert cdoc["RequestStatus"] == "new"
    assert cdoc["RequestPriority"] == 5
    assert cdoc["ProcessingVersion"] == 2  # +1 on clone
    assert [t["Status"] for t in cdoc["RequestTransition"]] == ["new"]
    for dropped in ("Team", "SiteWhitelist", "OriginalRequestName"):
        assert dropped not in cdoc, dropped

    plain = steps["clone-plain"]  # cloneRequest(name): the client frames an empty POST oddly (chunked + CL 0)
    assert plain["ok"], plain.get("error")
    assert re.match(r"^operator_WMCoreDriver_W[0-9a-f]{8}" + NAME, plain["result"][0]["request"])

    err = failed(steps["unknown-clone"], 400, "1102")
    assert err["x-error-detail"].strip() == "Invalid spec parameter value:"
    err = failed(steps["parentlocks"], 404, "206")
    assert err["x-error-detail"] == "No such instance"

    rname = rec["requestor_name"]
    assert steps["rq-create"]["ok"] and re.match(r"^requestor_WMCoreDriver_W[0-9a-f]{8}rq" + NAME, rname)
    ok_row(steps["rq-approve"], rname)
    err = failed(steps["rq-assign"], 403, None)  # ppd-level role may not assign; no X-Error headers
    assert err["x-error-detail"] is None
    ok_row(steps["rq-reject"], rname)
