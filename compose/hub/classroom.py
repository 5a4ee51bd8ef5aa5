"""A class arrives at the one-machine hub: N students log in, spawn, run a cell, stop; measured.

    python compose/hub/classroom.py -n 40 --pattern burst      # make hub-class N=40 PATTERN=burst

It starts its own hub with ``compose/hub/hub.sh up`` (what ``make hub`` runs) under the name
``gslab-class-<random>`` on a free port, with the course-password accounts of a one-day
school, so a site's hub on the same machine is never touched; afterwards it removes that hub,
its containers and its volumes. The admin token is used only to create the students and to
read the server list; everything a student does goes the way a browser goes:

1. the login form (``_xsrf`` from the page's cookie, the session cookie kept);
2. ``GET /hub/spawn/<name>`` (the Start button; no options form without a GPU), then the spawn
   page's progress event stream until it says ready; then ``/user/<name>/lab`` through the
   hub's OAuth redirects (the server's own cookie);
3. a kernel started through ``/user/<name>/api/kernels`` (cookie + X-XSRFToken) and a lab
   cell over the kernel's channels websocket (execute_request -> status idle): a short
   ``grayscott run`` writing HDF5 into the student's volume, read back with h5py;
4. the stop button's request (``DELETE /hub/api/users/<name>/server`` with the XSRF token).

Arrivals: ``burst`` (everyone at once) or ``staggered`` (evenly over ``--window`` seconds).
The phases are apart (all arrive, then everyone runs the cell together as a teacher asks,
then all stop together), so memory can be read idle and after the cell. Before the class one
student spawns alone on the quiet hub, to see where one spawn's seconds go.

The report (JSON + markdown) holds the machine, date, versions, N, pattern, the spawn, cell
and stop times, failures, the hub's and the labs' memory, the CPU-seconds a spawn costs and
the CPU floor it implies. Exit status: 0 when every student got through, 1 otherwise, 2 for
bad input or a hub that does not start.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import platform
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from tornado import httpclient, websocket

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
IMAGE = "gray-scott-lab:cpu-jupyter"

# The lab cell every student runs: a short simulation into the volume, read back with h5py.
CELL = """
import subprocess, h5py
r = subprocess.run(["grayscott", "run", "-b", "numpy", "-r", "48", "-c", "64", "-n", "{frames}",
                    "-s", "8", "-o", "/work/class-cell.h5", "--force"], capture_output=True, text=True)
assert r.returncode == 0, r.stderr[-400:]
with h5py.File("/work/class-cell.h5") as f:
    print("frames", f["matrix"].shape[0])
"""


class ClassError(Exception):
    """Bad input or a hub that cannot be used: one line, exit status 2."""


@dataclass
class Student:
    """One student's browser (a cookie jar) and what was measured for them."""

    name: str
    offset_s: float
    session: requests.Session = field(default_factory=requests.Session)
    times: dict[str, float] = field(default_factory=dict)
    cpu_s: float | None = None
    failure: str | None = None
    kernel_id: str = ""


# --- small helpers -----------------------------------------------------------------------

def run(*args: str, check: bool = True, env: dict[str, str] | None = None,
        timeout: float = 900) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout,
                            env={**os.environ, **(env or {})}, check=False)
    if check and result.returncode != 0:
        raise ClassError(f"{' '.join(args[:3])} exited {result.returncode}: "
                         f"{(result.stderr or result.stdout).strip().splitlines()[-1:]}")
    return result


def quantile(values: list[float], q: float) -> float:
    """Linear interpolation between the closest ranks (numpy's default)."""
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def summary(values: list[float]) -> dict[str, float | int] | None:
    if not values:
        return None
    return {"n": len(values), "p50": round(quantile(values, 0.5), 2),
            "p95": round(quantile(values, 0.95), 2), "max": round(max(values), 2),
            "mean": round(sum(values) / len(values), 2)}


