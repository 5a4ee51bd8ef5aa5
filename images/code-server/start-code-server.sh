#!/bin/bash
# Start code-server on $CODE_SERVER_PORT (8080), always behind a password: $PASSWORD or
# $HASHED_PASSWORD when given, else a generated one printed here. Offline by design: no update
# checks, no telemetry. Everything it writes goes under /tmp unless CODE_SERVER_DATA says
# otherwise, so it runs as any UID on a read-only root filesystem.
set -euo pipefail
port=${CODE_SERVER_PORT:-8080}
data=${CODE_SERVER_DATA:-/tmp/code-server}
if [ ! -w "${HOME:-/nonexistent}" ]; then
    export HOME=/tmp/home
fi
mkdir -p "$HOME" "$data/user/User" "${NUMBA_CACHE_DIR:-/tmp/numba-cache}" "${MPLCONFIGDIR:-/tmp/matplotlib}"
# The lab's settings (no AI chat side bar, telemetry off, no trust prompt) before the window
# first opens: an extension's defaults come too late for the first layout. A student's own
# settings, once saved, are kept.
[ -e "$data/user/User/settings.json" ] || cp /opt/code-server/settings.json "$data/user/User/"

if [ -z "${PASSWORD:-}" ] && [ -z "${HASHED_PASSWORD:-}" ]; then
    PASSWORD=$(python3 -c 'import secrets; print(secrets.token_urlsafe(18))')
    export PASSWORD
    echo "code-server password (generated, set PASSWORD to choose one): ${PASSWORD}"
fi
echo "code-server: open http://127.0.0.1:${port}/ and log in with the password"

exec code-server \
    --bind-addr "0.0.0.0:${port}" \
    --auth password \
    --config "${data}/config.yaml" \
    --user-data-dir "${data}/user" \
    --extensions-dir /opt/code-server/extensions \
    --disable-telemetry \
    --disable-update-check \
    --disable-workspace-trust \
    "$@" "${CODE_SERVER_WORKSPACE:-/work}"
