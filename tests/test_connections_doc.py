"""Every connection example in docs/connections.md is parsed the way Airflow parses it and turned
into the provider's ``ConnectionSettings``.

Why: a connection page whose examples drift from the code is worse than none; users paste them.
So the examples are read from the doc itself (JSON blocks, ``AIRFLOW_CONN_*`` lines, ``airflow
connections add`` lines), parsed with Airflow's own ``Connection`` (JSON and URI forms), checked
against the declared form fields, and validated by ``ConnectionSettings.from_connection``. The
paths in the examples (grid CA directory, proxies, ...) do not exist here, so they are re-rooted
under a temporary directory, the only change made to an example. The emulator's own
``--print-airflow-conns`` output is then used for a real HTTPS call.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import pytest
from airflow.models.connection import Connection

from airflow_provider_poms.emulator.testing import EmulatorProcess
from airflow_provider_poms.get_provider_info import get_provider_info
from airflow_provider_poms.hooks.poms import PomsHook
from airflow_provider_poms.hooks.reqmgr2 import ReqMgr2Hook
from airflow_provider_poms.http.settings import ConnectionSettings

DOC = Path(__file__).resolve().parents[1] / "docs" / "connections.md"
PATH_FIELDS = ("client_cert", "client_key", "proxy", "ca_cert", "token_file")
CREDENTIALS = ("client_cert", "proxy", "token_file")


@dataclass
class Example:
    """One connection found in the doc: where it came from and Airflow's parse of it."""

    origin: str  # "json block", "env json", "env uri", "cli json", "cli uri"
    text: str
    conn: Connection


def conn_fields() -> dict[str, dict[str, Any]]:
    """connection type -> its declared ``conn-fields``."""
    return {t["connection-type"]: t["conn-fields"] for t in get_provider_info()["connection-types"]}


def fenced_blocks(text: str) -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2)) for m in re.finditer(r"```(\w*)\n(.*?)```", text, re.S)]


def parse_value(origin: str, value: str, conn_id: str) -> Example:
    if value.lstrip().startswith("{"):
        return Example(f"{origin} json", value, Connection.from_json(value, conn_id=conn_id))
    return Example(f"{origin} uri", value, Connection(conn_id=conn_id, uri=value))


def shell_examples(block: str) -> list[Example]:
    """``export AIRFLOW_CONN_X='...'`` and ``airflow connections add ID --conn-json|--conn-uri '...'``."""
    found = []
    for line in block.splitlines():
        words = shlex.split(line, comments=True)
        if len(words) == 2 and words[0] == "export" and words[1].startswith("AIRFLOW_CONN_"):
            name, _, value = words[1].partition("=")
            found.append(parse_value("env", value, name.removeprefix("AIRFLOW_CONN_").lower()))
        elif words[:3] == ["airflow", "connections", "add"]:
            option = next(w for w in words if w in ("--conn-json", "--conn-uri"))
            found.append(parse_value("cli", words[words.index(option) + 1], words[3]))
    return found


def doc_examples() -> list[Example]:
    examples: list[Example] = []
    for lang, body in fenced_blocks(DOC.read_text()):
        if lang == "json" and '"conn_type"' in body:
            examples.append(Example("json block", body, Connection.from_json(body, conn_id="doc")))
        elif lang == "bash":
            examples.extend(shell_examples(body))
    return examples


EXAMPLES = doc_examples()


def typed(schema: Mapping[str, Any], value: Any) -> Any:
    """The value the declared schema type says a form field holds (URI extras arrive as strings)."""
    kinds = schema.get("type")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    if "boolean" in kinds:
        return value if isinstance(value, bool) else str(value).lower() == "true"
    if "integer" in kinds:
        return int(value)
    if "number" in kinds:
        return float(value)
    return str(value)


def reroot(extra: Mapping[str, Any], root: Path) -> dict[str, Any]:
    """Same extras with every path under ``root``; the files (or CA directory) are created."""
    moved = dict(extra)
    for name in PATH_FIELDS:
        if extra.get(name):
            target = root / str(extra[name]).lstrip("/")
            if name == "ca_cert" and not target.suffix:
                target.mkdir(parents=True, exist_ok=True)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text("placeholder, never sent\n")
            moved[name] = str(target)
    return moved


def has_credential(extra: Mapping[str, Any]) -> bool:
    return any(extra.get(name) for name in CREDENTIALS)


def expected_base_url(conn: Connection) -> str:
    if "://" in (conn.host or ""):
        return str(conn.host).rstrip("/")
    port = f":{conn.port}" if conn.port else ""
    return f"https://{conn.host}{port}/{conn.schema}"


