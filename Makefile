# Gray-Scott Lab: the two commands a newcomer needs are `make lab` and `make test`.
#
#   make lab    the lab in the cpu-jupyter image when Docker runs (built on first use),
#               else JupyterLab on labs/ from a virtualenv (.venv); both through gslab, the
#               URL has its token
#   make test   ruff, shellcheck, hadolint, mypy, pytest (installs the test extras into .venv
#               first); needs no container engine, and sees none where one runs
#
# Everything else (images, runtimes, deployments) is below; `.ci/run` runs it all.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
TEST_EXTRAS ?= dev,numba,jax,render,video,mpi,lab
LAB_EXTRAS ?= numba,jax,render,lab,mpi
PORT ?= 8888
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
comma := ,
.PHONY: help lab labs labs-runtimes labs-sync-bench reference test lint typecheck pytest smoke bench peers bench-full ladder lock images podman-load test-images test-launcher test-registry clean
.PHONY: test-rootless test-slurm slurm-bench-nodes
.PHONY: lab-env hub hub-env hub-admin hub-down hub-lock hub-class test-deploy test-hub-faults
.PHONY: test-hub-hostile
.PHONY: hub-swarm hub-swarm-down test-hub-swarm hub-sync
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

# JupyterLab's settings of the images (no news prompt, no update checks) for .venv too.
LAB_SETTINGS = $(VENV)/share/jupyter/lab/settings/overrides.json

$(VENV)/.lab-deps: pyproject.toml images/jupyter/overrides.json | $(BIN)/python
	$(BIN)/python -m pip install -q -e ".[$(LAB_EXTRAS)]"
	install -D -m 644 images/jupyter/overrides.json $(LAB_SETTINGS)
	touch $@

lab: $(VENV)/.lab-deps ## Start the lab: the cpu-jupyter image when Docker runs, else JupyterLab from .venv
	@if docker info >/dev/null 2>&1; then \
		docker image inspect gray-scott-lab:cpu-jupyter >/dev/null 2>&1 || $(MAKE) build-cpu-jupyter; \
		$(BIN)/gslab run jupyter --runtime docker --port $(PORT) --workdir .; \
	else \
		echo "no container engine: JupyterLab from $(VENV)"; \
		$(BIN)/gslab run jupyter --runtime local --port $(PORT) --workdir labs; \
	fi

labs: $(VENV)/.test-deps ## Regenerate the tutorial notebooks from labs/*/solutions/
	$(BIN)/python -m grayscott.labs.build

labs-sync-bench: $(VENV)/.test-deps ## Time `grayscott labs sync` at a lab start on the real labs: benchmarks/labs-sync-DATE.json
	$(BIN)/python -m grayscott.labs.sync.bench

labs-runtimes: $(VENV)/.test-deps ## Time every solution notebook as the tests run them (SIZE=tiny|small|full; default: the class's): benchmarks/labs-runtimes-DATE.json
	$(BIN)/python -m grayscott.labs.runtimes $(if $(SIZE),--size $(SIZE))

# The school shipped a results/ folder: one small run to look at and compare with. Small on
# purpose (about 5 MB of float32 frames): 1/8 of the school's grid in each direction.
REFERENCE = labs/results/reference.h5
REFERENCE_RUN = --rows 135 --cols 240 --frames 40 --steps 250

reference: $(VENV)/.test-deps ## Regenerate the reference run in labs/results/ (HDF5, PNG, GIF, MP4)
	$(BIN)/grayscott run --backend numpy $(REFERENCE_RUN) --output $(REFERENCE) --force
	$(BIN)/grayscott render $(REFERENCE) --mp4 $(REFERENCE:.h5=.mp4)

test: lint typecheck pytest ## Lint, type-check and run the tests

lint: $(VENV)/.test-deps ## ruff, shellcheck, hadolint
	$(BIN)/ruff check .
	$(BIN)/shellcheck .ci/run scripts/*.sh scripts/apptainer/helper.sh scripts/apptainer/apptainer \
		scripts/slurm/*.sh \
		images/*/*.sh compose/gen-env.sh compose/hub/hub.sh compose/hub/sync-labs.sh compose/hub/gslab-egress scripts/ci/*.sh \
		k8s/jupyterhub/install.sh hpc/*.sbatch
	$(BIN)/hadolint images/*/Dockerfile scripts/apptainer/Dockerfile scripts/slurm/Dockerfile \
		compose/hub/Dockerfile

