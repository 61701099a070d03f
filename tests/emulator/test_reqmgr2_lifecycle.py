"""ReqMgr2 emulator over real HTTPS: create -> ... -> normal-archived, roles, clone, edits.

Each test uses its own RequestString (uuid) so tests never depend on each other or on order.
The session emulator runs 600x faster than real time; steps the actors take every 10 emulated
minutes therefore happen about once a real second.
"""

from __future__ import annotations

import html
import re
import time
import uuid
from collections.abc import Callable

import pytest

from airflow_provider_poms.emulator.reqmgr2.rawclient import RawReqMgr2
from airflow_provider_poms.emulator.reqmgr2.samples import assignment_body, stepchain_spec
from airflow_provider_poms.emulator.testing import EmulatorProcess

SYSTEM_DN = "/DC=ch/DC=cern/OU=computers/CN=wmagent/vocms0192.cern.ch"


def _rs(tag: str) -> str:
    return f"{tag}_{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="module")
def client(emulator: EmulatorProcess) -> Callable[..., RawReqMgr2]:
    def make(identity: str = "operator", auth: str = "cert") -> RawReqMgr2:
        return RawReqMgr2(emulator.session(identity, auth), emulator.conn["reqmgr2_url"])

    return make


@pytest.fixture(scope="module")
def op(client: Callable[..., RawReqMgr2]) -> RawReqMgr2:
    return client("operator")


