"""A student cannot fill the host's disk through a log (issue #22, attack 4).

Her /work has a cap (test_hub_disk), but whatever her server writes to its stdout lands in
the container's log on the host: from a terminal of her lab, ``cat /dev/zero >/proc/1/fd/1``
would grow it until the host's disk (and every loop-backed student disk on it) is full. Every
container the hub starts, and the hub's own, keep a bounded log: written past it here, on
the real engine, and the files on the host measured.

Run by ``make test-hub-hostile``."""

from __future__ import annotations

from pathlib import Path

from tests.deploy.conftest import Hub
from tests.utils import run

#: What the hub allows per container: GSLAB_HUB_LOG_SIZE (10m) x GSLAB_HUB_LOG_FILES (3)
LOG_CAP = 3 * 10 * 2**20
#: Written into each log: more than twice the cap (Docker's JSON framing adds to it)
FLOOD_MB = 80


def log_bytes(container: str) -> int:
    """The container's log on the host: the file Docker writes and its rotated siblings."""
    path = Path(run("docker", "inspect", "-f", "{{.LogPath}}", container).stdout.strip())
    assert path.is_file(), f"{container}: no json-file log at {path}"
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*") if p.is_file())


def flood(container: str, user: str) -> None:
    """Write FLOOD_MB of lines to the container's PID 1 stdout, as its own user can."""
    run("docker", "exec", "--user", user, container, "sh", "-c",
        f"head -c {FLOOD_MB * 2**20} /dev/zero | tr '\\0' x | fold -w 1023 > /proc/1/fd/1",
        timeout=300)


def test_a_lab_writing_to_its_stdout_keeps_a_bounded_log(hub: Hub) -> None:
    user = "loudstudent"  # a name DockerSpawner keeps as it is (no escaping)
    hub.spawn(user)
    lab = f"{hub.name}-{user}"
    flood(lab, "1000")
    assert log_bytes(lab) <= LOG_CAP * 1.05, f"{lab}'s log grew to {log_bytes(lab)} bytes"
    # and the lab still serves (Docker rotates; nothing blocks on a full log)
    assert hub.api("GET", f"/users/{user}").json()["servers"][""]["ready"] is True
    assert hub.api("DELETE", f"/users/{user}/server").status_code in (202, 204)


def test_the_hubs_own_log_is_bounded(hub: Hub) -> None:
    flood(hub.name, "999")
    assert log_bytes(hub.name) <= LOG_CAP * 1.05
    assert hub.api("GET", "/").status_code == 200

