#!/usr/bin/env bash
# CI stage of the deployments (issue #7): compose/lab.yaml on Docker and Podman, the
# one-machine JupyterHub on Docker (spawn, code in a kernel, stop; TLS; the GPU choice up to
# Docker's NVIDIA request) and a real browser logging in to it. Runs after
# scripts/setup-engines.sh and `make build-cpu-jupyter`; installs what else it needs itself:
# Debian's chromium (no browser download), the deploy extra (playwright, podman-compose,
# JupyterHub, DockerSpawner) into .venv, the cpu-jupyter image into Podman.
set -euo pipefail
cd "$(dirname "$0")/../.."

die() { echo "error: $*" >&2; exit 2; }
docker info >/dev/null 2>&1 || die "the Docker engine does not answer: bash scripts/setup-engines.sh"
docker image inspect gray-scott-lab:cpu-jupyter >/dev/null 2>&1 \
    || die "gray-scott-lab:cpu-jupyter is not built: make build-cpu-jupyter"

if ! command -v chromium >/dev/null; then
    echo "== chromium (Debian)"
    [ "$(id -u)" = 0 ] || die "chromium is missing: apt-get install chromium (as root)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi

if command -v podman >/dev/null && ! podman image exists gray-scott-lab:cpu-jupyter; then
    echo "== cpu-jupyter into Podman"
    make podman-load IMAGES=cpu-jupyter
fi

make test-deploy PYTEST_ARGS="${PYTEST_ARGS:--v}"
echo "== hub spawn time (build/hub-spawn.json)"
cat build/hub-spawn.json