def cookie(session: requests.Session, name: str, path: str) -> str:
    """The value of cookie ``name`` the browser would send under ``path`` (longest path)."""
    best = ("", "")
    for c in session.cookies:
        if c.name == name and path.startswith(c.path) and len(c.path) >= len(best[0]):
            best = (c.path, c.value or "")
    return best[1]


def cookie_header(session: requests.Session, path: str) -> str:
    return "; ".join(f"{c.name}={c.value}" for c in session.cookies if path.startswith(c.path))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- what the host can tell about a container ------------------------------------------

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
    """Resident MiB of the hub container's processes: the hub, the proxy, the culler."""
    out = run("docker", "top", hub_name, "-eo", "pid,rss,args").stdout.splitlines()[1:]
    memory: dict[str, float] = {}
    for line in out:
        _, rss, args = line.split(None, 2)
        if "configurable-http-proxy" in args:
            key = "proxy"
        elif "jupyterhub_idle_culler" in args:
            key = "idle_culler"
        elif "jupyterhub" in args:
            key = "hub"
        else:
            continue
        memory[key] = round(memory.get(key, 0) + int(rss) / 1024, 1)
    return memory


# --- the hub --------------------------------------------------------------------------

@dataclass
class Hub:
    name: str
    url: str
    token: str

    def api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return requests.request(method, f"{self.url}/hub/api{path}", timeout=60,
                                headers={"Authorization": f"token {self.token}"}, **kwargs)


@contextmanager
def class_hub(args: argparse.Namespace) -> Iterator[tuple[Hub, str]]:
    """A hub of its own (hub.sh up), removed with its labs and volumes afterwards."""
    name = f"{args.prefix}-{uuid.uuid4().hex[:6]}"
    with tempfile.TemporaryDirectory(prefix="gslab-class-") as folder:
        env_file = Path(folder) / "hub.env"
        port = free_port()
        password = secrets.token_urlsafe(16)
        settings = {"HUB_PORT": str(port), "HUB_BIND": "127.0.0.1", "GSLAB_HUB_AUTH": "shared",
                    "GSLAB_HUB_SHARED_PASSWORD": password, "GSLAB_HUB_GPU": "no",
                    "GSLAB_HUB_MEM_LIMIT": args.mem_limit,
                    "GSLAB_HUB_CPU_LIMIT": str(args.cpu_limit),
                    "GSLAB_HUB_DOCKER_THREADS": str(args.docker_threads),
                    "GSLAB_HUB_CPU_IMAGE": args.image}
        env_file.write_text("".join(f"{k}={v}\n" for k, v in settings.items()))
        env = {"HUB_ENV_FILE": str(env_file), "HUB_NAME": name}
        try:
            run("bash", str(HERE / "hub.sh"), "up", env=env)
            values = dict(line.split("=", 1) for line in env_file.read_text().split())
            yield Hub(name, f"http://127.0.0.1:{port}", values["GSLAB_HUB_API_TOKEN"]), password
        finally:
            run("bash", str(HERE / "hub.sh"), "down", env=env, check=False)
            left = run("docker", "ps", "-aq", "--filter", f"name=^{name}-",
                       check=False).stdout.split()
            if left:
                run("docker", "rm", "-f", *left, check=False)
            volumes = run("docker", "volume", "ls", "-q", "--filter", f"name=^{name}-",
                          check=False).stdout.split()
            if volumes:
                run("docker", "volume", "rm", "-f", *volumes, check=False)


# --- one student, as a browser --------------------------------------------------------

def login(hub: Hub, s: Student, password: str) -> None:
    s.session.trust_env = False
    s.session.get(f"{hub.url}/hub/login", timeout=120)
    r = s.session.post(f"{hub.url}/hub/login", timeout=120, allow_redirects=False,
                       data={"username": s.name, "password": password,
                             "_xsrf": cookie(s.session, "_xsrf", "/hub/")})
    if r.status_code != 302:
        raise RuntimeError(f"the login form answered {r.status_code}")


