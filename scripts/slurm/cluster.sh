#!/usr/bin/env bash
# A real Slurm cluster across three containers on their own Docker network (see Dockerfile
# here), for tests and for trying hpc/ without a cluster: the login node `gslab-login`
# (slurmctld, slurmdbd on MariaDB, munge, and the hub of hpc/hub) and two compute nodes
# `gslab-node1`, `gslab-node2` (slurmd, Apptainer), sharing /home and the .sif directory as a
# cluster shares its filesystem:
#   cluster.sh start        build the image if needed, start the nodes and their daemons
#   cluster.sh stop         remove the nodes and their network (the student's files stay in
#                           $GSLAB_SLURM_DIR)
#   cluster.sh exec [--on NODE] CMD...
#                           run CMD as the ordinary user `student`, in their home, on the
#                           login node (or on NODE: gslab-node1, gslab-node2)
#   cluster.sh root [--on NODE] CMD...
#                           run CMD as root on the login node (sacct for every user, logs)
#                           or on NODE
#   cluster.sh kill NODE    kill a compute node's container (a node lost: tests/slurm)
#   cluster.sh hub          start the cluster hub of hpc/hub on the login node (https on port
#                           8000 of its address), with an admin service token in
#                           $GSLAB_SLURM_DIR/hub-token (readable by root only) and a
#                           throwaway CA and certificate made on the node (its CA:
#                           /etc/gslab-hub/tls/ca.pem there); GSLAB_HUB_SSL_CERT/_KEY, _URL,
#                           _ALLOW_HTTP (paths on the node), GSLAB_HUB_TEACHERS are passed to
#                           the hub when set
# /home on every node is $GSLAB_SLURM_DIR/home on this host (default /tmp/gslab-slurm), so
# that tests can read the files jobs wrote; the cluster's munge key is made there too
# ($GSLAB_SLURM_DIR/etc, root only). This repository is mounted read-only at the same path,
# and so is GSLAB_SIF_DIR (default build/sif here: make sif-cpu-light sif-cpu-jupyter).
#
# Capabilities: the login node runs with Docker's defaults (its daemons drop to their users
# with setuid/setgid, which those include). A compute node gets what Apptainer needs to run a
# .sif as an ordinary user without setuid (scripts/apptainer/container-flags.sh, the same as
# the Apptainer helper's, each flag's reason there). Never --privileged. And a /dev/shm as a host
# has (Docker gives 64 MB): MPICH's shared memory between the ranks of one node lives there.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
name=${GSLAB_SLURM_NAME:-gslab-slurm}
image=gslab-slurm-node
state=${GSLAB_SLURM_DIR:-/tmp/gslab-slurm}
sif_dir=${GSLAB_SIF_DIR:-$repo/build/sif}
network=$name-net
#: the compute nodes' host names (the containers are $name-<host name>)
compute_nodes=(gslab-node1 gslab-node2)
login_node=gslab-login

# container NODE: the container of a node's host name (the login node's is $name)
container() {
    case $1 in
        "$login_node") echo "$name" ;;
        gslab-node[0-9]) echo "$name-$1" ;;
        *)
            echo "error: no node '$1' (nodes: $login_node ${compute_nodes[*]})" >&2
            return 2
            ;;
    esac
}

running() {
    [ "$(docker inspect -f '{{.State.Running}}' "$1" 2>/dev/null)" = true ]
}

# run_node HOST ARGS...: (re)start the container of node HOST on the network, with ARGS
run_node() {
    local host=$1 box
    box=$(container "$host")
    shift
    running "$box" && return 0
    docker rm -f "$box" >/dev/null 2>&1 || true
    docker run -d --name "$box" --hostname "$host" --network "$network" \
        --network-alias "$host" "${mounts[@]}" "$@" "$image" >/dev/null
}