# What mypy checks: the Python files ruff lists under each of these folders (ruff's config
# names the scripts without .py), one mypy run per folder: each is its own import root, and
# both hubs have a jupyterhub_config.py, which one run would take for one module twice.
# tests/ is not in it yet (about 60 errors, most in tests/test_labs.py).
MYPY_ROOTS = grayscott compose hpc scripts
mypy_files = $(filter-out %.toml %.ipynb,$(shell $(BIN)/ruff check --show-files $(1) 2>/dev/null))
define mypy_run
$(if $(call mypy_files,$(1)),$(BIN)/mypy $(call mypy_files,$(1)))

endef

typecheck: $(VENV)/.test-deps ## mypy
	$(foreach root,$(MYPY_ROOTS),$(call mypy_run,$(root)))

# The unit suite: tests/conftest.py leaves the engine suites (its ENGINE_SUITES) out of a
# pytest that does not name them.
pytest: $(VENV)/.test-deps ## pytest (GRAYSCOTT_REQUIRE_BACKENDS=a,b makes those mandatory)
	$(BIN)/grayscott backends
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Images: every name comes from grayscott/data/variants.toml; one build path, `gslab build`
# (the bake file it generates, then labels); `make build-cpu-light`, `make images` (all).
GSLAB_BUILD = $(BIN)/gslab build $(if $(PIP_CERT_FILE),--pip-cert $(PIP_CERT_FILE))

images: $(VENV)/.test-deps ## Build every image variant (gslab build: buildx bake, then labels)
	$(GSLAB_BUILD)

build-%: $(VENV)/.test-deps ## Build one variant, e.g. make build-cpu-light (labels + immutable tag)
	$(GSLAB_BUILD) $*

sif-%: $(VENV)/.test-deps ## Apptainer image (gslab sif): make sif-cpu-light -> build/sif/gray-scott-lab_cpu-light.sif
	$(BIN)/gslab sif $*

podman-load: $(VENV)/.test-deps ## Copy built images from Docker to Podman: make podman-load IMAGES=cpu-light
	docker save $$($(BIN)/python -m grayscott.imagetools tags $(subst $(comma), ,$(IMAGES))) \
		| podman load -q

test-images: $(VENV)/.test-deps ## Test built images: make test-images IMAGES=cpu-light RUNTIMES=docker
	GSLAB_TEST_IMAGES=$(IMAGES) GSLAB_TEST_RUNTIMES=$(RUNTIMES) \
		$(BIN)/python -m pytest tests/images $(PYTEST_ARGS)

smoke: $(VENV)/.test-deps ## Every available backend against numpy on a small grid
	$(BIN)/grayscott smoke

bench: $(VENV)/.test-deps ## Benchmark every available backend on 1080x1920, results in benchmarks/
	$(BIN)/grayscott bench

peers: $(VENV)/.test-deps ## Our CPU kernels beside the C/OpenMP loop, pystencils, Devito in one run (PEERS_PYTHON: a Python with pystencils and devito)
	PYTHONPATH=. $(BIN)/python benchmarks/peers/run.py $(if $(PEERS_PYTHON),--peers-python $(PEERS_PYTHON))

bench-full: $(VENV)/.test-deps ## The school's whole run (1000 frames x 32 steps, HDF5) vs compute and disk alone
	$(BIN)/grayscott bench-full $(if $(BACKENDS),-b $(BACKENDS))

ladder: $(VENV)/.test-deps ## Redraw benchmarks/ladder.png (the README's chart) from benchmarks/*.json
	$(BIN)/python -m grayscott.ladder benchmarks -o benchmarks/ladder.png

LOCK = $(BIN)/uv pip compile pyproject.toml --python-version 3.13 \
	--python-platform x86_64-manylinux_2_28 --generate-hashes -q

