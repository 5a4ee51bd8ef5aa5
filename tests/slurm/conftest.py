"""The Slurm cluster of scripts/slurm/cluster.sh, driven as its ordinary user.

Everything a test submits runs for real: sbatch as ``student`` on the login node (a container
with Slurm 24.11's controller and slurmdbd), the job runs on a compute node (a container with
slurmd and Apptainer) the .sif files of ``make sif-cpu-light sif-cpu-jupyter`` as that user,
and the test reads what the job left in the student's home: the cluster's shared /home, a
folder of this host. ``make test-slurm`` runs these tests.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import ssl
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
CLUSTER = REPO / "scripts" / "slurm" / "cluster.sh"
SIF_DIR = Path(os.environ.get("GSLAB_SIF_DIR", REPO / "build" / "sif")).resolve()
STATE = Path(os.environ.get("GSLAB_SLURM_DIR", "/tmp/gslab-slurm"))
#: Job states after which a job no longer changes (sacct's names; CANCELLED may carry " by N").
FINAL = ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL")
#: The login node (slurmctld, slurmdbd, the hub) and the compute nodes (scripts/slurm/cluster.sh)
LOGIN = "gslab-login"
NODES = ("gslab-node1", "gslab-node2")
#: Where a one-node job runs: sbatch pins the tests' jobs there, and the hub's jobs land there
#: while it is free (the lowest Weight of slurm.conf), so that a test knows where to look.
NODE = NODES[0]
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

    def run(self, command: str, *, root: bool = False, on: str = LOGIN, timeout: float = 60,
            check: bool = True, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        """``command`` (bash) on node ``on`` (the login node by default); as the student unless
        ``root``; ``stdin``: what it reads (the way to hand it a secret: never in an argv)"""
        result = subprocess.run(["bash", str(CLUSTER), "root" if root else "exec",
                                 *as_node(on), "bash", "-c", command],
                                capture_output=True, text=True, timeout=timeout,
                                check=False, input=stdin)
        if check and result.returncode != 0:
            raise AssertionError(f"{command!r} on {on}: exit {result.returncode}\n"
                                 f"{result.stdout}{result.stderr}")
        return result

    def folder(self, label: str) -> tuple[str, Path]:
        """A new folder in the student's home, made by the student: (node path, host path)."""
        name = f"{label}-{uuid.uuid4().hex[:8]}"
        self.run(f"mkdir -p tests/{name}")
        return f"/home/student/tests/{name}", self.home / "tests" / name

    def sbatch(self, script: str, *args: str, options: str = "-c 1 --mem=1G", env: str = "",
               label: str = "job", files: dict[str, str] | None = None,
               pin: str | None = NODE) -> Job:
        """Submit hpc/``script`` with ``args`` from a new folder holding ``files`` (name: text);
        ``env``: NAME=value words for sbatch's environment; ``pin``: the node it must run on
        (None: wherever Slurm puts it)."""
        node_dir, host_dir = self.folder(label)
        for name, text in (files or {}).items():
            (host_dir / name).write_text(text)
        words = " ".join(shlex.quote(a) for a in args)
        command = (f"cd {node_dir} && env GSLAB_SIF_DIR={shlex.quote(str(SIF_DIR))} {env} "
                   f"sbatch --parsable {options} {f'-w {pin}' if pin else ''} {REPO}/hpc/{script} {words}")
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

    def wait_node_takes_jobs(self, node: str = NODE, timeout: float = 90) -> None:
        """Wait until ``node`` can start a job now (idle or partly used: not draining, down,
        or still completing an earlier test's job), so that an unpinned job (the hub's) lands
        where the lowest Weight puts it: once it went to the other node right after a test
        had drained this one."""
        deadline = time.monotonic() + timeout
        while (state := self.run(f"sinfo -h -n {node} -o %T", root=True).stdout.strip()) \
                not in ("idle", "mixed"):
            assert time.monotonic() < deadline, f"{node} still {state!r} after {timeout} s"
            time.sleep(0.5)

    def scancel(self, job: Job) -> None:
        self.run(f"scancel {job.id}")


def as_node(node: str) -> list[str]:
    """cluster.sh's words that run a command on ``node`` (none for the login node)."""
    return [] if node == LOGIN else ["--on", node]


#: The login node's container (the hub's address is its address on the cluster's network)
LOGIN_CONTAINER = "gslab-slurm"
#: the cluster account the hub counts as a teacher (GSLAB_HUB_TEACHERS): the progress page
TEACHER = "teacher"


class Hub:
    """The hub's REST API and proxy, from this host (https, the login node's address, port 8000),
    trusting only the CA that made the hub's certificate."""

    def __init__(self, address: str, token: str, tls: ssl.SSLContext) -> None:
        self.base = f"https://{address}:8000"
        self.token = token
        self.tls = tls

    def opener(self, *handlers: Any) -> urllib.request.OpenerDirector:
        return urllib.request.build_opener(urllib.request.HTTPSHandler(context=self.tls),
                                           NoRedirect, *handlers)

    def request(self, method: str, path: str, body: Any = None, token: str | None = None,
                ) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method)
        if token or self.token:
            request.add_header("Authorization", f"token {token or self.token}")
        try:
            with self.opener().open(request, timeout=30) as response:
                text = response.read().decode()
                status = response.status
        except urllib.error.HTTPError as error:
            text, status = error.read().decode(errors="replace"), error.code
        try:
            return status, json.loads(text) if text else None
        except json.JSONDecodeError:
            return status, text


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any) -> None:  # a redirect is an answer, not a hop
        return None


@pytest.fixture(scope="module")
def hub(cluster: Cluster) -> Hub:
    # the teacher's cluster account (PAM: the hub's groups name system users only)
    cluster.run(f"id {TEACHER} >/dev/null 2>&1 || useradd -m {TEACHER}", root=True)
    started = subprocess.run(["bash", str(CLUSTER), "hub"], capture_output=True, text=True,
                             timeout=120, check=False,
                             env={**os.environ, "GSLAB_HUB_TEACHERS": TEACHER})
    assert started.returncode == 0, started.stdout + started.stderr
    address = subprocess.run(
        ["docker", "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
         LOGIN_CONTAINER], capture_output=True, text=True, check=True).stdout.strip()
    ca = cluster.run("cat /etc/gslab-hub/tls/ca.pem", root=True).stdout
    return Hub(address, (STATE / "hub-token").read_text().strip(),
               ssl.create_default_context(cadata=ca))


def start() -> None:
    """cluster.sh start: the nodes that are not running (all, or one lost) started."""
    env = {**os.environ, "GSLAB_SIF_DIR": str(SIF_DIR), "GSLAB_SLURM_DIR": str(STATE)}
    started = subprocess.run(["bash", str(CLUSTER), "start"], capture_output=True, text=True,
                             env=env, timeout=900, check=False)
    assert started.returncode == 0, started.stdout + started.stderr


@pytest.fixture(scope="session")
def cluster() -> Cluster:
    """The cluster, started (or found running) by scripts/slurm/cluster.sh."""
    missing = [n for n in ("gray-scott-lab_cpu-light.sif", "gray-scott-lab_cpu-jupyter.sif")
               if not (SIF_DIR / n).is_file()]
    if missing:
        pytest.fail(f"{', '.join(missing)} missing in {SIF_DIR}: make sif-cpu-light "
                    "sif-cpu-jupyter first (or set GSLAB_SIF_DIR)")
    start()
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
