"""The one-node Slurm cluster of scripts/slurm/cluster.sh, driven as its ordinary user.

Everything a test submits runs for real: sbatch as ``student`` on the node (a container with
Slurm 24.11, slurmdbd and Apptainer), the job runs the .sif files of ``make sif-cpu-light
sif-cpu-jupyter`` with Apptainer as that user, and the test reads what the job left in the
student's home, which is a folder of this host. ``make test-slurm`` runs these tests.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CLUSTER = REPO / "scripts" / "slurm" / "cluster.sh"
SIF_DIR = Path(os.environ.get("GSLAB_SIF_DIR", REPO / "build" / "sif")).resolve()
STATE = Path(os.environ.get("GSLAB_SLURM_DIR", "/tmp/gslab-slurm"))
#: Job states after which a job no longer changes (sacct's names; CANCELLED may carry " by N").
FINAL = ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL")
#: The student's uid on the node (scripts/slurm/Dockerfile).
STUDENT_UID = 12345
#: Another ordinary user of the same node, who squats ports (scripts/slurm/Dockerfile).
MALLORY_UID = 12346


@dataclass(frozen=True)
class Job:
    """A submitted job: its id and its folder, on the node and on this host."""

    id: str
    name: str
    node_dir: str
    host_dir: Path

    @property
    def log(self) -> Path:
        """The job's output (the scripts' --output=%x-%j.out, in the submit folder)."""
        return self.host_dir / f"{self.name}-{self.id}.out"


class Cluster:
    """Commands on the node as ``student`` (or root), and sbatch / sacct / scancel around them."""

    def __init__(self) -> None:
        self.home = STATE / "home" / "student"

    def run(self, command: str, *, root: bool = False, timeout: float = 60,
            check: bool = True, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        """``command`` (bash) on the node; as the student unless ``root``; ``stdin``: what it
        reads (the way to hand it a secret: never in a command line)"""
        result = subprocess.run(["bash", str(CLUSTER), "root" if root else "exec", "bash", "-c",
                                 command], capture_output=True, text=True, timeout=timeout,
                                check=False, input=stdin)
        if check and result.returncode != 0:
            raise AssertionError(f"{command!r} on the node: exit {result.returncode}\n"
                                 f"{result.stdout}{result.stderr}")
        return result

    def folder(self, label: str) -> tuple[str, Path]:
        """A new folder in the student's home, made by the student: (node path, host path)."""
        name = f"{label}-{uuid.uuid4().hex[:8]}"
        self.run(f"mkdir -p tests/{name}")
        return f"/home/student/tests/{name}", self.home / "tests" / name

    def sbatch(self, script: str, *args: str, options: str = "-c 1 --mem=1G", env: str = "",
               label: str = "job", files: dict[str, str] | None = None) -> Job:
        """Submit hpc/``script`` with ``args`` from a new folder holding ``files`` (name: text);
        ``env``: NAME=value words for sbatch's environment."""
        node_dir, host_dir = self.folder(label)
        for name, text in (files or {}).items():
            (host_dir / name).write_text(text)
        words = " ".join(shlex.quote(a) for a in args)
        command = (f"cd {node_dir} && env GSLAB_SIF_DIR={shlex.quote(str(SIF_DIR))} {env} "
                   f"sbatch --parsable {options} {REPO}/hpc/{script} {words}")
        job_id = self.run(command).stdout.strip().split(";")[0]
        assert re.fullmatch(r"\d+", job_id), job_id
        job_name = re.search(r"^#SBATCH --job-name=(\S+)$", (REPO / "hpc" / script).read_text(),
                             re.MULTILINE)
        assert job_name, script
        return Job(job_id, job_name[1], node_dir, host_dir)

    def accounting(self, job: Job) -> tuple[str, str]:
        """(State, ExitCode) of the job's allocation, as sacct reports them to its user."""
        out = self.run(f"sacct -n -X -P -j {job.id} -o State,ExitCode").stdout.strip()
        state, _, code = out.partition("|")
        return state, code

    def wait(self, job: Job, timeout: float = 240) -> tuple[str, str]:
        """Wait until sacct reports a final state: (State, ExitCode)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state, code = self.accounting(job)
            if state.startswith(FINAL):
                return state, code
            time.sleep(1)
        raise AssertionError(f"job {job.id} still {state!r} after {timeout} s\n"
                             f"{job.log.read_text() if job.log.exists() else '(no log yet)'}")

    def wait_running(self, job: Job, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state, _ = self.accounting(job)
            if state == "RUNNING":
                return
            assert not state.startswith(FINAL), f"job {job.id} ended: {state}"
            time.sleep(0.5)
        raise AssertionError(f"job {job.id} did not start within {timeout} s")

    def scancel(self, job: Job) -> None:
        self.run(f"scancel {job.id}")


@pytest.fixture(scope="session")
def cluster() -> Cluster:
    """The cluster, started (or found running) by scripts/slurm/cluster.sh."""
    missing = [n for n in ("gray-scott-lab_cpu-light.sif", "gray-scott-lab_cpu-jupyter.sif")
               if not (SIF_DIR / n).is_file()]
    if missing:
        pytest.fail(f"{', '.join(missing)} missing in {SIF_DIR}: make sif-cpu-light "
                    "sif-cpu-jupyter first (or set GSLAB_SIF_DIR)")
    env = {**os.environ, "GSLAB_SIF_DIR": str(SIF_DIR), "GSLAB_SLURM_DIR": str(STATE)}
    started = subprocess.run(["bash", str(CLUSTER), "start"], capture_output=True, text=True,
                             env=env, timeout=900, check=False)
    assert started.returncode == 0, started.stdout + started.stderr
    cluster = Cluster()
    cluster.run("rm -rf tests")  # the folders of an earlier session's jobs
    # Job ids start again at 1 on a new node: no URL file of an earlier node's job may remain
    for old in (cluster.home / ".gray-scott-lab").glob("jupyter-*.url"):
        old.unlink()
    return cluster


#: The end of mallory's listening programs (run on the node with ``python3 -c``): given a bound
#: ``listener`` (or None), ``received`` and the ``stop`` file's name, answer every request
#: with a 200 (what a readiness check wants) and record it, until ``stop`` exists; then print
#: what was received as JSON.
RECORD_REQUESTS = r"""
while listener is not None and not os.path.exists(stop):
    try:
        connection, _ = listener.accept()
    except TimeoutError:
        continue
    connection.settimeout(2)
    try:
        received.append(connection.recv(65536).decode(errors="replace"))
        connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
    except OSError:
        pass
    connection.close()
print(json.dumps(received))
"""