start() {
    if ! docker image inspect "$image" >/dev/null 2>&1; then
        local cert=${PIP_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt} secret=()
        [ -s "$cert" ] && secret=(--secret "id=pipcert,src=$cert")
        docker build -q -t "$image" --build-context "hub=$repo/hpc/hub" "${secret[@]}" \
            "$repo/scripts/slurm" >/dev/null
    fi
    docker network inspect "$network" >/dev/null 2>&1 ||
        docker network create "$network" >/dev/null
    mkdir -p "$state/home/student" "$state/etc"
    chown 12345:100 "$state/home/student"
    chmod 700 "$state/etc"
    # munge: one key for the cluster (every host of a real cluster shares it)
    if [ ! -s "$state/etc/munge.key" ]; then
        (umask 077 && dd if=/dev/urandom bs=1 count=1024 of="$state/etc/munge.key" status=none)
    fi
    mounts=(-v "$state/home:/home" -v "$state/etc:/etc/gslab-cluster:ro" -v "$repo:$repo:ro")
    if [ -d "$sif_dir" ]; then
        sif_dir=$(cd "$sif_dir" && pwd -P)
        case $sif_dir/ in
            "$repo"/*) ;;
            *) mounts+=(-v "$sif_dir:$sif_dir:ro") ;;
        esac
    fi
    local apptainer_flags cluster_env=(-e "GSLAB_LOGIN_NODE=$login_node"
        -e "GSLAB_COMPUTE_NODES=${compute_nodes[*]}")
    mapfile -t apptainer_flags < <(bash "$repo/scripts/apptainer/container-flags.sh")
    run_node "$login_node"
    docker exec -i "${cluster_env[@]}" "$name" bash -s login <"$repo/scripts/slurm/node-start.sh"
    local host
    for host in "${compute_nodes[@]}"; do
        run_node "$host" "${apptainer_flags[@]}" --shm-size 1g
        docker exec -i "${cluster_env[@]}" "$(container "$host")" bash -s compute \
            <"$repo/scripts/slurm/node-start.sh"
    done
    docker exec -i "${cluster_env[@]}" "$name" bash -s wait <"$repo/scripts/slurm/node-start.sh"
}

# A throwaway CA and a certificate it signs for the node's names and addresses, made on the
# node once (the hub takes PAM passwords: hpc/hub refuses plain HTTP for that). Keys stay on
# the node, readable by root only; tests trust ca.pem.
hub_certificate() {
    docker exec -i "$name" bash -s <<'SH'
set -euo pipefail
dir=/etc/gslab-hub/tls
[ -s $dir/cert.pem ] && exit 0
mkdir -p $dir && chmod 700 $dir && cd $dir
names="DNS:$(hostname),DNS:localhost,IP:127.0.0.1"
for address in $(hostname -I); do names="$names,IP:$address"; done
openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=gslab test CA" \
    -keyout ca-key.pem -out ca.pem 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=$(hostname)" -keyout key.pem -out cert.csr \
    2>/dev/null
openssl x509 -req -in cert.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 30 \
    -extfile <(printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\n' "$names") \
    -out cert.pem 2>/dev/null
chmod 600 ./*key.pem
SH
}

hub() {
    local token_file=$state/hub-token
    if [ ! -s "$token_file" ]; then
        (umask 077 && od -An -N24 -tx1 /dev/urandom | tr -d ' \n' >"$token_file")
    fi
    if [ -z "${GSLAB_HUB_SSL_CERT:-}${GSLAB_HUB_ALLOW_HTTP:-}" ]; then
        hub_certificate
        export GSLAB_HUB_SSL_CERT=/etc/gslab-hub/tls/cert.pem GSLAB_HUB_SSL_KEY=/etc/gslab-hub/tls/key.pem
    fi
    local settings=() setting
    for setting in GSLAB_HUB_SSL_CERT GSLAB_HUB_SSL_KEY GSLAB_HUB_URL GSLAB_HUB_ALLOW_HTTP GSLAB_HUB_TEACHERS; do
        [ -n "${!setting:-}" ] && settings+=(-e "$setting")
    done
    if ! docker exec "$name" pgrep -f /opt/hub/bin/jupyterhub >/dev/null; then
        local resolved
        resolved=$(cd "$sif_dir" && pwd -P)
        GSLAB_HUB_SERVICE_TOKEN=$(cat "$token_file") docker exec -d -e GSLAB_HUB_SERVICE_TOKEN \
            -e "GSLAB_SIF_DIR=$resolved" -e GSLAB_HUB_CPUS=1 -e GSLAB_HUB_MEMORY=2G \
            "${settings[@]}" -w /var/lib "$name" bash -c "mkdir -p gslab-hub && cd gslab-hub && exec \
            /opt/hub/bin/jupyterhub -f $repo/hpc/hub/jupyterhub_config.py >>/var/log/slurm/hub.log 2>&1"
    fi
    # is it up? (-k: a liveness probe that sends nothing secret; tests verify the certificate)
    local probe=${GSLAB_HUB_URL:-$([ -n "${GSLAB_HUB_SSL_CERT:-}" ] && echo https || echo http)://0.0.0.0:8000}
    probe=$(sed -E 's#^(https?://)[^/]*:([0-9]+).*#\1127.0.0.1:\2/hub/api#' <<<"$probe")
    for _ in $(seq 120); do
        docker exec "$name" curl -kfs -o /dev/null "$probe" && return 0
        sleep 0.5
    done
    echo "error: the hub does not answer (see /var/log/slurm/hub.log on the node)" >&2
    docker exec "$name" tail -n 20 /var/log/slurm/hub.log >&2
    return 1
}

# target ARGS...: the container that `exec`/`root` run in (--on NODE, else the login node);
# sets `box` and `shifted` (how many words --on took)
target() {
    box=$name shifted=0
    if [ "${1:-}" = --on ]; then
        box=$(container "${2:-}") || exit 2
        shifted=2
    fi
}

case "${1:-}" in
    start) start ;;
    hub) hub ;;
    stop)
        for host in "$login_node" "${compute_nodes[@]}"; do
            docker rm -f "$(container "$host")" >/dev/null 2>&1 || true
        done
        docker network rm "$network" >/dev/null 2>&1 || true
        ;;
    kill)
        [ -n "${2:-}" ] && [ "${2:-}" != "$login_node" ] ||
            { echo "usage: $0 kill $(IFS='|' && echo "${compute_nodes[*]}")" >&2 && exit 2; }
        box=$(container "$2") || exit 2
        docker kill "$box" >/dev/null
        ;;
    exec)
        shift
        target "$@"
        shift "$shifted"
        exec docker exec -i -u student -w /home/student -e HOME=/home/student -e USER=student \
            "$box" "$@"
        ;;
    root)
        shift
        target "$@"
        shift "$shifted"
        exec docker exec -i "$box" "$@"
        ;;
    *)
        echo "usage: $0 start | stop | hub | kill NODE | exec [--on NODE] CMD... | root [--on NODE] CMD..." >&2
        exit 2
        ;;
esac
