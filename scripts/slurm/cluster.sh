#!/usr/bin/env bash
# A real one-node Slurm cluster with Apptainer on its node, in one container (see Dockerfile
# here), for tests and for trying hpc/ without a cluster:
#   cluster.sh start        build the node image if needed, start the node and its daemons
#   cluster.sh stop         remove the node (the student's files stay in $GSLAB_SLURM_DIR)
#   cluster.sh exec CMD...  run CMD on the node as the ordinary user `student`, in their home
#   cluster.sh root CMD...  run CMD on the node as root (sacct for every user, logs)
#   cluster.sh hub          start the cluster hub of hpc/hub on the node (https on port 8000
#                           of the node's address), with an admin service token in
#                           $GSLAB_SLURM_DIR/hub-token (readable by root only) and a
#                           throwaway CA and certificate made on the node (its CA:
#                           /etc/gslab-hub/tls/ca.pem there); GSLAB_HUB_SSL_CERT/_KEY, _URL,
#                           _ALLOW_HTTP (paths on the node), GSLAB_HUB_TEACHERS are passed to
#                           the hub when set
# The student's home on the node (/home/student) is $GSLAB_SLURM_DIR/home/student on this
# host (default /tmp/gslab-slurm), so that tests can read the files jobs wrote. This
# repository is mounted read-only at the same path, and so is GSLAB_SIF_DIR (default
# build/sif here: make sif-cpu-light sif-cpu-jupyter).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
name=${GSLAB_SLURM_NAME:-gslab-slurm}
image=gslab-slurm-node
state=${GSLAB_SLURM_DIR:-/tmp/gslab-slurm}
sif_dir=${GSLAB_SIF_DIR:-$repo/build/sif}

start() {
    if ! docker image inspect "$image" >/dev/null 2>&1; then
        local cert=${PIP_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt} secret=()
        [ -s "$cert" ] && secret=(--secret "id=pipcert,src=$cert")
        docker build -q -t "$image" --build-context "hub=$repo/hpc/hub" "${secret[@]}" \
            "$repo/scripts/slurm" >/dev/null
    fi
    if [ "$(docker inspect -f '{{.State.Running}}' "$name" 2>/dev/null)" != true ]; then
        docker rm -f "$name" >/dev/null 2>&1 || true
        mkdir -p "$state/home/student"
        chown 12345:100 "$state/home/student"
        local mounts=(-v "$state/home:/home" -v "$repo:$repo:ro")
        if [ -d "$sif_dir" ]; then
            sif_dir=$(cd "$sif_dir" && pwd -P)
            case $sif_dir/ in
                "$repo"/*) ;;
                *) mounts+=(-v "$sif_dir:$sif_dir:ro") ;;
            esac
        fi
        local loops=()
        for i in 0 1 2 3 4 5 6 7; do
            [ -e "/dev/loop$i" ] && loops+=(--device "/dev/loop$i")
        done
        docker run -d --name "$name" --hostname gslab-node \
            --cap-add SYS_ADMIN --cap-add SYS_CHROOT --cap-add DAC_READ_SEARCH --cap-add SETPCAP \
            --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
            --security-opt systempaths=unconfined \
            --device /dev/fuse --device /dev/loop-control "${loops[@]}" \
            "${mounts[@]}" "$image" >/dev/null
    fi
    docker exec -i "$name" bash <"$repo/scripts/slurm/node-start.sh"
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

case "${1:-}" in
    start) start ;;
    hub) hub ;;
    stop) docker rm -f "$name" >/dev/null 2>&1 || true ;;
    exec)
        shift
        exec docker exec -i -u student -w /home/student -e HOME=/home/student -e USER=student \
            "$name" "$@"
        ;;
    root)
        shift
        exec docker exec -i "$name" "$@"
        ;;
    *)
        echo "usage: $0 start | stop | hub | exec CMD... | root CMD..." >&2
        exit 2
        ;;
esac
