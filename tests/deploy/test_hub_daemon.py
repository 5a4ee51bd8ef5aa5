"""Accidents in a class (issue #13): the Docker daemon restarts mid-class (an upgrade, a crash).
Without dockerd's ``live-restore`` the running labs stop with it; the hub container comes
back by its restart policy (compose.yaml: unless-stopped), answers, notices the labs are
gone, and a student starts again and finds their work.

This restarts the machine's dockerd, as this machine runs it (``scripts/setup-engines.sh``
starts it in the background: there is no systemd here): every container on the engine
without a restart policy stops. Run it on a machine of its own (CI), or announce it."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from pathlib import Path

import pytest
import requests

from grayscott.classroom.client import execute, server_ready
from tests.deploy.conftest import Hub, started_hub
from tests.deploy.test_hub_faults import lab_with_kernel
from tests.utils import REPO, run, wait_for

PIDFILE = Path("/var/run/docker.pid")


def restart_dockerd() -> None:
    """Stop dockerd (SIGTERM: it stops the containers and exits) and start it again the way
    this machine starts it. Whatever happens, the engine is left running."""
    pid = int(PIDFILE.read_text())
    try:
        os.kill(pid, signal.SIGTERM)
        wait_for(lambda: not Path(f"/proc/{pid}").exists(), 120, "dockerd to stop", 0.5)
    finally:
        run("bash", REPO / "scripts" / "setup-engines.sh", timeout=300)
    assert int(PIDFILE.read_text()) != pid, "dockerd was not restarted"


def answers(hub: Hub) -> bool:
    try:
        return requests.get(f"{hub.url}/hub/health", timeout=5).status_code == 200
    except requests.RequestException:
        return False


def start_accepted(hub: Hub, user: str) -> bool:
    """The hub takes a start request: it no longer thinks the user's old lab runs."""
    return hub.api("POST", f"/users/{user}/server").status_code in (201, 202)


def test_the_hub_and_the_class_come_back_after_a_daemon_restart(
        docker_engine: None, tmp_path_factory: pytest.TempPathFactory) -> None:
    if not PIDFILE.is_file():
        pytest.fail(f"no {PIDFILE}: dockerd is not run the way scripts/setup-engines.sh runs it")
    with started_hub(tmp_path_factory.mktemp("daemon-hub"), {}) as hub:
        _, ws = lab_with_kernel(hub, "student")
        code = "open('/work/kept.txt', 'w').write('42')\nprint('written')"
        assert "written" in asyncio.run(execute(ws, code, token=hub.token))
        before = json.loads(run("docker", "inspect", hub.name).stdout)[0]["State"]["StartedAt"]

        restart_dockerd()

        # The hub container is back by its restart policy, and answers
        wait_for(lambda: answers(hub), 180, f"the hub after the restart\n{hub.logs()}", 1)
        state = json.loads(run("docker", "inspect", hub.name).stdout)[0]
        assert state["State"]["Running"] is True and state["State"]["StartedAt"] != before
        assert state["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"

        # The lab stopped with the daemon; the student starts again and finds the work
        started = time.monotonic()
        wait_for(lambda: start_accepted(hub, "student"), 180,
                 f"a new start of the student's lab\n{hub.logs()}", 2)
        wait_for(lambda: server_ready(hub, "student"), 180, f"the new lab\n{hub.logs()}", 0.2)
        print(f"lab ready again {time.monotonic() - started:.1f} s after the hub answered")
        kernel = requests.post(f"{hub.url}/user/student/api/kernels", timeout=60, json={},
                               headers={"Authorization": f"token {hub.token}"})
        assert kernel.status_code == 201, kernel.text
        ws = (f"ws://{hub.url.split('://')[1]}/user/student/api/kernels/"
              f"{kernel.json()['id']}/channels")
        printed = asyncio.run(execute(ws, "print('work', open('/work/kept.txt').read())",
                                      token=hub.token))
        assert "work 42" in printed, printed