lock: $(VENV)/.test-deps ## Regenerate requirements/*.lock.txt (what the images install)
	$(LOCK) --extra numba --extra jax --extra render --extra mpi -o requirements/cpu.lock.txt
	$(LOCK) --extra cuda --extra render --extra mpi -o requirements/gpu.lock.txt
	$(LOCK) --extra numba --extra jax --extra render --extra mpi --extra jupyter-image \
		-c requirements/cpu.lock.txt -o requirements/cpu-jupyter.lock.txt
	$(LOCK) --extra cuda --extra render --extra mpi --extra jupyter-image \
		-c requirements/gpu.lock.txt -o requirements/gpu-jupyter.lock.txt
	$(LOCK) --extra numba --extra jax --extra render --extra mpi --extra vscode-kernel \
		-c requirements/cpu-jupyter.lock.txt -o requirements/cpu-code-server.lock.txt
	$(LOCK) --extra cuda --extra render --extra mpi --extra vscode-kernel \
		-c requirements/gpu-jupyter.lock.txt -o requirements/gpu-code-server.lock.txt

# make run-cpu-jupyter, make run-gpu-code-server, make run-cpu-light ARGS="run -b numba -o /work/x.h5"
run-%: $(VENV)/.test-deps ## Start a variant with gslab: make run-cpu-jupyter, run-gpu-light ARGS="..."
	$(BIN)/gslab run $(patsubst $(firstword $(subst -, ,$*))-%,%,$*) \
		--target $(firstword $(subst -, ,$*)) $(if $(ARGS),-- $(ARGS))

test-launcher: $(VENV)/.test-deps ## gslab on real engines: make test-launcher RUNTIMES=docker,podman
	GSLAB_TEST_RUNTIMES=$(RUNTIMES) $(BIN)/python -m pytest tests/launcher $(PYTEST_ARGS)

# A real Slurm cluster (a login node: slurmctld, slurmdbd, the hub; two compute nodes: slurmd,
# Apptainer) in containers (scripts/slurm/cluster.sh); jobs submitted as its ordinary user run
# the .sif files (run as root, after make sif-cpu-light sif-cpu-jupyter).
test-slurm: $(VENV)/.test-deps ## hpc/*.sbatch on a real Slurm cluster of 2 Apptainer nodes, as a user
	bash scripts/slurm/cluster.sh start
	$(BIN)/python -m pytest tests/slurm $(PYTEST_ARGS)

slurm-bench-nodes: $(VENV)/.test-deps ## The halo exchange on 2 nodes vs 1 (cluster.sh started): benchmarks/slurm-two-nodes-DATE.json
	$(BIN)/python scripts/slurm/bench_nodes.py --sif-dir $(or $(GSLAB_SIF_DIR),build/sif)

# The site registry (issue #27, as root, after make sif-cpu-light sif-cpu-jupyter): gslab
# registry up (TLS, accounts), gslab push of the images and their .sif, pulls by Docker, Podman
# and Apptainer (docker:// and oras://), gslab sif --from registry, the hub's labs from it, a
# bundle mirrored into it; REGISTRY_IMAGES: those pushed; SIF_FROM: the images gslab sif
# converts from the registry (docker://, slow); BENCH=FILE records the times.
REGISTRY_IMAGES ?= cpu-light,cpu-jupyter
SIF_FROM ?= cpu-light
test-registry: $(VENV)/.test-deps $(VENV)/.deploy-deps ## The site registry: push, then pull by Docker, Podman, Apptainer, the hub (root)
	GSLAB_REGISTRY_IMAGES=$(REGISTRY_IMAGES) GSLAB_REGISTRY_SIF_FROM=$(SIF_FROM) \
		GSLAB_REGISTRY_BENCH=$(BENCH) $(BIN)/python -m pytest tests/registry $(PYTEST_ARGS)

# Rootless Podman as on a cluster login node (run as root, after make build-cpu-jupyter): an
# ordinary account made by scripts/rootless-podman.sh with the images in its own storage,
# then gslab run as that account.
ROOTLESS_USER ?= gslab-student
test-rootless: $(VENV)/.test-deps ## gslab as an ordinary user on rootless Podman (as root)
	GSLAB_ROOTLESS_USER=$(ROOTLESS_USER) bash scripts/rootless-podman.sh \
		$$($(BIN)/python -m grayscott.imagetools tags cpu-light cpu-jupyter | cut -d' ' -f1)
	GSLAB_ROOTLESS_USER=$(ROOTLESS_USER) $(BIN)/python -m pytest tests/launcher/test_rootless_podman.py $(PYTEST_ARGS)

