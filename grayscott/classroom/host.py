"""What the host can tell about the class's hub and labs: the commands the simulator runs,
the CPU-seconds of containers and of the engine's daemons, memory, the machine and versions."""

from __future__ import annotations

import os
import platform
import re
import subprocess
from pathlib import Path
from typing import Any

#: the checkout the simulator runs from (hub.sh, the commit named in the report)
REPO = Path(__file__).resolve().parents[2]


class ClassError(Exception):
    """Bad input or a hub that cannot be used: one line, exit status 2."""


def run(*args: str, check: bool = True, env: dict[str, str] | None = None,
        timeout: float = 900) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout,
                            env={**os.environ, **(env or {})}, check=False)
    if check and result.returncode != 0:
        raise ClassError(f"{' '.join(args[:3])} exited {result.returncode}: "
                         f"{(result.stderr or result.stdout).strip().splitlines()[-1:]}")
    return result


def container_id(name: str) -> str:
    return run("docker", "inspect", "-f", "{{.Id}}", name).stdout.strip()


def cgroup_cpu_s(cid: str) -> float | None:
    """CPU-seconds a container has used (cgroup v1 cpuacct or v2 cpu.stat), or None."""
    v1 = Path(f"/sys/fs/cgroup/cpuacct/docker/{cid}/cpuacct.usage")
    if v1.exists():
        return int(v1.read_text()) / 1e9
    for v2 in (Path(f"/sys/fs/cgroup/system.slice/docker-{cid}.scope/cpu.stat"),
               Path(f"/sys/fs/cgroup/docker/{cid}/cpu.stat")):
        if v2.exists():
            stats = dict(line.split() for line in v2.read_text().splitlines())
            return int(stats["usage_usec"]) / 1e6
    return None


def process_cpu_s(names: tuple[str, ...] = ("dockerd", "containerd")) -> float:
    """CPU-seconds used so far by the engine's daemons (their part of create/start/stop)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        comm = text[text.index("(") + 1:text.rindex(")")]
        if comm in names or comm.startswith("containerd-shim"):
            fields = text[text.rindex(")") + 2:].split()
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


UNITS = {"B": 1, "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3, "kB": 1000, "MB": 1000**2,
         "GB": 1000**3}


def to_mib(text: str) -> float:
    match = re.match(r"([\d.]+)\s*([A-Za-z]+)", text.strip())
    if not match:
        return float("nan")
    return float(match.group(1)) * UNITS.get(match.group(2), 1) / 1024**2


def docker_memory(prefix: str) -> dict[str, float]:
    """MiB per running container whose name starts with ``prefix`` (docker stats)."""
    out = run("docker", "stats", "--no-stream", "--format", "{{.Name}}\t{{.MemUsage}}").stdout
    memory = {}
    for line in out.splitlines():
        name, _, usage = line.partition("\t")
        if name.startswith(prefix):
            memory[name] = round(to_mib(usage.split("/")[0]), 1)
    return memory


def hub_processes(hub_name: str) -> dict[str, float]:
    """Resident MiB of the hub container's processes: the hub, the proxy, the culler, the
    progress service."""
    out = run("docker", "top", hub_name, "-eo", "pid,rss,args").stdout.splitlines()[1:]
    memory: dict[str, float] = {}
    for line in out:
        _, rss, args = line.split(None, 2)
        if "configurable-http-proxy" in args:
            key = "proxy"
        elif "jupyterhub_idle_culler" in args:
            key = "idle_culler"
        elif "gslab_hub.progress" in args:
            key = "progress"
        elif "jupyterhub" in args:
            key = "hub"
        else:
            continue
        memory[key] = round(memory.get(key, 0) + int(rss) / 1024, 1)
    return memory


def machine() -> dict[str, Any]:
    model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    mem_kib = int(Path("/proc/meminfo").read_text().split()[1])
    load = os.getloadavg()
    return {"host": platform.node(), "cpu": model, "cores": os.cpu_count(),
            "memory_gib": round(mem_kib / 1024**2, 1), "kernel": platform.release(),
            "load_before": [round(x, 2) for x in load]}


def versions(jupyterhub: str | None, image_name: str) -> dict[str, Any]:
    docker = run("docker", "version", "-f", "{{.Server.Version}}", check=False).stdout.strip()
    image = run("docker", "image", "inspect", "-f", "{{.Id}} {{index .Config.Labels "
                "\"org.opencontainers.image.version\"}}", image_name, check=False).stdout.split()
    commit = run("git", "-C", str(REPO), "describe", "--always", "--dirty", check=False).stdout
    return {"docker": docker, "jupyterhub": jupyterhub, "image": image_name,
            "image_id": image[0][:19] if image else None,
            "image_version": image[1] if len(image) > 1 else None,
            "repository_commit": commit.strip(), "python": platform.python_version()}

