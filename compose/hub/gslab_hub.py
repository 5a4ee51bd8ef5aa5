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
import ipaddress
import logging
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from hmac import compare_digest
from pathlib import Path
from typing import Any, ClassVar

import docker
from docker.types import DriverConfig, Mount, Resources, RestartPolicy
from docker.utils import parse_bytes
from dockerspawner import DockerSpawner, SwarmSpawner
from jupyterhub.authenticators.shared import SharedPasswordAuthenticator
from tornado import web
from tornado.httpclient import AsyncHTTPClient
from traitlets import Set, default


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


class HideXsrfCookies(logging.Filter):
    """Drops JupyterHub's "Setting new xsrf cookie for <id>" lines (the hub's and each lab's):
    they print the value the user's XSRF token is made from into logs many people read."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Setting new xsrf cookie")


#: The same for the labs, as a ``--ServerApp.logging_config`` argument (no file needs to be in
#: the image): that line comes from tornado's application logger, whose other INFO lines the
#: lab server does not use (its own go to the ServerApp logger).
LAB_LOGGING = {"loggers": {"tornado.application": {"level": "WARNING"}}}


# --- Teachers ------------------------------------------------------------------------------
# Teachers are not JupyterHub admins: they have the role ``teacher`` (through the group
# ``teachers``), JupyterHub's admin scopes but ``access:servers`` and the ``shares`` and
# ``tokens`` that lead to it (sharing a student's server with oneself, a token of hers). The
# hub and every lab share one origin (no per-user subdomains at a satellite site), so a
# teacher's browser opening a student's server would run whatever page she makes it send,
# with the teacher's cookies: one request to the hub's API and she is an admin
# (tests/deploy/test_hub_teacher_origin.py). JupyterHub's own admin role cannot be narrowed
# (its scopes are fixed), hence a role of our own, and the admin role is the gslab-admin
# service's alone (a token in the site's .env, never a browser's cookie).

TEACHERS = "teachers"
TEACHER_SCOPES = ["admin-ui", "admin:users", "admin:servers", "admin:services", "admin:groups",
                  "list:services", "read:services", "read:hub", "proxy", "shutdown",
                  "access:services", "read:roles", "read:metrics"]


class TeacherPasswordAuthenticator(SharedPasswordAuthenticator):
    """One course password for students, the admin password for the ``teachers`` names;
    nobody becomes a JupyterHub admin by logging in (SharedPasswordAuthenticator would make
    its admin_users admins, with every server of the class open to their browser)."""

    teachers = Set(help="Names that log in with admin_password (GSLAB_HUB_ADMINS) and "
                        "only with it: the course password never opens them.").tag(config=True)

    async def authenticate(self, handler: Any, data: dict[str, str]) -> dict[str, Any] | None:
        username = self.normalize_username(data["username"])
        password = data["password"]
        expected = self.admin_password if username in self.teachers else self.user_password
        if expected and compare_digest(password.encode(), expected.encode()):
            return {"name": username, "admin": False}
        return None


def admin_names_held(database: Path, admins: str) -> list[str]:
    """The names of GSLAB_HUB_ADMINS (comma-separated) that the hub's database knows as users
    who are not teachers yet: with one course password, students who logged in under them."""
    import sqlite3

    names = [a.strip() for a in admins.split(",") if a.strip()]
    if not names or not database.is_file():
        return []
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        rows = db.execute(
            "SELECT name FROM users WHERE admin = 0 AND name IN "
            f"({','.join('?' * len(names))}) AND id NOT IN ("
            "  SELECT m.user_id FROM user_role_map m JOIN roles r ON r.id = m.role_id"
            "  WHERE r.name = 'teacher')", names).fetchall()
    return sorted(row[0] for row in rows)


def bounded_log(env: Mapping[str, str]) -> dict[str, Any]:
    """Docker's log settings for every container the hub starts: json-file (what ``docker
    logs`` reads everywhere) rotated at GSLAB_HUB_LOG_SIZE, GSLAB_HUB_LOG_FILES files kept."""
    return {"type": "json-file",
            "config": {"max-size": env.get("GSLAB_HUB_LOG_SIZE", "10m"),
                       "max-file": env.get("GSLAB_HUB_LOG_FILES", "3")}}


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


# --- Per-student disk cap -----------------------------------------------------------------
# Each student's /work is an ext4 file system of a fixed size: a sparse file in the hub's
# volume <hub>-disks, attached to a loop device, mounted by Docker as the student's volume
# (local driver, type=ext4, device=/dev/loopN). The kernel enforces the size: a full /work
# says ENOSPC to that student only; the host's disk, the hub and the others keep their room.
# (Docker's own `--storage-opt size` and volume sizes need XFS with project quotas; a file
# size limit is per file.) The loop devices are set up by a short-lived helper container of
# the hub's image (e2fsprogs, losetup) with CAP_SYS_ADMIN and the loop devices only.

#: The helper's script: $1 the disk's name, $2 its size. Creates the file system once (the
#: lab's user, 1000:100, owns its root; no blocks reserved for root; the journal and inode
#: tables not zeroed: a new sparse file reads as zeros already, so an empty 2G disk costs the
#: host ~1 MB, not 65), attaches it unless it is attached (a host reboot detaches every loop
#: device), and prints the loop device.
DISK_SCRIPT = r"""set -eu
img="/disks/$1.ext4"
if [ ! -f "$img" ]; then
    truncate -s "$2" "$img.new"
    mkfs.ext4 -q -F -m 0 -E root_owner=1000:100,lazy_itable_init=1,lazy_journal_init=1 \
        "$img.new"
    mv "$img.new" "$img"
