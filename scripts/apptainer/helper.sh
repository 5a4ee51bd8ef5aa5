#!/usr/bin/env bash
# Apptainer for tests, in a helper container (see Dockerfile here):
#   helper.sh start         build the helper image if needed and start it (idempotent)
#   helper.sh stop
# GSLAB_APPTAINER_NAME names the container (default gslab-apptainer): two checkouts testing at
# once each start their own, since a helper binds the checkout that started it.
# The helper mounts /tmp and this repository at the same paths as on the host, so paths mean
# the same inside and out; scripts/apptainer/apptainer forwards `apptainer` calls into it
# (`gslab sif` builds .sif files through it, as root in the helper: APPTAINER_TEST_USER=0:0).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
image=gslab-apptainer
name=${GSLAB_APPTAINER_NAME:-gslab-apptainer}

start() {
    if ! docker image inspect "$image" >/dev/null 2>&1; then
        docker build -q -t "$image" "$repo/scripts/apptainer" >/dev/null
    fi
    if [ "$(docker inspect -f '{{.State.Running}}' "$name" 2>/dev/null)" != true ]; then
        docker rm -f "$name" >/dev/null 2>&1 || true
        local flags
        mapfile -t flags < <(bash "$repo/scripts/apptainer/container-flags.sh")
        docker run -d --name "$name" "${flags[@]}" -v /tmp:/tmp -v "$repo:$repo" "$image" >/dev/null
        # /dev/fuse is 0666 on ordinary hosts (squashfuse mounts the .sif as the user)
        docker exec "$name" chmod 666 /dev/fuse
    fi
}

case "${1:-}" in
    start) start ;;
    stop) docker rm -f "$name" >/dev/null ;;
    *) echo "usage: $0 start | stop" >&2; exit 2 ;;
esac
