"""The create and PUT decision tables (reference sections 11, 13, 18-20) over real HTTPS."""

from __future__ import annotations

import html
import re
import uuid

import pytest

from airflow_provider_poms.emulator.reqmgr2.rawclient import RawReqMgr2
from airflow_provider_poms.emulator.reqmgr2.samples import (
    assignment_body,
    rereco_spec,
    stepchain_spec,
    taskchain_spec,
)
from airflow_provider_poms.emulator.testing import EmulatorProcess

PREFIX = "Invalid spec parameter value: "
BANNER = "<@========== WMException Start ==========@>\nException Class: WMSpecFactoryException\nMessage: "


def _banner_error(resp: object, message: str) -> None:
    """Spec-factory errors of create/clone come wrapped in WMCore's WMException banner."""
    from requests import Response

    assert isinstance(resp, Response)
    assert resp.status_code == 400 and resp.headers["X-Rest-Status"] == "1102"
    text = PREFIX + BANNER + message + "\n"
    header = resp.headers["X-Error-Detail"]
    assert header.endswith("...")  # the banner is always longer than 200
    # cut at 197 + "...", then CherryPy drops control characters (the banner's tabs) from the value
    flat = text.replace("\n", "; ")[:197].replace("\t", "")
    assert header[: len(flat)] == flat and len(header) <= 200 and "\t" not in header
    assert html.escape(text, quote=False) in resp.text  # the <p> keeps the whole text
    assert "\tModuleName : WMCore.WMSpec.WMWorkloadTools\n" in resp.text
    assert "Traceback: \n\n&lt;@---------- WMException End ----------@&gt;</p>" in resp.text


@pytest.fixture(scope="module")
def op(emulator: EmulatorProcess) -> RawReqMgr2:
    return RawReqMgr2(emulator.session("operator"), emulator.conn["reqmgr2_url"])


def _rs(tag: str) -> str:
    return f"{tag}_{uuid.uuid4().hex[:10]}"


def _spec_error(resp: object, text: str, *, exact: bool = False) -> None:
    from requests import Response

    assert isinstance(resp, Response)
    assert resp.status_code == 400, resp.text[:300]
    assert resp.headers["X-Rest-Status"] == "1102"
    detail = resp.headers["X-Error-Detail"]
    if exact:
        assert detail == PREFIX + text
    else:
        assert detail.startswith(PREFIX) and text in resp.text, (detail, text)


# ------------------------------------------------------------------ create
def test_create_requires_request_type_and_priority(op: RawReqMgr2) -> None:
    spec = stepchain_spec(_rs("NoType"))
    del spec["RequestType"]
    _spec_error(op.call("POST", "request", body=spec), "'RequestType'", exact=True)
    spec = stepchain_spec(_rs("NoPrio"))
    del spec["RequestPriority"]
    _spec_error(op.call("POST", "request", body=spec), "'RequestPriority'", exact=True)


def test_create_unknown_type_and_removed_types(op: RawReqMgr2) -> None:
    for rtype in ("MonteCarlo", "Bogus"):
        resp = op.call("POST", "request", body=stepchain_spec(_rs("Type"), RequestType=rtype))
        _spec_error(resp, f"No module named 'WMCore.WMSpec.StdSpecs.{rtype}'", exact=True)


def test_create_body_must_be_an_object(op: RawReqMgr2) -> None:
    resp = op.call("POST", "request", body=[stepchain_spec(_rs("List"))])
    assert resp.status_code == 400 and resp.headers["X-Rest-Status"] == "1102"


def test_create_unknown_and_mandatory_arguments(op: RawReqMgr2) -> None:
    resp = op.call("POST", "request", body=stepchain_spec(_rs("Unknown"), Bogus=1))
    _banner_error(resp, "There are unknown/unsupported arguments in your request spec: ['Bogus']")
    assert "\tMethodName : validateUnknownArgs\n" in resp.text and "\tLineNumber : 335\n" in resp.text
    spec = stepchain_spec(_rs("NoRel"))
    del spec["CMSSWVersion"]
    _banner_error(op.call("POST", "request", body=spec), "Argument 'CMSSWVersion' cannot be None")
    spec = rereco_spec(_rs("NoInput"))
    del spec["InputDataset"]
    _banner_error(op.call("POST", "request", body=spec), "Argument 'InputDataset' cannot be None")


