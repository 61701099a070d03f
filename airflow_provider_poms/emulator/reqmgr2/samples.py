"""Request bodies the real server accepted (reference ``real-reqmgr2-server.md`` section 14),
plus a bulk loader for benchmarks. Tests, the demo and users start from these.
"""

from __future__ import annotations

import copy
import time
from typing import Any

import msgspec

from airflow_provider_poms.emulator.reqmgr2.service import get_service
from airflow_provider_poms.emulator.reqmgr2.validation import output_datasets, validate_create

_STEPCHAIN: dict[str, Any] = {
    "RequestType": "StepChain",
    "RequestString": "AirflowTest",
    "Campaign": "Camp1",
    "Requestor": "tester",
    "Group": "DATAOPS",
    "CMSSWVersion": "CMSSW_8_0_21",
    "ScramArch": ["slc6_amd64_gcc530"],
    "GlobalTag": "80X_mcRun2_asymptotic_2016_TrancheIV_v6",
    "ConfigCacheUrl": "http://127.0.0.1:15984",
    "CouchDBName": "reqmgr_config_cache",
    "DbsUrl": "https://cmsweb.cern.ch/dbs/prod/global/DBSReader/",
    "PrimaryDataset": "DYJetsToLL_Test",
    "ProcessingString": "TEST",
    "ProcessingVersion": 1,
    "RequestPriority": 100000,
    "AcquisitionEra": "Integ_Test",
    "Memory": 2300,
    "Multicore": 1,
    "SizePerEvent": 250,
    "TimePerEvent": 144,
    "PrepID": "TEST-0001",
    "StepChain": 1,
    "Step1": {
        "StepName": "GENSIM",
        "ConfigCacheID": "cfg0001",
        "GlobalTag": "MCRUN2_71_V1::All",
        "RequestNumEvents": 20000,
        "EventsPerLumi": 100,
        "EventsPerJob": 160,
        "Seeding": "AutomaticSeeding",
        "SplittingAlgo": "EventBased",
        "PrepID": "TEST-Step1",
    },
}
_ASSIGNMENT: dict[str, Any] = {
    "RequestStatus": "assigned",
    "Team": "production",
    "SiteWhitelist": ["T1_US_FNAL"],
    "SiteBlacklist": [],
    "AcquisitionEra": "Integ_Test",
    "ProcessingString": "TEST",
    "ProcessingVersion": 1,
    "MergedLFNBase": "/store/backfill/1",
    "UnmergedLFNBase": "/store/unmerged",
    "Dashboard": "production",
    "SoftTimeout": 129600,
    "GracePeriod": 300,
}


def stepchain_spec(request_string: str = "AirflowTest", **overrides: Any) -> dict[str, Any]:
    """The minimal one-step generator StepChain the real server accepted."""
    spec = copy.deepcopy(_STEPCHAIN)
    spec["RequestString"] = request_string
    spec.update(overrides)
    return spec


def rereco_spec(request_string: str = "AirflowReReco", **overrides: Any) -> dict[str, Any]:
    spec = {
        "RequestType": "ReReco",
        "RequestString": request_string,
        "RequestPriority": 90000,
        "CMSSWVersion": "CMSSW_10_6_29",
        "ScramArch": ["slc7_amd64_gcc700"],
        "GlobalTag": "106X_dataRun2_v35",
        "ConfigCacheID": "f3c2b4a1d5e6",
        "AcquisitionEra": "Run2018A",
        "ProcessingString": "UL2018_v1",
        "InputDataset": "/JetHT/Run2018A-v1/RAW",
        "Campaign": "UltraLegacy2018",
        "PrepID": "ReReco-UL18-0001",
        "RunWhitelist": [315257, 315259],
        "Memory": 3000,
    }
    spec.update(overrides)
    return spec


def taskchain_spec(request_string: str = "AirflowTaskChain", **overrides: Any) -> dict[str, Any]:
    """A two-task TaskChain; the primary dataset is named per task (a top-level one is refused)."""
    spec = {
        "RequestType": "TaskChain",
        "RequestString": request_string,
        "RequestPriority": 110000,
        "CMSSWVersion": "CMSSW_12_4_11",
        "ScramArch": ["el8_amd64_gcc10"],
        "GlobalTag": "124X_mcRun3_2022_v12",
        "AcquisitionEra": "Run3Summer22",
        "ProcessingString": "MC_v1",
        "Campaign": "Run3Summer22",
        "TaskChain": 2,
        "Task1": {
            "TaskName": "GenSim",
            "ConfigCacheID": "cfgGEN",
            "RequestNumEvents": 10000,
            "PrimaryDataset": "TTbar_13p6TeV",
            "PrepID": "TC-Task1",
            "SplittingAlgo": "EventBased",
        },
        "Task2": {
            "TaskName": "DigiReco",
            "ConfigCacheID": "cfgRECO",
            "InputTask": "GenSim",
            "InputFromOutputModule": "RAWSIMoutput",
            "PrepID": "TC-Task2",
            "GlobalTag": "124X_v2",
        },
    }
    spec.update(overrides)
    return spec


def assignment_body(**overrides: Any) -> dict[str, Any]:
    """The assignment body the real server accepted (``RequestStatus: assigned``)."""
    body = copy.deepcopy(_ASSIGNMENT)
    body.update(overrides)
    return body


def bulk_load(
    ctx: Any,
    count: int,
    *,
    statuses: tuple[str, ...] = ("new",),
    prefix: str = "bench",
    request_type: str = "StepChain",
) -> list[str]:
    """Insert ``count`` realistic documents directly (no HTTP), spread round-robin over ``statuses``.

    Each document is a fully defaulted StepChain as a create would store it. For benchmarks and
    large-state tests: 100,000 documents in well under a minute, in one store transaction.
    """
    svc = get_service(ctx)
    now = ctx.clock.now()
    base = validate_create(stepchain_spec(request_type))
    base.update(
        {
            "Requestor": prefix,
            "RequestorDN": None,
            "RequestDate": list(time.gmtime(now)[:6]),
            "CouchURL": svc.settings.couch_url,
            "InitialPriority": base["RequestPriority"],
            "PriorityTransition": [{"Priority": base["RequestPriority"], "UpdateTime": int(now), "DN": None}],
            "TotalEstimatedJobs": 0,
            "TotalInputEvents": 0,
            "TotalInputLumis": 0,
            "TotalInputFiles": 0,
        }
    )
    encoded = msgspec.json.encode(base)
    outputs = output_datasets(base)  # the same for every copy
    names: list[str] = []
    stamp = time.strftime("%y%m%d_%H%M%S", time.localtime(now))
    with ctx.store.transaction(), svc.repo.lock:
        for i in range(count):
            status = statuses[i % len(statuses)]
            name = f"{prefix}_{request_type}_{stamp}_{i}"
            doc = msgspec.json.decode(encoded)
            trans = [{"Status": "new", "UpdateTime": int(now), "DN": None}]
            if status != "new":
                trans.append({"Status": status, "UpdateTime": int(now), "DN": None})
            doc.update(
                {
                    "RequestName": name,
                    "_id": name,
                    "RequestStatus": status,
                    "RequestTransition": trans,
                    "Campaign": f"Camp{i % 50}",
                    "PrepID": f"{prefix}-{i:06d}",
                    "RequestWorkflow": f"{svc.settings.couch_url}/reqmgr_workload_cache/{name}/spec",
                }
            )
            doc["OutputDatasets"] = list(outputs)
            svc.save(doc)
            names.append(name)
    return names
