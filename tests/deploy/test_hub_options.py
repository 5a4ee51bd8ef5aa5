"""The hub's options up to what this machine has: HTTPS from a site's certificate, the idle
culler, and the GPU choice. No GPU here, so the GPU profile is forced on (GSLAB_HUB_GPU=yes, what `make hub`
sets on a GPU host): the spawn form offers both images, and spawning the GPU one hands the
NVIDIA device request to Docker, which refuses it for want of an NVIDIA driver. That refusal
is as far as this machine goes; a GPU host runs the image (not run here)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.deploy.conftest import CPU_JUPYTER, Hub, started_hub
from tests.utils import run, wait_for


@pytest.fixture(scope="module")
def options_hub(docker_engine: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    folder = tmp_path_factory.mktemp("tls-hub")
    tls = folder / "tls"
    tls.mkdir()
    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
        "-keyout", tls / "key.pem", "-out", tls / "cert.pem")
    (tls / "key.pem").chmod(0o644)  # the hub runs as UID 999 (README: chown 999 key.pem)
    tls.chmod(0o755)
    # The GPU choice runs the cpu image here: the test is the device request, and CI need
    # not build the 9 GB gpu image first.
    settings = {"GSLAB_HUB_GPU": "yes", "GSLAB_HUB_GPU_IMAGE": CPU_JUPYTER,
                # an idle culler in a hurry, to see it stop a server
                "GSLAB_HUB_CULL_TIMEOUT": "15", "GSLAB_HUB_CULL_EVERY": "5"}
    with started_hub(folder, settings, env={"HUB_TLS_DIR": str(tls)},
                     verify=str(tls / "cert.pem")) as hub:
        yield hub


def test_hub_serves_https_with_the_sites_certificate(options_hub: Hub) -> None:
    assert options_hub.url.startswith("https://")
    assert options_hub.api("GET", "/").status_code == 200  # verified against the certificate
    plain = run("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                options_hub.url.replace("https://", "http://") + "/hub/login", check=False)
    assert plain.stdout != "200"  # no plain HTTP on the TLS port


def test_spawn_form_offers_cpu_and_gpu(options_hub: Hub) -> None:
    password = options_hub.script("admin", "teacher-gpu").stdout.split("password ")[1].split()[0]
    session = options_hub.login("teacher-gpu", password)
    page = session.get(f"{options_hub.url}/hub/spawn", timeout=30)
    assert page.status_code == 200
    assert 'name="profile" value="cpu" checked' in page.text
    assert 'name="profile" value="gpu"' in page.text
    assert "GPU: CuPy, cuPyNumeric, JAX, PyTorch" in page.text


def test_gpu_profile_requests_the_nvidia_devices(options_hub: Hub) -> None:
    hub = options_hub
    assert hub.api("POST", "/users/gpuuser").status_code == 201
    response = hub.api("POST", "/users/gpuuser/server", json={"profile": "gpu"})
    assert response.status_code in (202, 500), response.text

    def settled() -> bool:
        model = hub.api("GET", "/users/gpuuser").json()
        return not model["servers"] or not model["servers"][""].get("pending")

    wait_for(settled, 120, "the GPU spawn to finish")
    logs = hub.logs()
    assert "gpuuser" in logs
    assert 'could not select device driver "nvidia"' in logs, logs[-3000:]


def test_unknown_profile_is_refused(options_hub: Hub) -> None:
    hub = options_hub
    assert hub.api("POST", "/users/otheruser").status_code == 201
    response = hub.api("POST", "/users/otheruser/server", json={"profile": "tpu"})
    assert response.status_code == 400
    assert "unknown profile 'tpu'" in json.loads(response.text)["message"]


def test_idle_culler_stops_a_forgotten_server(options_hub: Hub) -> None:
    hub = options_hub
    assert hub.api("POST", "/users/idleuser").status_code == 201
    assert hub.api("POST", "/users/idleuser/server", json={"profile": "cpu"}).status_code in (
        201, 202)

    def ready() -> bool:
        return bool(hub.api("GET", "/users/idleuser").json()["servers"].get("", {}).get("ready"))

    wait_for(ready, 180, f"idleuser's server\n{hub.logs()}")
    # The student wrote something, then forgot the server
    container = f"{hub.name}-idleuser"
    run("docker", "exec", container, "sh", "-c", "echo kept-by-the-volume > /work/forgotten.txt")
    # Nobody uses it: the culler (timeout 15 s, every 5 s) stops it, and its container goes
    wait_for(lambda: not hub.api("GET", "/users/idleuser").json()["servers"], 180,
             f"the culler to stop idleuser's server\n{hub.logs()[-3000:]}", 1)
    assert "Culling server idleuser" in hub.logs()
    wait_for(lambda: run("docker", "inspect", container, check=False).returncode != 0, 60,
             "the culled server's container to go")
    # Back the next day: a new server, the work is there
    assert hub.api("POST", "/users/idleuser/server", json={"profile": "cpu"}).status_code in (
        201, 202)
    wait_for(ready, 180, f"idleuser's server again\n{hub.logs()[-3000:]}")
    kept = run("docker", "exec", container, "cat", "/work/forgotten.txt").stdout
    assert kept == "kept-by-the-volume\n"  # (the culler stops this one too; teardown anyway)