fi
dev=$(losetup -j "$img" | head -n 1 | cut -d: -f1)
[ -n "$dev" ] || dev=$(losetup -f --show "$img")
echo "$dev"
"""

#: The devices the helper may use: loop devices and /dev/loop-control (hub.sh down's too).
LOOP_RULES = ["b 7:* rwm", "c 10:237 rwm"]  # loop devices, /dev/loop-control


def disk_limit_bytes(setting: str) -> int | None:
    """GSLAB_HUB_DISK_LIMIT in bytes ("2G", "512M", "64M"), or None for no cap ("none", "0")."""
    text = setting.strip().upper().removesuffix("B").removesuffix("I")
    if text in ("", "0", "NONE", "NO"):
        return None
    units = {"K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}
    try:
        value = float(text[:-1]) * units[text[-1]] if text[-1] in units else float(text)
    except ValueError:
        raise ValueError(f"GSLAB_HUB_DISK_LIMIT must be a size such as 2G or 512M, or none, "
                         f"not {setting!r}") from None
    if value < 16 * 2**20:
        raise ValueError(f"GSLAB_HUB_DISK_LIMIT={setting} is below 16M: too small for a "
                         "file system")
    return int(value)


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


def attach_disk(client: docker.APIClient, image: str, disks_volume: str, name: str,
                size: int) -> str:
    """The student's disk (created at first use), attached: its loop device."""
    status, printed = run_helper(
        client, image, ["sh", "-c", DISK_SCRIPT, "gslab-disk"], [name, str(size)],
        {"gslab.disk-helper": name}, timeout=120,
        binds={disks_volume: {"bind": "/disks", "mode": "rw"},
               "/dev": {"bind": "/dev", "mode": "rw"}},
        cap_add=["SYS_ADMIN"], device_cgroup_rules=LOOP_RULES, network_mode="none")
    device = printed.splitlines()[-1] if printed else ""
    if status != 0 or not device.startswith("/dev/loop"):
        raise RuntimeError(f"could not attach the disk {name} (exit {status}): {printed}")
    return device