def _wait_status(rm: RawReqMgr2, name: str, status: str, timeout: float = 20.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        doc = rm.doc(name)
        if doc["RequestStatus"] == status:
            return doc
        assert time.monotonic() < deadline, f"{name} stuck in {doc['RequestStatus']}, wanted {status}"
        time.sleep(0.1)


def test_create_returns_name_and_server_fields(emulator: EmulatorProcess, op: RawReqMgr2) -> None:
    rs = _rs("Create")
    resp = op.call("POST", "request", body=stepchain_spec(rs))
    assert resp.status_code == 200
    body = resp.content.decode()
    name = resp.json()["result"][0]["request"]
    assert body == '{"result": [\n {"request": "' + name + '"}\n]}\n'
    m = re.fullmatch(rf"operator_{rs}_(\d{{6}})_(\d{{6}})_(\d{{1,4}})", name)
    assert m, name
    assert not (m.group(3).startswith("0") and len(m.group(3)) > 1)  # n is not zero-padded
    doc = op.doc(name)
    operator_dn = emulator.conn["identities"]["operator"]["dn"]
    assert doc["RequestName"] == doc["_id"] == name
    assert doc["RequestStatus"] == "new"
    assert doc["Requestor"] == "operator"  # the body said "tester": the server overwrites it
    assert doc["RequestorDN"] == operator_dn
    assert doc["RequestTransition"] == [
        {"Status": "new", "UpdateTime": doc["RequestTransition"][0]["UpdateTime"], "DN": operator_dn}
    ]
    assert doc["PriorityTransition"][0]["Priority"] == 100000
    assert doc["PriorityTransition"][0]["DN"] == operator_dn
    assert len(doc["RequestDate"]) == 6
    time_part = time.strftime("%y%m%d_%H%M%S", time.localtime(doc["RequestTransition"][0]["UpdateTime"]))
    assert f"{m.group(1)}_{m.group(2)}" == time_part  # server local time of the creation
    assert doc["DbsUrl"] == "https://cmsweb-prod.cern.ch/dbs/prod/global/DBSReader"
    assert doc["InitialPriority"] == 100000
    assert doc["CouchWorkloadDBName"] == "reqmgr_workload_cache"
    assert doc["RequestWorkflow"].endswith(f"/reqmgr_workload_cache/{name}/spec")
    assert doc["OutputDatasets"] and all(
        ds.startswith("/DYJetsToLL_Test/Integ_Test-TEST-v1/") for ds in doc["OutputDatasets"]
    )
    assert doc["Group"] == "DATAOPS" and doc["Step1"]["StepName"] == "GENSIM"
    # numbers keep their JSON type; the real server's fresh document has these exact extras
    assert (
        doc["Memory"] == 2300 and isinstance(doc["Memory"], int) and isinstance(doc["HarvestingMemory"], int)
    )
    assert doc["DQMUploadProxy"] is None and doc["RequiresGPU"] is None
    assert not any(k.startswith("Total") for k in doc)
    assert doc["ChainParentageMap"] == {
        "Step1": {"ParentDset": None, "ChildDsets": ["/DYJetsToLL_Test/Integ_Test-TEST-v1/GEN-SIM"]}
    }
    assert set(doc["Step1"]) == set(stepchain_spec()["Step1"])  # step dicts keep only what was sent


def test_full_walk_to_normal_archived(emulator: EmulatorProcess, op: RawReqMgr2) -> None:
    name = op.create(stepchain_spec(_rs("Walk")))
    assert op.result(op.put(name, {"RequestPriority": 200000})) == [{name: "OK"}]
    op.move(name, "assignment-approved")
    assert op.result(op.put(name, assignment_body())) == [{name: "OK"}]
    doc = op.doc(name)
    assert doc["Team"] == "production" and doc["SiteWhitelist"] == ["T1_US_FNAL"]
    # assignment defaults are filled and persisted; HardTimeout = SoftTimeout + GracePeriod
    assert doc["HardTimeout"] == 129900 and doc["BlockCloseMaxFiles"] == 500
    assert doc["SubscriptionPriority"] == "Low" and doc["Dashboard"] == "production"
    assert doc["Override"] == {
        "eos-lfn-prefix": "root://eoscms.cern.ch//eos/cms/store/logs/prod/recent/PRODUCTION"
    }
    assert doc["OutputModulesLFNBases"]
    emulator.control.advance_clock(6 * 600 + 60)
    doc = _wait_status(op, name, "completed")
    auto = [t for t in doc["RequestTransition"] if t["DN"] == SYSTEM_DN]
    assert [t["Status"] for t in auto] == [
        "staging",
        "staged",
        "acquired",
        "running-open",
        "running-closed",
        "completed",
    ]
    times = [t["UpdateTime"] for t in doc["RequestTransition"]]
    assert times == sorted(times)
    op.move(name, "closed-out", "announced")
    emulator.control.advance_clock(48 * 3600 + 60)
    doc = _wait_status(op, name, "normal-archived")
    assert [t["Status"] for t in doc["RequestTransition"]] == [
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
        "normal-archived",
    ]
    assert [p["Priority"] for p in doc["PriorityTransition"]] == [100000, 200000]
    # an illegal transition: 400, X-Rest-Status 1102 wrapping InvalidStateTransition
    resp = op.call("PUT", "request", body={"RequestStatus": "new", "RequestName": name})
    assert resp.status_code == 400
    assert resp.headers["X-Rest-Status"] == "1102"
    assert resp.headers["X-Error-Http"] == "400"
    detail = resp.headers["X-Error-Detail"]
    assert detail.startswith("Invalid spec parameter value: InvalidStateTransition ")
    assert len(detail) <= 200
    assert f"Invalid status transition for request: {name}, from 'normal-archived' to 'new'" in resp.text
    assert op.status(name) == "normal-archived"


def test_manual_system_transitions_are_accepted_for_admins(op: RawReqMgr2, emulator: EmulatorProcess) -> None:
    """What the real-server walk did: every step by explicit PUT (an admin may do the actors' work)."""
    name = op.create(stepchain_spec(_rs("Manual")))
    emulator.control.script_reqmgr2(name, "assigned", "stall")
    op.move(name, "assignment-approved")
    op.result(op.put(name, assignment_body()))
    op.move(name, "staging", "staged", "acquired", "running-open", "running-closed", "completed")
    assert op.status(name) == "completed"


def test_assigned_to_acquired_directly_is_rejected(op: RawReqMgr2, emulator: EmulatorProcess) -> None:
    name = op.create(stepchain_spec(_rs("Skip")))
    emulator.control.script_reqmgr2(name, "assigned", "stall")
    op.move(name, "assignment-approved")
    op.result(op.put(name, assignment_body()))
    resp = op.put(name, {"RequestStatus": "acquired"})
    assert resp.status_code == 400 and resp.headers["X-Rest-Status"] == "1102"
    assert "from 'assigned' to 'acquired'" in resp.text
    assert op.status(name) == "assigned"


def test_requestor_may_create_and_approve_but_not_assign(
    client: Callable[..., RawReqMgr2], emulator: EmulatorProcess
) -> None:
    rq = client("requestor")
    name = rq.create(stepchain_spec(_rs("Roles")))
    assert name.startswith("requestor_")
    rq.move(name, "assignment-approved")
    resp = rq.put(name, assignment_body())
    assert resp.status_code == 403
    assert "You are not allowed to access this resource." in resp.text
    assert resp.headers["Content-Type"] == "text/html;charset=utf-8"
    for h in ("X-Rest-Status", "X-Error-Http", "X-Error-Id", "X-Error-Detail", "X-Error-Info"):
        assert h not in resp.headers
    # ops-level statuses are refused too; ppd-level ones (rejected) are fine
    assert rq.put(name, {"RequestStatus": "staging"}).status_code == 403
    assert rq.result(rq.put(name, {"RequestStatus": "rejected"})) == [{name: "OK"}]


def test_outsider_may_not_create_or_clone(client: Callable[..., RawReqMgr2], op: RawReqMgr2) -> None:
    out = client("outsider")
    resp = out.call("POST", "request", body=stepchain_spec(_rs("Outsider")))
    assert resp.status_code == 403 and "X-Error-Detail" not in resp.headers
    assert "<p>You are not allowed to access this resource.</p>" in resp.text
    name = op.create(stepchain_spec(_rs("NotYours")))
    assert out.call("POST", f"request/clone/{name}", body={}).status_code == 403
    # reads are open to every authenticated user
    assert out.doc(name)["RequestName"] == name


def test_token_authentication_writes_as_the_token_owner(client: Callable[..., RawReqMgr2]) -> None:
    rm = client("operator", "token")
    name = rm.create(stepchain_spec(_rs("Token")))
    assert name.startswith("operator_")
    assert rm.doc(name)["Requestor"] == "operator"


def test_clone_rules(op: RawReqMgr2, emulator: EmulatorProcess) -> None:
    name = op.create(stepchain_spec(_rs("Orig")))
    emulator.control.script_reqmgr2(name, "assigned", "stall")
    op.move(name, "assignment-approved")
    op.result(op.put(name, assignment_body(Team="cloneteam")))
    resp = op.call(
        "POST", f"request/clone/{name}", body={"RequestPriority": 5, "Step1": {"GlobalTag": "NEW_GT::All"}}
    )
    assert resp.status_code == 200
    new = resp.json()["result"][0]["request"]
    assert new != name and new.startswith("operator_" + op.doc(name)["RequestString"] + "_")
    doc = op.doc(new)
    assert doc["RequestStatus"] == "new"
    assert [t["Status"] for t in doc["RequestTransition"]] == ["new"]
    assert doc["ProcessingVersion"] == 2  # +1
    assert doc["RequestPriority"] == 5
    assert doc["Step1"]["GlobalTag"] == "NEW_GT::All"  # recursive merge:
    assert doc["Step1"]["StepName"] == "GENSIM" and doc["Step1"]["RequestNumEvents"] == 20000
    for dropped in ("Team", "SiteWhitelist", "SoftTimeout", "OriginalRequestName"):
        assert dropped not in doc, dropped
    assert len(doc["PriorityTransition"]) == 1
    # a user ProcessingVersion wins over the +1; an empty body is fine
    again = op.result(op.call("POST", f"request/clone/{name}", body={"ProcessingVersion": 7}))[0]["request"]
    assert op.doc(again)["ProcessingVersion"] == 7
    plain = op.result(op.call("POST", f"request/clone/{name}", raw=b""))[0]["request"]
    assert op.doc(plain)["ProcessingVersion"] == 2


def test_clone_of_unknown_request_is_400_with_empty_text(op: RawReqMgr2) -> None:
    resp = op.call("POST", "request/clone/no_such_request_" + uuid.uuid4().hex, body={})
    assert resp.status_code == 400
    assert resp.headers["X-Rest-Status"] == "1102"
    assert resp.headers["X-Error-Detail"] == "Invalid spec parameter value: "
    assert "<p>Invalid spec parameter value: </p>" in resp.text


def test_priority_edits_cast_like_the_spec(op: RawReqMgr2) -> None:
    """Without RequestStatus the spec's int() cast runs first: 5.0 and "7" are stored as ints."""
    name = op.create(stepchain_spec(_rs("Prio")))
    for given, stored in ((5.0, 5), ("7", 7)):
        assert op.result(op.put(name, {"RequestPriority": given})) == [{name: "OK"}]
        doc = op.doc(name)
        assert doc["RequestPriority"] == stored and isinstance(doc["RequestPriority"], int)
        assert doc["PriorityTransition"][-1]["Priority"] == stored
    resp = op.put(name, {"RequestPriority": "high"})
    assert resp.status_code == 400 and resp.headers["X-Rest-Status"] == "1102"
    assert (
        "Invalid spec parameter value: Argument 'RequestPriority' with value 'high', has an incorrect data "
        "type: &lt;class 'str'&gt;. It must be convertible by int "
        "(Error: invalid literal for int() with base 10: "
        "'high')</p>"
    ) in resp.text
    for bad in (1000000, -1):
        resp = op.put(name, {"RequestPriority": bad})
        assert resp.status_code == 400 and resp.headers["X-Rest-Status"] == "1102"
        text = (
            f"Argument 'RequestPriority' with value {bad}, doesn't pass the validate function.\n"
            "It's definition is:\n" + " " * 41 + '"validate": lambda x: (x >= 0 and x < 1e6)},\n'
        )
        flat = "Invalid spec parameter value: " + text.replace("\n", "; ")
        assert resp.headers["X-Error-Detail"] == (flat if len(flat) <= 200 else flat[:197] + "...")
        assert html.escape(text, quote=False) in resp.text
    assert op.result(op.put(name, {"RequestPriority": 999999})) == [{name: "OK"}]
    doc = op.doc(name)
    assert doc["RequestPriority"] == 999999
    # same value again: nothing to change, still OK, no new PriorityTransition entry
    assert op.result(op.put(name, {"RequestPriority": 999999})) == [{name: "OK"}]
    assert [p["Priority"] for p in op.doc(name)["PriorityTransition"]] == [100000, 5, 7, 999999]


def test_non_editable_keys_are_dropped_silently(op: RawReqMgr2, emulator: EmulatorProcess) -> None:
    name = op.create(stepchain_spec(_rs("Drop")))
    # in "new" only RequestPriority is editable: SiteWhitelist is validated, then dropped
    assert op.result(op.put(name, {"SiteWhitelist": ["T2_CH_CERN"], "RequestPriority": 4242})) == [
        {name: "OK"}
    ]
    doc = op.doc(name)
    assert "SiteWhitelist" not in doc and doc["RequestPriority"] == 4242
    # still validated: unknown keys and bad sites are 400 even where they would be dropped
    resp = op.put(name, {"Bogus": 1})
    assert resp.status_code == 400
    assert "There are unknown/unsupported arguments in your request spec: ['Bogus']" in resp.text
    resp = op.put(name, {"SiteWhitelist": ["T1_US_FNAL"], "SiteBlacklist": ["T1_US_FNAL"]})
    assert resp.status_code == 400 and "white and blacklisted" in resp.text
    # assignment-approved: the assignment parameters become editable
    op.move(name, "assignment-approved")
    assert op.result(op.put(name, {"Team": "t-edit", "SiteWhitelist": ["T2_CH_CERN"]})) == [{name: "OK"}]
    doc = op.doc(name)
    assert doc["Team"] == "t-edit" and doc["SiteWhitelist"] == ["T2_CH_CERN"]
    assert doc["RequestStatus"] == "assignment-approved"


def test_site_lists_editable_while_staging(op: RawReqMgr2, emulator: EmulatorProcess) -> None:
    name = op.create(stepchain_spec(_rs("Sites")))
    emulator.control.script_reqmgr2(name, "staging", "stall")
    op.move(name, "assignment-approved")
    op.result(op.put(name, assignment_body()))
    emulator.control.advance_clock(700)
    _wait_status(op, name, "staging")
    body = {"SiteWhitelist": ["T1_US_FNAL", "T2_CH_CERN"], "SiteBlacklist": ["T2_DE_DESY"], "Team": "ignored"}
    assert op.result(op.put(name, body)) == [{name: "OK"}]
    doc = op.doc(name)
    assert doc["SiteWhitelist"] == ["T1_US_FNAL", "T2_CH_CERN"] and doc["SiteBlacklist"] == ["T2_DE_DESY"]
    assert doc["Team"] == "production"  # Team is not editable in staging: dropped


def test_workqueue_stats_answer_error_but_apply(op: RawReqMgr2) -> None:
    name = op.create(stepchain_spec(_rs("Stats")))
    resp = op.put(name, {"total_jobs": 10, "input_events": 2000})
    assert op.result(resp) == [{name: "ERROR"}]
    op.put(name, {"total_jobs": 5})
    doc = op.doc(name)
    assert doc["TotalEstimatedJobs"] == 15 and doc["TotalInputEvents"] == 2000
