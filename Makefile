# The two commands a newcomer needs: `make demo` (the main job) and `make test` (the whole suite).
.PHONY: setup demo test lint

setup:
	bash scripts/setup.sh

demo: setup
	@echo 'make demo: not built yet (issue 5 is open); see README.md' >&2; exit 1

test: setup
	bash scripts/test.sh

lint: setup
	.venv/bin/ruff check airflow_provider_poms tests
	.venv/bin/ruff format --check airflow_provider_poms
	.venv/bin/mypy airflow_provider_poms
