# Two commands for a newcomer: `make run` opens the app, `make test` runs the test suite.
# Both create (or reuse) .venv and install Hearth with its dependencies. The first time,
# llama-cpp-python compiles llama.cpp from source: about 5 minutes on 2 cores (pip caches
# the wheel, so later setups take seconds).

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export CMAKE_BUILD_PARALLEL_LEVEL ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: setup run test test-all lint bench clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Hearth needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-app: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[starter]"
	@touch $@

$(VENV)/.installed-dev: $(VENV)/.installed-app
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $@

setup: $(VENV)/.installed-app
	$(BIN)/hearth install-starter

run: setup
	$(BIN)/hearth

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -m "not slow"

test-all: $(VENV)/.installed-dev
	$(BIN)/python -m pytest

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check app tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: $(VENV)/.installed-dev
	$(BIN)/python bench/engine_speed.py

clean:
	rm -rf $(VENV) build *.egg-info
