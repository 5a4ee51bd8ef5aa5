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

import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Browser, sync_playwright

from grayscott.classroom import client
from tests.utils import REPO, free_port, run, wait_for

COMPOSE = REPO / "compose"
BUILD = REPO / "build"
CPU_JUPYTER = "gray-scott-lab:cpu-jupyter"


@pytest.fixture(scope="session")
def docker_engine() -> None:
    if shutil.which("docker") is None or run("docker", "info", check=False).returncode != 0:
        pytest.fail("the Docker engine does not answer: bash scripts/setup-engines.sh")
    if run("docker", "compose", "version", check=False).returncode != 0:
        pytest.fail("docker compose (v2) is missing: bash scripts/setup-engines.sh")
    if run("docker", "image", "inspect", CPU_JUPYTER, check=False).returncode != 0:
        pytest.fail(f"{CPU_JUPYTER} is not built: make build-cpu-jupyter")


@dataclass
class Hub(client.Hub):
    """A hub started by compose/hub/hub.sh: the client's, and what only the tests do on the
    host (its script, its logs)."""

    env: dict[str, str] = field(default_factory=dict)  # hub.sh's: HUB_ENV_FILE, HUB_NAME

    def script(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return run("bash", COMPOSE / "hub" / "hub.sh", *args, env=self.env, check=check)

    def logs(self) -> str:
        result = run("docker", "logs", self.name, check=False)
        return result.stdout + result.stderr

    def spawn(self, user: str, timeout: float = 180, new_user: bool = True) -> float:
        """``user``'s server through the REST API (the user created first when ``new_user``),
        waited for: the seconds from the spawn request to ready."""
        if new_user:
            assert self.api("POST", f"/users/{user}").status_code == 201
        started = time.monotonic()
        response = self.api("POST", f"/users/{user}/server")
        assert response.status_code in (201, 202), response.text
        wait_for(lambda: client.server_ready(self, user), timeout,
                 f"{user}'s server\n{self.logs()[-3000:]}", 0.1)
        return time.monotonic() - started

    def make_teacher(self, name: str) -> str:
        """``make hub-admin USERS=<name>`` (native accounts): the password it printed."""
        result = self.script("admin", name)
        line = result.stdout.strip().splitlines()[-1]
        assert line.startswith(f"{name}: teacher, password "), result.stdout
        return line.split("password ")[1].split()[0]


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


#: the course password of the hubs with GSLAB_HUB_AUTH=shared, and the teachers' password
COURSE = "gray-scott-course-2026"
ADMIN = "an-admin-password-of-more-than-32-characters"


@pytest.fixture(scope="module")
def shared_hub(docker_engine: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    """A hub with one course password (COURSE) and one teacher, ``prof``, who logs in with the
    admin password (ADMIN); one per test module."""
    settings = {"GSLAB_HUB_AUTH": "shared", "GSLAB_HUB_SHARED_PASSWORD": COURSE,
                "GSLAB_HUB_ADMINS": "prof", "GSLAB_HUB_ADMIN_PASSWORD": ADMIN}
    with started_hub(tmp_path_factory.mktemp("shared-hub"), settings) as started:
        yield started


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
