"""The one-machine hub's pieces that are more than settings: which lab images a user may
choose (CPU always, GPU only where the host has one), the spawn form that offers them, and a
DockerSpawner that starts the chosen image the way the lab images expect.

``jupyterhub_config.py`` reads the site's settings from the environment and hands them to
:func:`profiles_from_env`; everything here is plain Python so the tests can exercise it
without a hub.
"""

from __future__ import annotations

import asyncio
import html
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from docker.types import Mount, Resources, RestartPolicy
from docker.utils import parse_bytes
from dockerspawner import DockerSpawner, SwarmSpawner
from tornado import web
from tornado.httpclient import AsyncHTTPClient
from traitlets import default


@dataclass(frozen=True)
class Profile:
    """One choice of the spawn form: an image and the resources its container gets."""

    name: str
    title: str
    image: str
    mem_limit: str
    cpu_limit: float
    gpu: bool = False
    device_requests: list[dict[str, Any]] = field(default_factory=list)


def gpu_available(setting: str, dev_dir: Path = Path("/dev"),
                  docker_info: Mapping[str, Any] | None = None) -> bool:
    """Whether to offer the GPU image: ``yes``/``no`` decide; ``auto`` looks for an NVIDIA
    device node (the host's, when the hub runs on it; ``make hub`` checks the host and
    passes yes/no to a containerised hub) or an ``nvidia`` runtime in the Docker daemon."""
    setting = setting.strip().lower()
    if setting in ("yes", "true", "1"):
        return True
    if setting in ("no", "false", "0"):
        return False
    if setting != "auto":
        raise ValueError(f"GSLAB_HUB_GPU must be auto, yes or no, not {setting!r}")
    if (dev_dir / "nvidia0").exists():
        return True
    runtimes = (docker_info or {}).get("Runtimes") or {}
    return "nvidia" in runtimes


def profiles_from_env(env: Mapping[str, str], gpu: bool) -> list[Profile]:
    """The spawn form's choices from the site's settings (compose/hub/.env)."""
    profiles = [Profile(
        name="cpu",
        title="CPU: NumPy, Numba, JAX",
        image=env.get("GSLAB_HUB_CPU_IMAGE", "gray-scott-lab:cpu-jupyter"),
        mem_limit=env.get("GSLAB_HUB_MEM_LIMIT", "4G"),
        cpu_limit=float(env.get("GSLAB_HUB_CPU_LIMIT", "2")),
    )]
    if gpu:
        gpus = env.get("GSLAB_HUB_GPUS", "all")
        request: dict[str, Any] = {"driver": "nvidia", "capabilities": [["gpu"]]}
        if gpus == "all":
            request["count"] = -1
        else:
            request["device_ids"] = [g.strip() for g in gpus.split(",") if g.strip()]
        profiles.append(Profile(
            name="gpu",
            title="GPU: CuPy, cuPyNumeric, JAX, PyTorch on the NVIDIA GPU",
            image=env.get("GSLAB_HUB_GPU_IMAGE", "gray-scott-lab:gpu-jupyter"),
            mem_limit=env.get("GSLAB_HUB_GPU_MEM_LIMIT", env.get("GSLAB_HUB_MEM_LIMIT", "8G")),
            cpu_limit=float(env.get("GSLAB_HUB_GPU_CPU_LIMIT", env.get("GSLAB_HUB_CPU_LIMIT", "4"))),
            gpu=True,
            device_requests=[request],
        ))
    return profiles


def options_form(profiles: list[Profile]) -> str:
    """Radio buttons, one per profile, the first checked (the spawn page's form body)."""
    rows = []
    for i, p in enumerate(profiles):
        checked = " checked" if i == 0 else ""
        rows.append(
            f'<div class="radio"><label><input type="radio" name="profile" '
            f'value="{html.escape(p.name)}"{checked}> <strong>{html.escape(p.title)}</strong> '
            f'<span class="text-muted">{html.escape(p.image)}, {html.escape(p.mem_limit)} '
            f'memory, {p.cpu_limit:g} CPUs</span></label></div>')
    return "<p>Which lab image?</p>\n" + "\n".join(rows)


class GslabSpawner(DockerSpawner):
    """DockerSpawner for the lab images: the chosen profile's image, limits and GPUs.

    The images start through their entrypoint (tini, then start-jupyter, which execs
    jupyterhub-singleuser when the hub's token is in the environment); their CMD is empty, so
    the command is only the spawner's arguments."""

    profiles: ClassVar[list[Profile]] = []  # set by jupyterhub_config.py
    #: Docker calls at once. DockerSpawner sends every call through one worker thread, so a
    #: class arriving together queued behind each other's spawns and stops (~3 s each);
    #: side by side, the wait is bounded by the machine instead (set by jupyterhub_config.py).
    docker_threads: ClassVar[int] = 16
    _pool: ClassVar[ThreadPoolExecutor | None] = None
    #: Seconds between start()'s own looks at the new server. The hub's check after start()
    #: backs off (0.2 s doubling up to 5 s), so a server that came up just after one look
    #: waited for the next: 3.3 s of an 11.3 s spawn in one measured case.
    answer_poll_s: ClassVar[float] = 0.25

    @property
    def executor(self) -> ThreadPoolExecutor:
        """One pool for every spawner of the hub, ``docker_threads`` wide."""
        cls = type(self)
        if cls._pool is None:
            cls._pool = ThreadPoolExecutor(cls.docker_threads, thread_name_prefix="docker")
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
        started = await super().start()
        if isinstance(started, tuple) and len(started) == 2:
            await self.until_answering(*started)
        return started

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

    #: Processes one lab may run (the plain Docker hub's ``pids_limit``)
    pids_limit: ClassVar[int] = 1024

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