def test_doc_has_every_form_for_both_types() -> None:
    """The page promises JSON blocks, env JSON, env URI and CLI forms; each one must be shown working."""
    seen = {(e.origin, e.conn.conn_type) for e in EXAMPLES}
    for origin in ("json block", "env json", "env uri", "cli json", "cli uri"):
        assert {t for o, t in seen if o == origin}, f"no {origin} example in {DOC.name}"
    for conn_type in conn_fields():
        assert (("json block", conn_type)) in seen, f"no JSON example for {conn_type}"


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: f"{e.origin}:{e.conn.conn_type}:{e.text[:40]}")
def test_example_builds_settings(example: Example, tmp_path: Path) -> None:
    """Each example names only declared fields and yields the settings it claims, typed."""
    declared = conn_fields()
    conn = example.conn
    assert conn.conn_type in declared, f"unknown conn_type {conn.conn_type!r}"
    extra = conn.extra_dejson
    unknown = set(extra) - set(declared[conn.conn_type])
    assert not unknown, f"{example.origin} uses undeclared extras {sorted(unknown)}"
    moved = reroot(extra, tmp_path)
    settings = ConnectionSettings.from_connection(conn, extra=moved, environ={})
    assert settings.base_url == expected_base_url(conn)
    assert settings.base_url.startswith("https://")
    for name, value in moved.items():
        want = typed(declared[conn.conn_type][name]["schema"], value)
        if name == "max_response_mb":
            assert settings.max_response_bytes == want << 20
        else:
            assert getattr(settings, name) == want, name
    if conn.password:
        assert settings.token == conn.password
        assert conn.password not in repr(settings)


def test_credential_free_example_uses_environment(tmp_path: Path) -> None:
    """The doc says a connection without credentials falls back to BEARER_TOKEN_FILE / X509_USER_PROXY."""
    bare = [e for e in EXAMPLES if not e.conn.password and not has_credential(e.conn.extra_dejson)]
    assert bare, "the doc's environment-fallback example is missing"
    token = tmp_path / "bt_u1000"
    token.write_text("not a real token\n")
    proxy = tmp_path / "x509up_u1000"
    proxy.write_text("placeholder\n")
    for example in bare:
        extra = reroot(example.conn.extra_dejson, tmp_path)
        env = {"BEARER_TOKEN_FILE": str(token), "X509_USER_PROXY": str(proxy)}
        settings = ConnectionSettings.from_connection(example.conn, extra=extra, environ=env)
        assert settings.token_file == str(token)
        env = {"BEARER_TOKEN_FILE": str(tmp_path / "absent"), "X509_USER_PROXY": str(proxy)}
        settings = ConnectionSettings.from_connection(example.conn, extra=extra, environ=env)
        assert settings.proxy == str(proxy)


def field_rows() -> dict[str, list[str]]:
    """``field`` -> the cells of its row in the doc's Fields table."""
    rows: dict[str, list[str]] = {}
    for line in DOC.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        match = re.fullmatch(r"`(\w+)`", cells[0]) if len(cells) == 4 else None
        if match:
            rows[match.group(1)] = cells
    return rows


def test_fields_table_lists_every_field_with_its_default() -> None:
    """Every conn-field of both types has a row whose label and default match get_provider_info."""
    rows = field_rows()
    for conn_type, declared in conn_fields().items():
        for name, spec in declared.items():
            assert name in rows, f"{conn_type} field {name} missing from the Fields table"
            _, label, meaning, default = rows[name]
            assert label.startswith(spec["label"]), (name, label)
            assert meaning
            if "default" in spec["schema"]:
                assert default == f"`{json.dumps(spec['schema']['default'])}`", (name, default)
            else:
                assert default == "—", (name, default)


def test_declared_defaults_match_settings_defaults() -> None:
    """The form's defaults and ConnectionSettings' defaults are the same numbers (the doc shows one)."""
    defaults = {f.name: f.default for f in fields(ConnectionSettings)}
    for declared in conn_fields().values():
        for name, spec in declared.items():
            if "default" not in spec["schema"]:
                continue
            if name == "max_response_mb":
                assert defaults["max_response_bytes"] == spec["schema"]["default"] << 20
            else:
                assert defaults[name] == spec["schema"]["default"], name


def test_printed_emulator_connections_work_over_https(emulator: EmulatorProcess) -> None:
    """The doc's emulator recipe: ``--print-airflow-conns`` lines parse and authenticate for real."""
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "airflow_provider_poms.emulator",
            "--state-dir",
            str(emulator.state_dir),
            "--print-airflow-conns",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    printed = dict(line.split("=", 1) for line in out.splitlines() if line.startswith("AIRFLOW_CONN_"))
    assert set(printed) == {"AIRFLOW_CONN_POMS_DEFAULT", "AIRFLOW_CONN_REQMGR2_DEFAULT"}
    doc_shape = next(e for e in EXAMPLES if "127.0.0.1" in (e.conn.host or ""))
    for name, quoted in printed.items():
        conn = Connection.from_json(
            shlex.split(quoted)[0], conn_id=name.removeprefix("AIRFLOW_CONN_").lower()
        )
        if conn.conn_type == doc_shape.conn.conn_type:
            assert set(conn.extra_dejson) == set(doc_shape.conn.extra_dejson)
        settings = ConnectionSettings.from_connection(conn, environ={})
        hook = PomsHook(settings=settings) if conn.conn_type == "poms" else ReqMgr2Hook(settings=settings)
        ok, message = hook.test_connection()
        assert ok, message
