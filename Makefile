# Switchyard: `make run` (demo) and `make test` (the whole suite) work on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: setup run test lint typecheck unit bench clean kafka-stop ui browser-deps native native-test

$(STAMP): pyproject.toml
	@scripts/ensure-system-packages.sh
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@touch $(STAMP)

# The environment may set PYTHONDONTWRITEBYTECODE, and then every worker, sink and CLI process the tests
# and the demo start compiles our modules again (about 0.4 s of each start); compileall writes them anyway,
# and only what changed since.
setup: $(STAMP)
	@$(BIN)/python -m compileall -q -j 0 engine agents tables sinks ml loadtest broker switchyard

## ui: build the workflow builder (React + React Flow, Vite) into ui/dist, served by the worker at /ui/
ui: ui/dist/index.html

ui/dist/index.html: ui/package.json ui/package-lock.json $(wildcard ui/src/*) $(wildcard ui/scripts/*) ui/index.html ui/vite.config.js
	cd ui && npm ci --no-audit --no-fund && npm run build

## browser-deps: Debian's Chromium for the browser tests (never `playwright install`: it downloads)
browser-deps:
	-@command -v chromium >/dev/null 2>&1 || scripts/ensure-system-packages.sh chromium

## run: start the local broker, a worker, send the demo stream and show what happened
run: setup ui
	$(BIN)/switchyard demo

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check --exclude '*.md' .

typecheck: setup
	$(BIN)/mypy engine agents tables sinks ml loadtest broker switchyard tests

## test: lint, type-check, then every test (a real Kafka broker is started for the session); the tests that
## need no broker run beside the broker's, in a second pytest process (scripts/run-tests.sh)
test: lint typecheck ui browser-deps
	scripts/run-tests.sh $(PYTEST_ARGS)

## unit: only the tests that need no broker
unit: setup
	$(BIN)/pytest -q -m "not kafka" $(PYTEST_ARGS)

bench: setup
	$(BIN)/python -m loadtest.baseline

## native: a copy of the tree in .native/ whose engine, models and state codec are compiled by mypyc (8-15 min).
## Run a worker from it: cd .native && ../.venv/bin/python -m switchyard worker (it logs "core: compiled (mypyc)")
native: setup ui
	rm -rf .native
	$(BIN)/python -m loadtest.compiled_tree --out .native

## native-test: the engine and model tests, and the load-test oracle's, against the compiled copy (build it first: make native)
native-test:
	cd .native && ../$(BIN)/python -c 'from agents.core_build import describe; print("core:", describe())'
	cd .native && ../$(BIN)/python -m pytest -q -p no:cacheprovider tests/engine tests/ml tests/agents/test_core_build.py \
		tests/loadtest/test_loadtest_pieces.py

kafka-stop:
	-$(BIN)/switchyard kafka stop

clean:
	rm -rf $(VENV) var reports .native .mypy_cache .ruff_cache .pytest_cache
