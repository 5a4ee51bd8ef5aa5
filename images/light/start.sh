#!/bin/bash
# Entrypoint of the light image: the grayscott CLI. The caches the backends want go to /tmp,
# the only place guaranteed writable (read-only root, arbitrary UID, Apptainer).
set -euo pipefail
mkdir -p "${NUMBA_CACHE_DIR:-/tmp/numba-cache}" "${MPLCONFIGDIR:-/tmp/matplotlib}"
exec grayscott "$@"
