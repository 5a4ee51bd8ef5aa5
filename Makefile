# Gray-Scott Lab: the two commands a newcomer needs are `make lab` and `make test`.
#
#   make lab    virtualenv (.venv) with grayscott, the CPU backends and JupyterLab,
#               then JupyterLab on labs/ (token printed in the URL)
#   make test   ruff + mypy + pytest (installs the test extras into .venv first)
#
# Later the launcher (`gslab run jupyter`) prefers a container engine when one exists;
# `make lab` stays the no-engine fallback.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
TEST_EXTRAS ?= dev,numba,jax,render
LAB_EXTRAS ?= numba,jax,render,lab
PORT ?= 8888
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help lab labs test lint typecheck pytest smoke bench lock clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.test-deps: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e ".[$(TEST_EXTRAS)]"
	touch $@

$(VENV)/.lab-deps: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e ".[$(LAB_EXTRAS)]"
	touch $@

lab: $(VENV)/.lab-deps ## Start JupyterLab on labs/ from a local virtualenv
	$(BIN)/jupyter lab --ServerApp.root_dir=labs --ServerApp.port=$(PORT) $(if $(filter 0,$(shell id -u)),--allow-root)

labs: $(VENV)/.test-deps ## Regenerate the tutorial notebooks from labs/*/solutions/
	$(BIN)/python -m grayscott.labs.build

test: lint typecheck pytest ## Lint, type-check and run the tests

lint: $(VENV)/.test-deps ## ruff, shellcheck
	$(BIN)/ruff check .
	$(BIN)/shellcheck .ci/run scripts/*.sh

typecheck: $(VENV)/.test-deps ## mypy
	$(BIN)/mypy

pytest: $(VENV)/.test-deps ## pytest (GRAYSCOTT_REQUIRE_BACKENDS=a,b makes those mandatory)
	$(BIN)/grayscott backends
	$(BIN)/python -m pytest $(PYTEST_ARGS)

smoke: $(VENV)/.test-deps ## Every available backend against numpy on a small grid
	$(BIN)/grayscott smoke

bench: $(VENV)/.test-deps ## Benchmark every available backend on 1080x1920, results in benchmarks/
	$(BIN)/grayscott bench

LOCK = $(BIN)/uv pip compile pyproject.toml --python-version 3.13 \
	--python-platform x86_64-manylinux_2_28 --generate-hashes -q

lock: $(VENV)/.test-deps ## Regenerate requirements/*.lock.txt (what the images install)
	$(LOCK) --extra numba --extra jax --extra render --extra lab -o requirements/cpu.lock.txt
	$(LOCK) --extra cuda --extra render --extra lab -o requirements/gpu.lock.txt

clean: ## Remove the virtualenv and caches
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
