"""The cluster hub of hpc/hub on the real cluster: JupyterHub + batchspawner's SlurmSpawner
(through wrapspawner's profiles) submits the cpu-jupyter .sif as the user's Slurm job, the
lab answers through the hub's proxy, and stopping the server cancels the job. The GPU
profile is rendered and handed to Slurm's ``sbatch --test-only``, not run (no GPU here)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.slurm.conftest import CLUSTER, REPO, STATE, Cluster

NODE = "gslab-slurm"


class Hub:
    """The hub's REST API and proxy, from this host (the node's address, port 8000)."""

    def __init__(self, address: str, token: str) -> None:
        self.base = f"http://{address}:8000"
        self.token = token

    def request(self, method: str, path: str, body: Any = None, token: str | None = None,
                ) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method)
        if token or self.token:
            request.add_header("Authorization", f"token {token or self.token}")
        opener = urllib.request.build_opener(NoRedirect)
        try:
            with opener.open(request, timeout=30) as response:
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
    started = subprocess.run(["bash", str(CLUSTER), "hub"], capture_output=True, text=True,
                             timeout=120, check=False)
    assert started.returncode == 0, started.stdout + started.stderr
    address = subprocess.run(
        ["docker", "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
         NODE], capture_output=True, text=True, check=True).stdout.strip()
    return Hub(address, (STATE / "hub-token").read_text().strip())


def job_of(cluster: Cluster) -> str:
    """The student's hub job: 'ID STATE NODE', or '' when there is none."""
    return cluster.run("squeue -h -u student -n gray-scott-hub -o '%i %T %N'").stdout.strip()


def test_spawn_through_the_hub_runs_the_lab_as_the_user_and_stop_cancels_it(
        cluster: Cluster, hub: Hub) -> None:
    status, _ = hub.request("POST", "/hub/api/users/student")
    assert status in (201, 409)
    status, answer = hub.request("POST", "/hub/api/users/student/server", {"profile": "cpu"})
    assert status in (201, 202), answer
    deadline = time.monotonic() + 300
    while True:
        status, user = hub.request("GET", "/hub/api/users/student")
        server = user["servers"].get("", {})
        if server.get("ready"):
            break
        assert server.get("pending") == "spawn", (user, cluster.run(
            "tail -n 30 /var/log/slurm/hub.log", root=True).stdout)
        assert time.monotonic() < deadline, "the server did not start in 300 s"
        time.sleep(1)
    job_id, state, node = job_of(cluster).split()
    assert (state, node) == ("RUNNING", "gslab-node")
    processes = cluster.run("ps -u student -o args=").stdout
    assert "jupyterhub-singleuser" in processes

    status, token = hub.request("POST", "/hub/api/users/student/tokens", {"expires_in": 600})
    assert status in (200, 201), token
    lab = "/user/student/api/status"
    status, answer = hub.request("GET", lab, token=token["token"])
    assert status == 200 and "started" in answer, answer
    no_token = urllib.request.Request(hub.base + lab)
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.build_opener(NoRedirect).open(no_token, timeout=30)
    assert refused.value.code in (302, 403)

    status, _ = hub.request("DELETE", "/hub/api/users/student/server")
    assert status in (202, 204)
    deadline = time.monotonic() + 120
    while job_of(cluster):
        assert time.monotonic() < deadline, job_of(cluster)
        time.sleep(1)
    accounting = cluster.run(f"sacct -n -X -P -j {job_id} -o State").stdout.strip()
    assert accounting.startswith("CANCELLED"), accounting
    assert "jupyterhub-singleuser" not in cluster.run("ps -u student -o args=").stdout


RENDER = """
import asyncio, json, sys
sys.path.insert(0, sys.argv[1])
from gslab_slurm import profiles
scripts = {}
for _, key, spawner_class, settings in profiles("/sif", cpus=1, memory="1G", runtime="00:05:00"):
    spawner = spawner_class(**settings, req_username="student", req_homedir="/home/student",
                            req_keepvars="PATH,JUPYTERHUB_API_TOKEN")
    subvars = spawner.get_req_subvars()
    scripts[key] = asyncio.run(spawner._get_batch_script(**subvars, cmd="jupyterhub-singleuser"))
print(json.dumps(scripts))
"""


def test_profiles_render_and_slurm_reads_the_gpu_request(cluster: Cluster) -> None:
    rendered = cluster.run(f"/opt/hub/bin/python -c '{RENDER}' {REPO}/hpc/hub").stdout
    scripts = json.loads(rendered)
    cpu, gpu = scripts["cpu"], scripts["gpu"]
    assert "--gpus" not in cpu and "--nv" not in cpu
    assert "exec apptainer run --containall --bind \"$HOME:/work\" --pwd /work  " \
           "/sif/gray-scott-lab_cpu-jupyter.sif" in cpu
    assert "#SBATCH --gpus=1\n" in gpu
    assert "--pwd /work --nv /sif/gray-scott-lab_gpu-jupyter.sif" in gpu
    node_dir, host_dir = cluster.folder("hub-render")
    for key, script in scripts.items():
        (host_dir / f"{key}.sh").write_text(script)
        syntax = cluster.run(f"bash -n {node_dir}/{key}.sh", check=False)
        assert syntax.returncode == 0, syntax.stderr
        lint = subprocess.run([str(Path(sys.executable).parent / "shellcheck"),
                               str(host_dir / f"{key}.sh")], capture_output=True, text=True,
                              timeout=60, check=False)
        assert lint.returncode == 0, lint.stdout
    # Slurm itself reads the requests: the cpu job fits this cluster, the gpu one asks for
    # a GPU this node does not have
    assert cluster.run(f"sbatch --test-only {node_dir}/cpu.sh", check=False).returncode == 0
    refused = cluster.run(f"sbatch --test-only {node_dir}/gpu.sh", check=False)
    assert refused.returncode != 0
    assert "Invalid generic resource (gres) specification" in refused.stderr, refused.stderr