def spawn_and_wait(hub: Hub, s: Student, timeout: float) -> None:
    """The Start button, then the spawn page's progress stream, then the lab page."""
    start = time.monotonic()
    r = s.session.get(f"{hub.url}/hub/spawn/{s.name}", timeout=timeout)
    if r.status_code != 200:
        raise RuntimeError(f"spawn page answered {r.status_code}")
    if f"/user/{s.name}/" not in r.url:  # still pending: follow its event stream
        xsrf = cookie(s.session, "_xsrf", "/hub/")
        url = f"{hub.url}/hub/api/users/{s.name}/server/progress?_xsrf={xsrf}"
        with s.session.get(url, stream=True, timeout=timeout) as events:
            if events.status_code != 200:
                raise RuntimeError(f"progress stream answered {events.status_code}")
            for raw in events.iter_lines():
                line = raw.decode()
                if not line.startswith("data:"):
                    continue
                event = json.loads(line[5:])
                if event.get("failed"):
                    raise RuntimeError(f"spawn failed: {event.get('message')}")
                if event.get("ready"):
                    break
            else:
                raise RuntimeError("the progress stream ended before ready")
    s.times["spawn_to_ready_s"] = time.monotonic() - start
    lab = s.session.get(f"{hub.url}/user/{s.name}/lab", timeout=timeout)
    if lab.status_code != 200 or "JupyterLab" not in lab.text:
        raise RuntimeError(f"the lab page answered {lab.status_code}")
    s.times["spawn_to_lab_s"] = time.monotonic() - start


async def execute(url: str, headers: dict[str, str], code: str, timeout: float) -> str:
    """One cell over the kernel's channels websocket; what it printed (error: raises)."""
    conn = await websocket.websocket_connect(httpclient.HTTPRequest(
        url, headers=headers, connect_timeout=timeout, request_timeout=timeout))
    msg_id = uuid.uuid4().hex
    await conn.write_message(json.dumps({
        "header": {"msg_id": msg_id, "msg_type": "execute_request", "username": "student",
                   "session": uuid.uuid4().hex, "version": "5.3",
                   "date": datetime.datetime.now(datetime.UTC).isoformat()},
        "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
        "content": {"code": code, "silent": False, "store_history": False,
                    "user_expressions": {}, "allow_stdin": False, "stop_on_error": True}}))
    output: list[str] = []
    try:
        while True:
            raw = await asyncio.wait_for(conn.read_message(), timeout)
            if raw is None:
                raise RuntimeError("the kernel's websocket closed")
            message = json.loads(raw)
            if message.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = message["msg_type"], message["content"]
            if kind == "stream":
                output.append(content["text"])
            elif kind == "error":
                raise RuntimeError(f"the cell failed: {content['ename']}: {content['evalue']}")
            elif kind == "status" and content["execution_state"] == "idle":
                return "".join(output)
    finally:
        conn.close()


def run_cell(hub: Hub, s: Student, frames: int, timeout: float) -> None:
    base = f"/user/{s.name}/"
    xsrf = cookie(s.session, "_xsrf", base)
    start = time.monotonic()
    r = s.session.post(f"{hub.url}{base}api/kernels", json={"name": "python3"}, timeout=timeout,
                       headers={"X-XSRFToken": xsrf})
    if r.status_code != 201:
        raise RuntimeError(f"starting a kernel answered {r.status_code}")
    s.kernel_id = r.json()["id"]
    s.times["kernel_start_s"] = time.monotonic() - start
    ws = (f"ws://{hub.url.split('://', 1)[1]}{base}api/kernels/{s.kernel_id}/channels"
          f"?session_id={uuid.uuid4().hex}")
    headers = {"Cookie": cookie_header(s.session, base)}
    start = time.monotonic()
    printed = asyncio.run(execute(ws, headers, CELL.format(frames=frames), timeout))
    s.times["cell_round_trip_s"] = time.monotonic() - start
    if f"frames {frames}" not in printed:
        raise RuntimeError(f"the cell printed {printed.strip()[-200:]!r}, not {frames} frames")
    start = time.monotonic()
    asyncio.run(execute(ws, headers, "print(6 * 7)", timeout))
    s.times["warm_cell_s"] = time.monotonic() - start


