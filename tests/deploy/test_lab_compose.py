"""compose/lab.yaml: accepted by `docker compose` and `podman compose`, secrets from a generated
.env (never a service without them), and a real `up` of cpu-jupyter answering with its token."""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import uuid
from pathlib import Path

import pytest
import requests

from tests.deploy.conftest import COMPOSE, CPU_JUPYTER
from tests.utils import free_port, run, wait_for

LAB = COMPOSE / "lab.yaml"
SERVICES = {"cpu-jupyter", "cpu-code-server", "gpu-jupyter", "gpu-code-server"}
#: A bounded log on the host for every service (Podman reads json-file as its k8s-file)
LOG_CAP = {"driver": "json-file", "options": {"max-size": "10m", "max-file": "3"}}
#: What that allows on the host, at most: Docker's 3 rotated files; Podman's one (10 MB)
LOG_CAP_BYTES = 30 * 2**20 + 64 * 1024


@pytest.fixture
def env_file(tmp_path: Path) -> Path:
    """An env file as `make lab-env` writes it (the real script), outside the checkout."""
    path = tmp_path / "lab.env"
    run("bash", COMPOSE / "gen-env.sh", path, "JUPYTER_TOKEN", "CODE_SERVER_PASSWORD")
    return path


def env_values(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().split())


def test_gen_env_generates_once_and_keeps_values(env_file: Path) -> None:
    first = env_values(env_file)
    assert set(first) == {"JUPYTER_TOKEN", "CODE_SERVER_PASSWORD"}
    assert all(len(v) == 64 for v in first.values()) and len(set(first.values())) == 2
    assert env_file.stat().st_mode & 0o077 == 0  # the owner's only
    run("bash", COMPOSE / "gen-env.sh", env_file, "JUPYTER_TOKEN", "OTHER_SECRET")
    second = env_values(env_file)
    assert second["JUPYTER_TOKEN"] == first["JUPYTER_TOKEN"] and "OTHER_SECRET" in second
    bad = run("bash", COMPOSE / "gen-env.sh", env_file, "not a name", check=False)
    assert bad.returncode == 2 and bad.stderr.startswith("error:")


def test_docker_compose_refuses_to_run_without_the_secrets(docker_engine: None,
                                                           tmp_path: Path) -> None:
    empty = tmp_path / "empty.env"
    empty.write_text("")
    result = run("docker", "compose", "--env-file", empty, "-f", LAB, "--profile", "cpu",
                 "config", check=False)
    assert result.returncode != 0
    assert "make lab-env" in result.stderr


def test_docker_compose_config_cpu_and_gpu_profiles(docker_engine: None, env_file: Path) -> None:
    result = run("docker", "compose", "--env-file", env_file, "-f", LAB, "--profile", "cpu",
                 "--profile", "gpu", "config", "--format", "json")
    services = json.loads(result.stdout)["services"]
    assert set(services) == SERVICES
    token = env_values(env_file)["JUPYTER_TOKEN"]
    for name, service in services.items():
        target, flavour = name.split("-", 1)
        assert service["image"] == f"gray-scott-lab:{name}"
        assert service["profiles"] == [target]
        assert service["read_only"] is True and service["user"] == "1000:100"
        assert any(t.startswith("/tmp") for t in service["tmpfs"])
        assert [(v["type"], v["source"], v["target"]) for v in service["volumes"]] == [
            ("volume", "work", "/work")]
        assert all(p["host_ip"] == "127.0.0.1" for p in service["ports"])
        assert service["logging"] == LOG_CAP  # issue #22, attack 4
        devices = service.get("deploy", {}).get("resources", {}).get("reservations", {}).get(
            "devices", [])
        if target == "gpu":
            assert devices == [{"driver": "nvidia", "count": -1, "capabilities": ["gpu"]}]
        else:
            assert devices == []
        if flavour == "jupyter":
            assert service["environment"]["JUPYTER_TOKEN"] == token
        else:
            assert len(service["environment"]["PASSWORD"]) == 64


def test_docker_compose_work_can_be_a_host_folder(docker_engine: None, env_file: Path,
                                                  tmp_path: Path) -> None:
    result = run("docker", "compose", "--env-file", env_file, "-f", LAB, "--profile", "cpu",
                 "config", "--format", "json", env={"LAB_WORK": str(tmp_path)})
    volumes = json.loads(result.stdout)["services"]["cpu-jupyter"]["volumes"]
    assert [(v["type"], v["source"], v["target"]) for v in volumes] == [
        ("bind", str(tmp_path), "/work")]


