#!/usr/bin/env bash
# Give every KEY missing from an env file a generated secret: usage gen-env.sh FILE KEY...
# Compose reads the file (compose/.env, compose/hub/.env); values already there are kept, so
# running it again never changes a token people already use. The file is readable by its
# owner only: it holds the lab's tokens and passwords.
set -euo pipefail
if [ $# -lt 2 ]; then
    echo "usage: $0 FILE KEY..." >&2
    exit 2
fi
file=$1
shift
umask 077
touch "$file"
chmod 600 "$file"
for key in "$@"; do
    if ! [[ $key =~ ^[A-Z_][A-Z0-9_]*$ ]]; then
        echo "error: '$key' is not an environment variable name" >&2
        exit 2
    fi
    if ! grep -q "^${key}=" "$file"; then
        # 32 random bytes as hex: no character needs quoting in compose or a shell
        printf '%s=%s\n' "$key" "$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')" >> "$file"
        echo "$file: generated $key"
    fi
done