def stop(hub: Hub, s: Student, timeout: float) -> None:
    """The home page's stop button, then wait until the hub lists no server."""
    start = time.monotonic()
    r = s.session.delete(f"{hub.url}/hub/api/users/{s.name}/server", timeout=timeout,
                         headers={"X-XSRFToken": cookie(s.session, "_xsrf", "/hub/")})
    if r.status_code not in (202, 204):
        raise RuntimeError(f"stop answered {r.status_code}")
    deadline = start + timeout
    while time.monotonic() < deadline:
        model = s.session.get(f"{hub.url}/hub/api/users/{s.name}", timeout=timeout).json()
        if not model.get("servers"):
            s.times["stop_s"] = time.monotonic() - start
            return
        time.sleep(0.2)
    raise RuntimeError(f"not stopped within {timeout} s")


# --- the class -------------------------------------------------------------------------

def phase(students: list[Student], step: str, work: Callable[[Student], None],
          wait_offsets: bool = False) -> float:
    """``work`` for every student still in the class, side by side; its wall time."""
    t0 = time.monotonic()

    def one(s: Student) -> None:
        if s.failure:
            return
        if wait_offsets:
            time.sleep(max(0.0, t0 + s.offset_s - time.monotonic()))
        try:
            work(s)
        except Exception as exc:  # any failure is that student's failure, recorded
            s.failure = f"{step}: {type(exc).__name__}: {exc}"[:300]

    with ThreadPoolExecutor(max(1, len(students))) as pool:
        list(pool.map(one, students))
    return time.monotonic() - t0


def one_spawn_breakdown(hub: Hub, password: str, args: argparse.Namespace) -> dict[str, Any]:
    """One student alone on the quiet hub: where the spawn's seconds and CPU go."""
    s = Student("solo", 0.0)
    run_cpu = process_cpu_s()
    login(hub, s, password)
    requested = datetime.datetime.now(datetime.UTC)
    spawn_and_wait(hub, s, args.timeout)
    cname = f"{hub.name}-{s.name}"
    cid = container_id(cname)
    cpu = cgroup_cpu_s(cid)
    engine_cpu = process_cpu_s() - run_cpu
    inspect = json.loads(run("docker", "inspect", cname).stdout)[0]
    logs = run("docker", "logs", "-t", cname)
    lines = (logs.stdout + logs.stderr).splitlines()

    def at(stamp: str) -> float:
        when = datetime.datetime.fromisoformat(stamp[:26].rstrip("Z") + "+00:00")
        return round((when - requested).total_seconds(), 2)

    marks: dict[str, float] = {"created": at(inspect["Created"]),
                               "started": at(inspect["State"]["StartedAt"])}
    patterns = {"first_log_line": r".", "extensions_loaded": r"Loading IPython parallel|"
                r"jupyterlab \| extension was successfully loaded",
                "server_listening": r"Jupyter Server .* is running at",
                "first_request_from_hub": r"200 GET /user/"}
    for key, pattern in patterns.items():
        for line in lines:
            stamp, _, text = line.partition(" ")
            if re.search(pattern, text):
                marks[key] = at(stamp)
                break
    marks["ready_at_hub"] = round(s.times["spawn_to_ready_s"], 2)
    marks["lab_page"] = round(s.times["spawn_to_lab_s"], 2)
    stop(hub, s, args.timeout)
    return {"seconds_after_request": marks, "lab_container_cpu_s": cpu and round(cpu, 2),
            "engine_cpu_s": round(engine_cpu, 2),
            # the server logs its XSRF cookie's value: left out of the report
            "log_lines": [line.split(" ", 1)[1][:160] for line in lines
                          if "xsrf cookie for" not in line][:60]}


