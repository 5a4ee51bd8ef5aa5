"""The code-server layer: VS Code in the browser, never without a password, offline.

Inherited by the jupyter images, whose entrypoint is JupyterLab: the tests start
``start-code-server`` by name.
"""

from __future__ import annotations

import re
import subprocess
import time
from contextlib import AbstractContextManager
from typing import Any
from urllib.parse import urlencode

import pytest

from grayscott import variants
from tests.images.conftest import Container, Server, location_path

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def code_server(container: Container, **options: Any) -> AbstractContextManager[Server]:
    """Serve code-server from the image (by name: child images have other entrypoints)."""
    return container.serve(8080, "start-code-server", health="/healthz", exec_=True, **options)


def login(server: Server, password: str) -> tuple[int, dict[str, str]]:
    status, headers, _ = server.request("POST", "/login", urlencode({"password": password}), FORM)
    return status, headers


@pytest.mark.runtimes("docker", "podman")
def test_serves_behind_a_generated_password(container: Container) -> None:
    with code_server(container, user="12345:100", read_only=True) as server:
        status, _, body = server.request("GET", "/healthz")
        assert status == 200 and '"status"' in body
        status, headers, _ = server.request("GET", "/")
        assert status == 302 and location_path(headers).endswith("login")
        match = re.search(r"password \(generated.*\): (\S+)", server.logs())
        assert match, server.logs()
        assert "set-cookie" not in {k.lower() for k in login(server, "wrong-password")[1]}
        status, headers = login(server, match.group(1))
        assert status == 302 and "code-server-session" in str(headers)


@pytest.mark.runtimes("docker", "podman")
def test_password_from_the_environment(container: Container) -> None:
    with code_server(container, env={"PASSWORD": "school-2026"}) as server:
        assert "generated" not in server.logs()
        status, headers = login(server, "school-2026")
        assert status == 302 and "code-server-session" in str(headers)


@pytest.mark.runtimes("docker", "podman")
def test_a_taken_port_stops_it_instead_of_moving(container: Container) -> None:
    """Issue #22, attack 5: code-server has no port retries (Jupyter had 50): a second one
    told the port of a running one exits, so what answers on the port gslab prints is never a
    lab that moved away from it."""
    with code_server(container, env={"PASSWORD": "x"}) as server:
        second = server.runtime.exec_in(server.name, ["timeout", "45", "start-code-server"])
        assert server.request("GET", "/healthz")[0] == 200  # the first one, untouched
    output = second.stdout + second.stderr
    assert second.returncode not in (0, 124), f"exit {second.returncode}:\n{output}"
    assert "EADDRINUSE" in output, output


@pytest.mark.runtimes("docker", "podman")
def test_offline_flags_and_baked_extension(container: Container) -> None:
    with code_server(container, env={"PASSWORD": "x"}) as server:
        args = server.exec("ps", "-eo", "args")
        assert "--disable-update-check" in args and "--disable-telemetry" in args


def test_baked_extension_is_installed(container: Container) -> None:
    extensions = container.run("code-server", "--extensions-dir", "/opt/code-server/extensions",
                               "--list-extensions", exec_=True, read_only=True,
                               user="12345:100").stdout
    assert "grayscott.gray-scott-lab" in extensions


def test_no_compiler_ships(container: Container) -> None:
    assert container.sh("command -v gcc cc g++ make node-gyp | wc -l") == "0"


@pytest.mark.runtimes("docker")
def test_healthcheck_reports_the_server_healthy(container: Container,
                                                variant: variants.Variant) -> None:
    """The image's HEALTHCHECK (inherited by jupyter, where it probes JupyterLab) turns the
    container healthy once its own entrypoint's server answers, as an arbitrary UID on a
    read-only root; the same probe fails in a container where no server runs."""
    env = {"PASSWORD": "x", "JUPYTER_TOKEN": "t0ken"}
    with container.serve(variant.port, health="/", user="12345:100", read_only=True,
                         env=env) as server:
        deadline, status = time.monotonic() + 90, ""
        while time.monotonic() < deadline and status != "healthy":
            time.sleep(1)
            status = subprocess.run(
                [server.runtime.program, "inspect", "-f", "{{.State.Health.Status}}", server.name],
                capture_output=True, text=True, check=False).stdout.strip()
        assert status == "healthy", server.logs()
        probe = server.exec("python3", "/usr/local/bin/gslab-healthcheck")
        assert ("/api" if variant.flavour == "jupyter" else "/healthz") in probe
    idle = container.run("python3", "/usr/local/bin/gslab-healthcheck", exec_=True, expect_rc=1,
                         env=env)  # no server started: the probe must say so
    assert "unhealthy" in idle.stdout
