"""The hub on a Docker Swarm for real: compose/hub/stack.yaml deployed by ``hub.sh swarm-up``
(what ``make hub-swarm`` runs) on a one-node swarm, a student's lab spawned as a swarm
service through the REST API, code run in its kernel through the proxy, the service removed
on stop and the student's volume kept. Run by ``make test-hub-swarm``, not by
``make test-deploy``.

The engine is made a one-node swarm for the test when it is not in one (after checking that
``hub.sh swarm-up`` refuses such an engine in one line), and leaves it again afterwards (only
then: a swarm the machine was already in is left alone). Multi-node swarms
are not tested here. The time from spawn request to a ready server is written to
build/hub-swarm-spawn.json.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import platform
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from grayscott.classroom.client import execute, open_kernel
from tests.deploy.conftest import BUILD, COMPOSE, CPU_JUPYTER, Hub, runs_the_class
from tests.deploy.test_hub import run_lab_code
from tests.utils import free_port, run, wait_for

#: The hub image this test builds (never the site's gray-scott-lab-hub:latest, which other
#: hubs on the machine may be running): the same Dockerfile, its own tag.
HUB_IMAGE = "gray-scott-lab-hub:swarm-test"
LABEL = "org.gray-scott-lab.hub"
GWBRIDGE = "docker_gwbridge"
CHECK_CELL = """
from grayscott import model
from grayscott.labs import checks
checks.check_laplacian(model.laplacian)
"""


@pytest.fixture(scope="module")
def swarm(docker_engine: None) -> Iterator[None]:
    """A swarm manager: this engine's swarm, or a one-node swarm made for the test."""
    state = run("docker", "info", "-f", "{{.Swarm.LocalNodeState}}").stdout.strip()
    initialised = False
    # swarm init makes the bridge docker_gwbridge, which leaving the swarm keeps
    had_gwbridge = run("docker", "network", "inspect", GWBRIDGE, check=False).returncode == 0
    if state == "inactive":
        # Before it becomes one: hub.sh swarm-up says in one line what is missing
        refused = run("bash", COMPOSE / "hub" / "hub.sh", "swarm-up", check=False,
                      env={"HUB_NAME": "gslab-hub-swarm-refused"})
        assert refused.returncode == 2, refused.stdout + refused.stderr
        assert refused.stderr.strip() == (
            "error: this engine is not a swarm manager: docker swarm init (see compose/README.md)")
        run("docker", "swarm", "init", "--advertise-addr", "127.0.0.1")
        initialised = True
    elif run("docker", "info", "-f", "{{.Swarm.ControlAvailable}}").stdout.strip() != "true":
        pytest.fail(f"this engine is in a swarm ({state}) but not a manager: run on a manager")
    try:
        yield
    finally:
        if initialised:
            run("docker", "swarm", "leave", "--force", check=False)
            if not had_gwbridge:
                run("docker", "network", "rm", GWBRIDGE, check=False)


@dataclass
class SwarmHub(Hub):
    """A hub deployed as a stack: its logs are its service's."""

    def logs(self) -> str:
        result = run("docker", "service", "logs", "--tail", "60", f"{self.name}_hub",
                     check=False)
        return result.stdout + result.stderr


@contextmanager
def started_swarm_hub(folder: Path) -> Iterator[SwarmHub]:
    """A hub deployed by hub.sh swarm-up under its own name and port; removed afterwards
    with its volumes."""
    name = f"gslab-hub-swarm-{uuid.uuid4().hex[:6]}"
    port = free_port()
    env_file = folder / "hub.env"
    # Plain HTTP by name (as behind a site's TLS proxy): what is tested here is the swarm; the
    # default, HTTPS with the hub's own certificate, is test_hub_tls's on the same hub image.
    env_file.write_text(f"HUB_PORT={port}\nGSLAB_HUB_TLS=off\n")
    env = {"HUB_ENV_FILE": str(env_file), "HUB_NAME": name, "HUB_IMAGE": HUB_IMAGE}
    try:
        run("bash", COMPOSE / "hub" / "hub.sh", "swarm-up", env=env, timeout=900)
        values = dict(line.split("=", 1) for line in env_file.read_text().split())
        yield SwarmHub(name=name, url=f"http://127.0.0.1:{port}",
                       token=values["GSLAB_HUB_API_TOKEN"], env=env)
    finally:
        run("bash", COMPOSE / "hub" / "hub.sh", "swarm-down", env=env, check=False)
        # The engine lets go of a removed task's volumes a moment after its container
        def volumes_removed() -> bool:
            volumes = run("docker", "volume", "ls", "-q", "--filter", f"name=^{name}-",
                          check=False).stdout.split()
            return all(run("docker", "volume", "rm", "-f", volume, check=False).returncode == 0
                       for volume in volumes)

        wait_for(volumes_removed, 60, f"{name}'s volumes removed", 1)


@pytest.fixture(scope="module")
def swarm_hub(swarm: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SwarmHub]:
    with started_swarm_hub(tmp_path_factory.mktemp("swarm-hub")) as hub:
        yield hub


def lab_task_container(service: str) -> dict[str, Any]:
    """`docker inspect` of the container of the service's running task."""
    ids = run("docker", "ps", "-q", "--filter",
              f"label=com.docker.swarm.service.name={service}").stdout.split()
    assert len(ids) == 1, f"{service}: containers {ids}"
    return json.loads(run("docker", "inspect", ids[0]).stdout)[0]


