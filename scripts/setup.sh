#!/usr/bin/env bash
# Creates .venv with everything the demo and the test suite need, from PyPI only.
# Idempotent: a second run checks and returns in a second or two.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if ! command -v uv >/dev/null 2>&1; then
  "$PY" -m pip install --quiet --disable-pip-version-check uv
fi
UV=$(command -v uv || echo "$PY -m uv")
if [ ! -x .venv/bin/python ]; then
  $UV venv --quiet --python "$PY" .venv
fi
# constraints.txt pins every distribution (the official Airflow constraints file is not reachable here).
$UV pip install --quiet --python .venv/bin/python -c constraints.txt -e ".[emulator,test]"
