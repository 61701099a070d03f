"""Validate request bodies against the JSON Schemas shipped in ``airflow_provider_poms/schemas``.

Why here and not on the server: ReqMgr2 reports one problem at a time, often without naming the
argument, and only after a round trip (and sometimes after external look-ups). Checking first lets a
DAG author fix every problem at once, and nothing half-valid reaches the server.

Loading is lazy: ``jsonschema`` and the schema files are read when validation is first used, so
importing a hook (which the Airflow scheduler does while parsing DAGs) stays cheap.

Each problem is ``(json_path, message)``, e.g. ``("$.Step2.InputStep", "'InputStep' is a required
property")``. Rules a schema cannot express (StepChain count versus Step dicts, names referring to
earlier steps, site in both lists, ...) are plain Python below and report in the same form.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from functools import cache
from importlib import resources
from typing import Any

from airflow_provider_poms.http.errors import ValidationError

__all__ = [
    "SCHEMA_BASE",
    "check",
    "load_schema",
    "problems",
    "validate",
    "validate_assignment",
    "validate_clone_overrides",
    "validate_poms_param_overrides",
    "validate_poms_recoveries",
    "validate_request_spec",
    "validate_status_change",
    "validate_update",
]

#: Base URI of the schemas' ``$id``s (never fetched: all references resolve to the packaged files).
SCHEMA_BASE = "https://schemas.airflow-provider-poms.invalid/"

Problem = tuple[str, str]
_LOCK = threading.Lock()
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_REQUIRED = re.compile(r"^'(.+)' is a required property$")


def _schema_files() -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for entry in resources.files("airflow_provider_poms").joinpath("schemas").iterdir():
        if entry.name.endswith(".json"):
            out[entry.name[: -len(".json")]] = json.loads(entry.read_text(encoding="utf-8"))
    return out


@cache
def _loaded() -> tuple[dict[str, dict[str, Any]], Any]:
    """All schemas by short name, and a ``referencing`` registry holding them (built once)."""
    from referencing import Registry, Resource

    schemas = _schema_files()
    registry: Any = Registry()
    for schema in schemas.values():
        registry = registry.with_resource(schema["$id"], Resource.from_contents(schema))
    return schemas, registry


@cache
def _validator(name: str) -> Any:
    from jsonschema import Draft202012Validator

    schemas, registry = _loaded()
    if name not in schemas:
        raise KeyError(f"no schema {name!r}; known: {', '.join(sorted(schemas))}")
    return Draft202012Validator(schemas[name], registry=registry)


def load_schema(name: str) -> dict[str, Any]:
    """The parsed schema ``schemas/<name>.json`` (e.g. ``"reqmgr2_create"``)."""
    with _LOCK:
        schemas, _ = _loaded()
    try:
        return schemas[name]
    except KeyError:
        raise KeyError(f"no schema {name!r}; known: {', '.join(sorted(schemas))}") from None


def json_path(parts: Iterable[Any]) -> str:
    """``$.Step2.InputStep`` / ``$.ScramArch[0]`` / ``$['eos-lfn-prefix']`` from a path of keys."""
    out = "$"
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _IDENT.match(str(part)):
            out += f".{part}"
        else:
            out += "[" + json.dumps(str(part)) + "]"
    return out


def _short(message: str, instance: Any) -> str:
    """jsonschema quotes the whole offending value; a 5000-character string would bury the rule."""
    shown = repr(instance)
    if len(shown) > 80 and shown in message:
        size = f" ({len(instance)} characters)" if isinstance(instance, str | list | dict) else ""
        return message.replace(shown, shown[:60] + "..." + shown[-1] + size, 1)
    return message


def _from_error(err: Any) -> list[Problem]:
    return [(path, _short(message, err.instance)) for path, message in _problems_of(err)]


def _problems_of(err: Any) -> list[Problem]:
    path = list(err.absolute_path)
    if err.validator == "required":
        m = _REQUIRED.match(err.message)
        if m:
            return [(json_path([*path, m.group(1)]), err.message)]
    if err.validator == "additionalProperties" and isinstance(err.instance, Mapping):
        schema = err.schema if isinstance(err.schema, Mapping) else {}
        known = set(schema.get("properties", {}))
        patterns = [re.compile(p) for p in schema.get("patternProperties", {})]
        extra = [k for k in err.instance if k not in known and not any(p.search(k) for p in patterns)]
        if extra:
            allowed = ", ".join(sorted(known)) if known else "none"
            return [
                (json_path([*path, k]), f"{k!r} is not allowed here (allowed keys: {allowed})") for k in extra
            ]
    return [(json_path(path), err.message)]


def check(name: str, instance: Any) -> list[Problem]:
    """Problems of ``instance`` against schema ``name`` only (no cross-field rules), sorted."""
    with _LOCK:
        validator = _validator(name)
    found: set[Problem] = set()
    for err in validator.iter_errors(instance):
        found.update(_from_error(err))
    return sorted(found)


# --------------------------------------------------------------------------------------------
# Cross-field rules
# --------------------------------------------------------------------------------------------


def _chain_problems(
    spec: Mapping[str, Any], kind: str, unit: str, name_key: str, input_key: str
) -> list[Problem]:
    out: list[Problem] = []
    count = spec.get(kind)
    present = sorted(
        int(m.group(1)) for key in spec if (m := re.fullmatch(rf"{unit}(\d+)", key)) and m.group(1) != "0"
    )
    if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= 10:
        return out  # the schema already reports the count
    for i in range(1, count + 1):
        if f"{unit}{i}" not in spec:
            out.append((f"$.{unit}{i}", f"'{unit}{i}' is required because {kind} is {count}"))
    for i in present:
        if i > count:
            out.append((f"$.{unit}{i}", f"'{unit}{i}' is beyond {kind} = {count}; raise {kind} or remove it"))
    names: dict[str, int] = {}
    for i in range(1, count + 1):
        unit_spec = spec.get(f"{unit}{i}")
        if not isinstance(unit_spec, Mapping):
            continue
        name = unit_spec.get(name_key)
        if isinstance(name, str):
            if name in names:
                out.append(
                    (f"$.{unit}{i}.{name_key}", f"{name!r} is already the {name_key} of {unit}{names[name]}")
                )
            else:
                names[name] = i
    for i in range(2, count + 1):
        unit_spec = spec.get(f"{unit}{i}")
        if not isinstance(unit_spec, Mapping):
            continue
        ref = unit_spec.get(input_key)
        if isinstance(ref, str) and (ref not in names or names[ref] >= i):
            earlier = ", ".join(n for n, j in names.items() if j < i) or "none"
            out.append(
                (
                    f"$.{unit}{i}.{input_key}",
                    f"{ref!r} is not the {name_key} of an earlier {unit.lower()} (earlier: {earlier})",
                )
            )
    if unit == "Step":
        last = spec.get(f"Step{count}")
        if isinstance(last, Mapping) and last.get("KeepOutput") in (False, "false", "False", "FALSE"):
            out.append((f"$.Step{count}.KeepOutput", "the last step must keep its output"))
    return out


def _skim_problems(spec: Mapping[str, Any]) -> list[Problem]:
    out: list[Problem] = []
    numbers: set[str] = set()
    for key in spec:
        m = re.fullmatch(r"SkimName(\d+)|SkimInput(\d+)|Skim(\d+)ConfigCacheID", key)
        if m:
            numbers.add(next(g for g in m.groups() if g is not None))
    for n in sorted(numbers):
        for key in (f"SkimName{n}", f"SkimInput{n}", f"Skim{n}ConfigCacheID"):
            if key not in spec:
                out.append((f"$.{key}", f"'{key}' is required for skim {n}"))
    return out


def _resubmission_problems(spec: Mapping[str, Any]) -> list[Problem]:
    orig, path = spec.get("OriginalRequestName"), spec.get("InitialTaskPath")
    if isinstance(orig, str) and isinstance(path, str) and not path.startswith(f"/{orig}/"):
        return [("$.InitialTaskPath", f"must start with '/{orig}/' (the OriginalRequestName)")]
    return []


def _site_overlap(body: Mapping[str, Any]) -> list[Problem]:
    white, black = body.get("SiteWhitelist"), body.get("SiteBlacklist")
    if isinstance(white, list) and isinstance(black, list):
        both = sorted({s for s in white if isinstance(s, str)} & {s for s in black if isinstance(s, str)})
        if both:
            return [("$.SiteBlacklist", f"site(s) also in SiteWhitelist: {', '.join(both)}")]
    return []


#: ReqMgr2's TaskChain takes PrimaryDataset per task and refuses a top-level one as unknown.
_TASKCHAIN_TOP_PRIMARY = (
    "not allowed at the top level of a TaskChain: set it inside the task (Task1.PrimaryDataset); "
    "ReqMgr2 rejects it as an unknown argument"
)


def _create_cross(spec: Any) -> list[Problem]:
    if not isinstance(spec, Mapping):
        return []
    kind = spec.get("RequestType")
    if kind == "StepChain":
        return _chain_problems(spec, "StepChain", "Step", "StepName", "InputStep")
    if kind == "TaskChain":
        top = [("$.PrimaryDataset", _TASKCHAIN_TOP_PRIMARY)] if "PrimaryDataset" in spec else []
        return top + _chain_problems(spec, "TaskChain", "Task", "TaskName", "InputTask")
    if kind == "ReReco":
        return _skim_problems(spec)
    if kind == "Resubmission":
        return _resubmission_problems(spec)
    return []


def _sites_cross(body: Any) -> list[Problem]:
    return _site_overlap(body) if isinstance(body, Mapping) else []


def _status_cross(body: Any) -> list[Problem]:
    if isinstance(body, Mapping) and body.get("RequestStatus") == "assigned":
        return _site_overlap(body)
    return []


_CROSS: dict[str, Callable[[Any], list[Problem]]] = {
    "reqmgr2_create": _create_cross,
    "reqmgr2_assign": _sites_cross,
    "reqmgr2_update": _sites_cross,
    "reqmgr2_status_change": _status_cross,
}


def problems(name: str, instance: Any) -> list[Problem]:
    """Every problem: schema first, then the cross-field rules registered for that schema."""
    found = set(check(name, instance))
    found.update(_CROSS.get(name, lambda _x: [])(instance))
    return sorted(found)


def validate(name: str, instance: Any, *, what: str = "") -> None:
    """Raise ``ValidationError`` listing every problem (``.problems``), or return silently."""
    found = problems(name, instance)
    if found:
        shown = "; ".join(f"{p}: {m}" for p, m in found[:10])
        more = f" (+{len(found) - 10} more)" if len(found) > 10 else ""
        raise ValidationError(
            f"{len(found)} problem(s): {shown}{more}", problems=found, operation=f"validate {what or name}"
        )


def validate_request_spec(spec: Any) -> None:
    """A ReqMgr2 creation spec (any of the six request types), before ``POST request``."""
    validate("reqmgr2_create", spec, what="ReqMgr2 request spec")


def validate_assignment(body: Any) -> None:
    """An assignment body (``RequestStatus: assigned``, ``Team``, ``SiteWhitelist``, ...)."""
    validate("reqmgr2_assign", body, what="ReqMgr2 assignment")


def validate_status_change(body: Any) -> None:
    validate("reqmgr2_status_change", body, what="ReqMgr2 status change")


def validate_update(body: Any) -> None:
    """An edit without status change (priority, site lists, ...)."""
    validate("reqmgr2_update", body, what="ReqMgr2 request update")


def validate_clone_overrides(overrides: Any) -> None:
    validate("reqmgr2_clone", overrides, what="ReqMgr2 clone overrides")


def _maybe_json(value: Any, what: str) -> Any:
    """POMS accepts these parameters as a Python object or its JSON dump: parse the dump."""
    if isinstance(value, (str, bytes)):
        try:
            return json.loads(value)
        except ValueError as exc:
            raise ValidationError(
                f"invalid {what}: not valid JSON ({exc})",
                problems=[("$", f"not valid JSON: {exc}")],
                operation=f"validate {what}",
            ) from None
    if isinstance(value, tuple):
        return [list(v) if isinstance(v, tuple) else v for v in value]
    return value


def validate_poms_param_overrides(value: Any) -> list[list[Any]]:
    """``[[key, value], ...]`` (or its JSON dump); returns the parsed list for the caller to send."""
    parsed = _maybe_json(value, "POMS param overrides")
    validate("poms_param_overrides", parsed, what="POMS param overrides")
    return list(parsed)


def validate_poms_recoveries(value: Any) -> list[list[Any]]:
    """``[[recovery_type, [[key, value], ...]], ...]`` (or its JSON dump); returns the parsed list."""
    parsed = _maybe_json(value, "POMS recoveries")
    validate("poms_recoveries", parsed, what="POMS recoveries")
    return list(parsed)
