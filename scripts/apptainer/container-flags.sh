#!/usr/bin/env bash
# The `docker run` flags of a container that runs Apptainer as an ordinary user, without
# setuid, one per line (read them with mapfile, or split lines): the Apptainer helper
# (helper.sh), the Slurm test cluster's compute nodes (scripts/slurm/cluster.sh) and the
# registry tests' puller (tests/registry) all start theirs with these. Never --privileged:
#   SYS_ADMIN             mount namespaces, squashfuse and overlay mounts of the .sif
#   SYS_CHROOT            pivot into the image's root
#   DAC_READ_SEARCH, SETPCAP   the starter's namespace setup
#   no seccomp/AppArmor profile, host /proc and /sys paths: the default ones refuse the
#                         user-namespace and mount calls
#   /dev/fuse, loop devices    squashfuse and the .sif's image mounts
# (/dev/fuse must then be made 0666 inside, as on ordinary hosts: chmod after the start.)
set -euo pipefail
printf '%s\n' --cap-add SYS_ADMIN --cap-add SYS_CHROOT --cap-add DAC_READ_SEARCH \
    --cap-add SETPCAP --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
    --security-opt systempaths=unconfined --device /dev/fuse --device /dev/loop-control
for i in 0 1 2 3 4 5 6 7; do
    if [ -e "/dev/loop$i" ]; then printf '%s\n' --device "/dev/loop$i"; fi
done
