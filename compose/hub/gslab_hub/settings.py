"""The one-machine hub's site settings, read and checked: every GSLAB_HUB_* the spawner uses,
its default (written here and nowhere else), the spawn form's profiles and what a student's
network must be.

Pure Python (no Docker, no JupyterHub) on purpose: a bad setting is one ``ValueError`` line
that ``jupyterhub_config.py`` turns into the hub's "error:" line at its start, never a spawn
failure later, and the unit suite checks all of it without an engine (tests/test_hub_settings.py).
compose.yaml and stack.yaml hand each setting over empty when the site did not set it, so
the default below is the one that applies.
"""

from __future__ import annotations

import html
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Each site setting's default: what applies when compose/hub/.env leaves it unset or empty
DEFAULTS: dict[str, str] = {
    "GSLAB_HUB_GPU": "auto",
    "GSLAB_HUB_GPUS": "all",
    "GSLAB_HUB_CPU_IMAGE": "gray-scott-lab:cpu-jupyter",
    "GSLAB_HUB_GPU_IMAGE": "gray-scott-lab:gpu-jupyter",
    "GSLAB_HUB_MEM_LIMIT": "4G",
    "GSLAB_HUB_CPU_LIMIT": "2",
    "GSLAB_HUB_GPU_MEM_LIMIT": "16G",
    "GSLAB_HUB_GPU_CPU_LIMIT": "4",
    "GSLAB_HUB_DOCKER_THREADS": "16",
    "GSLAB_HUB_DISK_LIMIT": "2G",
    "GSLAB_HUB_IMAGE": "gray-scott-lab-hub:latest",
    "GSLAB_HUB_LAB_SUBNETS": "10.213.0.0/16",
    "GSLAB_HUB_LAB_EGRESS": "none",
    "GSLAB_HUB_CULL_TIMEOUT": "3600",
    "GSLAB_HUB_CULL_EVERY": "300",
    "GSLAB_HUB_LOG_SIZE": "10m",
    "GSLAB_HUB_LOG_FILES": "3",
}

#: Processes one lab may run: the image contract's pids limit (host config and swarm task)
LAB_PIDS_LIMIT = 1024


def setting(env: Mapping[str, str], name: str) -> str:
    """The site's value of ``name`` (stripped), or its default when unset or empty."""
    return env.get(name, "").strip() or DEFAULTS[name]


def whole_number(env: Mapping[str, str], name: str, minimum: int = 1) -> int:
    """A setting that counts something (seconds, threads): an integer, ``minimum`` or more."""
    text = setting(env, name)
    if not text.isdigit() or int(text) < minimum:
        raise ValueError(f"{name} must be a whole number, {minimum} or more, not {text!r}")
    return int(text)


def cpu_count(env: Mapping[str, str], name: str) -> float:
    """A profile's CPUs (``2``, ``0.5``)."""
    text = setting(env, name)
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{name} must be a number of CPUs such as 2 or 0.5, not {text!r}") from None


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
    setting = setting.strip().lower() or DEFAULTS["GSLAB_HUB_GPU"]
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
        image=setting(env, "GSLAB_HUB_CPU_IMAGE"),
        mem_limit=setting(env, "GSLAB_HUB_MEM_LIMIT"),
        cpu_limit=cpu_count(env, "GSLAB_HUB_CPU_LIMIT"),
    )]
    if gpu:
        gpus = setting(env, "GSLAB_HUB_GPUS")
        request: dict[str, Any] = {"driver": "nvidia", "capabilities": [["gpu"]]}
        if gpus == "all":
            request["count"] = -1
        else:
            request["device_ids"] = [g.strip() for g in gpus.split(",") if g.strip()]
        profiles.append(Profile(
            name="gpu",
            title="GPU: CuPy, cuPyNumeric, JAX, PyTorch on the NVIDIA GPU",
            image=setting(env, "GSLAB_HUB_GPU_IMAGE"),
            mem_limit=setting(env, "GSLAB_HUB_GPU_MEM_LIMIT"),
            cpu_limit=cpu_count(env, "GSLAB_HUB_GPU_CPU_LIMIT"),
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


def bounded_log(env: Mapping[str, str]) -> dict[str, Any]:
    """Docker's log settings for every container the hub starts: json-file (what ``docker
    logs`` reads everywhere) rotated at GSLAB_HUB_LOG_SIZE, GSLAB_HUB_LOG_FILES files kept."""
    return {"type": "json-file",
            "config": {"max-size": setting(env, "GSLAB_HUB_LOG_SIZE"),
                       "max-file": setting(env, "GSLAB_HUB_LOG_FILES")}}


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
    value = setting.strip().lower() or DEFAULTS["GSLAB_HUB_LAB_EGRESS"]
    if value not in LAB_EGRESS:
        raise ValueError(f"GSLAB_HUB_LAB_EGRESS must be none or internet, not {setting!r}")
    return value


def lab_subnets(text: str) -> str:
    """GSLAB_HUB_LAB_SUBNETS, checked: the range of the students' own networks, or "" for
    ``shared`` (every lab on the hub's network)."""
    value = text.strip() or DEFAULTS["GSLAB_HUB_LAB_SUBNETS"]
    if value == "shared":
        return ""
    try:
        ipaddress.ip_network(value)
    except ValueError:
        raise ValueError(f"GSLAB_HUB_LAB_SUBNETS must be a network like 10.213.0.0/16 or "
                         f"'shared', not {value!r}") from None
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


def free_subnet(pool: str, taken: list[str], prefix: int = 28) -> str:
    """The first ``/prefix`` of ``pool`` that overlaps none of the ``taken`` subnets;
    LookupError when every one is taken."""
    used = [ipaddress.ip_network(t, strict=False) for t in taken]
    for candidate in ipaddress.ip_network(pool).subnets(new_prefix=prefix):
        if not any(candidate.overlaps(u) for u in used):
            return str(candidate)
    raise LookupError(f"every /{prefix} of {pool} is in use")


def spawner_settings(env: Mapping[str, str], hub_name: str) -> dict[str, Any]:
    """GslabSpawner's configurable traits from the site's settings, each checked (the
    profiles are set apart: they depend on the GPU the engine has)."""
    disk_limit = setting(env, "GSLAB_HUB_DISK_LIMIT")
    disk_limit_bytes(disk_limit)  # refused here, at the hub's start
    subnets = lab_subnets(env.get("GSLAB_HUB_LAB_SUBNETS", ""))
    return {
        "docker_threads": whole_number(env, "GSLAB_HUB_DOCKER_THREADS"),
        "disk_limit": disk_limit,
        "disk_helper_image": setting(env, "GSLAB_HUB_IMAGE"),
        "disks_volume": f"{hub_name}-disks",
        "lab_subnets": subnets,
        # egress is a setting of the students' own networks: with none, it is not read
        "lab_egress": lab_egress(env.get("GSLAB_HUB_LAB_EGRESS", "")) if subnets else "none",
        "hub_container": env.get("GSLAB_HUB_CONTAINER", "").strip() or hub_name,
    }
