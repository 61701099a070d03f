"""Create/assign argument definitions and validation, per request type.

A compact re-statement of ``WMSpec/StdSpecs/*`` ``getWorkloadCreateArgs``/``getWorkloadAssignArgs``
and ``WMWorkloadTools`` (mandatory args, unknown-arg check, casts, the Lexicon regexes), with the
external look-ups (TagCollector releases/architectures, DBS datasets and tiers, ConfigCache ids)
replaced by stubs that accept realistic values. Every failure raises ``SpecError`` whose text the
caller wraps into ``InvalidSpecParameterValue`` (400/1102), exactly where the real server does.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from airflow_provider_poms.emulator.reqmgr2.lexicon import (
    ACQNAME,
    CAMPAIGN,
    DATASET,
    DATASET_RE,
    IDENTIFIER,
    IDENTIFIER_PATTERN,
    PROCSTRING,
    PROCVERSION,
    SITE_RE,
    LexiconCheck,
    cmsnames,
    lexicon,
)
from airflow_provider_poms.emulator.reqmgr2.wmexception import (
    CAST_AT,
    CAST_FRAME,
    CAST_FRAMES,
    NONE_AT,
    STR_FRAME,
    VALIDATE_FRAME,
    Frame,
    SpecError,
    nonempty_list_frames,
    wmexception_text,
)

#: re-exported: the request handlers and tests import them from here
__all__ = [
    "DATASET_RE",
    "IDENTIFIER",
    "IDENTIFIER_PATTERN",
    "SITE_RE",
    "SpecError",
    "lexicon",
    "wmexception_text",
]

# --------------------------------------------------------------------------- Lexicon
STEPNAME_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9\-_]*$")
CMSSW_RE = re.compile(r"^CMSSW(_\d+){3}(_[a-zA-Z0-9_]+)?$")
SCRAM_RE = re.compile(r"^(slc|el|cc|cs|alma|rhel)[0-9]+_[a-z0-9]+_gcc[0-9]+$")
DASHBOARDS = (
    "reprocessing",
    "production",
    "relval",
    "tier0",
    "t0",
    "harvesting",
    "storeresults",
    "integration",
    "test",
    "analysis",
)
#: Data tiers the DBS stub knows (assignment checks output tiers against DBS).
DATA_TIERS = frozenset(
    {
        "RAW",
        "RECO",
        "AOD",
        "AODSIM",
        "MINIAOD",
        "MINIAODSIM",
        "NANOAOD",
        "NANOAODSIM",
        "GEN",
        "SIM",
        "GEN-SIM",
        "GEN-SIM-RAW",
        "GEN-SIM-DIGI-RAW",
        "GEN-SIM-RECO",
        "DQM",
        "DQMIO",
        "USER",
        "ALCARECO",
        "RAW-RECO",
        "FEVT",
        "PREMIX",
        "LHE",
        "GEN-SIM-DIGI",
    }
)


def _release(value: Any) -> bool:
    """TagCollector stub: any well-formed CMSSW release of a real release series (1 and up) exists."""
    return isinstance(value, str) and CMSSW_RE.match(value) is not None and not value.startswith("CMSSW_0_")


def _arches(value: Any) -> bool:
    """TagCollector stub: a non-empty list of well-formed SCRAM architectures."""
    return bool(value) and all(isinstance(a, str) and SCRAM_RE.match(a) for a in value)


def _config_id(value: Any) -> bool:
    """ConfigCache stub: any non-empty id without blanks exists."""
    return isinstance(value, str) and bool(value) and not any(c.isspace() for c in value)


#: DBS stub: a well-formed dataset name exists (Lexicon's message and frames when it is not)
_dataset = DATASET


# --------------------------------------------------------------------------- casts
def make_list(value: Any) -> list[Any]:
    """``makeList``: lists pass, comma-separated strings are split."""
    if isinstance(value, list):
        return value
    if isinstance(value, str):
        toks = value.lstrip(" [").rstrip(" ]").split(",")
        if toks == [""]:
            return []
        return [tok.strip(" '\"") for tok in toks]
    raise ValueError(f"Can't convert to list {value}")


def make_nonempty_list(value: Any) -> list[Any]:
    """``makeNonEmptyList`` (the SiteWhitelist type): ``makeList`` that refuses an empty result."""
    out = make_list(value)
    if not out:
        raise ValueError(f"Input data cannot be an empty list {value}")
    return out


def str_to_bool(value: Any) -> bool:
    """``strToBool``: booleans and True/true/TRUE, False/false/FALSE (no other spelling)."""
    if value is True or value is False:
        return bool(value)
    if value in ("True", "true", "TRUE"):
        return True
    if value in ("False", "false", "FALSE"):
        return False
    raise ValueError(f"Can't convert to bool: {value}")


def safe_str(value: Any) -> str:
    """``safeStr`` (the Team type): simple values become strings, containers are refused."""
    if isinstance(value, (tuple, list, set, dict)):
        raise ValueError(f"We're not supposed to convert {value} to string.")
    return str(value)


def _int(value: Any) -> int:
    if isinstance(value, bool):
        return int(value)
    return int(value)


CASTS: Mapping[str, Callable[[Any], Any]] = {
    "str": str,  # only reached for strings: check_arg refuses other values first, like WMCore
    "safestr": safe_str,
    "int": _int,
    "float": float,
    "bool": str_to_bool,
    "list": make_list,
    "nonempty_list": make_nonempty_list,
    "dict": lambda v: v if isinstance(v, dict) else dict(v),
}


@dataclass(frozen=True)
class Arg:
    """One argument definition (``type``, ``default``, ``optional``, ``null``, ``validate``)."""

    type: str
    default: Any = None
    optional: bool = True
    null: bool = False
    validate: Callable[[Any], bool] | None = None
    #: the validator's source lines as WMCore prints them after "It's definition is:" (inspect.getsource)
    src: str = ""


def _gt0(v: Any) -> bool:
    return v > 0


def _ge0(v: Any) -> bool:
    return v >= 0


# --------------------------------------------------------------------------- definitions
PRIORITY_SRC = " " * 41 + '"validate": lambda x: (x >= 0 and x < 1e6)},\n'
CMSSW_SRC = (
    " " * 21
    + '"CMSSWVersion": {"validate": lambda x: x in releases(),\n'
    + " " * 38
    + '"optional": False, "attr": "frameworkVersion"},\n'
)
_COMMON: dict[str, Arg] = {
    "RequestType": Arg("str", optional=False),
    "RequestString": Arg("str", optional=False, validate=IDENTIFIER),
    "RequestPriority": Arg("int", 8000, validate=lambda v: 0 <= v < 1_000_000, src=PRIORITY_SRC),
    "Requestor": Arg("str", null=True),
    "RequestorDN": Arg("str", null=True),
    "RequestName": Arg("str", null=True),
    "RequestStatus": Arg("str", "new"),
    "RequestTransition": Arg("list", null=True),
    "RequestDate": Arg("list", null=True),
    "PriorityTransition": Arg("list", null=True),
    "CouchURL": Arg("str", null=True),
    "CouchDBName": Arg("str", "reqmgr_config_cache"),
    "CouchWorkloadDBName": Arg("str", "reqmgr_workload_cache"),
    "ConfigCacheUrl": Arg("str", "https://cmsweb.cern.ch/couchdb"),
    "Campaign": Arg("str", "", validate=CAMPAIGN),
    "Group": Arg("str", "DATAOPS"),
    "PrepID": Arg("str", None, null=True),
    "Comments": Arg("str", ""),
    "CMSSWVersion": Arg("str", optional=False, validate=_release, src=CMSSW_SRC),
    "ScramArch": Arg("nonempty_list", optional=False, validate=_arches),
    "GlobalTag": Arg("str", optional=False),
    "GlobalTagConnect": Arg("str", None, null=True),
    "ConfigCacheID": Arg("str", optional=False, validate=_config_id),
    "AcquisitionEra": Arg("str", optional=False, validate=ACQNAME),
    "ProcessingString": Arg("str", optional=False, validate=PROCSTRING),
    "ProcessingVersion": Arg("int", 1, validate=PROCVERSION),
    "DbsUrl": Arg("str", "https://cmsweb-prod.cern.ch/dbs/prod/global/DBSReader"),
    "OpenRunningTimeout": Arg("int", 0, validate=_ge0),
    "LumiList": Arg("dict", {}),
    "TimePerEvent": Arg("float", 12, validate=_ge0),
    "SizePerEvent": Arg("float", 512, validate=_ge0),
    "Memory": Arg("float", 2300, validate=_gt0),
    "HarvestingMemory": Arg("float", 3000, validate=_gt0),
    "Multicore": Arg("int", 1, validate=_gt0),
    "EventStreams": Arg("int", 0, validate=_ge0),
    "MergedLFNBase": Arg("str", "/store/data"),
    "UnmergedLFNBase": Arg("str", "/store/unmerged"),
    "MinMergeSize": Arg("int", 2147483648, validate=_gt0),
    "MaxMergeSize": Arg("int", 4294967296, validate=_gt0),
    "MaxWaitTime": Arg("int", 86400, validate=_gt0),
    "MaxMergeEvents": Arg("int", 100000000, validate=_gt0),
    "ValidStatus": Arg("str", "PRODUCTION", validate=lambda v: v in ("PRODUCTION", "VALID")),
    "EnableHarvesting": Arg("bool", False),
    "DQMConfigCacheID": Arg("str", None, null=True),
    "DQMUploadUrl": Arg("str", "https://cmsweb.cern.ch/dqm/dev"),
    "DQMUploadProxy": Arg("str", None, null=True),
    "DQMSequences": Arg("list", []),
    "DQMHarvestUnit": Arg("str", "byRun", validate=lambda v: v in ("byRun", "multiRun")),
    "PeriodicHarvestInterval": Arg("int", 0, validate=_ge0),
    "IncludeParents": Arg("bool", False),
    "RobustMerge": Arg("bool", True),
    "EnableNewStageout": Arg("bool", False),
    "OverrideCatalog": Arg("str", None, null=True),
    "RunNumber": Arg("int", 0),
    "DashboardHost": Arg("str", "cms-jobmon.cern.ch"),
    "DashboardPort": Arg("int", 8884),
    "VoGroup": Arg("str", "unknown"),
    "VoRole": Arg("str", "unknown"),
    "SubRequestType": Arg(
        "str",
        "",
        validate=lambda v: v in ("", "MC", "ReDigi", "Extension", "Pilot", "RelVal", "HIRelVal", "ReReco"),
    ),
    "RequiresGPU": Arg("str", None, null=True, validate=lambda v: v in ("forbidden", "optional", "required")),
    "GPUParams": Arg("str", "null"),
    "JobExtraMatchRequirements": Arg("str", "", validate=lambda v: len(v) < 10000),
    "DeleteFromSource": Arg("bool", False),
}
_DATA_PROCESSING: dict[str, Arg] = {
    "InputDataset": Arg("str", optional=False, validate=_dataset),
    "RunWhitelist": Arg("list", [], validate=lambda v: all(int(r) > 0 for r in v)),
    "RunBlacklist": Arg("list", [], validate=lambda v: all(int(r) > 0 for r in v)),
    "BlockWhitelist": Arg("list", []),
    "BlockBlacklist": Arg("list", []),
    "SplittingAlgo": Arg(
        "str",
        "EventAwareLumiBased",
        validate=lambda v: v in ("EventAwareLumiBased", "EventBased", "LumiBased", "FileBased"),
    ),
    "LumisPerJob": Arg("int", 8, validate=_gt0),
    "FilesPerJob": Arg("int", 1, validate=_gt0),
    "EventsPerJob": Arg("int", None, null=True),
    "Scenario": Arg("str", None, null=True),
    "PrimaryDataset": Arg("str", None, null=True),
    "MCPileup": Arg("str", None, null=True, validate=_dataset),
    "DataPileup": Arg("str", None, null=True, validate=_dataset),
}
_CHAIN_COMMON: dict[str, Arg] = {
    "FirstEvent": Arg("int", 1, validate=_gt0),
    "FirstLumi": Arg("int", 1, validate=_gt0),
    "ChainParentageMap": Arg("dict", {}),
    "DeterministicPileup": Arg("bool", False),
    "ConfigCacheID": Arg("str", None, null=True),
    "PrimaryDataset": Arg("str", None, null=True),
    "Memory": Arg("float", 2300),
    "Multicore": Arg("int", 1),
    "EventStreams": Arg("int", 0),
    "GlobalTag": Arg("str", optional=False),
}
REREC0_EXTRA: dict[str, Arg] = {"TransientOutputModules": Arg("list", [])}


#: StepChain-only top-level arguments. TaskChain's ``getWorkloadCreateArgs`` has neither: its tasks
#: carry ``DeterministicPileup`` and ``PrimaryDataset``, so a top-level one is an unknown argument
#: (400 ``validateUnknownArgs``) and no top-level ``DeterministicPileup`` default is stored.
_STEPCHAIN_ONLY = ("DeterministicPileup", "PrimaryDataset")


def _chain(kind: str) -> dict[str, Arg]:
    key = "StepChain" if kind == "Step" else "TaskChain"
    extra: dict[str, Arg] = {key: Arg("int", optional=False, validate=lambda v: 1 <= v <= 10)}
    common = dict(_CHAIN_COMMON)
    if kind == "Step":
        extra["ParentageResolved"] = Arg("bool", False)
    else:
        extra["IgnoredOutputModules"] = Arg("list", [])
        for name in _STEPCHAIN_ONLY:
            del common[name]
    return {**_COMMON, **common, **extra}


CREATE_ARGS: Mapping[str, Mapping[str, Arg]] = {
    "ReReco": {**_COMMON, **_DATA_PROCESSING, **REREC0_EXTRA},
    "StepChain": _chain("Step"),
    "TaskChain": _chain("Task"),
    "DQMHarvest": {
        **_COMMON,
        **_DATA_PROCESSING,
        "ConfigCacheID": Arg("str", None, null=True),
        "DQMConfigCacheID": Arg("str", optional=False, validate=_config_id),
        "DQMUploadUrl": Arg("str", optional=False),
    },
    "StoreResults": {
        **_COMMON,
        **_DATA_PROCESSING,
        "ConfigCacheID": Arg("str", None, null=True),
        "GlobalTag": Arg("str", None, null=True),
        "MergedLFNBase": Arg("str", "/store/results"),
        "DataTier": Arg("str", "USER"),
        "PhysicsGroup": Arg("str", optional=False),
    },
    "Resubmission": {
        "RequestType": Arg("str", optional=False),
        "OriginalRequestName": Arg("str", optional=False),
        "InitialTaskPath": Arg(
            "str", optional=False, validate=lambda v: v.startswith("/") and v.count("/") >= 2
        ),
        "ResubmissionCount": Arg("int", 1),
        "ACDCServer": Arg("str", "https://cmsweb.cern.ch/couchdb"),
        "ACDCDatabase": Arg("str", "acdcserver"),
        "IgnoredOutputModules": Arg("list", []),
    },
}
STEP_ARGS: Mapping[str, Arg] = {
    "StepName": Arg("str", optional=False, validate=lambda v: bool(STEPNAME_RE.match(v)) and len(v) <= 50),
    "ConfigCacheID": Arg("str", optional=False, validate=_config_id),
    "GlobalTag": Arg("str", None, null=True),
    "InputStep": Arg("str", None, null=True),
    "InputFromOutputModule": Arg("str", None, null=True),
    "InputDataset": Arg("str", None, null=True, validate=_dataset),
    "RequestNumEvents": Arg("int", None, null=True, validate=_gt0),
    "EventsPerLumi": Arg("int", None, null=True),
    "EventsPerJob": Arg("int", None, null=True),
    "LumisPerJob": Arg("int", 8),
    "FilesPerJob": Arg("int", 1),
    "Seeding": Arg("str", "AutomaticSeeding"),
    "SplittingAlgo": Arg("str", "EventAwareLumiBased"),
    "PrepID": Arg("str", None, null=True),
    "KeepOutput": Arg("bool", True),
    "Campaign": Arg("str", None, null=True),
    "AcquisitionEra": Arg("str", None, null=True),
    "ProcessingString": Arg("str", None, null=True),
    "ProcessingVersion": Arg("int", None, null=True),
    "CMSSWVersion": Arg("str", None, null=True),
    "ScramArch": Arg("nonempty_list", None, null=True),
    "PrimaryDataset": Arg("str", None, null=True),
    "MCPileup": Arg("str", None, null=True, validate=_dataset),
    "DataPileup": Arg("str", None, null=True, validate=_dataset),
    "Multicore": Arg("int", None, null=True),
    "Memory": Arg("float", None, null=True),
    "TimePerEvent": Arg("float", None, null=True),
    "SizePerEvent": Arg("float", None, null=True),
    "LumiList": Arg("dict", None, null=True),
    "RunWhitelist": Arg("list", None, null=True),
}
TASK_ARGS: Mapping[str, Arg] = {
    **{k: v for k, v in STEP_ARGS.items() if k not in ("StepName", "InputStep")},
    "TaskName": Arg("str", optional=False, validate=lambda v: bool(STEPNAME_RE.match(v)) and len(v) <= 50),
    "InputTask": Arg("str", None, null=True),
    "TransientOutputModules": Arg("list", []),
    "DeterministicPileup": Arg("bool", False),
}

ASSIGN_ARGS: Mapping[str, Arg] = {
    "RequestStatus": Arg("str", optional=False, validate=lambda v: v == "assigned"),
    "Team": Arg("safestr", optional=False, validate=lambda v: bool(v)),
    "SiteWhitelist": Arg("nonempty_list", optional=False, validate=cmsnames),
    "SiteBlacklist": Arg("list", [], validate=cmsnames),
    "AcquisitionEra": Arg("str", None, null=True),
    "ProcessingString": Arg("str", None, null=True),
    "ProcessingVersion": Arg("int", None, null=True),
    "RequestPriority": Arg("int", None, null=True, validate=lambda v: 0 <= v < 1_000_000, src=PRIORITY_SRC),
    "Memory": Arg("float", None, null=True, validate=_gt0),
    "Multicore": Arg("int", None, null=True, validate=_gt0),
    "EventStreams": Arg("int", None, null=True, validate=_ge0),
    "Dashboard": Arg("str", "production", validate=lambda v: v in DASHBOARDS),
    "MergedLFNBase": Arg("str", None, null=True),
    "UnmergedLFNBase": Arg("str", None, null=True),
    "MinMergeSize": Arg("int", 2147483648, validate=_gt0),
    "MaxMergeSize": Arg("int", 4294967296, validate=_gt0),
    "MaxMergeEvents": Arg("int", 100000000, validate=_gt0),
    "MaxWaitTime": Arg("int", 86400, validate=_gt0),
    "TrustSitelists": Arg("bool", False),
    "TrustPUSitelists": Arg("bool", False),
    "AllowOpportunistic": Arg("bool", False),
    "SoftTimeout": Arg("int", 129600, validate=_gt0),
    "GracePeriod": Arg("int", 300, validate=_gt0),
    "HardTimeout": Arg("int", 129900, validate=_gt0),
    "BlockCloseMaxWaitTime": Arg("int", 66400, validate=_gt0),
    "BlockCloseMaxFiles": Arg("int", 500, validate=_gt0),
    "BlockCloseMaxEvents": Arg("int", 25000000, validate=_gt0),
    "BlockCloseMaxSize": Arg("int", 5000000000000, validate=_gt0),
    "CustodialSites": Arg("list", [], validate=cmsnames),
    "NonCustodialSites": Arg("list", [], validate=cmsnames),
    "SubscriptionPriority": Arg(
        "str", "Low", validate=lambda v: v.lower() in ("low", "normal", "high", "reserved")
    ),
    "DeleteFromSource": Arg("bool", False),
    "Override": Arg(
        "dict", {"eos-lfn-prefix": "root://eoscms.cern.ch//eos/cms/store/logs/prod/recent/PRODUCTION"}
    ),
    "DatasetLifetime": Arg("int", 0, validate=_ge0),
    "ChainParentageMap": Arg("dict", {}),
}
#: Assignment args whose defaults are filled and stored at assignment.
ASSIGN_DEFAULTS = tuple(k for k, a in ASSIGN_ARGS.items() if a.optional and a.default is not None)
#: ReReco tolerates Skim*, StepChain Step*, TaskChain Task*, Resubmission all three.
_PREFIX_OK: Mapping[str, tuple[str, ...]] = {
    "ReReco": ("Skim",),
    "StepChain": ("Step",),
    "TaskChain": ("Task",),
    "Resubmission": ("Skim", "Step", "Task"),
}
#: Types a create may name (``WMSpec/StdSpecs`` modules); ``GET /type`` lists only the first six.
REQUEST_TYPES = ("ReReco", "StoreResults", "Resubmission", "TaskChain", "DQMHarvest", "StepChain")
_OTHER_MODULES = ("Express", "PromptReco", "Repack")


def create_args(request_type: str) -> Mapping[str, Arg]:
    return CREATE_ARGS[request_type]


def unknown_args(request_type: str, args: Mapping[str, Any], defs: Mapping[str, Arg]) -> list[str]:
    prefixes = _PREFIX_OK.get(request_type, ())
    return sorted(k for k in args if k not in defs and not k.startswith(prefixes))


_TYPE_REPR = {
    "str": "<class 'str'>",
    "safestr": "<function safeStr at {addr}>",
    "int": "<class 'int'>",
    "float": "<class 'float'>",
    "bool": "<function strToBool at {addr}>",
    "list": "<function makeList at {addr}>",
    "nonempty_list": "<function makeNonEmptyList at {addr}>",
    "dict": "<class 'dict'>",
}


def _addr() -> str:
    return f"0x7f{random.getrandbits(40):010x}"


def definition_repr(name: str, arg: Arg, *, assign: bool) -> str:
    """The argument definition dict as WMCore prints it in a mandatory-argument error."""
    tpe = _TYPE_REPR[arg.type].format(addr=_addr())
    validate = (
        f"<function StdBase.getWorkloadAssignArgs.<locals>.<lambda> at {_addr()}>"
        if arg.validate is not None
        else "None"
    )
    default = (
        "''"
        if arg.default is None and arg.type in ("str", "safestr")
        else repr(arg.default if arg.default is not None else ([] if arg.type.endswith("list") else None))
    )
    attr = name[0].lower() + name[1:]
    if assign:
        return (
            f"{{'default': {default}, 'type': {tpe}, 'assign_optional': False, 'validate': {validate}, "
            f"'optional': True, 'null': False, 'attr': '{attr}'}}"
        )
    return (
        f"{{'default': {default}, 'type': {tpe}, 'optional': False, 'validate': {validate}, 'null': False}}"
    )


_CAST_NAMES = {
    "str": "str",
    "safestr": "safeStr",
    "int": "int",
    "float": "float",
    "bool": "strToBool",
    "list": "makeList",
    "nonempty_list": "makeNonEmptyList",
    "dict": "dict",
}


def check_arg(name: str, value: Any, arg: Arg) -> Any:
    """``_validateArgument``: null check, cast, validator. Dicts (per task/step) are only validated.

    Returns the value to store: numbers keep their JSON type when the cast would only change
    int to float (the real server stores ``2300``, not ``2300.0``); strings are converted.
    """
    if value is None:
        if not arg.null:
            raise SpecError(f"Argument '{name}' cannot be None", *NONE_AT)
        return None
    if isinstance(value, dict) and arg.type != "dict":
        for v in value.values():
            _run_validator(name, v, arg)
        return value
    frames: tuple[Frame, ...] = (CAST_FRAME, *CAST_FRAMES.get(arg.type, ()))
    if arg.type == "nonempty_list":
        frames = (CAST_FRAME, *nonempty_list_frames(not isinstance(value, (list, str))))
    try:
        if arg.type == "str" and not isinstance(value, str):
            frames = (STR_FRAME,)
            raise TypeError(f"Argument '{name}' with value {value} is not a string")
        cast = CASTS[arg.type](value)
    except (ValueError, TypeError) as exc:
        error = f" (Error: {exc})" if str(exc) else ""
        raise SpecError(
            f"Argument '{name}' with value {value!r}, has an incorrect data type: {type(value)}. "
            f"It must be convertible by {_CAST_NAMES[arg.type]}{error}",
            *CAST_AT,
            frames=frames,
        ) from None
    _run_validator(name, cast, arg)
    if arg.type == "float" and isinstance(value, int) and not isinstance(value, bool):
        return value
    return cast


def _run_validator(name: str, value: Any, arg: Arg) -> None:
    """``_validateArgFunction``: a False answer names the definition; an exception's text passes through."""
    if arg.validate is None:
        return
    try:
        ok = arg.validate(value)
    except Exception as exc:
        lex = arg.validate.frames_for(value) if isinstance(arg.validate, LexiconCheck) else ()
        frames = (VALIDATE_FRAME, *lex)
        raise SpecError(str(exc), "_validateArgFunction", 151, frames=frames) from None
    if not ok:
        src = arg.src or f'{" " * 21}"{name}": {{"validate": <lambda>}},\n'
        raise SpecError(
            f"Argument '{name}' with value {value!r}, doesn't pass the validate function.\n"
            f"It's definition is:\n{src}",
            "_validateArgFunction",
            145,
        )


