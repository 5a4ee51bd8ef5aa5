# Gray-Scott Lab: the two commands a newcomer needs are `make lab` and `make test`.
#
#   make lab    the lab in the cpu-jupyter image when Docker runs (built on first use),
#               else JupyterLab on labs/ from a virtualenv (.venv); the URL has its token
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
comma := ,
.PHONY: help lab labs test lint typecheck pytest smoke bench lock images podman-load test-images test-launcher clean
# A TLS-intercepting proxy's CA bundle, handed to image builds as a BuildKit secret (never
# stored in an image). The system bundle is harmless where there is no such proxy.
PIP_CERT_FILE ?= $(wildcard /etc/ssl/certs/ca-certificates.crt)
# Images `make test-images` tests, and through which runtimes.
IMAGES ?= cpu-light
RUNTIMES ?= docker

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

lab: $(VENV)/.lab-deps ## Start the lab: the cpu-jupyter image when Docker runs, else JupyterLab from .venv
	@if docker info >/dev/null 2>&1; then \
		docker image inspect gray-scott-lab:cpu-jupyter >/dev/null 2>&1 || $(MAKE) build-cpu-jupyter; \
		$(BIN)/gslab run jupyter --runtime docker --port $(PORT) --workdir .; \
	else \
		echo "no container engine: JupyterLab from $(VENV)"; \
		$(BIN)/jupyter lab --ServerApp.root_dir=labs --ServerApp.port=$(PORT) $(if $(filter 0,$(shell id -u)),--allow-root); \
	fi

labs: $(VENV)/.test-deps ## Regenerate the tutorial notebooks from labs/*/solutions/
	$(BIN)/python -m grayscott.labs.build

test: lint typecheck pytest ## Lint, type-check and run the tests

lint: $(VENV)/.test-deps ## ruff, shellcheck, hadolint
	$(BIN)/ruff check .
	$(BIN)/shellcheck .ci/run scripts/*.sh scripts/apptainer/helper.sh scripts/apptainer/apptainer \
		images/*/*.sh k8s/jupyterhub/install.sh hpc/*.sbatch
	$(BIN)/hadolint images/*/Dockerfile scripts/apptainer/Dockerfile

typecheck: $(VENV)/.test-deps ## mypy
	$(BIN)/mypy

pytest: $(VENV)/.test-deps ## pytest (GRAYSCOTT_REQUIRE_BACKENDS=a,b makes those mandatory)
	$(BIN)/grayscott backends
	$(BIN)/python -m pytest --ignore=tests/images --ignore=tests/launcher $(PYTEST_ARGS)

# Images: every name comes from grayscott/data/variants.toml through the bake file it
# generates; `make build-cpu-light`, `make build-gpu-jupyter`, `make images` (all of them).
build/docker-bake.json: grayscott/data/variants.toml grayscott/variants.py | $(VENV)/.test-deps
	mkdir -p build
	$(BIN)/python -m grayscott.variants bake $(PIP_CERT_FILE) > $@

images: build/docker-bake.json ## Build every image variant (docker buildx bake), then label them
	docker buildx bake -f $< --load
	$(BIN)/python -m grayscott.variants label $$($(BIN)/python -m grayscott.variants names)

build-%: build/docker-bake.json ## Build one variant, e.g. make build-cpu-light (labels + immutable tag)
	docker buildx bake -f $< --load $*
	$(BIN)/python -m grayscott.variants label $*

sif-%: ## Apptainer image from the Docker one: make sif-cpu-light -> build/sif/gray-scott-lab_cpu-light.sif
	bash scripts/apptainer/helper.sh sif $*

podman-load: $(VENV)/.test-deps ## Copy built images from Docker to Podman: make podman-load IMAGES=cpu-light
	docker save $$($(BIN)/python -m grayscott.variants tags $(subst $(comma), ,$(IMAGES))) \
		| podman load -q

test-images: $(VENV)/.test-deps ## Test built images: make test-images IMAGES=cpu-light RUNTIMES=docker
	GSLAB_TEST_IMAGES=$(IMAGES) GSLAB_TEST_RUNTIMES=$(RUNTIMES) \
		$(BIN)/python -m pytest tests/images $(PYTEST_ARGS)

smoke: $(VENV)/.test-deps ## Every available backend against numpy on a small grid
	$(BIN)/grayscott smoke

bench: $(VENV)/.test-deps ## Benchmark every available backend on 1080x1920, results in benchmarks/
	$(BIN)/grayscott bench

LOCK = $(BIN)/uv pip compile pyproject.toml --python-version 3.13 \
	--python-platform x86_64-manylinux_2_28 --generate-hashes -q

lock: $(VENV)/.test-deps ## Regenerate requirements/*.lock.txt (what the images install)
	$(LOCK) --extra numba --extra jax --extra render -o requirements/cpu.lock.txt
	$(LOCK) --extra cuda --extra render -o requirements/gpu.lock.txt
	$(LOCK) --extra numba --extra jax --extra render --extra jupyter-image \
		-c requirements/cpu.lock.txt -o requirements/cpu-jupyter.lock.txt
	$(LOCK) --extra cuda --extra render --extra jupyter-image \
		-c requirements/gpu.lock.txt -o requirements/gpu-jupyter.lock.txt

# make run-cpu-jupyter, make run-gpu-code-server, make run-cpu-light ARGS="run -b numba -o /work/x.h5"
run-%: $(VENV)/.test-deps ## Start a variant with gslab: make run-cpu-jupyter, run-gpu-light ARGS="..."
	$(BIN)/gslab run $(patsubst $(firstword $(subst -, ,$*))-%,%,$*) \
		--target $(firstword $(subst -, ,$*)) $(if $(ARGS),-- $(ARGS))

test-launcher: $(VENV)/.test-deps ## gslab on real engines: make test-launcher RUNTIMES=docker,podman
	GSLAB_TEST_RUNTIMES=$(RUNTIMES) $(BIN)/python -m pytest tests/launcher $(PYTEST_ARGS)

clean: ## Remove the virtualenv and caches
	rm -rf $(VENV) build .mypy_cache .ruff_cache .pytest_cache
