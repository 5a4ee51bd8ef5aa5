"""GslabSwarmSpawner: the same labs on a Docker Swarm, one service per user
(``GSLAB_HUB_SPAWNER=swarm``), shaped like DockerSpawner's own swarmspawner.py beside its
dockerspawner.py."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from docker.types import DriverConfig, Mount, Resources, RestartPolicy
from docker.utils import parse_bytes
from dockerspawner import SwarmSpawner
from traitlets import Integer

from .settings import LAB_PIDS_LIMIT, bounded_log
from .spawner import GslabSpawner

#: Task states of a swarm service on its way up, before its container starts
TASK_PENDING = frozenset({"new", "allocated", "pending", "assigned", "accepted", "preparing",
                          "ready"})


class GslabSwarmSpawner(GslabSpawner, SwarmSpawner):
    """The same labs on a Docker Swarm: one service per user (``GSLAB_HUB_SPAWNER=swarm``).

    The profile logic is GslabSpawner's; what differs is how a service states the image
    contract. A service has no host config, so the read-only root, the /tmp tmpfs, the
    dropped capabilities, no-new-privileges and the pids limit go into its task template
    (Docker 26.1 applies all of them: checked on the spawned container). Two things of
    SwarmSpawner 14 are replaced: it mounts every volume as a *bind* (the task of a named
    volume such as the user's is rejected: "invalid bind mount source, must be an absolute
    path") and hands the memory limit over as the string "4G" where the API wants bytes."""

    pids_limit = Integer(LAB_PIDS_LIMIT, help="""Processes one lab may run (the plain Docker
        hub's ``pids_limit``).""").tag(config=True)

    @property
    def mounts(self) -> list[Mount]:
        """The user's named volume (the volume driver's, if the site set one) and a /tmp tmpfs;
        an absolute path is a bind mount of the node's directory."""
        driver = self.mount_driver_config
        mounts = [Mount(target=vol["bind"], source=source, read_only=vol["mode"] == "ro",
                        type="bind" if source.startswith("/") else "volume",
                        driver_config=None if source.startswith("/") else driver)
                  for source, vol in self.volume_binds.items()]
        mounts.append(Mount(target="/tmp", source=None, type="tmpfs", tmpfs_mode=0o1777))
        return mounts

    async def create_object(self) -> Any:
        log = self.extra_host_config.get("log_config") or bounded_log({})
        resources = Resources(cpu_limit=int(self.cpu_limit * 1e9) if self.cpu_limit else None,
                              mem_limit=parse_bytes(self.mem_limit) if self.mem_limit else None)
        resources.setdefault("Limits", {})["Pids"] = self.pids_limit
        # The contract's keys win over a site's extra_*_spec (kept for anything else): this
        # runs at every spawn, and the profile may differ from the last one.
        self.extra_task_spec = {
            **self.extra_task_spec,  # type: ignore[has-type]
            "resources": resources,
            # A lab that exits is over, as with a container: the hub notices and cleans up.
            "restart_policy": RestartPolicy(condition="none"),
            # the plain hub's bounded log (its host config's log_config)
            "log_driver": DriverConfig(log["type"], log["config"]),
        }
        self.extra_container_spec = {
            **self.extra_container_spec,  # type: ignore[has-type]
            "read_only": True, "cap_drop": ["ALL"], "privileges": {"NoNewPrivileges": True},
        }
        # No virtual IP (nor its IPVS balancer) in front of the one task: the hub uses its address.
        self.extra_endpoint_spec = {**self.extra_endpoint_spec,  # type: ignore[has-type]
                                    "mode": "dnsrr"}
        return await super().create_object()

    async def start_object(self) -> None:
        """Wait until the service's task has started its container, looking every
        ``answer_poll_s`` (SwarmSpawner's own wait backs off to 11 s between looks)."""
        deadline = time.monotonic() + self.start_timeout
        state = "new"
        while time.monotonic() < deadline:
            task = await self.get_task()
            if task is None:
                raise RuntimeError(f"service {self.service_name} has no task")
            state = task["Status"]["State"].lower()
            if state not in TASK_PENDING:
                break
            await asyncio.sleep(self.answer_poll_s)
        if state not in ("starting", "running"):
            raise RuntimeError(f"service {self.service_name}'s task is {state}: "
                               f"{task['Status'].get('Err') or task['Status'].get('Message')}")

    async def get_ip_and_port(self) -> tuple[str, int]:
        """The task's own address on the hub's network. The swarm names a task in its DNS
        only once the lab image's healthcheck has passed (``running``); by its address the
        hub reaches the server as soon as it listens, as on one machine. The task (no
        restarts) keeps that address for its life."""
        task = await self.get_task()
        for attachment in (task or {}).get("NetworksAttachments") or []:
            if attachment["Network"]["Spec"]["Name"] == self.network_name:
                return attachment["Addresses"][0].split("/")[0], self.port
        return await super().get_ip_and_port()