def test_clone_bad_override_is_wrapped_too(op: RawReqMgr2) -> None:
    name = op.create(stepchain_spec(_rs("CloneBad")))
    resp = op.call("POST", f"request/clone/{name}", body={"RequestPriority": -1})
    _banner_error(
        resp,
        "Argument 'RequestPriority' with value -1, doesn't pass the validate function.\n"
        "It's definition is:\n" + " " * 41 + '"validate": lambda x: (x >= 0 and x < 1e6)},\n',
    )
    assert "\tMethodName : _validateArgFunction\n\tClassInstance : None\n" in resp.text


@pytest.mark.parametrize(
    ("field", "value", "text"),
    [
        # Lexicon validators raise their own text, which WMCore passes through unchanged
        ("AcquisitionEra", "1BadEra", "'1BadEra' does not match regular expression [a-zA-Z][a-zA-Z0-9_]*$"),
        (
            "ProcessingString",
            "bad-string!",
            "'bad-string!' does not match regular expression [a-zA-Z0-9_]{1,100}$",
        ),
        (
            "Campaign",
            "bad campaign",
            "'bad campaign' does not match regular expression ^[a-zA-Z0-9-_]{1,80}$",
        ),
        ("InputDataset", "/bad/dataset", "'/bad/dataset' does not match regular expression ^/"),
        (
            "ProcessingVersion",
            "v1",
            "Argument 'ProcessingVersion' with value 'v1', has an incorrect data type",
        ),
        # plain validators answer False: the definition is quoted
        (
            "CMSSWVersion",
            "CMSSW_0_0_0",
            "Argument 'CMSSWVersion' with value 'CMSSW_0_0_0', doesn't pass the "
            "validate function.\nIt's definition is:\n",
        ),
        ("ScramArch", ["not_an_arch"], "Argument 'ScramArch' with value ['not_an_arch'], doesn't pass"),
        (
            "RequestPriority",
            2000000,
            "Argument 'RequestPriority' with value 2000000, doesn't pass the validate",
        ),
    ],
)
def test_create_validators(op: RawReqMgr2, field: str, value: object, text: str) -> None:
    resp = op.call("POST", "request", body=rereco_spec(_rs("Val"), **{field: value}))
    assert resp.status_code == 400 and resp.headers["X-Rest-Status"] == "1102"
    assert "Message: " + html.escape(text, quote=False) in resp.text


def test_create_name_over_100_chars_is_rejected(op: RawReqMgr2) -> None:
    resp = op.call("POST", "request", body=stepchain_spec("L" * 80))
    _spec_error(resp, "does not match regular expression [a-zA-Z0-9\\s\\.\\-_]{1,100}$")
    assert "\tMethodName : _validateArgFunction\n" in resp.text


def _frames(resp: object) -> list[str]:
    """The ``File ..., in <func>`` lines of the banner's Traceback section."""
    from requests import Response

    assert isinstance(resp, Response)
    section = html.unescape(resp.text).split("Traceback: \n", 1)[1].split("<@----------", 1)[0]
    return re.findall(r'^  File "[^"]+/site-packages/(\S+)", line \d+, in (\S+)$', section, re.M)


