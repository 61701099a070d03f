# The two commands a newcomer needs: `make demo` (the main job) and `make test` (the whole suite).
.PHONY: setup demo test lint bench chaos

setup:
	bash scripts/setup.sh

demo: setup
	.venv/bin/python -P scripts/demo.py $(ARGS)

test: setup
	bash scripts/test.sh

lint: setup
	.venv/bin/ruff check airflow_provider_poms tests scripts example_dags
	.venv/bin/ruff format --check airflow_provider_poms
	.venv/bin/mypy airflow_provider_poms

# Benchmarks (issue 7): full run, writes docs/benchmarks.md. Not part of `make test`.
bench: setup
	.venv/bin/python -P bench/run.py --write-doc docs/benchmarks.md

# Full chaos run (issue 8): writes docs/reliability.md. `make test` runs a short version.
chaos: setup
	.venv/bin/python -P scripts/chaos.py --write-doc docs/reliability.md
