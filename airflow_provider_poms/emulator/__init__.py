"""Offline POMS + ReqMgr2 emulator (no Airflow import anywhere below this package).

Run it with ``python -m airflow_provider_poms.emulator --state-dir DIR``; drive it from tests
with ``airflow_provider_poms.emulator.testing.EmulatorProcess``. See docs/emulator.md.
"""
