# The two commands a newcomer needs: `make demo` (the main job) and `make test` (the whole suite).
.PHONY: setup demo test lint bench chaos

setup:
	bash scripts/setup.sh

demo: setup
	@echo 'make demo: not built yet (issue 5 is open); see README.md' >&2; exit 1

test: setup
	bash scripts/test.sh

lint: setup
	.venv/bin/ruff check airflow_provider_poms tests example_dags bench
	.venv/bin/ruff format --check airflow_provider_poms
	.venv/bin/mypy airflow_provider_poms

bench: setup
	.venv/bin/python -m bench

chaos: setup
	.venv/bin/python -m tests.chaos.run --full
