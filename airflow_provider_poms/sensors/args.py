"""Checking and normalising the arguments of operators and sensors.

Arguments are checked twice: in the constructor (DAG parse time) when the value is not a Jinja
template, and again after rendering, before any HTTP call. Every message names the argument.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from airflow.sdk import conf

from airflow_provider_poms.states import check_poms_statuses, check_reqmgr2_statuses

WAIT_MODES = ("poke", "reschedule", "deferrable")


def default_deferrable() -> bool:
    return conf.getboolean("operators", "default_deferrable", fallback=False)


def is_template(value: Any) -> bool:
    """A value still holding Jinja (checked again after rendering)."""
    if isinstance(value, str):
        return "{{" in value or "{%" in value
    if isinstance(value, list | tuple):
        return any(is_template(v) for v in value)
    return False


def as_list(value: Any, argument: str) -> list[Any]:
    """A string, a comma-separated string, a rendered list literal or a sequence -> list."""
    if value is None:
        return []
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                parsed = json.loads(text)
            except ValueError:
                try:
                    parsed = ast.literal_eval(text)
                except (ValueError, SyntaxError):
                    raise ValueError(f"{argument}: cannot read {value!r} as a list") from None
            return as_list(parsed, argument)
        return [part.strip() for part in text.split(",") if part.strip()]
    if isinstance(value, Iterable):
        return list(value)
    return [value]


def reqmgr2_statuses(value: Any, argument: str) -> list[str]:
    return list(check_reqmgr2_statuses(as_list(value, argument), argument))


def poms_statuses(value: Any, argument: str) -> list[str]:
    return list(check_poms_statuses(as_list(value, argument), argument))


def check_targets(
    targets: Any,
    failures: Any,
    checker: Callable[[Any, str], list[str]],
    *,
    targets_arg: str = "target_statuses",
    failures_arg: str = "failure_statuses",
) -> tuple[list[str], list[str]]:
    """Validate both lists; a status in both is an impossible target."""
    wanted = checker(targets, targets_arg)
    if not wanted:
        raise ValueError(f"{targets_arg}: at least one target status is needed")
    bad = checker(failures, failures_arg)
    both = sorted(set(wanted) & set(bad))
    if both:
        raise ValueError(
            f"{targets_arg}: {', '.join(both)} is also in {failures_arg}; a status cannot be both the "
            "goal and a failure"
        )
    return wanted, bad


def names(single: Any, many: Any, *, single_arg: str, many_arg: str) -> list[str]:
    """One of ``request_name`` / ``request_names``, as a non-empty list of names."""
    if single is not None and many is not None:
        raise ValueError(f"give either {single_arg} or {many_arg}, not both")
    out = as_list(single if single is not None else many, many_arg if many is not None else single_arg)
    out = [str(n).strip() for n in out if str(n).strip()]
    if not out:
        raise ValueError(f"{single_arg} or {many_arg} is required")
    return out


def submission_ids(value: Any, argument: str) -> list[int]:
    out: list[int] = []
    for item in as_list(value, argument):
        try:
            number = int(str(item).strip())
        except ValueError:
            raise ValueError(f"{argument}: {item!r} is not a POMS submission id (an integer)") from None
        if number <= 0:
            raise ValueError(f"{argument}: {item!r} is not a POMS submission id (a positive integer)")
        out.append(number)
    if not out:
        raise ValueError(f"{argument}: a submission id is required")
    return out


def wait_mode(mode: str, deferrable: bool, argument: str = "mode") -> str:
    """'deferrable' when deferrable is set, else the mode; checks the mode name."""
    if mode not in WAIT_MODES:
        raise ValueError(f"{argument}: {mode!r} is not a wait mode; use one of {', '.join(WAIT_MODES)}")
    return "deferrable" if deferrable else mode


def positive(value: Any, argument: str, *, allow_none: bool = True) -> float | None:
    if value is None and allow_none:
        return None
    try:
        number = float(value.total_seconds() if hasattr(value, "total_seconds") else value)
    except (TypeError, ValueError):
        raise ValueError(f"{argument}: {value!r} is not a number of seconds") from None
    if number < 0:
        raise ValueError(f"{argument}: must not be negative (got {value!r})")
    return number


def choice(value: str, allowed: Sequence[str], argument: str) -> str:
    if value not in allowed:
        raise ValueError(f"{argument}: {value!r} is not one of {', '.join(map(repr, allowed))}")
    return value