def run_class(args: argparse.Namespace) -> dict[str, Any]:
    began, host = datetime.datetime.now(datetime.UTC), machine()
    students = [Student(f"s{i:02d}", 0.0 if args.pattern == "burst"
                        else round(i * args.window / args.n, 2)) for i in range(args.n)]
    with class_hub(args) as (hub, password):
        for s in students:
            r = hub.api("POST", f"/users/{s.name}")
            if r.status_code != 201:
                raise ClassError(f"creating {s.name} through the REST API: {r.status_code}")
        hub_cid = container_id(hub.name)
        solo = one_spawn_breakdown(hub, password, args) if args.solo else None
        hub_cpu0, engine_cpu0 = cgroup_cpu_s(hub_cid), process_cpu_s()

        def arrive(s: Student) -> None:
            t = time.monotonic()
            login(hub, s, password)
            s.times["login_s"] = time.monotonic() - t
            spawn_and_wait(hub, s, args.timeout)
            s.cpu_s = cgroup_cpu_s(container_id(f"{hub.name}-{s.name}"))

        arrival_wall = phase(students, "arrive", arrive, wait_offsets=True)
        hub_cpu1, engine_cpu1 = cgroup_cpu_s(hub_cid), process_cpu_s()
        labs = f"{hub.name}-s"
        memory_idle = docker_memory(labs)
        hub_memory = {"container": docker_memory(hub.name).get(hub.name),
                      **hub_processes(hub.name)}
        cell_wall = phase(students, "cell", lambda s: run_cell(hub, s, args.frames, args.timeout))
        memory_cell = docker_memory(labs)
        disk = {}
        for s in students:
            mount = Path(f"/var/lib/docker/volumes/{hub.name}-user-{s.name}/_data")
            if mount.exists():
                disk[s.name] = int(run("du", "-sk", str(mount)).stdout.split()[0]) / 1024
        stop_wall = phase(students, "stop", lambda s: stop(hub, s, args.timeout))
        left = run("docker", "ps", "-q", "--filter", f"name=^{labs}").stdout.split()
        version = hub.api("GET", "/").json().get("version")

    ok = [s for s in students if not s.failure]
    spawn_cpu = [s.cpu_s for s in ok if s.cpu_s is not None]
    per_spawn_total = None
    if spawn_cpu and hub_cpu0 is not None and hub_cpu1 is not None:
        per_spawn_total = (sum(spawn_cpu) + (hub_cpu1 - hub_cpu0)
                           + (engine_cpu1 - engine_cpu0)) / len(spawn_cpu)
    cores = os.cpu_count() or 1
    ready = [s.times["spawn_to_ready_s"] for s in ok]
    # The least the class can take: all spawns' CPU-seconds on all cores, and never less
    # than one lab's own CPU-seconds under its CPU limit.
    machine_floor = args.n * per_spawn_total / cores if per_spawn_total else None
    lab_floor = quantile(spawn_cpu, 0.5) / args.cpu_limit if spawn_cpu else None
    floor = max(machine_floor, lab_floor) if machine_floor and lab_floor else None
    return {
        "kind": "gslab-hub-class", "date": began.isoformat(timespec="seconds"),
        "machine": host | {"load_after": [round(x, 2) for x in os.getloadavg()]},
        "versions": versions(version, args.image),
        "settings": {"students": args.n, "pattern": args.pattern,
                     "window_s": args.window if args.pattern == "staggered" else 0,
                     "mem_limit": args.mem_limit, "cpu_limit": args.cpu_limit,
                     "docker_threads": args.docker_threads, "auth": "shared (course password)",
                     "cell": f"grayscott run -b numpy 48x64, {args.frames} frames + h5py read"},
        "students": args.n, "failures": len(students) - len(ok),
        "failed": {s.name: s.failure for s in students if s.failure},
        "login_s": summary([s.times["login_s"] for s in ok]),
        "spawn_to_ready_s": summary(ready),
        "spawn_to_lab_s": summary([s.times["spawn_to_lab_s"] for s in ok]),
        "arrival_wall_s": round(arrival_wall, 2),
        "kernel_start_s": summary([s.times["kernel_start_s"] for s in ok]),
        "cell_round_trip_s": summary([s.times["cell_round_trip_s"] for s in ok]),
        "warm_cell_s": summary([s.times["warm_cell_s"] for s in ok]),
        "cell_wall_s": round(cell_wall, 2),
        "stop_s": summary([s.times["stop_s"] for s in ok]),
        "stop_all_wall_s": round(stop_wall, 2), "labs_left_running": len(left),
        "memory_mib": {"hub": hub_memory, "lab_idle": summary(list(memory_idle.values())),
                       "lab_after_cell": summary(list(memory_cell.values()))},
        "disk_per_student_mib": summary(list(disk.values())),
        "cpu_s": {"lab_container_at_ready": summary(spawn_cpu),
                  "hub_during_arrival": _delta(hub_cpu0, hub_cpu1),
                  "engine_during_arrival": round(engine_cpu1 - engine_cpu0, 2),
                  "per_spawn_total": per_spawn_total and round(per_spawn_total, 2)},
        "cpu_floor_s": floor and round(floor, 1),
        "cpu_floor_parts_s": {"machine": machine_floor and round(machine_floor, 1),
                              "one_lab_under_its_limit": lab_floor and round(lab_floor, 1)},
        "p95_over_floor": floor and ready and round(quantile(ready, 0.95) / floor, 2),
        "one_spawn": solo,
        "per_student": {s.name: {k: round(v, 2) for k, v in s.times.items()}
                        | {"cpu_s": s.cpu_s and round(s.cpu_s, 2)} for s in students},
    }


