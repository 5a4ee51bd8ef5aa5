"""Per-student disk cap (GSLAB_HUB_DISK_LIMIT).

Each student's /work is an ext4 file system of a fixed size: a sparse file in the hub's
volume <hub>-disks, attached to a loop device, mounted by Docker as the student's volume
(local driver, type=ext4, device=/dev/loopN). The kernel enforces the size: a full /work
says ENOSPC to that student only; the host's disk, the hub and the others keep their room.
(Docker's own `--storage-opt size` and volume sizes need XFS with project quotas; a file
size limit is per file.) The loop devices are set up by a short-lived helper container of
the hub's image (e2fsprogs, losetup) with CAP_SYS_ADMIN and the loop devices only."""

from __future__ import annotations

import docker

from .helpers import run_helper

#: The helper's script: $1 the disk's name, $2 its size. Creates the file system once (the
#: lab's user, 1000:100, owns its root; no blocks reserved for root; the journal and inode
#: tables not zeroed: a new sparse file reads as zeros already, so an empty 2G disk costs the
#: host ~1 MB, not 65), attaches it unless it is attached (a host reboot detaches every loop
#: device), and prints the loop device.
DISK_SCRIPT = r"""set -eu
img="/disks/$1.ext4"
if [ ! -f "$img" ]; then
    truncate -s "$2" "$img.new"
    mkfs.ext4 -q -F -m 0 -E root_owner=1000:100,lazy_itable_init=1,lazy_journal_init=1 \
        "$img.new"
    mv "$img.new" "$img"
fi
dev=$(losetup -j "$img" | head -n 1 | cut -d: -f1)
[ -n "$dev" ] || dev=$(losetup -f --show "$img")
echo "$dev"
"""

#: The devices the helper may use: loop devices and /dev/loop-control (hub.sh down's too).
LOOP_RULES = ["b 7:* rwm", "c 10:237 rwm"]  # loop devices, /dev/loop-control


def attach_disk(client: docker.APIClient, image: str, disks_volume: str, name: str,
                size: int) -> str:
    """The student's disk (created at first use), attached: its loop device."""
    status, printed = run_helper(
        client, image, ["sh", "-c", DISK_SCRIPT, "gslab-disk"], [name, str(size)],
        {"gslab.disk-helper": name}, timeout=120,
        binds={disks_volume: {"bind": "/disks", "mode": "rw"},
               "/dev": {"bind": "/dev", "mode": "rw"}},
        cap_add=["SYS_ADMIN"], device_cgroup_rules=LOOP_RULES, network_mode="none")
    device = printed.splitlines()[-1] if printed else ""
    if status != 0 or not device.startswith("/dev/loop"):
        raise RuntimeError(f"could not attach the disk {name} (exit {status}): {printed}")
    return device


def capped_volume(client: docker.APIClient, volume: str, device: str) -> bool:
    """Make ``volume`` mount ``device`` (ext4); False where the student has a plain volume
    from before the cap (kept as it is, uncapped: their work stays where it is)."""
    try:
        options = client.inspect_volume(volume).get("Options") or {}
    except docker.errors.NotFound:
        options = None
    if options is not None:
        if not options.get("device"):
            return False
        if options["device"] == device:
            return True
        # The disk came back on another loop device (a host reboot): the volume is only
        # how to mount it, the work is in the disk's file.
        client.remove_volume(volume)
    client.create_volume(volume, driver="local",
                         driver_opts={"type": "ext4", "device": device})
    return True