def _chain_items(args: Mapping[str, Any], kind: str) -> list[tuple[str, dict[str, Any]]]:
    count = args.get(f"{kind}Chain") or 0
    out = []
    for i in range(1, int(count) + 1):
        key = f"{kind}{i}"
        inner = args.get(key)
        if not isinstance(inner, dict):
            raise SpecError(f"Missing {key} dictionary in the request spec")
        out.append((key, inner))
    return out


def _validate_chain(args: dict[str, Any], kind: str) -> None:
    defs = STEP_ARGS if kind == "Step" else TASK_ARGS
    name_key = f"{kind}Name"
    input_key = "InputStep" if kind == "Step" else "InputTask"
    names: set[str] = set()
    for idx, (key, inner) in enumerate(_chain_items(args, kind), start=1):
        for arg_name, arg in defs.items():
            if arg_name not in inner:
                if not arg.optional:
                    raise SpecError(f"Argument '{arg_name}' is mandatory in {key}")
                continue
            inner[arg_name] = check_arg(arg_name, inner[arg_name], arg)
        if inner[name_key] in names:
            raise SpecError(f"Duplicate {name_key} '{inner[name_key]}'")
        names.add(inner[name_key])
        if idx == 1:
            _align_events_per_job(inner)
            if not inner.get("InputDataset") and not inner.get("RequestNumEvents"):
                raise SpecError(f"{key} must have either an InputDataset or a RequestNumEvents argument")
        else:
            for needed in (input_key, "InputFromOutputModule"):
                if not inner.get(needed):
                    raise SpecError(f"Argument '{needed}' is mandatory in {key}")
            if inner[input_key] not in names:
                raise SpecError(f"{key} refers to an unknown {input_key}: {inner[input_key]}")


