"""The official WMCore ReqMgr2 client in its own virtualenv, created on first use.

Why separate: WMCore pins old packages and needs pycurl; the provider's environment must never
import it. Created with ``uv venv`` + ``uv pip install reqmgr2==2.4.5.9`` under
``~/.cache/airflow-provider-poms/bench-wmcore`` (override: ``POMS_BENCH_WMCORE_VENV``); a stamp file
makes later runs a no-op. The WMCore client checks the server against a hashed CA *directory*
(``X509_CERT_DIR``), so :func:`ca_dir` builds one next to the emulator's CA file.

    python -P bench/wmcore_env.py        # create (or check) the venv, print its python
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REQMGR2_VERSION = "2.4.5.9"
DEFAULT_VENV = Path.home() / ".cache" / "airflow-provider-poms" / "bench-wmcore"


def venv_dir() -> Path:
    return Path(os.environ.get("POMS_BENCH_WMCORE_VENV") or DEFAULT_VENV)


def _uv() -> list[str]:
    found = shutil.which("uv")
    if found:
        return [found]
    return [sys.executable, "-m", "uv"]


def ensure_venv() -> Path:
    """Create the venv when its stamp is missing; return its python. Raises when it cannot."""
    venv = venv_dir()
    python = venv / "bin" / "python"
    stamp = venv / f".installed-reqmgr2-{REQMGR2_VERSION}"
    if stamp.exists() and python.exists():
        return python
    venv.parent.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(venv, ignore_errors=True)
    uv = _uv()
    subprocess.run([*uv, "venv", "--quiet", "--python", "3.11", str(venv)], check=True)
    subprocess.run(
        [*uv, "pip", "install", "--quiet", "--python", str(python), f"reqmgr2=={REQMGR2_VERSION}"], check=True
    )
    check = "import pycurl, WMCore.Services.ReqMgr.ReqMgr"
    subprocess.run([str(python), "-c", check], check=True)
    stamp.touch()
    return python


def ca_dir(ca_cert: str | os.PathLike[str], where: Path) -> Path:
    """An OpenSSL hashed directory holding ``ca_cert`` (``openssl rehash``)."""
    where.mkdir(parents=True, exist_ok=True)
    shutil.copy(ca_cert, where / "ca.pem")
    subprocess.run(["openssl", "rehash", str(where)], check=True, capture_output=True)
    return where


if __name__ == "__main__":
    print(ensure_venv())
