#!/usr/bin/env bash
# The whole test suite: lint, types, then every test tier. `.ci/run` runs exactly `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
echo "== ruff"; ruff check airflow_provider_poms tests
echo "== mypy"; mypy airflow_provider_poms
echo "== pytest"
mkdir -p test-output
exec pytest -p no:cacheprovider -ra --durations=15 "$@"