def _align_events_per_job(inner: dict[str, Any]) -> None:
    """A generator's EventsPerJob becomes a whole number of lumis (160 with 100 per lumi -> 200),
    as WMCore's splitting set-up stores it; fewer events per job than per lumi shrinks the lumi."""
    ej, el = inner.get("EventsPerJob"), inner.get("EventsPerLumi")
    if (
        not inner.get("RequestNumEvents")
        or not isinstance(ej, int)
        or not isinstance(el, int)
        or ej <= 0
        or el <= 0
    ):
        return
    if ej < el:
        inner["EventsPerLumi"] = ej
    else:
        inner["EventsPerJob"] = el * max(1, round(ej / el))


def validate_create(args: dict[str, Any], *, clone: bool = False) -> dict[str, Any]:
    """Fill defaults (create only), check unknown and mandatory args, cast and validate in place.

    Returns ``args``. ``clone`` reports missing mandatory args the way the clone path does
    (no defaults pre-filled).
    """
    rtype = args["RequestType"]
    if rtype not in CREATE_ARGS:
        if rtype in _OTHER_MODULES:
            raise SpecError(f"Request type {rtype} is a Tier-0 spec and is not supported by this emulator")
        raise SpecError(f"No module named 'WMCore.WMSpec.StdSpecs.{rtype}'", banner=False)
    defs = CREATE_ARGS[rtype]
    bad = unknown_args(rtype, args, defs)
    if bad:
        raise SpecError(
            f"There are unknown/unsupported arguments in your request spec: {bad}", "validateUnknownArgs", 335
        )
    for name, arg in defs.items():
        if name not in args:
            if not arg.optional:
                if clone:
                    raise SpecError(
                        f"Argument '{name}' is mandatory and must be provided by the user. "
                        f"Its definition is: {definition_repr(name, arg, assign=False)}",
                        "_validateArgumentOptions",
                        178,
                    )
                raise SpecError(f"Argument '{name}' cannot be None", *NONE_AT)
            args[name] = _copy(arg.default)
            continue
        if arg.optional and args[name] == "" and arg.type != "str":
            args[name] = _copy(arg.default)
            continue
        args[name] = check_arg(name, args[name], arg)
    if rtype in ("StepChain", "TaskChain"):
        _validate_chain(args, rtype[:4])
    if not args.get("Campaign") and isinstance(args.get("AcquisitionEra"), str):
        args["Campaign"] = args["AcquisitionEra"]
    return args


