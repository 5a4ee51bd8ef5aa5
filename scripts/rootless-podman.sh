#!/usr/bin/env bash
# A student account with rootless Podman, as on a cluster login node where no daemon and no
# root exist: an ordinary user with /etc/subuid and /etc/subgid ranges, its own
# containers.conf, and the lab images loaded from Docker into its own rootless storage.
# `make test-rootless` runs this, then tests gslab as that user. Run as root; idempotent.
#
#   scripts/rootless-podman.sh [IMAGE...]     (default: gray-scott-lab:cpu-light)
#
# GSLAB_ROOTLESS_USER names the account (default gslab-student).
set -euo pipefail

user=${GSLAB_ROOTLESS_USER:-gslab-student}
images=("$@")
[ ${#images[@]} -gt 0 ] || images=(gray-scott-lab:cpu-light)
# Size of the subordinate ID ranges: 65536 covers every UID an image may use.
range=65536

log() { printf '== %s\n' "$*"; }
fail() { echo "error: $*" >&2; exit 2; }

[ "$(id -u)" = 0 ] || fail "run as root: it creates a user and writes /etc/subuid"
command -v docker >/dev/null || fail "docker is missing: the images are copied from Docker"

export DEBIAN_FRONTEND=noninteractive
if ! command -v podman >/dev/null || ! command -v newuidmap >/dev/null \
        || ! command -v fuse-overlayfs >/dev/null; then
    log "podman, uidmap, fuse-overlayfs"
    apt-get install -y -qq --no-install-recommends podman uidmap fuse-overlayfs >/dev/null
fi

if ! id "$user" >/dev/null 2>&1; then
    log "user $user"
    useradd --create-home --shell /bin/bash "$user"
fi
home=$(getent passwd "$user" | cut -d: -f6)

# The first free start above every range already handed out (other users keep theirs).
next_start() {
    awk -F: -v min=100000 'BEGIN { next_ = min } { end = $2 + $3; if (end > next_) next_ = end }
        END { print next_ }' "$1" 2>/dev/null || echo 100000
}
for kind in uid gid; do
    file=/etc/sub$kind
    touch "$file"
    if ! grep -q "^$user:" "$file"; then
        start=$(next_start "$file")
        log "$file: $user gets $start-$((start + range - 1))"
        usermod "--add-sub${kind}s" "$start-$((start + range - 1))" "$user"
    fi
done

# What rootful Podman gets from /etc/containers/containers.conf, for this user too: lower
# default ulimits (containers may not raise theirs here) and runc (crun refuses the host's
# hybrid cgroups); no systemd session, so cgroupfs and a file for events.
log "$home/.config/containers/{containers,storage}.conf"
conf_dir=$home/.config/containers
install -d -o "$user" -g "$(id -g "$user")" -m 0700 "$home/.config" "$conf_dir"
cat > "$conf_dir/containers.conf" <<'CONF'
# Written by scripts/rootless-podman.sh (Gray-Scott Lab).
[containers]
default_ulimits = ["nofile=8192:8192", "nproc=8192:8192"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
# Native overlayfs in the user namespace (kernel >= 5.13): without this setting Podman
# falls back to vfs, a full copy of every layer (a 1 GB image took 7 GB), and
# fuse-overlayfs needs a /dev/fuse the user may not open.
cat > "$conf_dir/storage.conf" <<'CONF'
# Written by scripts/rootless-podman.sh (Gray-Scott Lab).
[storage]
driver = "overlay"
CONF
chown "$user:" "$conf_dir/containers.conf" "$conf_dir/storage.conf"

as_user() { runuser -u "$user" -- env -C "$home" HOME="$home" "$@"; }

# Podman keeps the image ID Docker reports (the config digest): load only what differs.
for image in "${images[@]}"; do
    want=$(docker image inspect --format '{{.Id}}' "$image") \
        || fail "$image is not in Docker: make build-${image##*:}"
    have=$(as_user podman image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)
    if [ "sha256:$have" = "$want" ] || [ "$have" = "$want" ]; then
        log "$image already in $user's rootless storage"
        continue
    fi
    log "loading $image into $user's rootless storage"
    docker save "$image" | as_user podman load -q
done
as_user podman info --format 'rootless podman {{.Host.Security.Rootless}}, storage {{.Store.GraphDriverName}}, runtime {{.Host.OCIRuntime.Name}}'
