#!/usr/bin/env bash
# The one-machine hub's commands (the Makefile's hub targets call them):
#   hub.sh env                 compose/hub/.env: generated API token, the Docker socket's group
#   hub.sh up                  build the hub image and start it (HUB_TLS_DIR=/path: HTTPS)
#   hub.sh admin NAME...       make teachers admins (prints their generated passwords)
#   hub.sh down                stop the hub and the users' servers (their volumes and disks
#                              stay; the disks' loop devices are detached, the labs'
#                              networks and egress rules removed)
#   hub.sh swarm-up            the same hub on the Docker Swarm this engine manages
#                              (compose/hub/stack.yaml: labs are swarm services)
#   hub.sh swarm-down          remove that stack and the users' services (volumes stay)
#   hub.sh sync [--from PATH]  a course update for the class: running labs now (sync-labs.sh)
# HUB_ENV_FILE (default compose/hub/.env) and HUB_NAME (gslab-hub) choose the hub.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
envfile=${HUB_ENV_FILE:-$here/.env}
socket=${DOCKER_SOCKET:-/var/run/docker.sock}

die() { echo "error: $*" >&2; exit 2; }

compose() {
    local files=(--env-file "$envfile" -f "$here/compose.yaml")
    if [ -n "${HUB_TLS_DIR:-}" ]; then
        [ -f "$HUB_TLS_DIR/cert.pem" ] && [ -f "$HUB_TLS_DIR/key.pem" ] \
            || die "HUB_TLS_DIR=$HUB_TLS_DIR must hold cert.pem and key.pem"
        files+=(-f "$here/tls.yaml")
    fi
    docker compose "${files[@]}" "$@"
}

write_env() {
    bash "$here/../gen-env.sh" "$envfile" GSLAB_HUB_API_TOKEN >/dev/null
    if ! grep -q '^DOCKER_GID=' "$envfile"; then
        [ -S "$socket" ] || die "no Docker socket at $socket (set DOCKER_SOCKET)"
        echo "DOCKER_GID=$(stat -c %g "$socket")" >> "$envfile"
    fi
}

# The GPU choice is offered when this machine has an NVIDIA GPU, unless .env or the
# environment says GSLAB_HUB_GPU=yes/no.
detect_gpu() {
    if [ -z "${GSLAB_HUB_GPU:-}" ] && ! grep -q '^GSLAB_HUB_GPU=' "$envfile"; then
        if [ -e /dev/nvidia0 ] || nvidia-smi -L >/dev/null 2>&1; then
            export GSLAB_HUB_GPU=yes
        else
            export GSLAB_HUB_GPU=no
        fi
    fi
}

# The students' disks (GSLAB_HUB_DISK_LIMIT, see gslab_hub/disks.py): once their labs are stopped,
# detach the loop devices (as a host reboot does; the next spawn attaches them again), with
# a short-lived container of the hub's image, as the hub attaches them.
detach_disks() {
    local disks="${HUB_NAME:-gslab-hub}-disks" image
    docker volume inspect "$disks" >/dev/null 2>&1 || return 0
    image=$(grep -E '^HUB_IMAGE=' "$envfile" | cut -d= -f2 || true)
    image=${HUB_IMAGE:-${image:-gray-scott-lab-hub:latest}}
    # shellcheck disable=SC2016  # the script is for the container's shell
    docker run --rm --network none --user 0:0 --cap-drop ALL --cap-add SYS_ADMIN \
        --log-opt max-size=10m --log-opt max-file=3 \
        --security-opt no-new-privileges --device-cgroup-rule 'b 7:* rwm' \
        --device-cgroup-rule 'c 10:237 rwm' -v /dev:/dev -v "$disks:/disks" \
        --entrypoint sh "$image" -c 'for f in /disks/*.ext4; do
            [ -f "$f" ] || continue
            for dev in $(losetup -j "$f" | cut -d: -f1); do losetup -d "$dev"; done
        done'
}