def test_hub_runs_as_a_stack_on_a_manager(swarm_hub: SwarmHub) -> None:
    service = json.loads(run("docker", "service", "inspect", f"{swarm_hub.name}_hub").stdout)[0]
    spec = service["Spec"]
    assert spec["TaskTemplate"]["ContainerSpec"]["Image"].startswith(HUB_IMAGE)
    assert "node.role == manager" in spec["TaskTemplate"]["Placement"]["Constraints"]
    network = json.loads(run("docker", "network", "inspect", swarm_hub.name).stdout)[0]
    assert network["Driver"] == "overlay" and network["Attachable"] is True
    assert swarm_hub.api("GET", "/").status_code == 200


def test_spawn_a_service_run_code_through_the_proxy_and_stop(swarm_hub: SwarmHub) -> None:
    hub, user = swarm_hub, "student1"
    ready = hub.spawn(user, timeout=240)
    status = requests.get(f"{hub.url}/user/{user}/api/status", timeout=30,
                          headers={"Authorization": f"token {hub.token}"})
    assert status.status_code == 200, status.text
    BUILD.mkdir(exist_ok=True)
    record = {"spawner": "swarm (one node)", "image": CPU_JUPYTER,
              "spawn_to_ready_s": round(ready, 2), "host": platform.node(),
              "date": datetime.datetime.now().isoformat(timespec="seconds")}
    (BUILD / "hub-swarm-spawn.json").write_text(json.dumps(record, indent=2) + "\n")
    print(f"\nswarm hub spawn: ready {ready:.2f} s after the request -> build/hub-swarm-spawn.json")

    # A swarm service of this hub, its one task running, on the hub's overlay network
    service_name = f"{hub.name}-{user}"
    service = json.loads(run("docker", "service", "inspect", service_name).stdout)[0]
    spec = service["Spec"]
    assert spec["Labels"][LABEL] == hub.name
    task_spec = spec["TaskTemplate"]
    assert task_spec["ContainerSpec"]["Image"] == CPU_JUPYTER
    networks = {n["Target"] for n in task_spec["Networks"]}
    hub_network = json.loads(run("docker", "network", "inspect", hub.name).stdout)[0]
    assert hub_network["Id"] in networks or hub.name in networks
    tasks = run("docker", "service", "ps", "-q", "--filter", "desired-state=running",
                service_name).stdout.split()
    assert len(tasks) == 1
    task = json.loads(run("docker", "inspect", tasks[0]).stdout)[0]
    # "starting" until the image's healthcheck first passes (the hub reaches the server at the
    # task's address as soon as the container runs, which can be before); then "running"
    assert task["Status"]["State"] in ("starting", "running"), task["Status"]
    assert task["Status"]["ContainerStatus"]["ContainerID"], task["Status"]

    # The image contract, as the container the swarm made for it has it
    container = lab_task_container(service_name)
    config, host = container["Config"], container["HostConfig"]
    assert config["User"] == "1000:100"
    assert host["ReadonlyRootfs"] is True
    assert host["CapDrop"] == ["ALL"]
    assert "no-new-privileges=true" in host["SecurityOpt"]
    assert host["PidsLimit"] == 1024
    assert host["Memory"] == 4 * 1024**3
    assert host["NanoCpus"] == 2 * 10**9
    mounts = {m["Destination"]: m for m in container["Mounts"]}
    assert mounts["/tmp"]["Type"] == "tmpfs"
    assert mounts["/work"]["Type"] == "volume"
    assert mounts["/work"]["Name"] == f"{hub.name}-user-{user}"

    # Code in a kernel through the proxy: a short grayscott run into the user's volume
    run_lab_code(hub, user)

    # A check cell's verdict reaches the teacher's grid (the progress service in the hub's
    # service, reached by the lab over the stack's overlay network as `hub`)
    _, ws_url = open_kernel(hub, user)
    printed = asyncio.run(execute(ws_url, CHECK_CELL, token=hub.token))
    assert "check_laplacian: correct" in printed, printed
    teacher = hub.login("prof-swarm", hub.make_teacher("prof-swarm"))

    def on_the_grid() -> bool:
        grid = teacher.get(f"{hub.url}/services/progress/api/class", timeout=30)
        return grid.status_code == 200 and bool(grid.json()["cells"].get(user))
    wait_for(on_the_grid, 20, "the check's verdict on the teacher's grid")

    # Stop: the service and its container go, the work stays in the user's volume
    assert hub.api("DELETE", f"/users/{user}/server").status_code in (202, 204)
    wait_for(lambda: not hub.api("GET", f"/users/{user}").json()["servers"], 120, "stop")
    wait_for(lambda: run("docker", "service", "inspect", service_name,
                         check=False).returncode != 0, 60, "service removed")
    wait_for(lambda: not run("docker", "ps", "-aq", "--filter",
                             f"label=com.docker.swarm.service.name={service_name}").stdout.strip(),
             60, "the service's container removed")
    listing = run("docker", "run", "--rm", "--entrypoint", "ls", "-v",
                  f"{hub.name}-user-{user}:/work", CPU_JUPYTER, "/work").stdout.split()
    assert "hub-run.h5" in listing and "labs" in listing


def test_teacher_made_on_the_swarm_hub(swarm_hub: SwarmHub) -> None:
    password = swarm_hub.make_teacher("teacher-one")
    assert runs_the_class(swarm_hub.login("teacher-one", password), swarm_hub)
