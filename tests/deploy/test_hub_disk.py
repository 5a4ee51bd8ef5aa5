"""Accidents in a class (issue #13): one student fills their disk. Each student's /work is a
file system of GSLAB_HUB_DISK_LIMIT (an ext4 file on a loop device, see gslab_hub/disks.py), so the
kernel stops that student's writes at the cap: their run ends with one line naming the cap
and a readable file of the frames done; the host gave no more than the cap; the other
student writes on; the hub answers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from grayscott.classroom.client import execute, open_kernel
from tests.deploy.conftest import Hub, started_hub
from tests.deploy.test_hub_faults import lab_with_kernel
from tests.utils import run, wait_for

CAP = "64M"
CAP_BYTES = 64 * 2**20

#: A run of 256 x 512 float32 frames (512 KiB each): 200 of them are past a 64M disk. Asked
#: plainly it is refused before it starts (issue #30: the numbers, no file); with --force-size
#: it runs into the cap, as a run does when something else fills the disk meanwhile.
FILL = """
import json, os, re, subprocess, h5py
ARGS = ["grayscott", "run", "-b", "numpy", "-r", "256", "-c", "512", "-n", "200", "-s", "1",
        "-o", "/work/big.h5"]
first = subprocess.run(ARGS, capture_output=True, text=True)
refused = {"rc": first.returncode, "line": first.stderr.strip().splitlines()[-1:],
           "file": os.path.exists("/work/big.h5")}
r = subprocess.run([*ARGS, "--force-size"], capture_output=True, text=True)
with h5py.File("/work/big.h5") as f:
    held = {"shape": list(f["matrix"].shape), "written": int(f.attrs["frames_written"]),
            "completed": bool(f.attrs["completed"]), "last_max": float(f["matrix"][-1].max())}
disk = os.statvfs("/work")
stderr = re.sub(r"\\x1b\\[[0-9;?]*[A-Za-z]", "", r.stderr)  # the progress bar's cursor
print(json.dumps({"refused": refused, "rc": r.returncode, "stderr": stderr.strip().splitlines()[-1:],
                  "traceback": "Traceback" in r.stderr, "held": held,
                  "size": disk.f_blocks * disk.f_frsize, "free": disk.f_bavail * disk.f_frsize}))
"""

#: The other student: 8 MB written and read back, and a small run
WRITE = """
import os, subprocess
data = os.urandom(8 * 2**20)
with open("/work/mine.bin", "wb") as f:
    f.write(data)
with open("/work/mine.bin", "rb") as f:
    same = f.read() == data
r = subprocess.run(["grayscott", "run", "-b", "numpy", "-r", "48", "-c", "64", "-n", "4",
                    "-s", "8", "-o", "/work/small.h5"], capture_output=True, text=True)
print("same", same, "rc", r.returncode, r.stderr[-300:])
"""


@pytest.fixture(scope="module")
def capped_hub(docker_engine: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    settings = {"GSLAB_HUB_DISK_LIMIT": CAP, "GSLAB_HUB_CPU_LIMIT": "1"}
    with started_hub(tmp_path_factory.mktemp("disk-hub"), settings) as hub:
        yield hub


def disk_file(hub: Hub, user: str) -> Path:
    """The student's disk on the host: <hub>-disks/<their volume>.ext4."""
    mountpoint = run("docker", "volume", "inspect", "-f", "{{.Mountpoint}}",
                     f"{hub.name}-disks").stdout.strip()
    return Path(mountpoint) / f"{hub.name}-user-{user}.ext4"


