"""Request bodies shared by every conformance test: the package's samples, pointed at a target.

One source for the bodies the real server is known to accept: ``airflow_provider_poms.emulator
.reqmgr2.samples`` (the emulator's own tests and the demo use it too). Only DbsUrl and ConfigCacheUrl
depend on the target: on the real server they point at the local stub and store; the emulator
accepts any well-formed URL.
"""

from __future__ import annotations

import uuid
from typing import Any

from airflow_provider_poms.emulator.reqmgr2.samples import assignment_body, stepchain_spec

from .targets import Target

ASSIGNMENT: dict[str, Any] = assignment_body()

# Statuses a request passes through after assignment, in order, up to announced.
AGENT_PATH = ["staging", "staged", "acquired", "running-open", "running-closed", "completed"]
CLOSE_PATH = ["closed-out", "announced"]


def unique_tag(prefix: str = "C") -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def stepchain(target: Target, request_string: str, **overrides: Any) -> dict[str, Any]:
    """The sample one-step StepChain, with the target's DBS and ConfigCache URLs."""
    return stepchain_spec(
        request_string,
        ConfigCacheUrl=target.config_cache_url,
        DbsUrl=target.dbs_url,
        **overrides,
    )