def test_banner_lists_frames_of_the_exception_it_wraps(op: RawReqMgr2) -> None:
    """WMException records the traceback being handled when it is built: Lexicon and cast failures
    list their frames, a validator that answers False lists none (checked on the real server, F27)."""
    resp = op.call("POST", "request", body=stepchain_spec("bad string with spaces!"))
    assert _frames(resp) == [
        ("WMCore/WMSpec/WMWorkloadTools.py", "_validateArgFunction"),
        ("WMCore/Lexicon.py", "identifier"),
        ("WMCore/Lexicon.py", "check"),
    ]
    resp = op.call("POST", "request", body=stepchain_spec(_rs("Mem"), Memory="lots"))
    text = (
        "Argument 'Memory' with value 'lots', has an incorrect data type: <class 'str'>. "
        "It must be convertible by float (Error: could not convert string to float: 'lots')"
    )
    assert "Message: " + html.escape(text, quote=False) + "\n" in resp.text
    assert _frames(resp) == [("WMCore/WMSpec/WMWorkloadTools.py", "_validateArgument")]
    assert "\tMethodName : _validateArgument\n" in resp.text and "\tLineNumber : 107\n" in resp.text
    resp = op.call("POST", "request", body=stepchain_spec(_rs("Arch"), ScramArch=5))
    assert _frames(resp) == [
        ("WMCore/WMSpec/WMWorkloadTools.py", "_validateArgument"),
        ("Utils/Utilities.py", "makeNonEmptyList"),
        ("Utils/Utilities.py", "makeList"),
    ]
    resp = op.call("POST", "request", body=stepchain_spec(_rs("Prio"), RequestPriority=2_000_000))
    assert resp.status_code == 400 and _frames(resp) == []
    spec = stepchain_spec(_rs("NoRel"))
    del spec["CMSSWVersion"]
    resp = op.call("POST", "request", body=spec)
    assert _frames(resp) == [] and "\tMethodName : _validateArgument\n\tClassInstance" in resp.text
    assert "\tLineNumber : 90\n" in resp.text


def test_string_arguments_refuse_other_types(op: RawReqMgr2) -> None:
    """Plain ``str`` arguments are not converted: a number is a data-type error naming ``str``."""
    resp = op.call("POST", "request", body=stepchain_spec(_rs("GT"), GlobalTag=5))
    text = (
        "Argument 'GlobalTag' with value 5, has an incorrect data type: <class 'int'>. "
        "It must be convertible by str (Error: Argument 'GlobalTag' with value 5 is not a string)"
    )
    assert "Message: " + html.escape(text, quote=False) + "\n" in resp.text


def test_create_each_request_type(op: RawReqMgr2) -> None:
    rereco = op.create(rereco_spec(_rs("ReReco")))
    doc = op.doc(rereco)
    assert doc["RequestType"] == "ReReco" and doc["SplittingAlgo"] == "EventAwareLumiBased"
    assert doc["OutputDatasets"] == ["/JetHT/Run2018A-UL2018_v1-v1/AOD"]
    tc = op.create(taskchain_spec(_rs("TC")))
    assert op.doc(tc)["Task2"]["InputTask"] == "GenSim"
    dqm = op.create(
        rereco_spec(
            _rs("DQM"),
            RequestType="DQMHarvest",
            DQMConfigCacheID="dqmcfg1",
            DQMUploadUrl="https://cmsweb.cern.ch/dqm/offline",
        )
    )
    assert op.doc(dqm)["RequestType"] == "DQMHarvest"
    sr = op.create(
        rereco_spec(
            _rs("SR"),
            RequestType="StoreResults",
            PhysicsGroup="Tracker",
            InputDataset="/Prim/User-proc-v1/USER",
        )
    )
    assert op.doc(sr)["MergedLFNBase"] == "/store/results"
    acdc = op.create(
        {
            "RequestType": "Resubmission",
            "OriginalRequestName": rereco,
            "InitialTaskPath": f"/{rereco}/DataProcessing",
            "RequestPriority": 1,
        }
    )
    adoc = op.doc(acdc)
    assert adoc["RequestString"] == doc["RequestString"] and adoc["InputDataset"] == doc["InputDataset"]
    assert adoc["OriginalRequestName"] == rereco


