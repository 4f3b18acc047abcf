# ktrun: every entry point people, CI and hooks use. `make help` lists them.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
# The training backend `make install` adds: cpu (tensorflow-cpu), or gpu (TensorFlow with CUDA:
# `make install BACKEND=gpu` in a fresh clone, since the two TensorFlow packages cannot share a venv).
BACKEND ?= cpu
STAMP := $(VENV)/.installed-$(BACKEND)

.DEFAULT_GOAL := help
.PHONY: help install run test test-fast test-slow test-heavy check lint format schemas bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON) on PATH (or make PYTHON=python3)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[$(BACKEND),dev]"
	touch $(STAMP)

install: $(STAMP) ## create .venv and install ktrun with everything to run and test it

run: install ## run the default experiment (digits, offline)
	$(BIN)/ktrun

PYTEST := $(BIN)/python -m pytest -n auto --maxprocesses 4

test: install ## run the test suite (on up to 4 cores), all but the heavy tests
	$(PYTEST) -m "not heavy"

test-fast: install ## tests that train nothing
	$(PYTEST) -m "not slow"

test-slow: install ## only the slow tests (heavy ones aside)
	$(PYTEST) -m "slow and not heavy"

test-heavy: install ## the heavy tests: every published search, every backbone, HyperModel trials
	$(PYTEST) -m heavy

check: install ## check every shipped experiment
	$(BIN)/ktrun check --all

lint: install ## ruff and mypy
	$(BIN)/ruff check ktrun tests
	$(BIN)/ruff format --check ktrun tests
	$(BIN)/mypy

format: install ## apply ruff's formatting and safe fixes
	$(BIN)/ruff format ktrun tests
	$(BIN)/ruff check --fix ktrun tests

schemas: install ## regenerate schemas/ from the Pydantic models
	$(BIN)/ktrun schema

bench: install ## benchmarks, as ratios against plain Keras / Keras Tuner
	$(BIN)/python -m tests.bench

clean: ## remove run outputs and caches (keeps .venv)
	rm -rf outputs multirun .pytest_cache .ruff_cache .mypy_cache