def validate_assignment(args: Mapping[str, Any]) -> dict[str, Any]:
    """Assignment body (``RequestName`` already stripped): mandatory, unknown, values, overlap."""
    bad = sorted(k for k in args if k not in ASSIGN_ARGS)
    if bad:
        raise SpecError(f"There are unknown/unsupported arguments in your request spec: {bad}")
    out: dict[str, Any] = {}
    for name, arg in ASSIGN_ARGS.items():
        if name not in args:
            if not arg.optional:
                raise SpecError(
                    f"Argument '{name}' is mandatory and must be provided by the user. "
                    f"Its definition is: {definition_repr(name, arg, assign=True)}",
                    "_validateArgumentOptions",
                    178,
                )
            continue
        out[name] = check_arg(name, args[name], arg)
    _check_overlap(out.get("SiteWhitelist"), out.get("SiteBlacklist"))
    return out


def validate_partial(args: Mapping[str, Any]) -> dict[str, Any]:
    """An edit without a status: assignment definitions, all optional."""
    bad = sorted(k for k in args if k not in ASSIGN_ARGS)
    if bad:
        raise SpecError(f"There are unknown/unsupported arguments in your request spec: {bad}")
    out = {name: check_arg(name, value, ASSIGN_ARGS[name]) for name, value in args.items()}
    _check_overlap(out.get("SiteWhitelist"), out.get("SiteBlacklist"))
    return out


