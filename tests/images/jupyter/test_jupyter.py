"""The jupyter layer: JupyterLab behind a token, code-server through the proxy, the labs run
in the image, and the hub's single-user server is there."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from grayscott.launcher.runtime import Mount
from tests.images.conftest import Container

ARBITRARY = "12345:100"


def token_from(logs: str) -> str:
    match = re.search(r"\?token=([0-9a-f]+)", logs)
    assert match, logs
    return match.group(1)


@pytest.mark.runtimes("docker", "podman")
def test_lab_requires_a_token(container: Container, workdir: Path) -> None:
    with container.serve(8888, health="/api", user=ARBITRARY, read_only=True,
                         mounts=(Mount(workdir, "/work"),)) as server:
        token = token_from(server.logs())
        assert len(token) >= 32
        assert server.request("GET", "/api/contents")[0] == 403
        status, _, body = server.request("GET", f"/api/contents?token={token}")
        assert status == 200
        names = {item["name"] for item in json.loads(body)["content"]}
        assert "labs" in names  # the labs were copied into the student's work directory
    assert (workdir / "labs" / "cpu" / "tutorial").is_dir()
    assert (workdir / "labs").stat().st_uid == 12345


@pytest.mark.runtimes("docker", "podman")
def test_a_work_directory_it_cannot_write_is_named(container: Container, workdir: Path) -> None:
    """Another UID than the folder's owner (e.g. the image's own user on a root's checkout):
    the server still starts, and its log says why the folder holds no labs."""
    with container.serve(8888, health="/api", user="23456:100", read_only=True,
                         mounts=(Mount(workdir, "/work"),)) as server:
        assert "/work is not writable by uid 23456: the labs are not copied" in server.logs()
    assert not (workdir / "labs").exists()


@pytest.mark.runtimes("docker", "podman")
def test_token_from_the_environment_and_never_empty(container: Container) -> None:
    with container.serve(8888, health="/api", env={"JUPYTER_TOKEN": "school-token"}) as server:
        assert server.request("GET", "/api/contents?token=school-token")[0] == 200
        assert server.request("GET", "/api/contents?token=wrong")[0] == 403
    result = container.run(env={"JUPYTER_TOKEN": ""}, expect_rc=2)
    assert "never serves without a token" in result.stderr


@pytest.mark.runtimes("docker", "podman")
def test_a_taken_port_stops_the_server_instead_of_moving(container: Container) -> None:
    """Issue #22, attack 5: a second server told the port of a running one (as a server is
    told a port another user already holds) exits; it never moves to the next free port,
    where the launcher's URL would not lead and a squatter would get the student's token."""
    with container.serve(8888, health="/api", read_only=True,
                         env={"JUPYTER_TOKEN": "school-token"}) as server:
        second = server.runtime.exec_in(server.name, ["timeout", "45", "start-jupyter"])
        assert server.request("GET", "/api/status?token=school-token")[0] == 200  # untouched
    output = second.stdout + second.stderr
    assert "trying another port" not in output, output
    assert second.returncode not in (0, 124), f"exit {second.returncode}:\n{output}"
    assert "8888 is already in use" in output, output


@pytest.mark.runtimes("docker", "podman")
def test_code_server_opens_through_the_proxy(container: Container) -> None:
    with container.serve(8888, health="/api", user=ARBITRARY, read_only=True,
                         env={"JUPYTER_TOKEN": "t"}) as server:
        assert server.request("GET", "/code-server/healthz")[0] in (302, 403)  # no token
        status, _, body = server.request("GET", "/code-server/healthz?token=t")
        assert status == 200 and '"status"' in body, body
        status, _, body = server.request("GET", "/lab/api/settings?token=t")
        assert status == 200
        # an offline class: JupyterLab asks no "notified about Jupyter news?" question
        status, _, body = server.request(
            "GET", "/lab/api/settings/@jupyterlab/apputils-extension:notification?token=t")
        assert status == 200, body
        defaults = json.loads(body)["schema"]["properties"]  # overrides.json sets defaults
        assert defaults["fetchNews"]["default"] == "false"
        assert defaults["checkForUpdates"]["default"] is False


def test_a_lab_notebook_runs_in_the_image(container: Container, workdir: Path) -> None:
    notebook = "/opt/labs/cpu/solutions/3_Python_Implementation.ipynb"
    container.sh(f"cp {notebook} /work/out.ipynb && jupyter execute --inplace /work/out.ipynb",
                 user=ARBITRARY, read_only=True, mounts=(Mount(workdir, "/work"),),
                 env={"GRAYSCOTT_LAB_SIZE": "tiny"})
    cells = json.loads((workdir / "out.ipynb").read_text())["cells"]
    outputs = "".join(str(c.get("outputs", "")) for c in cells)
    assert "correct" in outputs and "Traceback" not in outputs


def test_hub_single_user_server_matches_jupyterhub_5(container: Container) -> None:
    version = container.sh("python -c 'import jupyterhub; print(jupyterhub.__version__)'")
    assert version.split(".")[0] == "5"
    assert "jupyterhub-singleuser" in container.sh("command -v jupyterhub-singleuser")


def test_the_server_starts_without_compiling_a_grammar(container: Container) -> None:
    """jsonschema's optional IRI check (rfc3987-syntax) compiled an Earley grammar at every
    server start, about 2 CPU-seconds of each hub spawn; the image leaves it out."""
    loaded = container.sh("python -c 'import sys, jupyterhub.singleuser, jupyter_server.serverapp; "
                          "print(sorted(m for m in sys.modules if m.startswith((\"rfc3987\", \"lark\"))))'")
    assert loaded.strip() == "[]", loaded


@pytest.mark.runtimes("docker", "podman")
def test_a_stop_shuts_the_kernels_down_then_leaves_at_once(container: Container) -> None:
    """`docker stop` (what the hub's stop button and `gslab stop` come to): the server shuts
    its kernels down, says it leaves without Python's finalisation (seconds of CPU per lab,
    which made a class's stops queue past Docker's grace period) and exits 0."""
    with container.serve(8888, health="/api", read_only=True,
                         env={"JUPYTER_TOKEN": "school-token"}) as server:
        status, _, body = server.request("POST", "/api/kernels?token=school-token", body="{}")
        assert status == 201, body
        program = server.runtime.program
        stopped = subprocess.run([program, "stop", server.name], capture_output=True,
                                 text=True, timeout=60, check=False)
        assert stopped.returncode == 0, stopped.stderr
        state = subprocess.run([program, "inspect", "-f", "{{.State.ExitCode}}", server.name],
                               capture_output=True, text=True, timeout=30, check=True)
        logs = server.logs()
    assert state.stdout.strip() == "0", logs
    shutdown = logs.index("Kernel shutdown: " + json.loads(body)["id"])
    assert logs.index("leaving without tearing the interpreter down") > shutdown, logs