# The host's firewall rules of GSLAB_HUB_LAB_EGRESS=internet (gslab-egress, put in by the hub
# at its start): out once the class is over, whatever the setting says now (it may have
# changed since), by a short-lived container of the hub's image as the hub does it.
remove_egress_rules() {
    local image
    image=$(grep -E '^HUB_IMAGE=' "$envfile" | cut -d= -f2 || true)
    image=${HUB_IMAGE:-${image:-gray-scott-lab-hub:latest}}
    docker run --rm --network host --user 0:0 --cap-drop ALL --cap-add NET_ADMIN \
        --log-opt max-size=10m --log-opt max-file=3 \
        --cap-add NET_RAW --security-opt no-new-privileges --entrypoint gslab-egress \
        "$image" remove "${HUB_NAME:-gslab-hub}" \
        || echo "warning: the host may keep this hub's egress rules (iptables -S | grep GSLAB)" >&2
}

# The names and addresses of this machine, for the certificate the hub makes itself when the
# site gave none (gslab_hub/tls.py): what students may type in their browser.
tls_names() {
    local names
    names="$(hostname 2>/dev/null || true) $(hostname -f 2>/dev/null || true)"
    names+=" $(hostname -I 2>/dev/null || true)"
    if [ -n "${HUB_BIND:-}" ] && [ "$HUB_BIND" != 0.0.0.0 ]; then names+=" $HUB_BIND"; fi
    # shellcheck disable=SC2086  # one word per name
    printf '%s\n' $names | sort -u | tr '\n' ' '
}

# The SHA-256 fingerprint of the certificate served on 127.0.0.1:$1, as browsers show it
fingerprint() {
    python3 - "$1" <<'PY' 2>/dev/null || true
import hashlib, ssl, sys
pem = ssl.get_server_certificate(("127.0.0.1", int(sys.argv[1])))
digest = hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest().upper()
print(":".join(digest[i:i + 2] for i in range(0, len(digest), 2)))
PY
}

# A hub that exits at its start (a refused setting: its one "error:" line) is restarted by
# Docker again and again: stop it and say why, instead of waiting for it to answer.
hub_refused() {
    local name=${HUB_NAME:-gslab-hub} state line
    state=$(docker inspect -f '{{.State.Running}} {{.RestartCount}}' "$name" 2>/dev/null) || return 0
    [ "$state" != "true 0" ] || return 0
    line=$(docker logs --tail 20 "$name" 2>&1 | grep -E '^error: ' | tail -n 1 || true)
    [ -n "$line" ] || return 0
    compose stop hub >/dev/null 2>&1 || true
    die "the hub refused to start: ${line#error: }"
}

