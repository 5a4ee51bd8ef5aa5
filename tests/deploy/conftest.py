"""Deployment tests: the compose files and the one-machine hub on the real Docker engine.

Run by ``make test-deploy`` (never by ``make test``): they need Docker, the
``gray-scott-lab:cpu-jupyter`` image and, for the browser test, Debian's chromium
(``scripts/ci/deploy.sh`` installs what is missing). A missing prerequisite fails the test
with the command that fixes it; nothing here is skipped.

The hub fixture starts the hub exactly as a site does (``compose/hub/hub.sh up``, what
``make hub`` runs), under its own name, port and env file, so it never touches a site's hub
on the same machine, and removes it with its volumes afterwards.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Browser, sync_playwright

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "compose"
BUILD = REPO / "build"
CPU_JUPYTER = "gray-scott-lab:cpu-jupyter"


def run(*args: str | Path, env: dict[str, str] | None = None, check: bool = True,
        timeout: float = 600, cwd: Path = REPO,
        input_text: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run a command; with ``check`` its failure fails the test with all it printed.
    ``input_text`` is its standard input (a secret goes there, never into the arguments)."""
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True, cwd=cwd,
                            env={**os.environ, **(env or {})}, timeout=timeout, check=False,
                            input=input_text)
    if check:
        assert result.returncode == 0, (
            f"{' '.join(map(str, args))} exited {result.returncode}:\n"
            f"{result.stdout}\n{result.stderr}")
    return result


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(predicate: object, timeout: float, what: str, interval: float = 0.25) -> None:
    """Poll ``predicate()`` until it is true; a deadline only so a broken hub cannot hang CI."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(interval)
    raise AssertionError(f"{what}: not within {timeout} s")


@pytest.fixture(scope="session")
def docker_engine() -> None:
    if shutil.which("docker") is None or run("docker", "info", check=False).returncode != 0:
        pytest.fail("the Docker engine does not answer: bash scripts/setup-engines.sh")
    if run("docker", "compose", "version", check=False).returncode != 0:
        pytest.fail("docker compose (v2) is missing: bash scripts/setup-engines.sh")
    if run("docker", "image", "inspect", CPU_JUPYTER, check=False).returncode != 0:
        pytest.fail(f"{CPU_JUPYTER} is not built: make build-cpu-jupyter")


@dataclass
class Hub:
    """A hub started by compose/hub/hub.sh, and what the tests need to drive it."""

    name: str
    url: str
    token: str
    env: dict[str, str]
    verify: str | bool = True  # requests' TLS check: the test CA's file for a TLS hub

    def api(self, method: str, path: str, **kwargs: object) -> requests.Response:
        """The hub's REST API as the gslab-admin service (an admin)."""
        return requests.request(method, f"{self.url}/hub/api{path}", timeout=30,
                                verify=self.verify,
                                headers={"Authorization": f"token {self.token}"},
                                **kwargs)  # type: ignore[arg-type]

    def script(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return run("bash", COMPOSE / "hub" / "hub.sh", *args, env=self.env, check=check)

    def logs(self) -> str:
        result = run("docker", "logs", self.name, check=False)
        return result.stdout + result.stderr

    def login(self, username: str, password: str) -> requests.Session:
        """A browser-like session through the login form (with its XSRF token)."""
        session = requests.Session()
        session.trust_env = False  # REQUESTS_CA_BUNDLE would override verify
        session.verify = self.verify
        session.get(f"{self.url}/hub/login", timeout=30)
        session.post(f"{self.url}/hub/login", timeout=30, allow_redirects=False,
                     data={"username": username, "password": password,
                           "_xsrf": session.cookies.get("_xsrf", "")})
        return session


def runs_the_class(session: requests.Session, hub: Hub) -> bool:
    """Whether a browser session has a teacher's rights: the class's list of users (a
    student sees only herself); never a JupyterHub admin's (test_hub_teacher_origin)."""
    me = session.get(f"{hub.url}/hub/api/user", timeout=30)
    users = session.get(f"{hub.url}/hub/api/users", timeout=30)
    return me.status_code == 200 and me.json()["admin"] is False and users.status_code == 200


def teardown_hub(name: str, env: dict[str, str]) -> None:
    run("bash", COMPOSE / "hub" / "hub.sh", "down", env=env, check=False)
    volumes = run("docker", "volume", "ls", "-q", "--filter", f"name=^{name}-", check=False)
    for volume in volumes.stdout.split():
        run("docker", "volume", "rm", "-f", volume, check=False)


@contextmanager
def started_hub(folder: Path, settings: dict[str, str], env: dict[str, str] | None = None,
                verify: str | bool = True) -> Iterator[Hub]:
    """A hub started by hub.sh up with ``settings`` in its env file; removed afterwards."""
    name = f"gslab-hub-test-{uuid.uuid4().hex[:6]}"
    env_file = folder / "hub.env"
    port = free_port()
    lines = {"HUB_PORT": str(port), "HUB_BIND": "127.0.0.1", **settings}
    env_file.write_text("".join(f"{k}={v}\n" for k, v in lines.items()))
    env = {"HUB_ENV_FILE": str(env_file), "HUB_NAME": name, **(env or {})}
    try:
        up = run("bash", COMPOSE / "hub" / "hub.sh", "up", env=env, timeout=900)
        # the scheme the hub chose (HTTPS unless bound to loopback or told otherwise)
        scheme = "https" if "answers at https://" in up.stdout else "http"
        values = dict(line.split("=", 1) for line in env_file.read_text().split())
        yield Hub(name=name, url=f"{scheme}://127.0.0.1:{port}",
                  token=values["GSLAB_HUB_API_TOKEN"], env=env, verify=verify)
    finally:
        teardown_hub(name, env)


@pytest.fixture(scope="session")
def hub(docker_engine: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    """The hub as `make hub` starts it (native authenticator, GPU as detected: none here)."""
    with started_hub(tmp_path_factory.mktemp("hub"), {}) as started:
        yield started


#: Debian's chromium as CI runs it (no sandbox as root, nothing fetched from the network)
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """A real browser: Debian's chromium driven by playwright (never a downloaded one)."""
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("chromium is missing: apt-get install chromium (scripts/ci/deploy.sh does)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
