"""Request specs and small helpers for the ReqMgr2 hook tests (unique names per call)."""

from __future__ import annotations

import copy
import json
import uuid
from pathlib import Path
from typing import Any

_ACCEPTED = json.loads((Path(__file__).parents[1] / "schemas" / "data" / "accepted.json").read_text())
SPECS: dict[str, dict[str, Any]] = _ACCEPTED["reqmgr2_create"]
ASSIGNMENT: dict[str, Any] = _ACCEPTED["reqmgr2_assign"]["real_assignment"]


def unique(prefix: str = "Hook") -> str:
    """A RequestString no other test uses."""
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def stepchain(request_string: str | None = None, **overrides: Any) -> dict[str, Any]:
    """The minimal StepChain the real server accepted, with a unique RequestString."""
    spec = copy.deepcopy(SPECS["real_stepchain_minimal"])
    spec["RequestString"] = request_string or unique()
    spec.update(overrides)
    return spec


def assignment(**overrides: Any) -> dict[str, Any]:
    body = copy.deepcopy(ASSIGNMENT)
    body.update(overrides)
    return body