def up_cpu_jupyter(compose: list[str], env_file: Path, engine: str) -> str:
    """``compose up -d cpu-jupyter`` (a fresh project on a free port), wait until it answers
    with the .env's token, check it refuses without the token or with a wrong one, ``down -v``.
    Returns the project name."""
    project = f"gslab-lab-test-{uuid.uuid4().hex[:6]}"
    port = free_port()
    base = [*compose, "-p", project, "--env-file", str(env_file), "-f", str(LAB), "--profile",
            "cpu"]
    env = {"JUPYTER_PORT": str(port)}
    token = env_values(env_file)["JUPYTER_TOKEN"]
    url = f"http://127.0.0.1:{port}/api/contents"

    def answers() -> bool:
        try:
            return requests.get(url, timeout=5, params={"token": token}).status_code == 200
        except requests.ConnectionError:
            return False

    try:
        run(*base, "up", "-d", "cpu-jupyter", env=env)
        wait_for(answers, 120, f"cpu-jupyter on {engine}, port {port}\n"
                 + run(*base, "logs", env=env, check=False).stdout)
        listing = requests.get(url, timeout=10, params={"token": token}).json()
        assert "labs" in {item["name"] for item in listing["content"]}  # copied into the volume
        assert requests.get(url, timeout=10).status_code == 403
        assert requests.get(url, timeout=10, params={"token": "wrong"}).status_code == 403
        flood_the_log(engine.lower(), project)
    finally:
        run(*base, "down", "-v", env=env, check=False)
    return project


def flood_the_log(engine: str, project: str) -> None:
    """Issue #22, attack 4: 60 MB written to the lab's stdout from inside, as a terminal can;
    the engine's log files on the host stay within the cap of lab.yaml."""
    found = run(engine, "ps", "-q", "--filter", f"label=com.docker.compose.project={project}")
    (container,) = found.stdout.split()
    run(engine, "exec", container, "sh", "-c",
        "yes $(printf %099d 0) | head -c 60000000 > /proc/1/fd/1; echo flood-done > /proc/1/fd/1")
    template = "{{.LogPath}}" if engine == "docker" else "{{.HostConfig.LogConfig.Path}}"
    path = run(engine, "inspect", "--format", template, container).stdout.strip()

    def logged() -> bool:
        return "flood-done" in run(engine, "logs", "--tail", "3", container).stdout

    wait_for(logged, 60, f"the flood's end in {engine}'s log of {container}")
    sizes = {p: os.path.getsize(p) for p in glob.glob(glob.escape(path) + "*")}
    assert sizes and sum(sizes.values()) <= LOG_CAP_BYTES, sizes


def test_docker_compose_up_cpu_jupyter_answers_with_its_token(docker_engine: None,
                                                              env_file: Path) -> None:
    project = up_cpu_jupyter(["docker", "compose"], env_file, "Docker")
    assert run("docker", "volume", "inspect", f"{project}_work", check=False).returncode != 0


@pytest.fixture
def podman_compose() -> list[str]:
    program = shutil.which("podman-compose")
    if program is None or shutil.which("podman") is None:
        pytest.fail("podman / podman-compose missing: bash scripts/setup-engines.sh; "
                    "pip install podman-compose (make test-deploy installs it)")
    return [program]


def test_podman_compose_accepts_lab_yaml(podman_compose: list[str], env_file: Path) -> None:
    result = run(*podman_compose, "--env-file", env_file, "-f", LAB, "--profile", "cpu",
                 "--profile", "gpu", "config")
    for name in SERVICES:
        assert f"  {name}:" in result.stdout
    # The GPU reservation becomes Podman's CDI device; the cpu service asks for none
    gpu = run(*podman_compose, "--verbose", "--dry-run", "--env-file", env_file, "-f", LAB,
              "--profile", "gpu", "up", "-d", "gpu-jupyter")
    create = [line for line in gpu.stderr.splitlines() if "podman create" in line]
    assert create and "--device nvidia.com/gpu=all" in create[0], gpu.stderr
    assert "--read-only" in create[0] and "-u 1000:100" in create[0]
    cpu = run(*podman_compose, "--verbose", "--dry-run", "--env-file", env_file, "-f", LAB,
              "--profile", "cpu", "up", "-d", "cpu-jupyter")
    create = [line for line in cpu.stderr.splitlines() if "podman create" in line]
    assert create and "nvidia" not in create[0], cpu.stderr
    assert re.search(r"--log-driver[= ]json-file .*--log-opt[= ]max-size=10m", create[0])


def test_podman_compose_up_cpu_jupyter_answers_with_its_token(podman_compose: list[str],
                                                              env_file: Path) -> None:
    if run("podman", "image", "exists", CPU_JUPYTER, check=False).returncode != 0:
        pytest.fail(f"{CPU_JUPYTER} is not in Podman: make podman-load IMAGES=cpu-jupyter")
    up_cpu_jupyter(podman_compose, env_file, "Podman")