def _check_overlap(white: Any, black: Any) -> None:
    if white and black:
        both = sorted(set(white) & set(black))
        if both:
            raise SpecError(f"Validation failed: The same site cannot be white and blacklisted: {both}")


def _dataset_name(doc: Mapping[str, Any], primary: str, task: str | None, tier: str) -> str:
    era, pstr, pver = doc.get("AcquisitionEra"), doc.get("ProcessingString"), doc.get("ProcessingVersion")
    e = era.get(task, "Era") if isinstance(era, dict) else era
    p = pstr.get(task, "PS") if isinstance(pstr, dict) else pstr
    ver = pver.get(task, 1) if isinstance(pver, dict) else pver
    return f"/{primary}/{e}-{p}-v{ver}/{tier}"


def chain_outputs(doc: Mapping[str, Any]) -> list[tuple[str, dict[str, Any], str | None]]:
    """(``StepN``/``TaskN`` key, its dict, its output dataset or None when it keeps no output)."""
    kind = str(doc.get("RequestType"))[:4]
    out: list[tuple[str, dict[str, Any], str | None]] = []
    for i in range(1, int(doc.get(f"{kind}Chain") or 0) + 1):
        key = f"{kind}{i}"
        inner = doc.get(key) or {}
        ds = None
        if inner.get("KeepOutput", True):
            task = inner.get(f"{kind}Name", key)
            primary = inner.get("PrimaryDataset") or doc.get("PrimaryDataset") or _primary(inner, doc)
            tier = "GEN-SIM" if i == 1 and inner.get("RequestNumEvents") else "AODSIM"
            ds = _dataset_name(doc, primary, task, tier)
        out.append((key, inner, ds))
    return out


