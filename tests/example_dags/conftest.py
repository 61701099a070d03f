"""Airflow DAG-run fixtures (``airflow_env``, ``run_dag``) from tests/airflow_fixtures.py."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from airflow_fixtures import airflow_env, run_dag  # noqa: F401
