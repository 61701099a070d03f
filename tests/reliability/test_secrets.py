"""No token, private key or proxy content in task logs, XCom, rendered template fields or exception
text (issue 8 part 4).

Why a real DAG run: masking happens in Airflow's log pipeline and the rendered-fields store, and an
exception's text travels through the task runner; only a real run shows what an operator would see.
One run of tests/reliability/dags/secrets_dags.py covers every kind of credential; everything the
run leaves behind is captured and scanned for the secret values themselves. The scan proves it
looked at the right material too (the failing task's AuthenticationError is in the log, the
rendered spec is in the store), so an empty capture cannot pass.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_poms.emulator.testing import EmulatorProcess
from airflow_provider_poms.hooks.reqmgr2 import ReqMgr2Hook
from airflow_provider_poms.http.errors import AuthenticationError, ConfigurationError

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from airflow_fixtures import DagResult, airflow_env, run_dag  # noqa: F401  (fixtures)

DAGS = Path(__file__).resolve().parent / "dags"


def _key_lines(pem_path: str) -> list[str]:
    """The base64 lines of every PRIVATE KEY block (the certificate part of a proxy is public)."""
    lines, inside = [], False
    for line in Path(pem_path).read_text().splitlines():
        if "PRIVATE KEY" in line:
            inside = "BEGIN" in line
            continue
        if inside and len(line.strip()) >= 16:
            lines.append(line.strip())
    assert lines, f"no private key in {pem_path}"
    return lines


def _conn(host: str, **fields: Any) -> str:
    extra = fields.pop("extra", {})
    return json.dumps({"conn_type": "reqmgr2", "host": host, "extra": extra, **fields})


def _captured(result: DagResult, home: Path, dag_id: str) -> dict[str, str]:
    """Everything the run left behind, by where it came from.

    ``dag.test()`` streams the task logs to the console (captured as ``result.log``); log files
    under ``$AIRFLOW_HOME/logs`` are scanned too in case a logging setup writes them.
    """
    logs = "\n".join(p.read_text(errors="replace") for p in sorted((home / "logs").rglob("*")) if p.is_file())
    with sqlite3.connect(home / "airflow.db") as db:
        rendered = db.execute(
            "SELECT task_id, rendered_fields FROM rendered_task_instance_fields WHERE dag_id = ?", (dag_id,)
        ).fetchall()
        errors = db.execute("SELECT task_id, state FROM task_instance WHERE dag_id = ?", (dag_id,)).fetchall()
    return {
        "console": result.log,
        "task log files": logs,
        "xcom": json.dumps(result.xcom),
        "rendered template fields": json.dumps(rendered),
        "task instances": json.dumps(errors),
    }


@pytest.mark.timeout(900)  # one DAG run (~40 s) plus the session's `airflow db migrate`, on a busy machine
def test_dag_run_leaks_no_secret(
    request: pytest.FixtureRequest, emulator: EmulatorProcess, tmp_path: Path
) -> None:
    run: Callable[..., DagResult] = request.getfixturevalue("run_dag")
    home = Path(request.getfixturevalue("airflow_env")["AIRFLOW_HOME"])
    conn = emulator.conn
    op = conn["identities"]["operator"]
    token = Path(op["token"]).read_text().strip()
    wrong = "wrong-" + secrets.token_hex(20)
    wrong_file = tmp_path / "wrong-token"
    wrong_file.write_text(wrong + "\n")
    wrong_file.chmod(0o600)
    ca = conn["ca_cert"]
    env = {
        "AIRFLOW_CONN_REQMGR2_TOKEN": _conn(conn["reqmgr2_url"], password=token, extra={"ca_cert": ca}),
        "AIRFLOW_CONN_REQMGR2_TOKENFILE": _conn(
            conn["reqmgr2_url"], extra={"ca_cert": ca, "token_file": op["token"]}
        ),
        "AIRFLOW_CONN_REQMGR2_WRONG": _conn(conn["reqmgr2_url"], password=wrong, extra={"ca_cert": ca}),
        "AIRFLOW_CONN_POMS_PROXY": json.dumps(
            {
                "conn_type": "poms",
                "host": conn["poms_url"],
                "extra": {"proxy": op["proxy"], "ca_cert": ca, "experiment": "samdev", "role": "production"},
            }
        ),
    }
    tag = uuid.uuid4().hex[:8]
    result = run("secrets_scan", {"tag": tag}, dags_folder=DAGS, **env)

    # The run did what it should, so the scan covers real traffic and a real failure.
    assert result.states == {
        "create_with_literal_token": "success",
        "approve_with_certificate": "success",
        "launch_with_proxy": "success",
        "approve_with_wrong_token": "failed",
        "probe_literal_token": "success",
        "probe_token_file": "success",
    }, result.states
    captured = _captured(result, home, "secrets_scan")
    everything = "\n".join(captured.values())
    assert "AuthenticationError" in everything  # the wrong token's exception text was captured
    assert "settings of reqmgr2_token: ConnectionSettings(" in captured["console"]  # task output too
    assert f"AFsecrets_{tag}" in captured["rendered template fields"]
    assert "token='***'" in captured["xcom"]  # the probe's settings repr went to XCom, masked

    secret_values = {
        "literal/file token": token,
        "wrong token": wrong,
        **{f"client key line {i}": v for i, v in enumerate(_key_lines(op["client_key"]))},
        **{f"proxy key line {i}": v for i, v in enumerate(_key_lines(op["proxy"]))},
    }
    leaks = [
        f"{name} in {where}"
        for where, text in captured.items()
        for name, value in secret_values.items()
        if value in text
    ]
    assert leaks == []


def test_exception_text_never_holds_the_token(emulator: EmulatorProcess, tmp_path: Path) -> None:
    """Outside Airflow (no masker), the error itself must not carry the token: 401s, bad files."""
    wrong = "wrong-" + secrets.token_hex(20)
    hook = ReqMgr2Hook(settings=emulator.settings("reqmgr2", auth="token", token=wrong, token_file=None))
    try:
        with pytest.raises(AuthenticationError) as info:
            hook.get_info()
    finally:
        hook.close()
    text = f"{info.value} {info.value!r} {json.dumps(info.value.details(), default=str)}"
    assert wrong not in text and "401" in text
    assert wrong not in repr(hook.get_settings())

    two = tmp_path / "two-tokens"
    two.write_text(f"{wrong} second-{wrong}\n")
    with pytest.raises(ConfigurationError) as bad:
        ReqMgr2Hook(settings=emulator.settings("reqmgr2", auth="token", token_file=str(two))).get_info()
    assert str(two) in str(bad.value) and wrong not in str(bad.value)
