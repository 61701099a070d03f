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
# The browser tests drive Debian's Chromium through its ChromeDriver (no browser download).
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
  else
    echo "setup: chromium/chromedriver missing and not root: run 'sudo apt-get install chromium chromium-driver'" >&2
  fi
fi
