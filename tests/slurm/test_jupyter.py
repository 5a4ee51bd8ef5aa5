"""hpc/gray-scott-jupyter.sbatch on a real Slurm cluster: JupyterLab on the node, reached with
the token of the URL file, stopped by scancel and by the job's time limit."""

from __future__ import annotations

import re
import stat
import time

from tests.slurm.conftest import STUDENT_UID, Cluster, Job

JUPYTER = "gray-scott-jupyter.sbatch"
OPTIONS = "-c 1 --mem=2G"


def http_code(cluster: Cluster, url: str, token: str | None = None) -> str:
    """The HTTP status of ``url`` fetched on the node (where the tunnel ends): 000 = no server."""
    header = f"-H 'Authorization: token {token}'" if token else ""
    return cluster.run(f"curl -s -o /dev/null -w '%{{http_code}}' {header} '{url}'",
                       check=False).stdout.strip()


def wait_for_server(cluster: Cluster, job: Job) -> tuple[str, str]:
    """(port, token) from the job's URL file, once JupyterLab answers on that port."""
    url_file = cluster.home / ".gray-scott-lab" / f"jupyter-{job.id}.url"
    deadline = time.monotonic() + 180
    while True:
        assert time.monotonic() < deadline, job.log.read_text() if job.log.exists() else "no log"
        if url_file.exists() and url_file.read_text().strip():
            url = url_file.read_text().strip()
            match = re.fullmatch(r"http://127\.0\.0\.1:(\d+)/lab\?token=([0-9a-f]+)", url)
            assert match, url
            if http_code(cluster, f"http://127.0.0.1:{match[1]}/api/status") != "000":
                break
        state, _ = cluster.accounting(job)
        assert state in ("PENDING", "RUNNING"), (state, job.log.read_text())
        time.sleep(1)
    info = url_file.stat()
    assert stat.S_IMODE(info.st_mode) == 0o600 and info.st_uid == STUDENT_UID
    return match[1], match[2]


def assert_stopped_cleanly(cluster: Cluster, job: Job, port: str) -> None:
    """The server shut down on SIGTERM (its own log lines) and nothing of it is left."""
    log = job.log.read_text()
    assert "received signal 15, stopping" in log, log
    assert http_code(cluster, f"http://127.0.0.1:{port}/api/status") == "000"
    # sacct says CANCELLED when Slurm signals the job: its processes may take a moment more
    deadline = time.monotonic() + 60
    while left := [p for p in cluster.run("ps -u student -o args=").stdout.splitlines()
                   if f"port={port}" in p or "cpu-jupyter.sif" in p]:
        assert time.monotonic() < deadline, left
        time.sleep(0.5)
    assert "Shutting down" in job.log.read_text()
    # ended by the SIGTERM (exit status 15), not by the SIGKILL Slurm sends KillWait later
    steps = dict(line.split("|") for line in cluster.run(
        f"sacct -n -P -j {job.id} -o JobID,ExitCode").stdout.split())
    assert not steps[f"{job.id}.batch"].endswith(":9"), steps


def test_lab_answers_with_the_token_and_stops_at_scancel(cluster: Cluster) -> None:
    job = cluster.sbatch(JUPYTER, options=OPTIONS, label="jupyter")
    port, token = wait_for_server(cluster, job)
    status = f"http://127.0.0.1:{port}/api/status"
    assert http_code(cluster, status) == "403"
    assert http_code(cluster, status, token) == "200"
    assert http_code(cluster, f"http://127.0.0.1:{port}/lab?token={token}") == "200"
    tunnel = re.search(r"ssh -N -L (\d+):(\S+):(\d+) student@(\S+)", job.log.read_text())
    assert tunnel and tunnel.groups() == (port, "gslab-node", port, "gslab-node")
    cluster.scancel(job)
    state, _ = cluster.wait(job)
    assert state.startswith("CANCELLED")
    assert_stopped_cleanly(cluster, job, port)


def test_lab_stops_at_the_time_limit(cluster: Cluster) -> None:
    job = cluster.sbatch(JUPYTER, options=f"{OPTIONS} --time=1", label="jupyter-timeout")
    port, _ = wait_for_server(cluster, job)
    state, _ = cluster.wait(job, timeout=300)
    assert state == "TIMEOUT"
    assert "DUE TO TIME LIMIT" in job.log.read_text()
    assert_stopped_cleanly(cluster, job, port)
