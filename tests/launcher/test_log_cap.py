"""Issue #22, attack 4: a student floods her server's stdout; the log on the host stays bounded.

A terminal in the lab can write to ``/proc/1/fd/1`` (the server's stdout, which the engine
logs on the host). Without a cap that file grows past the student's /work cap until the
host's disk, and every other student's lab with it, is full. The test does exactly that to a
server started as ``gslab run jupyter --detach`` does, then measures the files on the host.
"""

from __future__ import annotations

import glob
import os
import subprocess
import time
from pathlib import Path

import pytest

from tests.launcher.test_gslab_engines import SERVING, _start_detached

#: What the student writes: well past every cap below.
FLOOD_BYTES = 60_000_000
#: The caps gslab promises (README), in MiB, per engine: Docker rotates 3 json-files of 10
#: MiB, Podman's conmon starts its one k8s-file afresh at 10 MB. Written here, not read from
#: the code, so that a cap raised by mistake fails the test.
CAP_MIB = {"docker": 30, "podman": 10}
#: One log entry past the cap (the engines check the size before writing a line)
SLACK = 64 * 1024


def log_files(runtime: str, name: str) -> list[Path]:
    """The container's log file on the host and its rotated siblings (``ctr.log.1``...)."""
    template = "{{.LogPath}}" if runtime == "docker" else "{{.HostConfig.LogConfig.Path}}"
    path = subprocess.run([runtime, "inspect", "--format", template, name], capture_output=True,
                          text=True, check=True, timeout=30).stdout.strip()
    assert path.startswith("/"), f"{runtime} names no log file for {name}: {path!r}"
    return [Path(p) for p in sorted(glob.glob(glob.escape(path) + "*"))]


def wait_logged(runtime: str, name: str, marker: str, timeout: float = 60) -> list[Path]:
    """Until ``marker`` (printed after the flood) is in the newest log file on the host: the
    files then. Read from the files, not through ``docker logs``, so that no reader of the
    engine's own sits on a log the flood is still rotating (a CI run once hung there)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        files = log_files(runtime, name)
        newest = max(files, key=lambda f: f.stat().st_mtime) if files else None
        if newest is not None and marker.encode() in tail_bytes(newest):
            return files
        time.sleep(0.5)
    raise AssertionError(f"{marker} never reached {runtime}'s log of {name}: {diagnose(runtime, name)}")


def tail_bytes(path: Path, size: int = 64 * 1024) -> bytes:
    """The last ``size`` bytes of ``path`` (the marker is the last line written)."""
    with path.open("rb") as handle:
        handle.seek(max(0, path.stat().st_size - size))
        return handle.read()


def diagnose(runtime: str, name: str) -> str:
    """What to look at when the engine did not keep up: the log files' sizes and whether the
    engine still answers, each question bounded so that the test fails instead of hanging."""
    sizes: dict[str, object] = {}
    try:
        sizes = {str(f): f.stat().st_size for f in log_files(runtime, name)}
    except (subprocess.SubprocessError, AssertionError, OSError) as exc:
        sizes = {"error": str(exc)}
    try:
        info = subprocess.run([runtime, "info", "--format", "{{.ServerVersion}}"],
                              capture_output=True, text=True, timeout=20, check=False)
        answer = f"answers ({info.stdout.strip() or info.stderr.strip()})"
    except subprocess.TimeoutExpired:
        answer = "does not answer within 20 s"
    return f"log files {sizes}; {runtime} {answer}"


@pytest.mark.parametrize("runtime", SERVING)
def test_a_flood_on_the_servers_stdout_stays_within_the_log_cap(runtime: str,
                                                                 workdir: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("the engines' log files are root's to read")
    _, name = _start_detached(runtime, workdir)
    marker = f"flood-done-{name}"
    line = "x" * 999  # 1000-byte lines: 60 000 of them, light on the engine's log copier
    try:
        try:
            flood = subprocess.run(
                [runtime, "exec", name, "sh", "-c",
                 f"yes {line} | head -c {FLOOD_BYTES} > /proc/1/fd/1; echo {marker} > /proc/1/fd/1"],
                capture_output=True, text=True, timeout=120, check=False)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the flood did not end within 120 s: {diagnose(runtime, name)}")
        assert flood.returncode == 0, flood.stderr
        files = wait_logged(runtime, name, marker)
        sizes = {str(f): f.stat().st_size for f in files}
        total = sum(sizes.values())
        cap = CAP_MIB[runtime] * 2**20
        assert total <= cap + SLACK, (
            f"{runtime}: {total / 2**20:.0f} MiB of log on the host after a "
            f"{FLOOD_BYTES / 1e6:.0f} MB flood, over the {CAP_MIB[runtime]} MiB cap: {sizes}")
    finally:
        # Bounded: a stuck engine fails this test, never the whole stage's time budget.
        subprocess.run([runtime, "rm", "--force", "--time", "5", name] if runtime == "podman"
                       else [runtime, "rm", "--force", name],
                       capture_output=True, timeout=90, check=False)
