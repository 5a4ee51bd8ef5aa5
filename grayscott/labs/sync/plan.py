"""The per-file three-way plan: for each path, course (source) vs last received (base) vs the
student's copy (destination), one action.

The base decides who changed what. Without it (a first sync over a copy made before the
sync existed) nothing can be told apart, so every difference is treated as both sides' change:
kept and merged, never overwritten.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Action(Enum):
    """What the sync does with one path, and the report's heading for it."""

    ADD = "added"                       # new course file, the student has none
    UPDATE = "updated"                  # the course changed it, the student did not
    MERGE = "merged"                    # a notebook both changed: merged cell by cell
    BESIDE = "new version beside yours"  # another file both changed: theirs kept, ours beside
    KEEP = "kept (your changes)"        # the student changed it, the course did not
    DELETED_BY_STUDENT = "deleted by you (left deleted)"
    REMOVED_BY_COURSE = "removed from the course (your copy kept)"
    UNCHANGED = "unchanged"


#: actions that write into the student's folder
WRITES = frozenset({Action.ADD, Action.UPDATE, Action.MERGE, Action.BESIDE})


@dataclass(frozen=True)
class Step:
    """One path's action; ``course_changed`` says the course's version differs from the base
    (a deleted file the course fixed is worth a word in the report)."""

    path: str
    action: Action
    course_changed: bool = False


def is_notebook(path: str) -> bool:
    return path.endswith(".ipynb")


def beside_name(path: str) -> str:
    """Where the course's version of a file the student changed lands: ``name.new.py``."""
    head, slash, name = path.rpartition("/")
    stem, dot, suffix = name.partition(".") if not name.startswith(".") else (name, "", "")
    return f"{head}{slash}{stem}.new{dot}{suffix}"


def _both_changed(path: str) -> Action:
    return Action.MERGE if is_notebook(path) else Action.BESIDE


def plan(source: dict[str, str], base: dict[str, str] | None,
         destination: dict[str, str]) -> list[Step]:
    """One step per course path (source or base); the student's own files are not steps.
    Each map is relative path -> digest; ``base`` None: no base was kept."""
    known = base or {}
    steps = []
    for path in sorted(source.keys() | known.keys()):
        ours, before, theirs = source.get(path), known.get(path), destination.get(path)
        changed = ours != before
        if ours is None:  # the course removed it (it is in the base)
            action = Action.REMOVED_BY_COURSE if theirs is not None else Action.UNCHANGED
        elif theirs is None:
            action = Action.DELETED_BY_STUDENT if before is not None else Action.ADD
        elif theirs == ours:
            action = Action.UNCHANGED
        elif before is None:  # both have it, they differ, no base to tell who changed it
            action = _both_changed(path)
        elif theirs == before:
            action = Action.UPDATE
        elif not changed:
            action = Action.KEEP
        else:
            action = _both_changed(path)
        steps.append(Step(path, action, course_changed=changed and before is not None))
    return steps
