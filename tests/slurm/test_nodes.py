"""The cluster across its nodes: an MPI job on both compute nodes through Apptainer, a lab the
hub starts on the second node, and a compute node lost in the middle of jobs.

The compute nodes are containers on their own network (scripts/slurm/cluster.sh): the MPI
ranks talk over it, the hub on the login node reaches the lab's port on the compute node
over it and the lab calls the hub back over it; killing a node's container is a node lost.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import h5py
import numpy as np
import pytest
from tornado import httpclient, websocket

from grayscott.classroom.client import execute_request
from tests.slurm.conftest import CLUSTER, NODES, Cluster, Hub, Job, start
from tests.slurm.test_batch import progress
from tests.slurm.test_hub import browser, job_of, set_password, spawn, stop, wait_ready
from tests.slurm.test_mpi import COLS, ROWS, STEPS, assert_two_ranks_agree_with_numpy
from tests.test_labs_scale import SCALE, program

#: Each rank says where it runs (from inside MPI: its rank), then runs the program named next
#: (halo.py) as mpi4py would.
ON_NODES = """
import runpy, socket, sys
from mpi4py import MPI
print(f"rank {MPI.COMM_WORLD.rank} of {MPI.COMM_WORLD.size} on {socket.gethostname()}", flush=True)
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""
TWO_NODES = "-N2 --ntasks-per-node=1 -c 1 --mem-per-cpu=1G"


def halo_job(cluster: Cluster, label: str, env: str = "") -> Job:
    """halo.py on one rank per compute node, submitted as a user would (sbatch -N2)."""
    return cluster.sbatch("gray-scott-mpi.sbatch", "on_nodes.py", "halo.py", "--rows", str(ROWS),
                          "--cols", str(COLS), "--steps", str(STEPS), "--out", "halo.npz",
                          options=TWO_NODES, env=env, label=label, pin=None,
                          files={"halo.py": program(SCALE / "solutions" / "1_MPI_Halo.ipynb"),
                                 "on_nodes.py": ON_NODES})


def test_halo_exchange_across_two_nodes_agrees_with_numpy(cluster: Cluster) -> None:
    job = halo_job(cluster, "mpi-two-nodes")
    assert cluster.wait(job) == ("COMPLETED", "0:0"), job.log.read_text()
    log = job.log.read_text()
    hosts = dict(re.findall(r"^rank (\d) of 2 on (\S+)$", log, re.MULTILINE))
    assert sorted(hosts.values()) == list(NODES), log
    assert_two_ranks_agree_with_numpy(job)
    # the job's accounting, as its user reads it: two nodes, both of them
    accounting = cluster.run(f"sacct -n -X -P -j {job.id} -o NNodes,NodeList").stdout.strip()
    assert accounting == "2|gslab-node[1-2]", accounting


def test_mpiexec_on_two_nodes_is_refused_with_one_line(cluster: Cluster) -> None:
    job = halo_job(cluster, "mpiexec-two-nodes", env="GSLAB_MPI_LAUNCH=mpiexec")
    assert cluster.wait(job) == ("FAILED", "2:0")
    assert job.log.read_text().strip() == ("error: GSLAB_MPI_LAUNCH=mpiexec runs on one node, "
                                           "this job has 2: use srun")


#: Messages of 8 MB each way between the two ranks (MPICH's rendezvous path, past its eager
#: size: on one node its shared memory or CMA, across nodes the network)
LARGE = """
import socket
import numpy as np
from mpi4py import MPI
comm = MPI.COMM_WORLD
mine, theirs = np.full(2_000_000, comm.rank + 1, np.float32), np.zeros(2_000_000, np.float32)
comm.Sendrecv(mine, dest=1 - comm.rank, recvbuf=theirs, source=1 - comm.rank)
print(f"rank {comm.rank} on {socket.gethostname()} got {theirs.sum():.0f}", flush=True)
"""


@pytest.mark.parametrize("options", ["-N1 --ntasks=2 -c 1 --mem-per-cpu=1G", TWO_NODES],
                         ids=["one-node", "two-nodes"])
def test_large_messages_between_the_ranks_containers(cluster: Cluster, options: str) -> None:
    job = cluster.sbatch("gray-scott-mpi.sbatch", "large.py", options=options, files={
        "large.py": LARGE}, label="mpi-large", pin=NODES[0] if "N1" in options else None)
    assert cluster.wait(job) == ("COMPLETED", "0:0"), job.log.read_text()
    log = job.log.read_text()
    got = sorted(re.findall(r"^rank (\d) on (\S+) got (\d+)$", log, re.MULTILINE))
    hosts = [NODES[0]] * 2 if "N1" in options else list(NODES)
    assert got == [("0", hosts[0], "4000000"), ("1", hosts[1], "2000000")], log


@pytest.fixture
def first_node_drained(cluster: Cluster) -> Iterator[None]:
    """The first compute node takes no new job (as an admin drains it): the next lands on the
    second."""
    cluster.run(f"scontrol update nodename={NODES[0]} state=drain reason=test", root=True)
    try:
        yield
    finally:
        cluster.run(f"scontrol update nodename={NODES[0]} state=resume", root=True)


