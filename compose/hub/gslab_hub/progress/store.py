"""The verdicts of a class in SQLite, and the summary the teacher's grid shows. Pure: no hub.

One row per check cell run (the history); the grid is each student's latest verdict per
exercise. Bounded: a student posting without end keeps her last ``MAX_PER_USER`` rows, and a
message is cut at ``MAX_MESSAGE`` characters, so no student can fill the hub's volume.
"""

from __future__ import annotations

import sqlite3
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MAX_PER_USER = 5000
MAX_MESSAGE = 400
MAX_NAME = 120

SCHEMA = """
CREATE TABLE IF NOT EXISTS results (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user TEXT NOT NULL, notebook TEXT NOT NULL, check_name TEXT NOT NULL,
    passed INTEGER NOT NULL, message TEXT NOT NULL, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS results_by_user ON results (user, id);
"""


@dataclass(frozen=True)
class Result:
    user: str
    notebook: str
    check: str
    passed: bool
    message: str
    at: float

    @property
    def exercise(self) -> str:
        """``cpu/3_Stencil check_laplacian``: the notebook (when the lab knew it) and the check."""
        return f"{self.notebook} {self.check}".strip()

    def as_dict(self) -> dict[str, Any]:
        return {"user": self.user, "notebook": self.notebook, "check": self.check,
                "exercise": self.exercise, "passed": self.passed, "message": self.message,
                "at": self.at}


class Store:
    """The table in ``path`` (created, in WAL mode, so a crash loses at most the last write)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.executescript(SCHEMA)

    def add(self, user: str, notebook: str, check: str, passed: bool, message: str,
            at: float | None = None) -> Result:
        result = Result(user, notebook[:MAX_NAME], check[:MAX_NAME], bool(passed),
                        message[:MAX_MESSAGE], time.time() if at is None else at)
        self.db.execute("INSERT INTO results (user, notebook, check_name, passed, message, at) "
                        "VALUES (?, ?, ?, ?, ?, ?)",
                        (result.user, result.notebook, result.check, int(result.passed),
                         result.message, result.at))
        self.db.execute("DELETE FROM results WHERE user = ? AND id <= (SELECT id FROM results "
                        "WHERE user = ? ORDER BY id DESC LIMIT 1 OFFSET ?)",
                        (user, user, MAX_PER_USER))
        return result

    def _rows(self, where: str = "", args: tuple[Any, ...] = ()) -> list[Result]:
        rows = self.db.execute("SELECT user, notebook, check_name, passed, message, at FROM "
                               f"results {where} ORDER BY id", args).fetchall()
        return [Result(u, n, c, bool(p), m, a) for u, n, c, p, m, a in rows]

    def history(self, user: str | None = None) -> list[Result]:
        """Every verdict, oldest first (of one student, or of the class)."""
        return self._rows("WHERE user = ?", (user,)) if user is not None else self._rows()

    def latest(self) -> list[Result]:
        """Each student's last verdict per exercise."""
        return self._rows("WHERE id IN (SELECT max(id) FROM results "
                          "GROUP BY user, notebook, check_name)")

    def tries(self) -> dict[tuple[str, str, str], int]:
        """How many verdicts each (student, notebook, check) has."""
        rows = self.db.execute("SELECT user, notebook, check_name, count(*) FROM results "
                               "GROUP BY user, notebook, check_name").fetchall()
        return {(u, n, c): count for u, n, c, count in rows}


def summary(latest: list[Result], students: list[str], tries: dict[tuple[str, str, str], int],
            ) -> dict[str, Any]:
    """The grid: rows (students: the hub's, and anyone who reported), columns (exercises in the
    order first seen), each cell the latest verdict; per exercise passed / stuck / not tried
    and the most frequent mistake of those stuck."""
    exercises: list[str] = []
    for r in latest:
        if r.exercise not in exercises:
            exercises.append(r.exercise)
    names = sorted(set(students) | {r.user for r in latest})
    cells: dict[str, dict[str, Any]] = {name: {} for name in names}
    for r in latest:
        cells[r.user][r.exercise] = {"passed": r.passed, "message": r.message, "at": r.at,
                                     "tries": tries.get((r.user, r.notebook, r.check), 1)}
    stats = {}
    for exercise in exercises:
        verdicts = [cells[n][exercise] for n in names if exercise in cells[n]]
        stuck = [v["message"] for v in verdicts if not v["passed"]]
        top, count = Counter(stuck).most_common(1)[0] if stuck else ("", 0)
        stats[exercise] = {"passed": sum(v["passed"] for v in verdicts), "stuck": len(stuck),
                           "not_tried": len(names) - len(verdicts), "top_mistake": top,
                           "top_count": count}
    return {"students": names, "exercises": exercises, "cells": cells, "stats": stats,
            "updated": max((r.at for r in latest), default=0.0)}


def stuck_sentence(exercise: str, stats: dict[str, Any], class_size: int) -> str:
    """``9 of 40 stuck on cpu/3_Stencil check_laplacian: 'N weight 2'`` (or all clear)."""
    if not stats["stuck"]:
        return f"nobody stuck on {exercise} ({stats['passed']} of {class_size} passed)"
    mistake = f": {stats['top_count']} on '{stats['top_mistake']}'" if stats["top_mistake"] else ""
    return f"{stats['stuck']} of {class_size} stuck on {exercise}{mistake}"