def output_datasets(doc: Mapping[str, Any]) -> list[str]:
    """A plausible ``OutputDatasets`` list: one per kept step/task (or one for single-task types)."""
    rtype = doc.get("RequestType")
    out: list[str] = []
    if rtype in ("StepChain", "TaskChain"):
        out = [ds for _, _, ds in chain_outputs(doc) if ds]
    elif rtype == "Resubmission":
        return []
    else:
        tier = {"StoreResults": str(doc.get("DataTier", "USER")), "DQMHarvest": "DQMIO"}.get(
            str(rtype), "AOD"
        )
        out.append(_dataset_name(doc, _primary({}, doc), None, tier))
    seen: list[str] = []
    for ds in out:
        if ds not in seen:
            seen.append(ds)
    return seen


def chain_parentage_map(doc: Mapping[str, Any]) -> dict[str, Any]:
    """``ChainParentageMap``: per step/task its parent dataset (that of its input) and its outputs."""
    rtype = str(doc.get("RequestType"))
    kind = rtype[:4]
    outputs = chain_outputs(doc)
    by_name = {inner.get(f"{kind}Name"): ds for _, inner, ds in outputs}
    input_key = "InputStep" if kind == "Step" else "InputTask"
    out: dict[str, Any] = {}
    for key, inner, ds in outputs:
        parent = by_name.get(inner.get(input_key)) if inner.get(input_key) else inner.get("InputDataset")
        out[key] = {"ParentDset": parent, "ChildDsets": [ds] if ds else []}
    return out


