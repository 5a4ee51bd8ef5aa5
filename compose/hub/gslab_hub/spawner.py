"""GslabSpawner: DockerSpawner for the lab images, the chosen profile's image, limits and
GPUs, each student's disk and network. Its settings are configurable traits, set by
``jupyterhub_config.py`` as ``c.GslabSpawner.x`` from the site's settings (settings.py reads
and checks them; their defaults are there).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar

import docker
from dockerspawner import DockerSpawner
from tornado import web
from tornado.httpclient import AsyncHTTPClient
from traitlets import Enum, Float, Instance, Integer, List, Unicode, default

from .disks import attach_disk, capped_volume
from .network import connect_hub
from .settings import (
    DEFAULTS,
    LAB_EGRESS,
    Profile,
    disk_limit_bytes,
    free_subnet,
    lab_network_settings,
    network_fits,
    options_form,
)


class GslabSpawner(DockerSpawner):
    """DockerSpawner for the lab images: the chosen profile's image, limits and GPUs.

    The images start through their entrypoint (tini, then start-jupyter, which execs
    jupyterhub-singleuser when the hub's token is in the environment); their CMD is empty, so
    the command is only the spawner's arguments."""

    profiles: List[Profile] = List(Instance(Profile), help="""The spawn form's choices, the
        first the one a start without a form gets: settings.profiles_from_env, from
        GSLAB_HUB_CPU_IMAGE, GSLAB_HUB_MEM_LIMIT, ... and the GPU the engine has.""").tag(
        config=True)
    docker_threads = Integer(int(DEFAULTS["GSLAB_HUB_DOCKER_THREADS"]), help="""Docker calls
        at once (GSLAB_HUB_DOCKER_THREADS). DockerSpawner sends every call through one worker
        thread, so a class arriving together queued behind each other's spawns and stops
        (~3 s each); side by side, the wait is bounded by the machine instead.""").tag(config=True)
    answer_poll_s = Float(0.25, help="""Seconds between start()'s own looks at the new server.
        The hub's check after start() backs off (0.2 s doubling up to 5 s), so a server that
        came up just after one look waited for the next: 3.3 s of an 11.3 s spawn in one
        measured case.""").tag(config=True)
    disk_limit = Unicode(DEFAULTS["GSLAB_HUB_DISK_LIMIT"], help="""The size of each student's
        /work, a file system of its own (GSLAB_HUB_DISK_LIMIT: 2G, 512M; none: a plain
        volume, no cap).""").tag(config=True)
    disk_helper_image = Unicode(DEFAULTS["GSLAB_HUB_IMAGE"], help="""The image of the disk
        and firewall helpers: the hub's own (GSLAB_HUB_IMAGE).""").tag(config=True)
    disks_volume = Unicode("gslab-hub-disks", help="""The volume holding the students' disks
        (<hub>-disks).""").tag(config=True)
    lab_subnets = Unicode("", help="""The range each student's network takes a /28 of
        (GSLAB_HUB_LAB_SUBNETS); "" keeps every lab on the hub's shared network.""").tag(
        config=True)
    hub_container = Unicode("", help="""The hub's container, which joins each student's
        network (as ``hub``); the label gslab.hub=<it> marks the networks and labs as this
        hub's.""").tag(config=True)
    lab_egress = Enum(LAB_EGRESS, DEFAULTS["GSLAB_HUB_LAB_EGRESS"], help="""What a lab reaches
        besides its hub (GSLAB_HUB_LAB_EGRESS): none, or internet (never the host nor
        private ranges).""").tag(config=True)
    _pool: ClassVar[ThreadPoolExecutor | None] = None
    _net_lock: ClassVar[asyncio.Lock | None] = None

    @property
    def disk_bytes(self) -> int | None:
        """The per-student cap in bytes; None: no cap."""
        return disk_limit_bytes(self.disk_limit)

    @property
    def executor(self) -> ThreadPoolExecutor:
        """One pool for every spawner of the hub, ``docker_threads`` wide."""
        cls = type(self)
        if cls._pool is None:
            cls._pool = ThreadPoolExecutor(self.docker_threads, thread_name_prefix="docker")
        return cls._pool

    @default("options_form")
    def _options_form_default(self) -> str:
        """No form when there is nothing to choose (no GPU): the server starts at once."""
        return options_form(self.profiles) if len(self.profiles) > 1 else ""

    def options_from_form(self, formdata: dict[str, list[str]]) -> dict[str, str]:
        return {"profile": formdata.get("profile", [self.profiles[0].name])[0]}

    def chosen_profile(self) -> Profile:
        name = (self.user_options or {}).get("profile", self.profiles[0].name)
        for profile in self.profiles:
            if profile.name == name:
                return profile
        offered = ", ".join(p.name for p in self.profiles)
        raise web.HTTPError(400, f"unknown profile {name!r}: this hub offers {offered}")

    async def start(self) -> Any:
        profile = self.chosen_profile()
        self.image = profile.image
        self.mem_limit = profile.mem_limit
        self.cpu_limit = profile.cpu_limit
        host_config: dict[str, Any] = dict(self.extra_host_config)  # type: ignore[has-type]
        if profile.device_requests:
            host_config["device_requests"] = profile.device_requests
        else:
            host_config.pop("device_requests", None)
        self.extra_host_config = host_config
        environment: dict[str, Any] = dict(self.environment)  # type: ignore[has-type]
        self.environment = {**environment, "GSLAB_PROFILE": profile.name}
        if self.disk_bytes is not None and await self.prepare_disk():
            self.environment = {**self.environment, "GSLAB_DISK_LIMIT": self.disk_limit}
        if self.lab_subnets:
            self.network_name = await self.own_network()
            create: dict[str, Any] = dict(self.extra_create_kwargs)  # type: ignore[has-type]
            self.extra_create_kwargs = {**create, "labels": {"gslab.hub": self.hub_container}}
        started = await super().start()
        if isinstance(started, tuple) and len(started) == 2:
            await self.until_answering(*started)
        return started

    async def prepare_disk(self) -> bool:
        """Attach the student's disk and point their /work volume at it (every start: after
        a host reboot the loop devices are gone). False: they keep a plain volume."""
        volume = next((name for name, bind in self.volume_binds.items()
                       if bind["bind"] == "/work"), None)
        if volume is None or self.disk_bytes is None:
            return False
        client = self.client
        loop = asyncio.get_running_loop()
        try:
            device = await loop.run_in_executor(
                self.executor, attach_disk, client, self.disk_helper_image, self.disks_volume,
                volume, self.disk_bytes)
            capped = await loop.run_in_executor(self.executor, capped_volume, client, volume,
                                                device)
        except (RuntimeError, docker.errors.DockerException) as exc:
            self.log.error("disk for %s: %s", volume, exc)
            raise web.HTTPError(500, f"the hub could not prepare your disk (/work): {exc}. "
                                "Tell your teacher (GSLAB_HUB_DISK_LIMIT=none turns the "
                                "per-student disk off).") from None
        if not capped:
            self.log.warning("%s is a plain volume from before the disk cap: kept, uncapped",
                             volume)
        return capped

    async def until_answering(self, ip: str, port: int) -> None:
        """Return once the server answers HTTP (any status), its container has exited, or
        ``http_timeout`` has passed; the hub's own check then finds it at its first try."""
        url = f"http://{ip}:{port}{self.server.base_url}api" if self.server else None
        if url is None:
            return
        client = AsyncHTTPClient()
        deadline = time.monotonic() + self.http_timeout
        looks = 0
        while time.monotonic() < deadline:
            try:
                await client.fetch(url, request_timeout=5, follow_redirects=False,
                                   raise_error=False)
                return
            except Exception:  # not listening yet (refused, reset, timed out): look again
                pass
            looks += 1
            if looks % 8 == 0 and await self.poll() is not None:
                return  # the container exited: the hub reports it
            await asyncio.sleep(self.answer_poll_s)

    async def get_command(self) -> list[str]:
        return list(self.cmd or []) + list(self.get_args())

    # One network per student (network.py says why) ----------------------------------------

    @property
    def lab_network(self) -> str:
        return f"{self.container_name}-net"

    async def own_network(self) -> str:
        """Create this student's network (once; a subnet of ``lab_subnets`` no other
        network of the engine uses) and connect the hub to it; its name."""
        cls = type(self)
        if cls._net_lock is None:
            cls._net_lock = asyncio.Lock()
        async with cls._net_lock:  # two spawns must not pick the same free subnet
            found = await self.docker("networks", names=[self.lab_network])
            mine = [n for n in found if n["Name"] == self.lab_network]
            if mine and not network_fits(mine[0], self.lab_egress):
                mine = [] if await self.remove_unfit_network(mine[0]) else mine
            if not mine:
                await self.create_lab_network()
        await connect_hub(self.docker, self.hub_container, self.lab_network)
        return self.lab_network

    async def create_lab_network(self) -> None:
        for _ in range(5):  # another hub on the engine may take the same subnet meanwhile
            taken = [c["Subnet"] for n in await self.docker("networks")
                     for c in ((n.get("IPAM") or {}).get("Config") or []) if c.get("Subnet")]
            try:
                subnet = free_subnet(self.lab_subnets, taken)
            except LookupError as exc:
                raise web.HTTPError(503, str(exc)) from None
            ipam = docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet=subnet)])
            try:
                await self.docker("create_network", self.lab_network, driver="bridge",
                                  ipam=ipam,
                                  labels={"gslab.hub": self.hub_container},
                                  **lab_network_settings(self.lab_egress))
                return
            except docker.errors.APIError as exc:
                if "overlap" not in str(exc):
                    raise
        raise web.HTTPError(503, f"no free subnet for {self.lab_network} in {self.lab_subnets}")

    async def remove_unfit_network(self, network: Mapping[str, Any]) -> bool:
        """Remove the student's network made for another GSLAB_HUB_LAB_EGRESS (before that
        setting changed, or before it existed) so that it is made again; False where a
        container still uses it (it is kept, and goes at `make hub-down`)."""
        try:
            await self.docker("disconnect_container_from_network", self.hub_container,
                              network["Id"], force=True)
        except docker.errors.APIError as exc:
            if "is not connected" not in str(exc):
                raise
        try:
            await self.docker("remove_network", network["Id"])
        except docker.errors.APIError as exc:
            self.log.warning("%s was made for another GSLAB_HUB_LAB_EGRESS and is kept: %s",
                             network["Name"], exc)
            await connect_hub(self.docker, self.hub_container, network["Name"])
            return False
        self.log.info("%s made again for GSLAB_HUB_LAB_EGRESS=%s", network["Name"],
                      self.lab_egress)
        return True

    # A stop leaves the student's network in place (the hub stays on it) for their next start;
    # `make hub-down` removes them all. Removing it at each stop put every stop of a class
    # through Docker's network removal, which the engine does one at a time (rules rewritten):
    # 40 students stopping together finished 0.2 s apart, the last after 16.5 s (N=40, 2 cores).
