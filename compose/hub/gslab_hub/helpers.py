"""The hub's helper containers: what the hub, which runs as an unprivileged user, needs root
for (a student's disk attached to a loop device, the host's firewall rules) is done by a
short-lived container of its own image that has only the capabilities that task needs."""

from __future__ import annotations

from typing import Any

import docker

from .settings import bounded_log


def run_helper(client: docker.APIClient, image: str, entrypoint: list[str], command: list[str],
               labels: dict[str, str], *, timeout: float, **host: Any) -> tuple[int, str]:
    """A short-lived root container of the hub's image with only the capabilities in
    ``host`` (no new privileges, a bounded log), run to its end and removed: (exit status,
    what it printed). The hub's disk and firewall helpers."""
    host_config = client.create_host_config(cap_drop=["ALL"], security_opt=["no-new-privileges"],
                                            log_config=bounded_log({}), **host)
    container = client.create_container(image, entrypoint=entrypoint, command=command,
                                        user="0:0", host_config=host_config, labels=labels)
    try:
        client.start(container)
        status = client.wait(container, timeout=timeout)["StatusCode"]
        printed = client.logs(container).decode(errors="replace").strip()
    finally:
        client.remove_container(container, force=True)
    return int(status), printed
