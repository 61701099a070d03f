"""Request bodies shared by every conformance test (the ones the real server is known to accept).

Only DbsUrl and ConfigCacheUrl depend on the target: on the real server they point at the local
stub and store; the emulator accepts any well-formed URL.
"""

from __future__ import annotations

import uuid
from typing import Any

from .targets import Target

ASSIGNMENT: dict[str, Any] = {
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

# Statuses a request passes through after assignment, in order, up to announced.
AGENT_PATH = ["staging", "staged", "acquired", "running-open", "running-closed", "completed"]
CLOSE_PATH = ["closed-out", "announced"]


def unique_tag(prefix: str = "C") -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def stepchain(target: Target, request_string: str, **overrides: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "RequestType": "StepChain",
        "RequestString": request_string,
        "Campaign": "Camp1",
        "Requestor": "tester",
        "Group": "DATAOPS",
        "CMSSWVersion": "CMSSW_8_0_21",
        "ScramArch": ["slc6_amd64_gcc530"],
        "GlobalTag": "80X_mcRun2_asymptotic_2016_TrancheIV_v6",
        "ConfigCacheUrl": target.config_cache_url,
        "CouchDBName": "reqmgr_config_cache",
        "DbsUrl": target.dbs_url,
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
    spec.update(overrides)
    return spec