async def run_cell(hub: Hub, ca_file: Path, kernel_id: str, token: str, code: str) -> str:
    """One cell in the student's kernel through the hub's proxy (wss): what it printed."""
    url = f"{hub.base.replace('https', 'wss')}/user/student/api/kernels/{kernel_id}/channels"
    conn = await websocket.websocket_connect(httpclient.HTTPRequest(
        url, headers={"Authorization": f"token {token}"}, ca_certs=str(ca_file),
        connect_timeout=60, request_timeout=60))
    msg_id, message = execute_request(code)
    await conn.write_message(message)
    printed = []
    try:
        while True:
            raw = await asyncio.wait_for(conn.read_message(), 120)
            assert raw is not None, "the kernel's websocket closed"
            reply = json.loads(raw)
            if reply.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            if reply["msg_type"] == "stream":
                printed.append(reply["content"]["text"])
            if reply["msg_type"] == "status" and reply["content"]["execution_state"] == "idle":
                return "".join(printed)
    finally:
        conn.close()


def lab_answers(hub: Hub, cluster: Cluster) -> None:
    """The student's browser (cookies from a PAM login) gets a 200 from the lab, through the
    hub's proxy."""
    opener, _ = browser(hub, set_password(cluster))
    with opener.open(hub.base + "/user/student/api/status", timeout=60) as answer:
        assert answer.status == 200 and "started" in json.loads(answer.read())


def test_the_hub_starts_a_lab_on_the_second_node_and_runs_a_cell_there(
        cluster: Cluster, hub: Hub, first_node_drained: None, tmp_path: Path) -> None:
    spawn(hub, lands=NODES[1])
    try:
        wait_ready(cluster, hub)
        _, state, node = job_of(cluster).split()
        assert (state, node) == ("RUNNING", NODES[1])
        lab_answers(hub, cluster)
        status, token = hub.request("POST", "/hub/api/users/student/tokens", {"expires_in": 600})
        assert status in (200, 201), token
        status, kernel = hub.request("POST", "/user/student/api/kernels", {},
                                     token=token["token"])
        assert status == 201, kernel
        ca_file = tmp_path / "ca.pem"
        ca_file.write_text(cluster.run("cat /etc/gslab-hub/tls/ca.pem", root=True).stdout)
        printed = asyncio.run(run_cell(hub, ca_file, kernel["id"], token["token"],
                                       "import socket; print('on', socket.gethostname(), 6 * 7)"))
        assert printed.strip() == f"on {NODES[1]} 42", printed
    finally:
        stop(cluster, hub)


def server_of(hub: Hub) -> dict[str, object]:
    _, user = hub.request("GET", "/hub/api/users/student")
    return dict(user["servers"].get("", {}))


def test_a_node_lost_mid_job(cluster: Cluster, hub: Hub) -> None:
    """The container of the node that runs the student's lab (from the hub) is killed while
    it also runs a simulation writing frames: both jobs end NODE_FAIL, the frames written
    before are readable from the shared home, the hub sees the lab stopped, and the next
    spawn runs on the other node. The node is started again afterwards (ReturnToService=2)."""
    spawn(hub, lands=None)
    try:
        wait_ready(cluster, hub)
        lab_job, _, lost = job_of(cluster).split()
        other = next(node for node in NODES if node != lost)
        run = cluster.sbatch("gray-scott-light.sbatch", "run", "-b", "numpy", "--rows", "256",
                             "--cols", "384", "--frames", "2000", "--steps", "50",
                             "--output", "/work/lost.h5", label="node-lost", pin=lost)
        output = run.host_dir / "lost.h5"
        deadline = time.monotonic() + 180
        while progress(output) < 2:
            assert time.monotonic() < deadline, run.log.read_text() if run.log.exists() else ""
            time.sleep(0.5)
        killed = subprocess.run(["bash", str(CLUSTER), "kill", lost], capture_output=True,
                                text=True, timeout=60, check=False)
        assert killed.returncode == 0, killed.stderr

        assert cluster.wait(run, timeout=120)[0] == "NODE_FAIL"
        lab_state = cluster.run(f"sacct -n -X -P -j {lab_job} -o State").stdout.strip()
        assert lab_state == "NODE_FAIL", lab_state
        with h5py.File(output, "r", locking=False) as f:  # as the writer left it, not closed
            done = int(f.attrs["frames_written"])
            assert not f.attrs["completed"]
            frames = f["matrix"][:done]
        assert done >= 2 and np.isfinite(frames).all() and frames.std() > 0

        # the hub polls its jobs (batchspawner asks squeue): the lab is stopped
        deadline = time.monotonic() + 120
        while server_of(hub):
            assert time.monotonic() < deadline, server_of(hub)
            time.sleep(2)
        spawn(hub, lands=other)
        wait_ready(cluster, hub)
        _, state, node = job_of(cluster).split()
        assert (state, node) == ("RUNNING", other)
        lab_answers(hub, cluster)
    finally:
        stop(cluster, hub)
        start()
