#!/usr/bin/env bash
# Install and start the container engines the image tests drive, on a Debian 12 CI machine
# (root, no registry access): Docker 26 + buildx + compose from Debian 13 "trixie" (pinned
# low so nothing else is upgraded), then a `debian:trixie-slim` base image made locally with
# debootstrap, since no registry can be reached. Idempotent: safe to run twice.
set -euo pipefail

log() { printf '\n== %s\n' "$*"; }

if [ "$(id -u)" != 0 ]; then
    echo "error: run as root (CI): it installs packages and starts dockerd" >&2
    exit 2
fi

export DEBIAN_FRONTEND=noninteractive
if ! command -v dockerd >/dev/null || ! docker buildx version >/dev/null 2>&1; then
    log "Docker engine, buildx and compose from trixie"
    if [ ! -f /etc/apt/sources.list.d/trixie.list ]; then
        echo "deb http://deb.debian.org/debian trixie main" > /etc/apt/sources.list.d/trixie.list
        printf 'Package: *\nPin: release n=trixie\nPin-Priority: 100\n' > /etc/apt/preferences.d/trixie
    fi
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends \
        docker.io/trixie docker-buildx/trixie docker-compose/trixie debootstrap >/dev/null
fi
command -v debootstrap >/dev/null || apt-get install -y -qq --no-install-recommends debootstrap >/dev/null

if ! command -v podman >/dev/null; then
    log "Podman"
    apt-get install -y -qq --no-install-recommends podman uidmap fuse-overlayfs >/dev/null
fi
# On these machines containers cannot raise their rlimits (start them with lower defaults),
# and crun refuses the host's hybrid cgroups: use runc, which Docker brought.
if ! grep -q default_ulimits /etc/containers/containers.conf 2>/dev/null; then
    mkdir -p /etc/containers
    cat >> /etc/containers/containers.conf <<'CONF'
[containers]
default_ulimits = ["nofile=8192:8192", "nproc=8192:8192"]

[engine]
runtime = "runc"
CONF
fi

if ! docker info >/dev/null 2>&1; then
    log "starting dockerd"
    # In a session of its own: the daemon outlives whatever started it (a CI stage, the
    # daemon-restart test), whose process group may be killed when it ends.
    (setsid dockerd >> /tmp/dockerd.log 2>&1 < /dev/null &)
    for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
    docker info >/dev/null 2>&1 || { tail -20 /tmp/dockerd.log; exit 1; }
fi

if ! docker image inspect debian:trixie-slim >/dev/null 2>&1; then
    log "debian:trixie-slim from debootstrap (no registry here)"
    root=$(mktemp -d)
    debootstrap --variant=minbase trixie "$root" http://deb.debian.org/debian >/dev/null
    # What the published slim image carries: no docs, man pages or locales from later
    # installs, and apt caches cleaned after each install.
    cat > "$root/etc/dpkg/dpkg.cfg.d/docker-slim" <<'SLIM'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
SLIM
    cat > "$root/etc/apt/apt.conf.d/docker-clean" <<'CLEAN'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
CLEAN
    find "$root/usr/share/doc" -mindepth 2 ! -name copyright -delete 2>/dev/null || true
    rm -rf "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/var/lib/apt/lists/* \
        "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb
    tar -C "$root" -c . | docker import -c 'CMD ["bash"]' - debian:trixie-slim >/dev/null
    rm -rf "$root"
fi
docker version --format 'docker {{.Server.Version}}'
docker buildx version
podman --version