def test_taskchain_validation(op: RawReqMgr2) -> None:
    spec = taskchain_spec(_rs("TCBad"))
    del spec["Task2"]["InputTask"]
    _spec_error(op.call("POST", "request", body=spec), "InputTask")
    spec = taskchain_spec(_rs("TCBad"), TaskChain=3)
    _spec_error(op.call("POST", "request", body=spec), "Task3")


def test_taskchain_top_level_args_differ_from_stepchain(op: RawReqMgr2) -> None:
    """TaskChain's create arguments have no top-level PrimaryDataset or DeterministicPileup (its tasks
    carry them); StepChain has both. Checked against the real server (conformance F24, F25)."""
    resp = op.call("POST", "request", body=taskchain_spec(_rs("TCPrim"), PrimaryDataset="TTbar_13p6TeV"))
    _banner_error(resp, "There are unknown/unsupported arguments in your request spec: ['PrimaryDataset']")
    assert "\tMethodName : validateUnknownArgs\n" in resp.text
    tc = op.doc(op.create(taskchain_spec(_rs("TCDoc"))))
    assert "DeterministicPileup" not in tc and "PrimaryDataset" not in tc
    assert tc["Task1"]["PrimaryDataset"] == "TTbar_13p6TeV"
    sc = op.doc(op.create(stepchain_spec(_rs("SCDoc"))))
    assert sc["DeterministicPileup"] is False and sc["PrimaryDataset"] == "DYJetsToLL_Test"


# ------------------------------------------------------------------ PUT
def test_put_unknown_request_is_400_1102(op: RawReqMgr2) -> None:
    name = "no_such_request_" + uuid.uuid4().hex
    resp = op.put(name, {"RequestStatus": "assignment-approved"})
    assert resp.status_code == 400 and resp.headers["X-Rest-Status"] == "1102"
    assert resp.headers["X-Error-Detail"].startswith(PREFIX + "url=")
    assert f"/reqmgr_workload_cache/{name}/spec, code=404, reason=Object Not Found" in resp.text


def test_put_name_in_path_wins_over_body(op: RawReqMgr2) -> None:
    a, b = op.create(stepchain_spec(_rs("PathA"))), op.create(stepchain_spec(_rs("PathB")))
    assert op.result(
        op.call("PUT", f"request/{a}", body={"RequestStatus": "assignment-approved", "RequestName": b})
    ) == [{a: "OK"}]
    assert op.status(a) == "assignment-approved" and op.status(b) == "new"
    assert op.result(op.call("PUT", "request", body={"RequestStatus": "rejected", "RequestName": b})) == [
        {b: "OK"}
    ]
    assert op.status(b) == "rejected"


def test_unknown_status_is_400(op: RawReqMgr2) -> None:
    name = op.create(stepchain_spec(_rs("Unk")))
    _spec_error(op.put(name, {"RequestStatus": "bogus"}), "'bogus'", exact=True)


def test_assigned_requires_team_and_sitewhitelist(op: RawReqMgr2) -> None:
    name = op.create(stepchain_spec(_rs("Asg")))
    op.move(name, "assignment-approved")
    body = assignment_body()
    del body["Team"]
    resp = op.put(name, body)
    _spec_error(
        resp,
        "Argument 'Team' is mandatory and must be provided by the user. Its definition is: {'default': ''",
    )
    assert "'assign_optional': False" in resp.text and "'attr': 'team'}" in resp.text
    assert "WMException" not in resp.text  # PUT errors are not wrapped
    # SiteWhitelist's type is makeNonEmptyList: an empty list is a data-type error
    resp = op.put(name, assignment_body(SiteWhitelist=[]))
    text = (
        "Argument 'SiteWhitelist' with value [], has an incorrect data type: <class 'list'>. "
        "It must be convertible by makeNonEmptyList (Error: Input data cannot be an empty list [])"
    )
    _spec_error(resp, "SiteWhitelist")
    assert f"<p>{html.escape(PREFIX + text, quote=False)}</p>" in resp.text  # the header is cut at 200
    # site names go through Lexicon's cmsname, whose own text passes through (trailing _ stripped)
    for bad in (["NotASite"], ["T1_US_FNAL", "NotASite_"]):
        _spec_error(
            op.put(name, assignment_body(SiteWhitelist=bad)),
            "'NotASite' does not match regular expression ^T[0-3]_[A-Z]{2}((_[A-Za-z0-9]+)+)$",
            exact=True,
        )
    _spec_error(
        op.put(name, assignment_body(SiteBlacklist=["T2"])),
        "'T2' does not match regular expression ^T[0-3]_[A-Z]{2}((_[A-Za-z0-9]+)+)$",
        exact=True,
    )
    _spec_error(
        op.put(name, assignment_body(cascade=True)),
        "There are unknown/unsupported arguments in your request spec: ['cascade']",
        exact=True,
    )
    _spec_error(op.put(name, assignment_body(Dashboard="nope")), "Dashboard")
    assert op.status(name) == "assignment-approved"
    resp = op.put(name, assignment_body(SiteWhitelist=["T1_US_FNAL_"]))  # cmsname strips the trailing _
    assert op.result(resp) == [{name: "OK"}]


