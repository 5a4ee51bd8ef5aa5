"""The class's check cells and the teacher watching them (issue #24): how long from a check
cell's end to the teacher's grid showing its verdict, and whether any verdict was lost.

Each student runs, in her own kernel, check cells of the CPU day with a mix of wrong and right
answers (a 5-point or centre-less Laplacian, then the right one; a step that forgets ``dt`` for
half the class); the labs post their verdicts to the hub's progress service themselves
(grayscott/labs/progress.py, with the lab's own token). Meanwhile a teacher, logged in with
the admin password, polls the class grid the way the page does (``api/class``), every
``POLL_S``; for every (student, exercise, tries) it notes when the grid first showed it. The
latency of a verdict is that moment minus the moment the student's cell went idle; the page
itself refreshes every second, so a teacher looking at it sees it up to 1 s later still.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import requests

from grayscott.classroom import client
from grayscott.classroom.report import summary

#: how often the watching teacher asks for the grid (the page asks every 1 s)
POLL_S = 0.2
PROGRESS = "/services/progress"
#: the class hub's teacher (GSLAB_HUB_ADMINS), who logs in with the admin password
TEACHER = "teacher"

LAPLACIANS = {
    "five_point": "lambda a: model.laplacian_weighted(a, model.STENCIL_5)",
    "no_centre": "lambda a: model.laplacian(a) + 8 * a[1:-1, 1:-1]",
    "right": "model.laplacian",
}
STEP = """
def step(u, v, du, dv, feed, kill, dt):
    un, vn = u.copy(), v.copy()
    un[1:-1, 1:-1], vn[1:-1, 1:-1] = model.react(u[1:-1, 1:-1], v[1:-1, 1:-1], model.laplacian(u),
                                                 model.laplacian(v), du, dv, feed, kill, {dt})
    return un, vn
checks.check_step(step, raise_on_failure=False)
"""
HEAD = "from grayscott import model\nfrom grayscott.labs import checks\n"
#: one check cell run: the grid key it should make (student, exercise, tries), when the cell
#: went idle, whether it passed, what it printed
Sent = tuple[tuple[str, str, int], float, bool, str]


def cells_for(index: int) -> list[tuple[str, str, bool]]:
    """(code, exercise, whether it passes): student ``index``'s check cells, in order."""
    first = ("five_point", "no_centre", "right")[index % 3]
    cells = [(f"checks.check_laplacian({LAPLACIANS[first]}, raise_on_failure=False)",
              "check_laplacian", first == "right")]
    if first != "right":
        cells.append(("checks.check_laplacian(model.laplacian)", "check_laplacian", True))
    forgets_dt = index % 2 == 0
    cells.append((STEP.format(dt="1.0" if forgets_dt else "dt"), "check_step", not forgets_dt))
    return [(HEAD + code, exercise, passed) for code, exercise, passed in cells]


@dataclass
class Watch:
    """The teacher's poller: when each (student, exercise, tries) first showed on the grid."""

    session: requests.Session
    url: str
    seen: dict[tuple[str, str, int], float] = field(default_factory=dict)
    polls: list[float] = field(default_factory=list)  # seconds each answered poll took
    errors: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)

    def _poll(self) -> None:
        while not self._stop.is_set():
            try:
                asked = time.monotonic()
                response = self.session.get(f"{self.url}{PROGRESS}/api/class", timeout=10)
                now = time.monotonic()
                response.raise_for_status()
                for user, row in response.json()["cells"].items():
                    for exercise, verdict in row.items():
                        for tries in range(1, verdict["tries"] + 1):
                            self.seen.setdefault((user, exercise, tries), now)
                self.polls.append(now - asked)
            except (requests.RequestException, ValueError, KeyError):
                self.errors += 1
            self._stop.wait(POLL_S)

    def __enter__(self) -> Watch:
        self._thread = threading.Thread(target=self._poll, name="teacher-watch", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=15)


def run_checks(hub_url: str, session: requests.Session, user: str, kernel_id: str, index: int,
               timeout: float) -> list[Sent]:
    """Student ``index``'s check cells in her kernel (her browser's cookies); per cell the
    grid key it should make, when the cell went idle, whether it passed, what it printed."""
    ws = client.channels_url(hub_url, user, kernel_id)
    cookies = client.cookie_header(session, f"/user/{user}/")
    done: list[Sent] = []
    tries: dict[str, int] = {}
    for code, exercise, passed in cells_for(index):
        printed = asyncio.run(client.execute(ws, code, cookies=cookies, timeout=timeout))
        ended = time.monotonic()
        if ("correct" in printed) != passed:
            raise RuntimeError(f"{exercise}: expected {'a pass' if passed else 'a refusal'}, "
                               f"the cell printed {printed.strip()[-200:]!r}")
        tries[exercise] = tries.get(exercise, 0) + 1
        done.append(((user, exercise, tries[exercise]), ended, passed, printed.strip()))
    return done


def outcome(sent: list[Sent], watch: Watch,
            exported: list[dict[str, Any]]) -> dict[str, Any]:
    """Latencies (cell idle -> on the teacher's grid) and verdicts lost (sent, never stored)."""
    latencies = [watch.seen[key] - ended for key, ended, _, _ in sent if key in watch.seen]
    counts: dict[tuple[str, str], int] = {}
    for r in exported:
        counts[(r["user"], r["exercise"])] = counts.get((r["user"], r["exercise"]), 0) + 1
    lost = sum(1 for (user, exercise, n), *_ in sent if counts.get((user, exercise), 0) < n)
    return {"check_cells": len(sent), "passed": sum(p for _, _, p, _ in sent),
            "on_grid": len(latencies), "lost": lost,
            "check_to_grid_s": summary([max(0.0, x) for x in latencies]),
            "teacher_polls": len(watch.polls), "teacher_poll_s": summary(watch.polls),
            "teacher_poll_errors": watch.errors,
            "poll_interval_s": POLL_S}


def class_checks(hub: client.Hub, students: list[Any], teacher_password: str, timeout: float,
                 phase: Any) -> dict[str, Any]:
    """The check-cell phase of a class: every student's cells side by side (``phase``: the
    simulator's, which records a student's failure), the teacher watching the grid."""
    teacher = requests.Session()
    teacher.trust_env = False
    client.login_form(teacher, hub.url, TEACHER, teacher_password, timeout)
    # the teacher has the page open before the students check (its OAuth done, once)
    teacher.get(f"{hub.url}{PROGRESS}/api/class", timeout=timeout).raise_for_status()
    sent: list[Sent] = []
    lock = threading.Lock()

    def one(s: Any) -> None:
        done = run_checks(hub.url, s.session, s.name, s.kernel_id, int(s.name[1:]), timeout)
        with lock:
            sent.extend(done)

    with Watch(teacher, hub.url) as watch:
        wall = phase(students, "checks", one)
        deadline = time.monotonic() + 30  # what has not shown 30 s after the last cell is lost
        while time.monotonic() < deadline and any(key not in watch.seen for key, *_ in sent):
            time.sleep(POLL_S)
    exported = teacher.get(f"{hub.url}{PROGRESS}/api/export.json", timeout=60)
    exported.raise_for_status()
    return outcome(sent, watch, exported.json()) | {"wall_s": round(wall, 2)}
