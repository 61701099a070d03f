"""``connection.json`` (what a running emulator tells its clients) and Airflow connection lines."""

from __future__ import annotations

import json
import os
import shlex
from pathlib import Path
from typing import Any

from airflow_provider_poms.emulator.core import EmulatorConfig
from airflow_provider_poms.emulator.pki import Pki
from airflow_provider_poms.emulator.server import CONTROL_PREFIX, identities_json

FILE_NAME = "connection.json"


def build(config: EmulatorConfig, pki: Pki) -> dict[str, Any]:
    identities = identities_json(pki)
    op = identities["operator"]
    data: dict[str, Any] = {
        "url": config.base_url,
        "poms_url": config.poms_url,
        "reqmgr2_url": config.reqmgr2_url,
        "ca_cert": str(pki.ca_cert),
        "client_cert": op["client_cert"],
        "client_key": op["client_key"],
        "proxy": op["proxy"],
        "token": op["token"],
        "identities": identities,
        "pid": os.getpid(),
        "state_dir": str(config.state_dir),
        "persist": config.persist,
        "clock_scale": config.clock_scale,
        "seed": config.seed,
    }
    if config.control:
        data["control_url"] = config.base_url + CONTROL_PREFIX
    return data


def write(state_dir: Path, data: dict[str, Any]) -> Path:
    """Atomic: readers see either no file or the whole file."""
    path = Path(state_dir) / FILE_NAME
    tmp = path.with_name(f".{FILE_NAME}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, path)
    return path


def airflow_connections(data: dict[str, Any], identity: str = "operator", experiment: str | None = None,
                        role: str = "production") -> dict[str, dict[str, Any]]:
    """``AIRFLOW_CONN_*`` name -> JSON connection for both services (certificate auth + token file)."""
    ident = data.get("identities", {}).get(identity) or data
    common = {"client_cert": ident["client_cert"], "client_key": ident["client_key"],
              "ca_cert": data["ca_cert"], "token_file": ident["token"]}
    if experiment is None:
        exps = ident.get("poms_experiments") or {}
        experiment = "samdev" if "samdev" in exps or not exps else sorted(exps)[0]
        role = exps.get(experiment, role)
    return {
        "AIRFLOW_CONN_POMS_DEFAULT": {"conn_type": "poms", "host": data["poms_url"],
                                      "extra": {**common, "experiment": experiment, "role": role}},
        "AIRFLOW_CONN_REQMGR2_DEFAULT": {"conn_type": "reqmgr2", "host": data["reqmgr2_url"],
                                         "extra": dict(common)},
    }


def export_lines(data: dict[str, Any], identity: str = "operator") -> list[str]:
    """Shell lines ``NAME='<json>'`` ready for ``eval`` or an env file."""
    return [f"{name}={shlex.quote(json.dumps(conn, separators=(',', ':')))}"
            for name, conn in airflow_connections(data, identity).items()]
