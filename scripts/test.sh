#!/usr/bin/env bash
# The whole test suite: lint, types, then every test tier. `.ci/run` runs exactly `make test`.
#
# Tiers run one after the other, each its own pytest session, so a slow tier is visible as such
# and one failing tier does not hide the others' results:
#   fast         unit tests and over-the-wire tests against the emulator (HTTPS, certs, tokens)
#   dags         operators, sensors and example DAGs inside real Airflow DAG runs (dag.test)
#   reliability  short chaos run, restarts, bad-input corpus, secret scans, limits
#   e2e          a real Airflow (scheduler, triggerer, dag-processor, api-server) + headless Chromium
#   conformance  the same scenarios against the real ReqMgr2 server and the emulator
# `scripts/test.sh TIER...` runs only the named tiers; extra pytest arguments go after `--`.
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
mkdir -p test-output

declare -A TIER_PATHS=(
  [dags]="tests/operators tests/sensors tests/example_dags"
  [reliability]="tests/reliability"
  [e2e]="tests/e2e"
  [conformance]="tests/conformance"
)
ORDER=(fast dags reliability e2e conformance)

tiers=()
extra=()
while (($#)); do
  if [[ "$1" == "--" ]]; then shift; extra=("$@"); break; fi
  tiers+=("$1"); shift
done
((${#tiers[@]})) || tiers=("${ORDER[@]}")

lint_paths=(airflow_provider_poms tests scripts)
for dir in example_dags bench; do [[ -d "$dir" ]] && lint_paths+=("$dir"); done
echo "== ruff"; ruff check "${lint_paths[@]}" || exit 1
echo "== mypy"; mypy airflow_provider_poms || exit 1

declare -A RESULT
declare -A SECONDS_TAKEN
failed=0
for tier in "${tiers[@]}"; do
  if [[ "$tier" == fast ]]; then
    paths=(tests)
    for other in "${!TIER_PATHS[@]}"; do
      for p in ${TIER_PATHS[$other]}; do paths+=("--ignore=$p"); done
    done
  elif [[ -n "${TIER_PATHS[$tier]:-}" ]]; then
    paths=()
    for p in ${TIER_PATHS[$tier]}; do [[ -e "$p" ]] && paths+=("$p"); done
    if ((${#paths[@]} == 0)); then
      RESULT[$tier]="FAILED (no test files)"; SECONDS_TAKEN[$tier]=0; failed=1; continue
    fi
  else
    echo "unknown tier: $tier (known: ${ORDER[*]})" >&2; exit 2
  fi
  echo
  echo "== pytest tier: $tier"
  start=$(date +%s)
  pytest -p no:cacheprovider -ra --durations=10 --junitxml="test-output/junit-$tier.xml" \
    "${paths[@]}" "${extra[@]}"
  rc=$?
  SECONDS_TAKEN[$tier]=$(( $(date +%s) - start ))
  if ((rc == 0)); then RESULT[$tier]=passed; else RESULT[$tier]="FAILED (pytest exit $rc)"; failed=1; fi
done

echo
echo "== summary"
for tier in "${tiers[@]}"; do
  printf '  %-12s %-24s %5ss\n' "$tier" "${RESULT[$tier]}" "${SECONDS_TAKEN[$tier]}"
done
exit $failed