def _delta(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else round(b - a, 2)


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


def markdown(report: dict[str, Any]) -> str:
    def row(label: str, key: str) -> str:
        v = report.get(key) or {}
        return f"| {label} | {v.get('p50', '-')} | {v.get('p95', '-')} | {v.get('max', '-')} |"

    st, m, cpu = report["settings"], report["machine"], report["cpu_s"]
    mem = report["memory_mib"]
    lines = [
        f"# A class at the hub: {st['students']} students, {st['pattern']}",
        "",
        f"{report['date']}, {m['host']} ({m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB), "
        f"load average {m['load_before']} before, {m['load_after']} after; "
        f"Docker {report['versions']['docker']}, JupyterHub "
        f"{report['versions']['jupyterhub']}, {st['students']} x {report['versions']['image']} "
        f"at {st['mem_limit']} / {st['cpu_limit']} CPU each, {st['docker_threads']} Docker "
        f"threads; commit {report['versions']['repository_commit']}. Produced by "
        "`compose/hub/classroom.py` (see its docstring for what a student does).",
        "",
        f"**Failures: {report['failures']}** of {report['students']}.",
        "",
        "| seconds | p50 | p95 | max |", "|---|---|---|---|",
        row("login form", "login_s"), row("spawn request to ready", "spawn_to_ready_s"),
        row("spawn request to the lab page", "spawn_to_lab_s"),
        row("kernel start", "kernel_start_s"), row("cell round trip", "cell_round_trip_s"),
        row("warm cell", "warm_cell_s"), row("stop", "stop_s"),
        "",
        f"Walls: all arrived in {report['arrival_wall_s']} s, the cell for all in "
        f"{report['cell_wall_s']} s, all stopped in {report['stop_all_wall_s']} s.",
        "",
        f"Memory (MiB): hub {mem['hub']}; a lab idle p50 "
        f"{(mem['lab_idle'] or {}).get('p50')} (max {(mem['lab_idle'] or {}).get('max')}), "
        f"after the cell p50 {(mem['lab_after_cell'] or {}).get('p50')} "
        f"(max {(mem['lab_after_cell'] or {}).get('max')}); disk per student "
        f"{(report['disk_per_student_mib'] or {}).get('p50')} MiB.",
        "",
        f"CPU-seconds: a lab container up to ready p50 "
        f"{(cpu['lab_container_at_ready'] or {}).get('p50')}; hub {cpu['hub_during_arrival']} "
        f"and Docker daemons {cpu['engine_during_arrival']} for the whole arrival; "
        f"{cpu['per_spawn_total']} per spawn in all. CPU floor for the class: "
        f"{report['cpu_floor_s']} s, the larger of N x per spawn / cores "
        f"({report['cpu_floor_parts_s']['machine']}) and one lab's CPU-seconds under its "
        f"limit ({report['cpu_floor_parts_s']['one_lab_under_its_limit']}); p95 ready / floor = "
        f"{report['p95_over_floor']}.",
    ]
    solo = report.get("one_spawn")
    if solo:
        marks = ", ".join(f"{k} {v}" for k, v in solo["seconds_after_request"].items())
        lines += ["", f"One spawn alone (seconds after the request): {marks}; lab container "
                  f"{solo['lab_container_cpu_s']} CPU-s, Docker daemons {solo['engine_cpu_s']}."]
    return "\n".join(lines) + "\n"


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="classroom.py", description=__doc__.splitlines()[0])
    p.add_argument("-n", type=int, default=5, help="students (default 5)")
    p.add_argument("--pattern", choices=("burst", "staggered"), default="burst")
    p.add_argument("--window", type=float, default=60.0,
                   help="staggered: arrivals spread over this many seconds (60)")
    p.add_argument("--mem-limit", default="512M", help="per student (512M)")
    p.add_argument("--cpu-limit", type=float, default=0.5, help="per student (0.5)")
    p.add_argument("--docker-threads", type=int, default=16,
                   help="the hub's Docker calls at once (GSLAB_HUB_DOCKER_THREADS, 16)")
    p.add_argument("--image", default=IMAGE, help=f"the students' lab image ({IMAGE})")
    p.add_argument("--frames", type=int, default=4, help="frames the cell writes (4)")
    p.add_argument("--timeout", type=float, default=600.0, help="per request (600 s)")
    p.add_argument("--no-solo", dest="solo", action="store_false",
                   help="skip the one spawn alone before the class")
    p.add_argument("--prefix", default="gslab-class", help="hub, container and volume names")
    p.add_argument("--out", type=Path, default=Path("build"),
                   help="folder for hub-class-<date>-n<N>-<pattern>.json/.md (build)")
    args = p.parse_args(argv)
    if args.n < 1 or args.n > 200:
        p.error("-n must be between 1 and 200")
    if args.window < 0 or args.cpu_limit <= 0 or args.docker_threads < 1 or args.frames < 1:
        p.error("--window >= 0, --cpu-limit > 0, --docker-threads >= 1, --frames >= 1")
    if not re.fullmatch(r"[a-z][a-z0-9-]{0,30}", args.prefix):
        p.error("--prefix: lower-case letters, digits and '-'")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    try:
        if run("docker", "image", "inspect", args.image, check=False).returncode != 0:
            raise ClassError(f"{args.image} is missing: make build-cpu-jupyter")
        report = run_class(args)
    except (ClassError, OSError, requests.RequestException, subprocess.SubprocessError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # the class's hub, labs and volumes are already removed
        print("interrupted: the class's hub and its labs were removed", file=sys.stderr)
        return 130
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / f"hub-class-{report['date'][:10]}-n{args.n}-{args.pattern}"
    stem.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    stem.with_suffix(".md").write_text(markdown(report))
    print(markdown(report))
    print(f"-> {stem}.json, {stem}.md")
    return 0 if report["failures"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
