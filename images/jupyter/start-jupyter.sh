#!/bin/bash
# Start JupyterLab on $JUPYTER_PORT (8888), or hand over to jupyterhub-singleuser when a hub
# started us (JUPYTERHUB_API_TOKEN is set). Outside a hub the server always wants a token:
# $JUPYTER_TOKEN when given, else one Jupyter generates and prints in the URL below.
set -euo pipefail
if [ ! -w "${HOME:-/nonexistent}" ]; then
    export HOME=/tmp/home
fi
mkdir -p "$HOME" "${JUPYTER_RUNTIME_DIR}" "${JUPYTER_DATA_DIR}" "${IPYTHONDIR}" \
    "${NUMBA_CACHE_DIR:-/tmp/numba-cache}" "${MPLCONFIGDIR:-/tmp/matplotlib}"

# The labs: the student's copy in the work directory when it is writable, brought up to the
# image's labs at every start by `grayscott labs sync` (first start: a plain copy; later: a
# three-way, cell-aware merge that keeps every change of the student's, with SYNC-REPORT.md
# in the labs and its summary here, in the server's log). Without grayscott (a bare image),
# the old first-start copy. When the directory is not writable, say so: an empty, read-only
# folder with no word of why is what the student would otherwise see (gslab runs the
# container as the directory's owner to avoid it).
workdir=${GRAYSCOTT_WORKDIR:-/work}
labs=${GRAYSCOTT_LABS:-/opt/labs}
if [ ! -w "$workdir" ]; then
    echo "warning: $workdir is not writable by uid $(id -u): the labs are not copied and nothing" \
        "can be saved; run the container as the owner of the directory mounted there" >&2
elif [ -d "$labs" ] && command -v grayscott >/dev/null; then
    # a failed sync never stops the lab: the student's files stay as they were
    grayscott labs sync --from "$labs" --to "$workdir/labs" \
        || echo "warning: the labs sync failed (above); your labs are as they were" >&2
elif [ -d "$labs" ] && [ ! -e "$workdir/labs" ]; then
    cp -r "$labs" "$workdir/labs"
fi

if [ -n "${JUPYTERHUB_API_TOKEN:-}" ]; then
    exec jupyterhub-singleuser --ip=0.0.0.0 "$@"
fi
if [ -n "${JUPYTER_TOKEN+set}" ] && [ -z "${JUPYTER_TOKEN}" ]; then
    echo "error: JUPYTER_TOKEN is empty; the lab never serves without a token" >&2
    exit 2
fi
exec jupyter lab --ip=0.0.0.0 --port="${JUPYTER_PORT:-8888}" "$@"