# wait_ready [LOGS-COMMAND...]: the hub's health answers (HTTPS, or plain HTTP where the hub
# chose it: gslab_hub/tls.py), or its logs and an error.
wait_ready() {
    local scheme port host
    port=$(grep -E '^HUB_PORT=' "$envfile" | cut -d= -f2 || true)
    port=${HUB_PORT:-${port:-8000}}
    host=$(hostname -f 2>/dev/null || hostname)
    for _ in $(seq 90); do
        for scheme in https http; do
            if curl -fsk -o /dev/null "$scheme://127.0.0.1:$port/hub/health"; then
                echo "the hub answers at $scheme://$host:$port/"
                echo "the class's progress (teachers): $scheme://$host:$port/services/progress/"
                if [ "$scheme" = https ]; then
                    echo "its certificate's SHA-256 fingerprint (what browsers show): $(fingerprint "$port")"
                fi
                return 0
            fi
        done
        [ $# -gt 0 ] || hub_refused
        sleep 1
    done
    if [ $# -gt 0 ]; then "$@" >&2; else compose logs --tail 40 hub >&2; fi
    die "the hub did not answer on port $port in 90 s (logs above)"
}

# The swarm's hub (stack.yaml). `docker stack deploy` reads no env file: export the env
# file's settings, the environment winning as it does for compose.
export_env_file() {
    local key value
    while IFS='=' read -r key value; do
        [[ $key =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || continue
        [ -n "${!key+set}" ] || export "$key=$value"
    done < "$envfile"
}

swarm_manager() {
    command -v docker >/dev/null || die "docker is not installed"
    docker info >/dev/null 2>&1 || die "the Docker engine does not answer (is dockerd running?)"
    [ "$(docker info -f '{{.Swarm.ControlAvailable}}')" = true ] \
        || die "this engine is not a swarm manager: docker swarm init (see compose/README.md)"
}

# The user's lab services this hub started (GslabSwarmSpawner labels them with the hub's name)
lab_services() {
    docker service ls -q --no-trunc --filter "label=org.gray-scott-lab.hub=${HUB_NAME:-gslab-hub}"
}

swarm_down() {
    local stack=${HUB_NAME:-gslab-hub} ids=() id
    mapfile -t ids < <({ docker service ls -q --no-trunc --filter "label=com.docker.stack.namespace=$stack"
                         lab_services; } | sort -u)
    # The hub first (so that it does not see its labs go), then the labs. The stack's
    # network is still in use by the labs then: removed below, once they are gone.
    docker stack rm "$stack" >/dev/null 2>&1 || true
    mapfile -t labs < <(lab_services)
    [ "${#labs[@]}" -eq 0 ] || docker service rm "${labs[@]}" >/dev/null
    # Their containers go asynchronously; the network can go once they have
    for id in "${ids[@]}"; do
        for _ in $(seq 300); do
            [ -z "$(docker ps -aq --filter "label=com.docker.swarm.service.id=$id")" ] && break
            sleep 0.2
        done
    done
    for _ in $(seq 50); do
        docker network inspect "$stack" >/dev/null 2>&1 || break
        docker network rm "$stack" >/dev/null 2>&1 || sleep 0.2
    done
    ! docker network inspect "$stack" >/dev/null 2>&1 || die "network $stack is still in use"
}

# The labs' image must be in the engine before the hub starts (the spawner never pulls, so a
# class never waits on a registry). One that names a registry (HOST[:PORT]/...: a site
# registry, gslab registry up) is pulled with the engine's login and CA, as `gslab registry
# client-config` sets them; a local name must have been built or loaded.
ensure_image() {
    docker image inspect "$1" >/dev/null 2>&1 && return
    local first=${1%%/*}
    if [ "$first" != "$1" ] && { [[ $first == *[.:]* ]] || [ "$first" = localhost ]; }; then
        echo "pulling $1 ..."
        docker pull -q "$1" >/dev/null \
            || die "could not pull $1: docker login ${first} and its CA (gslab registry client-config)"
    else
        die "image $1 is missing: make build-cpu-jupyter (or gslab load)"
    fi
}

case "${1:-}" in
    env)
        write_env
        echo "$envfile is ready"
        ;;
    up)
        command -v docker >/dev/null || die "docker is not installed"
        docker info >/dev/null 2>&1 || die "the Docker engine does not answer (is dockerd running?)"
        write_env
        detect_gpu
        [ -n "${GSLAB_HUB_TLS_NAMES:-}" ] || GSLAB_HUB_TLS_NAMES=$(tls_names)
        export GSLAB_HUB_TLS_NAMES
        image=$(grep -E '^GSLAB_HUB_CPU_IMAGE=' "$envfile" | cut -d= -f2 || true)
        image=${GSLAB_HUB_CPU_IMAGE:-${image:-gray-scott-lab:cpu-jupyter}}
        ensure_image "$image"
        if [ "${GSLAB_HUB_GPU:-}" = yes ] || grep -q '^GSLAB_HUB_GPU=yes' "$envfile"; then
            gpu_image=$(grep -E '^GSLAB_HUB_GPU_IMAGE=' "$envfile" | cut -d= -f2 || true)
            gpu_image=${GSLAB_HUB_GPU_IMAGE:-${gpu_image:-gray-scott-lab:gpu-jupyter}}
            docker image inspect "$gpu_image" >/dev/null 2>&1 \
                || echo "warning: the GPU choice needs $gpu_image: make build-gpu-jupyter" >&2
        fi
        compose up -d --build
        wait_ready
        echo "GPU image offered: ${GSLAB_HUB_GPU:-see .env}; teachers: make hub-admin USERS=\"alice bob\""
        ;;
    admin)
        shift
        [ $# -gt 0 ] || die "usage: make hub-admin USERS=\"alice bob\""
        # the swarm's hub (swarm-up) is a task container of the stack's service
        swarm_hub=$(docker ps -q --filter \
            "label=com.docker.swarm.service.name=${HUB_NAME:-gslab-hub}_hub" 2>/dev/null || true)
        if [ -n "$swarm_hub" ]; then
            docker exec "${swarm_hub%%$'\n'*}" gslab-hub-admin add-teacher "$@"
        else
            compose exec -T hub gslab-hub-admin add-teacher "$@"
        fi
        ;;
    down)
        # The hub first (it keeps the labs running when it stops), then the users' servers
        # it started: compose does not know them and DockerSpawner labels nothing, they are
        # the <hub>-<user> containers on the hub's network. Docker removes each as it stops
        # (DockerSpawner sets auto-remove; the work is in the volumes); wait for that, since
        # a container left would keep the network and the volumes in use.
        compose stop
        # Labs are labelled gslab.hub=<hub> (older ones: on the hub's network), each on a
        # network of its own that the hub joined (labelled too): those go after the labs.
        mapfile -t labs < <( { docker ps -aq --filter "name=^${HUB_NAME:-gslab-hub}-" \
            --filter "network=${HUB_NAME:-gslab-hub}"; docker ps -aq \
            --filter "name=^${HUB_NAME:-gslab-hub}-" --filter "label=gslab.hub=${HUB_NAME:-gslab-hub}"; } \
            | sort -u)
        if [ "${#labs[@]}" -gt 0 ]; then
            docker stop "${labs[@]}" >/dev/null
            for lab in "${labs[@]}"; do
                for _ in $(seq 100); do
                    docker container inspect "$lab" >/dev/null 2>&1 || break
                    [ "$(docker container inspect -f '{{.HostConfig.AutoRemove}}' "$lab" \
                        2>/dev/null)" = false ] && { docker rm "$lab" >/dev/null; break; }
                    sleep 0.1
                done
            done
        fi
        detach_disks
        compose down
        mapfile -t nets < <(docker network ls -q --filter "label=gslab.hub=${HUB_NAME:-gslab-hub}")
        if [ "${#nets[@]}" -gt 0 ]; then
            docker network rm "${nets[@]}" >/dev/null
        fi
        remove_egress_rules
        ;;
    swarm-up)
        [ -z "${HUB_TLS_DIR:-}" ] \
            || die "HUB_TLS_DIR is for make hub; on a swarm, put the site's TLS proxy in front"
        swarm_manager
        write_env
        export_env_file
        [ -n "${GSLAB_HUB_TLS_NAMES:-}" ] || GSLAB_HUB_TLS_NAMES=$(tls_names)
        export GSLAB_HUB_TLS_NAMES
        ensure_image "${GSLAB_HUB_CPU_IMAGE:-gray-scott-lab:cpu-jupyter}"
        compose build hub  # the same hub image as `make hub` (HUB_IMAGE)
        # (no --detach: older CLIs lack it; they and the current ones return at once)
        docker stack deploy -c "$here/stack.yaml" "${HUB_NAME:-gslab-hub}"
        wait_ready docker service logs --tail 40 "${HUB_NAME:-gslab-hub}_hub"
        echo "labs run as swarm services; teachers: make hub-admin USERS=\"alice bob\""
        ;;
    swarm-down)
        swarm_manager
        swarm_down
        ;;
    sync)
        shift
        exec bash "$here/sync-labs.sh" "$@"
        ;;
    *)
        die "usage: $0 env|up|admin NAME...|down|swarm-up|swarm-down|sync [--from PATH]"
        ;;
esac