def _primary(inner: Mapping[str, Any], doc: Mapping[str, Any]) -> str:
    ds = inner.get("InputDataset") or doc.get("InputDataset")
    if isinstance(ds, str) and ds.count("/") == 3:
        return ds.split("/")[1]
    return "Primary"


def check_output_datasets(datasets: list[str]) -> None:
    """Assignment check: no duplicates, dataset regex, tiers known to (stub) DBS."""
    if len(set(datasets)) != len(datasets):
        raise SpecError(f"Duplicate output datasets found: {datasets}")
    for ds in datasets:
        if not DATASET_RE.match(ds):
            raise SpecError(f"Invalid output dataset name: {ds}")
        tier = ds.rsplit("/", 1)[-1]
        if tier not in DATA_TIERS:
            raise SpecError(f"Bad datatier(s): ['{tier}'] not available on DBS")


#: what the TagCollector stub knows (``spec_template`` lists them like ``releases()``/``architectures()``)
KNOWN_RELEASES = ("CMSSW_8_0_21", "CMSSW_10_6_29", "CMSSW_12_4_11", "CMSSW_13_0_10", "CMSSW_14_0_0")
KNOWN_ARCHES = (
    "slc6_amd64_gcc530",
    "slc7_amd64_gcc700",
    "el8_amd64_gcc10",
    "el8_amd64_gcc11",
    "el9_amd64_gcc12",
)


def spec_template(request_type: str) -> dict[str, Any]:
    """``create_json_template_spec``: defaults of optional create args, ``REPLACE-<arg>`` for
    mandatory ones, the release and architecture lists for CMSSWVersion/ScramArch."""
    out: dict[str, Any] = {}
    for key, arg in CREATE_ARGS[request_type].items():
        if key == "RequestorDN":
            continue
        if key == "CMSSWVersion":
            out[key] = list(KNOWN_RELEASES)
        elif key == "ScramArch":
            out[key] = list(KNOWN_ARCHES)
        else:
            out[key] = _copy(arg.default) if arg.optional else f"REPLACE-{key}"
    return out


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value
