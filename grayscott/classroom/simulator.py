"""A class arrives at the one-machine hub: N students log in, spawn, run a cell, stop; measured.

    python -m grayscott.classroom -n 40 --pattern burst      # make hub-class N=40 PATTERN=burst

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
   ``grayscott run`` writing HDF5 into the student's volume, read back with h5py; then the
   CPU day's check cells, wrong and right answers, while a teacher watches the class grid of
   the hub's progress service (``checks``: the time to the grid, verdicts lost);
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
import re
import secrets
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

from grayscott.classroom import checks, client
from grayscott.classroom.client import Hub, free_port
from grayscott.classroom.host import (
    REPO,
    ClassError,
    cgroup_cpu_s,
    container_id,
    docker_memory,
    hub_processes,
    machine,
    process_cpu_s,
    run,
    versions,
)
from grayscott.classroom.report import delta, markdown, quantile, summary

#: what `make hub` runs: the class's hub is started the way a site starts its own
HUB_SH = REPO / "compose" / "hub" / "hub.sh"
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


# --- the class's own hub ---------------------------------------------------------------

@contextmanager
def class_hub(args: argparse.Namespace) -> Iterator[tuple[Hub, str, str]]:
    """A hub of its own (hub.sh up), removed with its labs and volumes afterwards."""
    name = f"{args.prefix}-{uuid.uuid4().hex[:6]}"
    with tempfile.TemporaryDirectory(prefix="gslab-class-") as folder:
        env_file = Path(folder) / "hub.env"
        port = free_port()
        password, teacher_password = secrets.token_urlsafe(16), secrets.token_urlsafe(32)
        settings = {"GSLAB_HUB_ADMINS": checks.TEACHER, "GSLAB_HUB_ADMIN_PASSWORD": teacher_password,
                    "HUB_PORT": str(port), "HUB_BIND": "127.0.0.1", "GSLAB_HUB_AUTH": "shared",
                    "GSLAB_HUB_SHARED_PASSWORD": password, "GSLAB_HUB_GPU": "no",
                    "GSLAB_HUB_MEM_LIMIT": args.mem_limit,
                    "GSLAB_HUB_CPU_LIMIT": str(args.cpu_limit),
                    "GSLAB_HUB_DOCKER_THREADS": str(args.docker_threads),
                    "GSLAB_HUB_CPU_IMAGE": args.image}
        env_file.write_text("".join(f"{k}={v}\n" for k, v in settings.items()))
        env = {"HUB_ENV_FILE": str(env_file), "HUB_NAME": name}
        try:
            run("bash", str(HUB_SH), "up", env=env)
            values = dict(line.split("=", 1) for line in env_file.read_text().split())
            yield Hub(name, f"http://127.0.0.1:{port}", values["GSLAB_HUB_API_TOKEN"],
                      timeout=60), password, teacher_password
        finally:
            run("bash", str(HUB_SH), "down", env=env, check=False)
            left = run("docker", "ps", "-aq", "--filter", f"name=^{name}-",
                       check=False).stdout.split()
            if left:
                run("docker", "rm", "-f", *left, check=False)
            volumes = run("docker", "volume", "ls", "-q", "--filter", f"name=^{name}-",
                          check=False).stdout.split()
            if volumes:
                run("docker", "volume", "rm", "-f", *volumes, check=False)


# --- one student, as a browser (grayscott.classroom.client), timed --------------------

def login(hub: Hub, s: Student, password: str) -> None:
    s.session.trust_env = False
    r = client.login_form(s.session, hub.url, s.name, password, timeout=120)
    if r.status_code != 302:
        raise RuntimeError(f"the login form answered {r.status_code}")


def spawn_and_wait(hub: Hub, s: Student, timeout: float) -> None:
    """The Start button, then the spawn page's progress stream, then the lab page."""
    start = time.monotonic()
    client.spawn_from_browser(s.session, hub.url, s.name, timeout)
    s.times["spawn_to_ready_s"] = time.monotonic() - start
    client.open_lab_page(s.session, hub.url, s.name, timeout)
    s.times["spawn_to_lab_s"] = time.monotonic() - start


def run_cell(hub: Hub, s: Student, frames: int, timeout: float) -> None:
    start = time.monotonic()
    s.kernel_id = client.start_kernel_from_browser(s.session, hub.url, s.name, timeout)
    s.times["kernel_start_s"] = time.monotonic() - start
    ws = client.channels_url(hub.url, s.name, s.kernel_id, session_id=uuid.uuid4().hex)
    cookies = client.cookie_header(s.session, f"/user/{s.name}/")
    start = time.monotonic()
    printed = asyncio.run(client.execute(ws, CELL.format(frames=frames), cookies=cookies,
                                         timeout=timeout))
    s.times["cell_round_trip_s"] = time.monotonic() - start
    if f"frames {frames}" not in printed:
        raise RuntimeError(f"the cell printed {printed.strip()[-200:]!r}, not {frames} frames")
    start = time.monotonic()
    asyncio.run(client.execute(ws, "print(6 * 7)", cookies=cookies, timeout=timeout))
    s.times["warm_cell_s"] = time.monotonic() - start


def stop(hub: Hub, s: Student, timeout: float) -> None:
    """The home page's stop button, then wait until the hub lists no server."""
    start = time.monotonic()
    client.stop_from_browser(s.session, hub.url, s.name, timeout)
    s.times["stop_s"] = time.monotonic() - start


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
    with class_hub(args) as (hub, password, teacher_password):
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
        # the check cells, a teacher watching the class grid (grayscott/classroom/checks.py)
        check_phase = (checks.class_checks(hub, students, teacher_password, args.timeout, phase)
                       if args.checks else None)
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
                  "hub_during_arrival": delta(hub_cpu0, hub_cpu1),
                  "engine_during_arrival": round(engine_cpu1 - engine_cpu0, 2),
                  "per_spawn_total": per_spawn_total and round(per_spawn_total, 2)},
        "cpu_floor_s": floor and round(floor, 1),
        "cpu_floor_parts_s": {"machine": machine_floor and round(machine_floor, 1),
                              "one_lab_under_its_limit": lab_floor and round(lab_floor, 1)},
        "p95_over_floor": floor and ready and round(quantile(ready, 0.95) / floor, 2),
        "one_spawn": solo,
        "checks": check_phase,
        "per_student": {s.name: {k: round(v, 2) for k, v in s.times.items()}
                        | {"cpu_s": s.cpu_s and round(s.cpu_s, 2)} for s in students},
    }


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m grayscott.classroom", description=__doc__.splitlines()[0])
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
    p.add_argument("--no-checks", dest="checks", action="store_false",
                   help="skip the check cells (and the teacher watching them)")
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
        if not HUB_SH.is_file():
            raise ClassError(f"{HUB_SH} is missing: run from a checkout of Gray-Scott Lab")
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
