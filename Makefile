# Switchyard: `make run` (demo) and `make test` (the whole suite) work on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: setup run test lint typecheck unit bench clean kafka-stop

$(STAMP): pyproject.toml
	@scripts/ensure-system-packages.sh
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@touch $(STAMP)

setup: $(STAMP)

## run: start the local broker, a worker, send the demo stream and show what happened
run: setup
	$(BIN)/switchyard demo

lint: setup
	$(BIN)/ruff check .

typecheck: setup
	$(BIN)/mypy engine agents tables sinks ml loadtest switchyard

## test: lint, type-check, then every test (a real Kafka broker is started for the session)
test: lint typecheck
	$(BIN)/pytest -q $(PYTEST_ARGS)

## unit: only the tests that need no broker
unit: setup
	$(BIN)/pytest -q -m "not kafka" $(PYTEST_ARGS)

bench: setup
	$(BIN)/python -m loadtest.baseline

kafka-stop:
	-$(BIN)/switchyard kafka stop

clean:
	rm -rf $(VENV) var reports .mypy_cache .ruff_cache .pytest_cache
