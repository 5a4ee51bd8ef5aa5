#!/usr/bin/env bash
# hub.sh sync [--from PATH] (make hub-sync [FROM=PATH]): a course update for the whole class of
# the one-machine hub, without a student's edit lost (grayscott labs sync, issue #25).
#
# - Running labs sync at once. Each through a short-lived helper container of the image its
#   lab was started from, *as that image's name resolves now*, with the student's volume on
#   /work: after `make build-cpu-jupyter` (or `gslab load`) of a new version, that is the new
#   image, so the class gets the new version's labs and its sync while their labs keep running
#   the old one; without a new image, its own labs again (nothing to do). --from PATH: the
#   course's labs from a folder or tarball of this machine instead (mounted read-only).
#   The helper is the lab's own user, no network, no capability, a read-only root. (Not
#   `docker exec` into the lab: it runs the old image, its old labs and its old sync.)
# - Stopped labs are left alone: the lab's start script syncs from the image at the next start.
# One line per student (what the sync did, or its error), then a total; exit 1 if any failed.
set -euo pipefail
hub=${HUB_NAME:-gslab-hub}

die() { echo "error: $*" >&2; exit 2; }

source=""
while [ $# -gt 0 ]; do
    case "$1" in
        --from) [ $# -ge 2 ] || die "--from needs a folder or tarball of the labs"
                source=$2; shift 2 ;;
        --from=*) source=${1#--from=}; shift ;;
        *) die "usage: hub.sh sync [--from FOLDER|TARBALL] (make hub-sync [FROM=PATH])" ;;
    esac
done
if [ -n "$source" ]; then
    [ -d "$source" ] || [ -f "$source" ] || die "--from $source: no such folder or tarball"
    source=$(realpath "$source")
fi
command -v docker >/dev/null || die "docker is not installed"
docker info >/dev/null 2>&1 || die "the Docker engine does not answer (is dockerd running?)"

# The running labs of this hub: <hub>-<user>, labelled gslab.hub=<hub> or (GSLAB_HUB_LAB_SUBNETS
# shared) on the hub's network; as hub.sh down finds them.
mapfile -t labs < <( { docker ps -q --filter "name=^$hub-" --filter "network=$hub"
                       docker ps -q --filter "name=^$hub-" --filter "label=gslab.hub=$hub"; } \
                     | sort -u)

# One student's sync: prints the line, returns non-zero when it failed.
sync_lab() {
    local lab=$1 name user volume image running user_id printed line newer=""
    local args=(--rm --network none --read-only --tmpfs /tmp --cap-drop ALL
                --security-opt no-new-privileges --pids-limit 64 --memory 1g
                --log-opt max-size=1m --label "gslab.hub.sync=$hub" --entrypoint grayscott)
    name=$(docker inspect -f '{{.Name}}' "$lab") || return 1
    user=${name#/"$hub"-}
    volume=$(docker inspect -f \
        '{{range .Mounts}}{{if eq .Destination "/work"}}{{.Name}}{{end}}{{end}}' "$lab")
    if [ "$volume" != "$hub-user-$user" ]; then
        echo "$user: error: its /work is not the volume $hub-user-$user"; return 1
    fi
    image=$(docker inspect -f '{{.Config.Image}}' "$lab")
    running=$(docker inspect -f '{{.Image}}' "$lab")
    if [ "$(docker image inspect -f '{{.Id}}' "$image" 2>/dev/null)" != "$running" ]; then
        newer=" [$image is newer than the lab's image: its labs]"
    fi
    user_id=$(docker inspect -f '{{.Config.User}}' "$lab")
    [ -z "$user_id" ] || args+=(--user "$user_id")
    args+=(-v "$volume:/work")
    local from=/opt/labs
    if [ -n "$source" ]; then
        from=/course/$(basename "$source")
        args+=(-v "$source:$from:ro")
        newer=""
    fi
    if printed=$(docker run "${args[@]}" "$image" labs sync --from "$from" --to /work/labs 2>&1)
    then
        line=$(grep -E '^labs sync ' <<<"$printed" | tail -n 1 || true)
        echo "$user: ${line#labs sync * -> /work/labs: }$newer"
        return 0
    fi
    line=$(grep -E '^error: ' <<<"$printed" | tail -n 1 || true)
    echo "$user: ${line:-error: $(tail -n 1 <<<"$printed")}"
    return 1
}

declare -A running_users=()
synced=0 updated=0 failed=0
for lab in "${labs[@]}"; do
    [ -n "$lab" ] || continue
    name=$(docker inspect -f '{{.Name}}' "$lab" 2>/dev/null) || continue
    running_users[${name#/"$hub"-}]=1
    if out=$(sync_lab "$lab"); then
        synced=$((synced + 1))
        [[ $out == *": up to date ("* ]] || updated=$((updated + 1))
    else
        failed=$((failed + 1))
    fi
    echo "$out"
done
# The students whose lab is stopped: their volumes, without a running lab.
stopped=0
while read -r volume; do
    [ -n "$volume" ] || continue
    user=${volume#"$hub"-user-}
    [ -z "${running_users[$user]:-}" ] || continue
    stopped=$((stopped + 1))
    echo "$user: not running: its labs sync from its image at its next start"
done < <(docker volume ls -q --filter "name=^$hub-user-")

echo "total: $((synced + failed)) running lab(s): $updated updated," \
     "$((synced - updated)) up to date, $failed failed; $stopped stopped (sync at their next start)"
if [ -n "$source" ] && [ "$synced" -gt 0 ]; then
    echo "note: $source is now the course of the running labs; put the same labs in the image" \
         "before they restart (their start syncs from the image's labs)"
fi
[ "$failed" -eq 0 ] || exit 1
