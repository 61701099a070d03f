"""The JSON Schemas accept what the real ReqMgr2 accepted and reject broken bodies, naming the path.

Data lives in tests/schemas/data: ``accepted.json`` (real-server bodies and WMCore sample shapes) and
``broken.json`` (variants derived from them, each with the problems it must report).
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_poms import validation
from airflow_provider_poms.http.errors import ValidationError

DATA = Path(__file__).parent / "data"
ACCEPTED: dict[str, dict[str, Any]] = {
    k: v for k, v in json.loads((DATA / "accepted.json").read_text()).items() if not k.startswith("_")
}
BROKEN: list[dict[str, Any]] = json.loads((DATA / "broken.json").read_text())["variants"]


def _accepted_cases() -> list[Any]:
    return [
        pytest.param(schema, body, id=f"{schema}:{name}")
        for schema, bodies in ACCEPTED.items()
        for name, body in bodies.items()
    ]


def _walk(doc: Any, dotted: str) -> tuple[Any, Any]:
    parts: list[Any] = [int(p) if p.isdigit() else p for p in dotted.split(".")]
    for part in parts[:-1]:
        doc = doc[part]
    return doc, parts[-1]


def _variant_body(variant: dict[str, Any]) -> Any:
    if "body" in variant:
        return copy.deepcopy(variant["body"])
    body = copy.deepcopy(ACCEPTED[variant["schema"]][variant["base"]])
    for dotted in variant.get("delete", []):
        parent, key = _walk(body, dotted)
        del parent[key]
    for dotted, value in variant.get("set", {}).items():
        parent, key = _walk(body, dotted)
        parent[key] = value
    return body


@pytest.mark.parametrize(("schema", "body"), _accepted_cases())
def test_accepts_bodies_the_server_accepted(schema: str, body: Any) -> None:
    assert validation.problems(schema, body) == []


def test_there_are_at_least_30_broken_variants() -> None:
    assert len(BROKEN) >= 30
    assert len({v["id"] for v in BROKEN}) == len(BROKEN)


@pytest.mark.parametrize("variant", BROKEN, ids=[v["id"] for v in BROKEN])
def test_rejects_broken_variant_naming_the_path(variant: dict[str, Any]) -> None:
    body = _variant_body(variant)
    with pytest.raises(ValidationError) as info:
        validation.validate(variant["schema"], body)
    found = info.value.problems
    for path, fragment in variant["expect"]:
        assert any(p == path and fragment in m for p, m in found), f"expected {path}: {fragment!r} in {found}"
    # The one-line message names the first problems with their paths.
    assert variant["expect"][0][0] in str(info.value) or len(found) > 10


def test_every_problem_is_reported_at_once() -> None:
    spec = copy.deepcopy(ACCEPTED["reqmgr2_create"]["shape_stepchain_prod_psi"])
    spec["RequestPriority"] = "high"
    spec["AcquisitionEra"] = "2024"
    del spec["Step2"]["InputStep"]
    spec["Step3"]["StepName"] = "GenSimFull"
    with pytest.raises(ValidationError) as info:
        validation.validate_request_spec(spec)
    paths = [p for p, _ in info.value.problems]
    assert paths == sorted(paths)
    assert {"$.RequestPriority", "$.AcquisitionEra", "$.Step2.InputStep", "$.Step3.StepName"} <= set(paths)
    assert "$.Step2.InputStep: 'InputStep' is a required property" in str(info.value)
    assert info.value.operation == "validate ReqMgr2 request spec"


def test_poms_helpers_accept_json_dumps_and_return_lists() -> None:
    assert validation.validate_poms_param_overrides('[["-Osubmit.memory=", "2000MB"]]') == [
        ["-Osubmit.memory=", "2000MB"]
    ]
    assert validation.validate_poms_recoveries([["consumed_status", []]]) == [["consumed_status", []]]
    with pytest.raises(ValidationError) as info:
        validation.validate_poms_recoveries("[[consumed_status")
    assert info.value.problems[0][0] == "$"
    assert "not valid JSON" in info.value.problems[0][1]


def test_json_path_quotes_keys_that_are_not_identifiers() -> None:
    assert validation.json_path(["Override", "eos-lfn-prefix"]) == '$.Override["eos-lfn-prefix"]'
    assert validation.json_path(["ScramArch", 0]) == "$.ScramArch[0]"
    assert validation.json_path([]) == "$"


def test_all_schemas_are_valid_draft_2020_12() -> None:
    from jsonschema import Draft202012Validator

    names = sorted(p.stem for p in (Path(validation.__file__).parent / "schemas").glob("*.json"))
    assert {
        "reqmgr2_create",
        "reqmgr2_assign",
        "reqmgr2_status_change",
        "poms_recoveries",
        "poms_param_overrides",
    } <= set(names)
    for name in names:
        schema = validation.load_schema(name)
        Draft202012Validator.check_schema(schema)
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert schema["$id"] == f"{validation.SCHEMA_BASE}{name}.json"


def test_unknown_schema_name_is_a_clear_error() -> None:
    with pytest.raises(KeyError, match="no schema 'reqmgr2_nope'"):
        validation.check("reqmgr2_nope", {})


def test_importing_the_hook_does_not_load_validation() -> None:
    """The scheduler imports hooks while parsing DAGs: schemas load only when validation is used."""
    code = (
        "import sys; import airflow_provider_poms.hooks.reqmgr2 as h; "
        "print('airflow_provider_poms.validation' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip().splitlines()[-1] == "False"