def test_a_student_filling_their_disk_stops_at_the_cap_alone(capped_hub: Hub) -> None:
    hub = capped_hub
    _, roomy_ws = lab_with_kernel(hub, "roomy")
    _, filler_ws = lab_with_kernel(hub, "filler")
    assert "ready" in asyncio.run(execute(roomy_ws, "print('ready')", token=hub.token))

    printed = asyncio.run(execute(filler_ws, FILL, token=hub.token))
    result = json.loads(printed.strip().splitlines()[-1])
    # Asked plainly, a run larger than the room left is refused before it writes (issue #30)
    refused = result["refused"]
    assert refused["rc"] == 2 and not refused["file"], result
    assert "on disk" in refused["line"][0] and "--force-size" in refused["line"][0], result
    # The cap is a file system of that size, and the forced run filled it
    assert result["size"] <= CAP_BYTES and result["free"] < 2**20, result
    # One line naming the cap, exit 2, no traceback
    assert result["rc"] == 2 and not result["traceback"], result
    done = result["held"]["written"]
    assert result["stderr"] == [
        f"error: no space left in /work (the lab's disk quota: {CAP}): /work/big.h5 holds the "
        f"{done} frames finished (readable); delete old runs (rm *.h5) or run fewer frames "
        "(-n) or a smaller grid, then run again"], result
    # The file is readable with the frames done
    assert 50 < done < 200 and result["held"]["shape"] == [done, 256, 512], result
    assert not result["held"]["completed"] and result["held"]["last_max"] > 0.1, result

    # The host gave the student no more than the cap: the disk's file holds the blocks
    disk = disk_file(hub, "filler")
    assert disk.stat().st_size == CAP_BYTES
    assert 48 * 2**20 < disk.stat().st_blocks * 512 <= CAP_BYTES

    # The other student writes on, on their own disk
    printed = asyncio.run(execute(roomy_ws, WRITE, token=hub.token))
    assert "same True rc 0" in printed, printed
    assert disk_file(hub, "roomy").stat().st_blocks * 512 < 32 * 2**20

    # The hub answers and was never restarted; the filler's server runs
    assert requests.get(f"{hub.url}/hub/health", timeout=30).status_code == 200
    hub_state = json.loads(run("docker", "inspect", hub.name).stdout)[0]
    assert hub_state["State"]["Running"] is True and hub_state["RestartCount"] == 0
    status = requests.get(f"{hub.url}/user/filler/api/status", timeout=30,
                          headers={"Authorization": f"token {hub.token}"})
    assert status.status_code == 200

    # After a stop and a new start the disk is attached again, the frames still there
    for user in ("filler", "roomy"):
        assert hub.api("DELETE", f"/users/{user}/server").status_code in (202, 204)
    _, filler_ws = lab_with_kernel_again(hub, "filler")
    printed = asyncio.run(execute(filler_ws, (
        "import h5py, os\nwith h5py.File('/work/big.h5') as f: print('frames', len(f['matrix']))\n"
        "print('limit', os.environ.get('GSLAB_DISK_LIMIT'))"), token=hub.token))
    assert f"frames {done}" in printed and f"limit {CAP}" in printed, printed


def lab_with_kernel_again(hub: Hub, user: str) -> tuple[str, str]:
    """A stopped user's server started again (the user exists): (kernel id, channels URL)."""
    wait_for(lambda: not hub.api("GET", f"/users/{user}").json()["servers"], 60,
             f"{user}'s server to stop")
    hub.spawn(user, new_user=False)
    return open_kernel(hub, user)


def test_a_plain_volume_from_before_the_cap_is_kept(capped_hub: Hub) -> None:
    """A student whose volume was made before the cap keeps it and their work (uncapped)."""
    hub = capped_hub
    volume = f"{hub.name}-user-legacy"
    run("docker", "volume", "create", volume)
    run("docker", "run", "--rm", "-v", f"{volume}:/work", "--entrypoint", "sh", "-u", "1000:100",
        "gray-scott-lab:cpu-jupyter", "-c", "echo old > /work/old.txt")
    _, ws = lab_with_kernel(hub, "legacy")
    printed = asyncio.run(execute(ws, (
        "import os\nprint('text', open('/work/old.txt').read().strip())\n"
        "print('limit', os.environ.get('GSLAB_DISK_LIMIT'))"), token=hub.token))
    assert "text old" in printed and "limit None" in printed, printed
    options = json.loads(run("docker", "volume", "inspect", volume).stdout)[0]["Options"]
    assert not options, options
    assert f"{volume} is a plain volume from before the disk cap" in hub.logs()
    assert hub.api("DELETE", "/users/legacy/server").status_code in (202, 204)
