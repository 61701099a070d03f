"""The command line: connection.json, --print-airflow-conns, ports, SIGTERM, argument checks."""

from __future__ import annotations

import json
import os
import shlex
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from airflow_provider_poms.emulator.testing import EmulatorProcess

MODULE = [sys.executable, "-m", "airflow_provider_poms.emulator"]


def test_connection_json_describes_the_running_server(emulator: EmulatorProcess) -> None:
    conn = json.loads((emulator.state_dir / "connection.json").read_text())
    assert conn == emulator.conn
    assert conn["pid"] == emulator.pid
    assert conn["url"].startswith("https://127.0.0.1:") and int(conn["url"].rsplit(":", 1)[1]) > 0
    assert conn["poms_url"] == conn["url"] + "/poms" and conn["reqmgr2_url"] == conn["url"] + "/reqmgr2"
    assert conn["control_url"] == conn["url"] + "/_emulator"
    op = conn["identities"]["operator"]
    for key in ("client_cert", "client_key", "proxy", "token"):
        assert conn[key] == op[key] and Path(op[key]).is_file()
    assert Path(conn["ca_cert"]).is_file()
    assert set(conn["identities"]) == {"operator", "requestor", "outsider"}
    assert conn["identities"]["requestor"]["reqmgr2_roles"] == [["data-manager", "reqmgr"]]
    assert conn["identities"]["requestor"]["poms_experiments"] == {"samdev": "analysis", "dune": "analysis"}
    assert op["dn"] == "/DC=org/DC=emulator/OU=Users/CN=operator/CN=UID:operator"
    text = (emulator.state_dir / "connection.json").read_text()
    token = Path(op["token"]).read_text().strip()
    assert token not in text  # paths only, never the secret itself


def _parse_exports(stdout: str) -> dict[str, dict]:
    out = {}
    for line in stdout.strip().splitlines():
        name, _, value = line.partition("=")
        (literal,) = shlex.split(value)
        out[name] = json.loads(literal)
    return out


def test_print_airflow_conns_gives_json_connections(emulator: EmulatorProcess) -> None:
    proc = subprocess.run([*MODULE, "--state-dir", str(emulator.state_dir), "--print-airflow-conns"],
                          capture_output=True, text=True, timeout=60, check=True)
    conns = _parse_exports(proc.stdout)
    assert set(conns) == {"AIRFLOW_CONN_POMS_DEFAULT", "AIRFLOW_CONN_REQMGR2_DEFAULT"}
    poms, rm = conns["AIRFLOW_CONN_POMS_DEFAULT"], conns["AIRFLOW_CONN_REQMGR2_DEFAULT"]
    assert poms["conn_type"] == "poms" and poms["host"] == emulator.conn["poms_url"]
    assert rm["conn_type"] == "reqmgr2" and rm["host"] == emulator.conn["reqmgr2_url"]
    for c in (poms, rm):
        assert c["extra"]["client_cert"] == emulator.conn["client_cert"]
        assert c["extra"]["client_key"] == emulator.conn["client_key"]
        assert c["extra"]["ca_cert"] == emulator.conn["ca_cert"]
        assert c["extra"]["token_file"] == emulator.conn["token"]
    assert poms["extra"]["experiment"] == "samdev" and poms["extra"]["role"] == "production"
    assert "experiment" not in rm["extra"]
    # every extra key is a field the provider's connection forms know
    from airflow_provider_poms.get_provider_info import get_provider_info

    forms = {c["connection-type"]: c for c in get_provider_info()["connection-types"]}
    for conn_type, c in (("poms", poms), ("reqmgr2", rm)):
        known = set(forms[conn_type].get("conn-fields", {}))
        assert set(c["extra"]) <= known, set(c["extra"]) - known


def test_airflow_reads_the_printed_connection(emulator: EmulatorProcess) -> None:
    proc = subprocess.run([*MODULE, "--state-dir", str(emulator.state_dir), "--print-airflow-conns",
                           "--identity", "requestor"], capture_output=True, text=True, timeout=60, check=True)
    conns = _parse_exports(proc.stdout)
    from airflow.models.connection import Connection

    conn = Connection.from_json(json.dumps(conns["AIRFLOW_CONN_POMS_DEFAULT"]), conn_id="poms_default")
    assert conn.conn_type == "poms"
    assert conn.extra_dejson["client_cert"] == emulator.conn["identities"]["requestor"]["client_cert"]
    assert conn.extra_dejson["role"] == "analysis"


def test_print_airflow_conns_without_a_server_fails_cleanly(tmp_path: Path) -> None:
    proc = subprocess.run([*MODULE, "--state-dir", str(tmp_path), "--print-airflow-conns"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "connection.json" in proc.stderr and proc.stdout == ""


def test_sigterm_stops_cleanly_and_fixed_port_is_used(tmp_path: Path) -> None:
    with EmulatorProcess(tmp_path / "a") as first:
        port = first.port
    # the port is free again after a clean stop and can be asked for explicitly
    emu = EmulatorProcess(tmp_path / "b", port=port, control=False)
    emu.start()
    try:
        assert emu.port == port
        assert emu.proc is not None
        emu.proc.send_signal(signal.SIGTERM)
        t0 = time.monotonic()
        assert emu.proc.wait(15) == 0
        assert time.monotonic() - t0 < 10
    finally:
        emu.stop()


def test_bad_arguments_are_refused(tmp_path: Path) -> None:
    proc = subprocess.run([*MODULE, "--state-dir", str(tmp_path), "--clock-scale", "0"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "clock-scale" in proc.stderr
    proc = subprocess.run([*MODULE], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "--state-dir" in proc.stderr


def test_startup_failure_reports_the_server_log(tmp_path: Path) -> None:
    with EmulatorProcess(tmp_path / "busy") as first:
        clash = EmulatorProcess(tmp_path / "clash", port=first.port, startup_timeout=30)
        with pytest.raises(RuntimeError, match="Address already in use"):
            clash.start()


def test_state_dir_files_are_private(emulator: EmulatorProcess) -> None:
    for ident in emulator.conn["identities"].values():
        for key in ("client_key", "proxy", "token"):
            assert stat.S_IMODE(os.stat(ident[key]).st_mode) == 0o600


def test_ipv6_loopback_host(tmp_path: Path) -> None:
    with EmulatorProcess(tmp_path, host="::1") as emu:
        assert emu.url == f"https://[::1]:{emu.port}"
        assert emu.session().get(emu.url + "/", timeout=10).status_code == 200
        assert emu.control.health()["ok"] is True
