"""One network per student, and what a lab reaches besides its hub.

On the shared network every lab could open a connection to every other lab's server (its
token check is all that stands in the way, and a kernel is one bug away). Here each lab is
alone on a small network of its own with the hub container (proxy + hub API), which joins it
under the name ``hub``; Docker does not route between two networks. What such a network must
be for GSLAB_HUB_LAB_EGRESS is in settings.py (pure); here are the engine's side of it (the
hub joining the networks) and the host's firewall rules of ``internet``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import docker

from .helpers import run_helper


async def connect_hub(docker_call: Callable[..., Awaitable[Any]], hub_container: str,
                      network: str) -> None:
    """The hub container joins ``network`` as ``hub`` (GSLAB_HUB_CONNECT_IP); once.
    ``docker_call`` is the spawner's ``docker`` (docker-py's API in a thread), so this module
    needs nothing of the spawner's class."""
    try:
        await docker_call("connect_container_to_network", hub_container, network,
                          aliases=["hub"])
    except docker.errors.APIError as exc:
        if "already exists" not in str(exc):
            raise


def reconnect_hub(client: docker.DockerClient, hub_container: str) -> list[str]:
    """At the hub's start: join every student network of this hub again (a hub container
    recreated by ``make hub`` after a settings change has lost them; the labs still run)."""
    joined = []
    for net in client.networks.list(filters={"label": f"gslab.hub={hub_container}"}):
        try:
            net.connect(hub_container, aliases=["hub"])
        except docker.errors.APIError as exc:
            if "already exists" not in str(exc):
                raise
        joined.append(net.name)
    return joined


def install_egress_rules(client: docker.APIClient, image: str, hub: str, pool: str) -> str:
    """The host's rules for a hub with internet egress (gslab-egress add), in place; what the
    helper printed. RuntimeError where it failed: the hub must not start labs without them."""
    status, printed = run_helper(client, image, ["gslab-egress"], ["add", hub, pool],
                                 {"gslab.egress-helper": hub}, timeout=60,
                                 network_mode="host", cap_add=["NET_ADMIN", "NET_RAW"])
    if status != 0:
        raise RuntimeError(f"GSLAB_HUB_LAB_EGRESS=internet: the host's rules could not be put "
                           f"in (exit {status}): {printed}")
    return printed