# Compose deployments (compose/README.md): the lab with `docker compose -f compose/lab.yaml`,
# and a site's one-machine JupyterHub.
lab-env: ## compose/.env for compose/lab.yaml: generated token and password (kept if present)
	bash compose/gen-env.sh compose/.env JUPYTER_TOKEN CODE_SERVER_PASSWORD

hub-env: ## compose/hub/.env: generated API token, the Docker socket's group
	bash compose/hub/hub.sh env

hub: ## Start the one-machine JupyterHub (HUB_TLS_DIR=/path for HTTPS): compose/hub
	bash compose/hub/hub.sh up

hub-admin: ## Make teachers hub admins: make hub-admin USERS="alice bob" (prints passwords)
	bash compose/hub/hub.sh admin $(USERS)

hub-down: ## End the class: stop the hub and every user's server (restarting the hub keeps them; volumes are kept)
	bash compose/hub/hub.sh down

hub-sync: ## A course update for the class without a lost edit: running labs now, from their image as it is now (a new version's labs) or FROM=folder|tarball
	bash compose/hub/hub.sh sync $(if $(FROM),--from "$(FROM)")

hub-swarm: ## The same hub on this engine's Docker Swarm (a manager; labs are services): compose/hub/stack.yaml
	bash compose/hub/hub.sh swarm-up

hub-swarm-down: ## Remove the swarm hub's stack and every user's service (volumes are kept)
	bash compose/hub/hub.sh swarm-down

hub-class: $(VENV)/.deploy-deps ## A class at a hub of its own, measured: make hub-class N=40 PATTERN=burst|staggered OUT=benchmarks
	$(BIN)/python -m grayscott.classroom -n $(or $(N),5) --pattern $(or $(PATTERN),burst) \
		--out $(or $(OUT),build) $(CLASS_ARGS)

hub-lock: $(VENV)/.test-deps ## Regenerate compose/hub/requirements.lock.txt
	$(BIN)/uv pip compile compose/hub/requirements.in --python-version 3.13 \
		--python-platform x86_64-manylinux_2_28 --generate-hashes -q -o compose/hub/requirements.lock.txt

$(VENV)/.deploy-deps: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e ".[deploy]"
	touch $@

#: The accidents of a class (issue #13), their own target: the last one restarts dockerd.
HUB_FAULT_TESTS = tests/deploy/test_hub_faults.py tests/deploy/test_hub_disk.py \
	tests/deploy/test_hub_daemon.py
#: A hostile student (issues #13, #22): isolation, takeover attempts, HTTPS, logs, secrets.
HUB_HOSTILE_TESTS = tests/deploy/test_hub_hostile.py tests/deploy/test_hub_takeover.py \
	tests/deploy/test_hub_tls.py tests/deploy/test_hub_logs.py \
	tests/deploy/test_hub_teacher_origin.py tests/deploy/test_hub_image_secrets.py \
	tests/deploy/test_hub_egress.py

test-deploy: $(VENV)/.deploy-deps ## compose + the hub on the real engine, browser included
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python -m pytest tests/deploy \
		$(addprefix --ignore=,$(HUB_FAULT_TESTS) $(HUB_HOSTILE_TESTS)) \
		--ignore=tests/deploy/test_hub_swarm.py $(PYTEST_ARGS)

test-hub-faults: $(VENV)/.deploy-deps ## Hub accidents: OOM, hub down, a full disk, a dockerd RESTART (CI machine)
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python -m pytest $(HUB_FAULT_TESTS) $(PYTEST_ARGS)

test-hub-hostile: $(VENV)/.deploy-deps ## A hostile student: isolation, no egress, no takeover, HTTPS, bounded logs, no secrets
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python -m pytest $(HUB_HOSTILE_TESTS) $(PYTEST_ARGS)

test-hub-swarm: $(VENV)/.deploy-deps ## The hub on a one-node Docker Swarm (swarm init/leave when the engine is in none)
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python -m pytest tests/deploy/test_hub_swarm.py $(PYTEST_ARGS)

clean: ## Remove the virtualenv and caches
	rm -rf $(VENV) build .mypy_cache .ruff_cache .pytest_cache