def test_assignment_approved_accepts_only_priority(op: RawReqMgr2) -> None:
    name = op.create(stepchain_spec(_rs("AA")))
    _spec_error(
        op.put(name, {"RequestStatus": "assignment-approved", "Team": "x"}),
        "There are invalid arguments for assignment-approved transition: "
        "{'RequestStatus': 'assignment-approved', 'Team': 'x'}",
        exact=True,
    )
    _spec_error(
        op.put(name, {"RequestStatus": "assignment-approved", "RequestPriority": 5.0}),
        "RequestPriority must be of integer type, not: <class 'float'>",
        exact=True,
    )
    assert op.result(op.put(name, {"RequestStatus": "assignment-approved", "RequestPriority": 777})) == [
        {name: "OK"}
    ]
    doc = op.doc(name)
    assert doc["RequestStatus"] == "assignment-approved" and doc["RequestPriority"] == 777
    assert doc["PriorityTransition"][-1]["Priority"] == 777


def test_other_transitions_reject_extra_keys(op: RawReqMgr2) -> None:
    name = op.create(stepchain_spec(_rs("Extra")))
    _spec_error(
        op.put(name, {"RequestStatus": "new", "RequestPriority": 5}),
        "There are invalid arguments with this status transition: {'RequestStatus': 'new', "
        "'RequestPriority': 5}",
        exact=True,
    )
    assert op.result(op.put(name, {"RequestStatus": "new"})) == [{name: "OK"}]  # new -> new appends
    assert [t["Status"] for t in op.doc(name)["RequestTransition"]] == ["new", "new"]


def test_pure_transitions_drop_other_keys(op: RawReqMgr2) -> None:
    name = op.create(stepchain_spec(_rs("Pure")))
    resp = op.put(name, {"RequestStatus": "rejected", "RequestPriority": 5, "Team": "dropped"})
    assert op.result(resp) == [{name: "OK"}]
    doc = op.doc(name)
    assert doc["RequestStatus"] == "rejected" and doc["RequestPriority"] == 100000 and "Team" not in doc


def test_cascade_reaches_resubmission_children(op: RawReqMgr2) -> None:
    parent = op.create(rereco_spec(_rs("Parent")))
    child = op.create(
        {
            "RequestType": "Resubmission",
            "OriginalRequestName": parent,
            "InitialTaskPath": f"/{parent}/DataProcessing",
            "RequestPriority": 1,
        }
    )
    grandchild = op.create(
        {
            "RequestType": "Resubmission",
            "OriginalRequestName": child,
            "InitialTaskPath": f"/{child}/DataProcessing",
            "RequestPriority": 1,
        }
    )
    other = op.create(
        {
            "RequestType": "Resubmission",
            "OriginalRequestName": parent,
            "InitialTaskPath": f"/{parent}/DataProcessing",
            "RequestPriority": 1,
        }
    )
    op.move(other, "rejected")
    assert op.result(op.put(parent, {"RequestStatus": "rejected", "cascade": True})) == [{parent: "OK"}]
    assert op.status(child) == "rejected" and op.status(grandchild) == "rejected"
    assert [t["Status"] for t in op.doc(other)["RequestTransition"]] == ["new", "rejected"]  # not twice
    # without cascade the children are left alone
    p2 = op.create(rereco_spec(_rs("Parent2")))
    c2 = op.create(
        {
            "RequestType": "Resubmission",
            "OriginalRequestName": p2,
            "InitialTaskPath": f"/{p2}/DataProcessing",
            "RequestPriority": 1,
        }
    )
    op.move(p2, "rejected")
    assert op.status(c2) == "new"


