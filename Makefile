# The two commands that matter: `make run` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)

.PHONY: install run test test-sqlite test-postgresql lint format bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP)

## Run the whole stack on embedded defaults (SQLite, local Prefect server, local SMTP sink).
run: install
	$(BIN)/zorgtafel run

## Lint, then the whole suite on the database chosen by ZT_TEST_DB (sqlite by default, or postgresql).
test: install
	infra/ensure-chromium.sh
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest
	$(BIN)/pytest -m e2e tests/e2e

test-sqlite: install
	ZT_TEST_DB=sqlite $(BIN)/pytest
	ZT_TEST_DB=sqlite $(BIN)/pytest -m e2e tests/e2e

test-postgresql: install
	ZT_TEST_DB=postgresql $(BIN)/pytest
	ZT_TEST_DB=postgresql $(BIN)/pytest -m e2e tests/e2e

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install
	$(BIN)/python infra/bench/route_latency.py

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .hypothesis *.egg-info
