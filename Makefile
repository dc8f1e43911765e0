# The same targets locally and in CI. Needs only Python 3.11+ and make.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: run test lint typecheck unit install install-test bench fuzz clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python 3.11 or newer is needed")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

## make run: install, start the embedded PostgreSQL (unless REGISTER_DATABASE_URL is set), migrate,
## load the demo once, serve on http://$(HOST):$(PORT)
# The audit trail's signed checkpoints (docs/audit.md) beside the data, so a development register shows
# the whole promise; production names its own directory, outside the database's reach.
run: export REGISTER_AUDIT_CHECKPOINT_DIR ?= $(or $(REGISTER_DATA_DIR),$(CURDIR)/.register)/audit-checkpoints
run: install
	$(BIN)/register db upgrade
	$(BIN)/register demo
	$(BIN)/register serve --host $(HOST) --port $(PORT)

## make test: lint, type-check and the whole suite on a real PostgreSQL
test: install-test lint typecheck unit

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: install-test
	$(BIN)/mypy

unit: install-test
	$(BIN)/pytest

## make bench: the full benchmarks (scale from BENCH_PERSONS); not part of CI
bench: install-test
	$(BIN)/python -m benchmarks.run

## make fuzz: longer property-based fuzzing of parsers and validators
fuzz: install-test
	REGISTER_FUZZ_EXAMPLES=20000 $(BIN)/pytest -m fuzz -p no:cacheprovider

clean:
	-$(BIN)/register db stop
	rm -rf $(VENV) .register .mypy_cache .ruff_cache .pytest_cache
