"""Runs one DAG of tests/conformance/dags with ``dag.test()`` in a fresh interpreter.

Same mechanism as tests/airflow_fixtures.py (which the operator tests use), pointed at this tier's
DAG folder: ``python -P dag_runner.py DAG_ID CONF_JSON``.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parents[1]))  # tests/, last: must not shadow stdlib

import airflow_fixtures

airflow_fixtures.DAGS_FOLDER = Path(__file__).resolve().parent / "dags"

if __name__ == "__main__":
    sys.exit(airflow_fixtures.main(sys.argv[1:]))
