"""hpc/gray-scott-jupyter.sbatch on a real Slurm cluster: JupyterLab on the node, reached with
the token of the URL file, stopped by scancel and by the job's time limit."""

from __future__ import annotations

import json
import re
import secrets
import stat
import subprocess
import time

import pytest

from tests.slurm.conftest import (
    CLUSTER,
    FINAL,
    LOGIN,
    MALLORY_UID,
    NODE,
    RECORD_REQUESTS,
    STUDENT_UID,
    Cluster,
    Job,
    as_node,
)

JUPYTER = "gray-scott-jupyter.sbatch"
OPTIONS = "-c 1 --mem=2G"


def http_code(cluster: Cluster, url: str, token: str | None = None) -> str:
    """The HTTP status of ``url`` fetched on the job's node (where the tunnel ends; the
    tests' jobs run on NODE): 000 = no server.
    The URL (it may hold a token) and the token go to curl as a config on its stdin: on the
    node's command lines they would be anyone's."""
    config = f'url = "{url}"\n' + (f'header = "Authorization: token {token}"\n' if token else "")
    return cluster.run("curl -s -o /dev/null -w '%{http_code}' -K -", check=False, on=NODE,
                       stdin=config).stdout.strip()


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
    while left := [p for p in cluster.run("ps -u student -o args=", on=NODE).stdout.splitlines()
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
    assert tunnel and tunnel.groups() == (port, NODE, port, LOGIN)
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


#: mallory's listener: binds the port (IPv4 or IPv6 only), answers every request with a 200
#: (what a readiness check that accepts any answer wants to see) and records what it was
#: sent, until the file named by its last argument exists; then prints that as JSON.
SQUATTER = r"""
import json, os, socket, sys
port, family, stop = int(sys.argv[1]), sys.argv[2], sys.argv[3]
listener = socket.socket(socket.AF_INET6 if family == "ipv6" else socket.AF_INET)
if family == "ipv6":
    listener.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
listener.bind(("::" if family == "ipv6" else "0.0.0.0", port))
listener.listen(16)
listener.settimeout(0.2)
received = []
print("listening", flush=True)
""" + RECORD_REQUESTS


def squat(cluster: Cluster, port: int, family: str, stop_file: str) -> subprocess.Popen[str]:
    """mallory (another ordinary user of the node) listening on ``port`` before the job."""
    cluster.run(f"rm -f {stop_file}", root=True, on=NODE)
    squatter = subprocess.Popen(["bash", str(CLUSTER), "root", *as_node(NODE),
                                 "runuser", "-u", "mallory", "--",
                                 "python3", "-c", SQUATTER, str(port), family, stop_file],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert squatter.stdout is not None
    line = squatter.stdout.readline()
    assert line == "listening\n", line + squatter.communicate(timeout=10)[1]
    owners = cluster.run(f"ss -Hltne 'sport = :{port}'", root=True, on=NODE).stdout
    assert f"uid:{MALLORY_UID}" in owners, owners
    return squatter


@pytest.mark.parametrize("family", ["ipv4", "ipv6"])
def test_a_squatted_port_fails_the_job_and_the_squatter_gets_no_token(
        cluster: Cluster, family: str) -> None:
    """mallory binds the port a student's job is told to use (GSLAB_PORT) first. The job must
    not announce that port (its URL file, with the token, is what the student opens through
    the tunnel), must not move to another port either, and ends with one line naming the
    port; mallory's listener receives no token, from the job or from the student following
    what the job announced."""
    port = 20000 + secrets.randbelow(40000)
    stop_file = f"/tmp/squatter-{port}.stop"
    squatter = squat(cluster, port, family, stop_file)
    try:
        job = cluster.sbatch(JUPYTER, options=OPTIONS, env=f"GSLAB_PORT={port}",
                             label=f"squatted-{family}")
        url_file = cluster.home / ".gray-scott-lab" / f"jupyter-{job.id}.url"
        deadline = time.monotonic() + 180
        while not url_file.exists() and not cluster.accounting(job)[0].startswith(FINAL):
            assert time.monotonic() < deadline, job.log.read_text()
            time.sleep(1)
        if url_file.exists():  # announced: the student opens it through the tunnel
            cluster.run("curl -s -o /dev/null -K -", check=False, on=NODE,
                        stdin=f'url = "{url_file.read_text().strip()}"\nmax-time = 10\n')
            cluster.scancel(job)
        state, code = cluster.wait(job)
    finally:
        cluster.run(f"touch {stop_file}", root=True, on=NODE)
        received = json.loads(squatter.communicate(timeout=30)[0])
    log = job.log.read_text()
    assert not any(re.search("token", text, re.IGNORECASE) or re.search("[0-9a-f]{32}", text)
                   for text in received), received
    assert not url_file.exists(), f"the job announced a squatted port:\n{log}"
    assert (state, code) == ("FAILED", "2:0"), log
    errors = [line for line in log.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and f"port {port} " in errors[0], log
    # nothing was served on another port meanwhile, and nothing of the job is left
    served = set(re.findall(r"https?://[^/\s]+:(\d+)/", log))
    assert served <= {str(port)}, log
    deadline = time.monotonic() + 60
    while left := [p for p in cluster.run("ps -u student -o args=", on=NODE).stdout.splitlines()
                   if f"--port={port}" in p]:
        assert time.monotonic() < deadline, left
        time.sleep(0.5)
