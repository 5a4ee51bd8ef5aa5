"""Accidents in a class (issue #13): one student's kernel allocates past the lab's memory
limit. The kernel dies (the kernel's cgroup OOM kill), the lab's server restarts it and the
student can go on; the other student's kernel keeps its variables and answers; the hub and
the first student's server keep running."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import pytest
import requests
from tornado import websocket

from grayscott.classroom.client import (
    connect,
    execute,
    execute_request,
    open_kernel,
)
from tests.deploy.conftest import Hub, started_hub
from tests.utils import run, wait_for

LIMIT_MIB = 384


@pytest.fixture(scope="module")
def small_hub(docker_engine: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    settings = {"GSLAB_HUB_MEM_LIMIT": f"{LIMIT_MIB}M", "GSLAB_HUB_CPU_LIMIT": "1"}
    with started_hub(tmp_path_factory.mktemp("small-hub"), settings) as hub:
        yield hub


def lab_with_kernel(hub: Hub, user: str) -> tuple[str, str]:
    """A running server for ``user`` and a kernel in it: (kernel id, channels URL)."""
    hub.spawn(user)
    return open_kernel(hub, user)


async def run_until_end_or_death(ws_url: str, token: str, code: str) -> str:
    """Run ``code``; 'idle' when the cell finished, else the kernel's state when it died."""
    conn = await connect(ws_url, token=token)
    msg_id, message = execute_request(code)
    await conn.write_message(message)
    try:
        while True:
            raw = await asyncio.wait_for(conn.read_message(), 180)
            assert raw is not None, "the kernel's websocket closed"
            message = json.loads(raw)
            if message["msg_type"] != "status":
                continue
            state = message["content"]["execution_state"]
            if state in ("restarting", "dead", "autorestarting"):
                return state
            if state == "idle" and message["parent_header"].get("msg_id") == msg_id:
                return "idle"
    finally:
        conn.close()


def test_a_kernel_past_its_memory_limit_dies_alone_and_restarts(small_hub: Hub) -> None:
    hub = small_hub
    _, greedy_ws = lab_with_kernel(hub, "greedy")
    _, calm_ws = lab_with_kernel(hub, "calm")
    assert "kept" in asyncio.run(execute(calm_ws, "x = 7 * 6\nprint('kept')", token=hub.token))
    assert "set" in asyncio.run(execute(greedy_ws, "y = 1\nprint('set')", token=hub.token))

    # Twice the lab's limit, written so the pages are really used
    hog = f"blocks = [bytes(64 * 2**20) + b'x' for _ in range({2 * LIMIT_MIB // 64})]"
    assert asyncio.run(run_until_end_or_death(greedy_ws, hub.token, hog)) != "idle"

    # The server restarts the kernel: a fresh process (y is gone), the student goes on. A
    # request sent while it restarts can be lost: each try gets 20 s.
    printed: list[str] = []

    def answers() -> bool:
        try:
            printed.append(asyncio.run(asyncio.wait_for(
                execute(greedy_ws, "print('back', 'y' in dir())", token=hub.token), 20)))
        except (RuntimeError, OSError, TimeoutError, websocket.WebSocketClosedError):
            return False
        return "back" in printed[-1]

    wait_for(answers, 180, "the restarted kernel", 2)
    assert "back False" in printed[-1]

    # The other student, the greedy student's server and the hub are unaffected
    assert "x is 42" in asyncio.run(execute(calm_ws, "print('x is', x)", token=hub.token))
    status = requests.get(f"{hub.url}/user/greedy/api/status", timeout=30,
                          headers={"Authorization": f"token {hub.token}"})
    assert status.status_code == 200
    greedy = json.loads(run("docker", "inspect", f"{hub.name}-greedy").stdout)[0]["State"]
    assert greedy["Running"] is True and greedy["Restarting"] is False
    hub_state = json.loads(run("docker", "inspect", hub.name).stdout)[0]
    assert hub_state["State"]["Running"] is True and hub_state["RestartCount"] == 0
    assert requests.get(f"{hub.url}/hub/health", timeout=30).status_code == 200
    for user in ("greedy", "calm"):
        assert hub.api("DELETE", f"/users/{user}/server").status_code in (202, 204)


def test_hub_down_stops_the_class_and_keeps_the_work(
        docker_engine: None, tmp_path_factory: pytest.TempPathFactory) -> None:
    """`make hub-down` (hub.sh down) is what ends a class: the running labs stop and their
    containers go (they would keep the network and the volumes in use), the volumes stay."""
    with started_hub(tmp_path_factory.mktemp("down-hub"), {}) as hub:
        lab_with_kernel(hub, "student")
        hub.script("down")
        left = run("docker", "ps", "-aq", "--filter", f"name=^{hub.name}").stdout.split()
        assert left == [], "containers left after hub.sh down"
        # the hub's network and the student's own (kept across stops, removed here)
        networks = run("docker", "network", "ls", "--format", "{{.Name}}", "--filter",
                       f"name=^{hub.name}")
        assert networks.stdout.split() == []
        volumes = run("docker", "volume", "ls", "-q", "--filter", f"name=^{hub.name}-").stdout
        assert f"{hub.name}-user-student" in volumes.split()