def test_failed_can_be_reassigned(op: RawReqMgr2, emulator: EmulatorProcess) -> None:
    name = op.create(stepchain_spec(_rs("Reassign")))
    emulator.control.script_reqmgr2(name, "assigned", "stall")
    op.move(name, "assignment-approved")
    op.result(op.put(name, assignment_body()))
    op.move(name, "staging", "staged", "failed")
    assert op.result(op.put(name, assignment_body(Team="second"))) == [{name: "OK"}]
    doc = op.doc(name)
    assert doc["RequestStatus"] == "assigned" and doc["Team"] == "second"


def test_put_dispatch_by_key_count(op: RawReqMgr2) -> None:
    """``_updateRequest`` picks the branch by how many keys the body has."""
    name = op.create(stepchain_spec(_rs("Count")))
    body = {"RequestStatus": "assignment-approved", "RequestPriority": 5, "Team": "x"}
    _spec_error(
        op.put(name, body), f"There are invalid arguments with this status transition: {body!r}", exact=True
    )
    # the strict priority check runs before the key-count dispatch
    _spec_error(
        op.put(name, {"RequestStatus": "new", "RequestPriority": 5.0}),
        "RequestPriority must be of integer type, not: <class 'float'>",
        exact=True,
    )
    # a pure transition keeps only RequestStatus (and cascade): everything else is ignored
    assert op.result(op.put(name, {"RequestStatus": "rejected", "Bogus": 1, "RequestPriority": "x"})) == [
        {name: "OK"}
    ]


def test_put_form_body_becomes_arguments(op: RawReqMgr2) -> None:
    """A form-encoded body is parsed by CherryPy into keyword arguments, which the PUT merges."""
    name = op.create(stepchain_spec(_rs("Form")))
    resp = op.call(
        "PUT",
        f"request/{name}",
        raw=b"RequestPriority=5",
        headers={"Accept": "application/json", "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert op.result(resp) == [{name: "OK"}]
    assert op.doc(name)["RequestPriority"] == 5


def test_approved_edits_of_assignment_args_recompute_outputs(op: RawReqMgr2) -> None:
    name = op.create(stepchain_spec(_rs("AAEdit")))
    op.move(name, "assignment-approved")
    assert op.result(op.put(name, {"ProcessingString": "NEWPS", "AcquisitionEra": "NewEra"})) == [
        {name: "OK"}
    ]
    doc = op.doc(name)
    assert doc["RequestStatus"] == "assignment-approved"
    assert doc["OutputDatasets"] == ["/DYJetsToLL_Test/NewEra-NEWPS-v1/GEN-SIM"]


def test_short_banner_header_loses_its_tabs(op: RawReqMgr2) -> None:
    """A banner short enough to show its data lines in X-Error-Detail shows them without the tabs
    (CherryPy deletes control characters from header values); the HTML keeps them."""
    spec = stepchain_spec(_rs("NoRel"))
    del spec["CMSSWVersion"]
    resp = op.call("POST", "request", body=spec)
    header = resp.headers["X-Error-Detail"]
    assert header.endswith("cannot be None; ClassName : None; ModuleName :...")
    assert "\tClassName : None\n" in html.unescape(resp.text)