def capped_volume(client: docker.APIClient, volume: str, device: str) -> bool:
    """Make ``volume`` mount ``device`` (ext4); False where the student has a plain volume
    from before the cap (kept as it is, uncapped: their work stays where it is)."""
    try:
        options = client.inspect_volume(volume).get("Options") or {}
    except docker.errors.NotFound:
        options = None
    if options is not None:
        if not options.get("device"):
            return False
        if options["device"] == device:
            return True
        # The disk came back on another loop device (a host reboot): the volume is only
        # how to mount it, the work is in the disk's file.
        client.remove_volume(volume)
    client.create_volume(volume, driver="local",
                         driver_opts={"type": "ext4", "device": device})
    return True


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
    #: The per-student cap of /work (GSLAB_HUB_DISK_LIMIT): its text and bytes (None: none),
    #: the image of the disk helper (the hub's) and the volume holding the disks.
    disk_limit: ClassVar[str] = ""
    disk_bytes: ClassVar[int | None] = None
    disk_helper_image: ClassVar[str] = "gray-scott-lab-hub:latest"
    disks_volume: ClassVar[str] = "gslab-hub-disks"
    #: One network per student (set by jupyterhub_config.py): the range their small subnets
    #: come from ("" keeps every lab on the hub's shared network), the hub's container, which
    #: joins each one (as ``hub``), and the label that marks them as this hub's.
    lab_subnets: ClassVar[str] = ""
    hub_container: ClassVar[str] = ""
    #: What a lab reaches besides its hub (GSLAB_HUB_LAB_EGRESS): "none" or "internet"
    lab_egress: ClassVar[str] = "none"
    _net_lock: ClassVar[asyncio.Lock | None] = None

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

    # One network per student --------------------------------------------------------------
    # On the shared network every lab could open a connection to every other lab's server
    # (its token check is all that stands in the way, and a kernel is one bug away). Here each
    # lab is alone on a small network of its own with the hub container (proxy + hub API),
    # which joins it under the name ``hub``; Docker does not route between two networks.

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
        await connect_hub(self, self.lab_network)
        return self.lab_network

    async def create_lab_network(self) -> None:
        for _ in range(5):  # another hub on the engine may take the same subnet meanwhile
            taken = [c["Subnet"] for n in await self.docker("networks")
                     for c in ((n.get("IPAM") or {}).get("Config") or []) if c.get("Subnet")]
            subnet = free_subnet(self.lab_subnets, taken)
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
            await connect_hub(self, network["Name"])
            return False
        self.log.info("%s made again for GSLAB_HUB_LAB_EGRESS=%s", network["Name"],
                      self.lab_egress)
        return True

    # A stop leaves the student's network in place (the hub stays on it) for their next start;
    # `make hub-down` removes them all. Removing it at each stop put every stop of a class
    # through Docker's network removal, which the engine does one at a time (rules rewritten):
    # 40 students stopping together finished 0.2 s apart, the last after 16.5 s (N=40, 2 cores).


def free_subnet(pool: str, taken: list[str], prefix: int = 28) -> str:
    """The first ``/prefix`` of ``pool`` that overlaps none of the ``taken`` subnets."""
    used = [ipaddress.ip_network(t, strict=False) for t in taken]
    for candidate in ipaddress.ip_network(pool).subnets(new_prefix=prefix):
        if not any(candidate.overlaps(u) for u in used):
            return str(candidate)
    raise web.HTTPError(503, f"every /{prefix} of {pool} is in use")


async def connect_hub(spawner: GslabSpawner, network: str) -> None:
    """The hub container joins ``network`` as ``hub`` (GSLAB_HUB_CONNECT_IP); once."""
    try:
        await spawner.docker("connect_container_to_network", spawner.hub_container, network,
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


# --- What a lab reaches besides its hub (GSLAB_HUB_LAB_EGRESS) ---------------------------
# none (the default): the student's network is `internal` (no route out of its /28) and the
# host takes no address on its bridge (inhibit_ipv4), so the lab reaches its hub and nothing
# else: not the host's services, the site's LAN, a cloud's metadata, nor the internet (a
# class's labs have what they need in the image; an offline site has no internet anyway).
# internet: a plain bridge with a route out, and the host's firewall drops what the labs send
# to the host and to private, shared and link-local ranges (compose/hub/gslab-egress, put in
# by a short-lived helper of the hub's image with the host's network and NET_ADMIN at each
# start of the hub; hub.sh down takes it out).

LAB_EGRESS = ("none", "internet")
#: The bridge driver's option that leaves the host without an address on the network
INHIBIT_IPV4 = "com.docker.network.bridge.inhibit_ipv4"


def lab_egress(setting: str) -> str:
    """GSLAB_HUB_LAB_EGRESS, checked: none or internet."""
    value = setting.strip().lower() or "none"
    if value not in LAB_EGRESS:
        raise ValueError(f"GSLAB_HUB_LAB_EGRESS must be none or internet, not {setting!r}")
    return value


def lab_network_settings(egress: str) -> dict[str, Any]:
    """create_network's arguments for a student's network under ``egress``."""
    if egress == "none":
        return {"internal": True, "options": {INHIBIT_IPV4: "true"}}
    return {"internal": False, "options": {}}


def network_fits(network: Mapping[str, Any], egress: str) -> bool:
    """Whether a student's existing network (the engine's listing) was made for ``egress``."""
    inhibited = (network.get("Options") or {}).get(INHIBIT_IPV4) == "true"
    wanted = egress == "none"
    return bool(network.get("Internal")) == wanted and inhibited == wanted


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
