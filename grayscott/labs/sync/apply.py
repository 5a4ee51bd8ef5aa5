"""Carry out a sync: plan it, back up what it will overwrite, write, then record the new base.

The base is written last: a sync cut off half-way leaves the old base, so the next one
replans from it and finishes (files already written are then "the same on both sides").
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from grayscott.errors import UsageError
from grayscott.labs.sync.plan import WRITES, Action, Step, beside_name, plan
from grayscott.labs.sync.report import CellChanges, SyncReport
from grayscott.labs.sync.tree import REPORT_NAME, STATE_DIR, course_files, labs_version, opened_source

#: backups of earlier syncs kept in <labs>/.sync/backups (the oldest go first)
KEEP_BACKUPS = 5


def _write_atomically(target: Path, data: bytes) -> None:
    """A file the student may have open is replaced whole, never left half-written."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    with os.fdopen(handle, "wb") as out:
        out.write(data)
    os.chmod(temporary, 0o666 & ~_umask())
    os.replace(temporary, target)


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def _merge_notebook(step: Step, course: Path, base: Path, student: Path, version: str
                    ) -> tuple[bytes, CellChanges] | None:
    """The merged notebook's bytes, or None when a side cannot be read as a notebook.
    nbformat is imported here, not above: a sync with nothing to merge (every lab start
    without a course update) does not pay its import (about a second)."""
    import nbformat  # without it (an image without the lab extra): ImportError, said by the CLI

    from grayscott.labs.sync import notebook

    try:
        before = nbformat.read(base / step.path, as_version=4) if (base / step.path).is_file() \
            else None
        merged, changes = notebook.merge(before, nbformat.read(student / step.path, as_version=4),
                                         nbformat.read(course / step.path, as_version=4), version)
        nbformat.validate(merged)
    except Exception:  # any notebook it cannot merge: kept as it is, the course's beside it
        return None
    return (nbformat.writes(merged) + "\n").encode(), changes


def _backup(destination: Path, paths: list[str], stamp: str) -> str | None:
    """Copy the student's files the sync will replace; keep the last KEEP_BACKUPS syncs'."""
    existing = [p for p in paths if (destination / p).is_file()]
    if not existing:
        return None
    root = destination / STATE_DIR / "backups"
    for path in existing:
        (root / stamp / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(destination / path, root / stamp / path)
    for old in sorted(p for p in root.iterdir() if p.is_dir())[:-KEEP_BACKUPS]:
        shutil.rmtree(old)
    return f"{STATE_DIR}/backups/{stamp}"


def _refresh_base(course: Path, course_digests: dict[str, str], base: Path) -> None:
    """Make the base a copy of the course's files: what the student has now received."""
    held = course_files(base)
    for path, file_digest in course_digests.items():
        if held.get(path) != file_digest:
            (base / path).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(course / path, base / path)
    for path in held.keys() - course_digests.keys():
        (base / path).unlink()


def _apply(report: SyncReport, course: Path, base: Path, destination: Path) -> None:
    """Write each step: merged notebooks, then copies (a notebook that cannot be merged
    becomes a copy beside the student's)."""
    for index, step in enumerate(report.steps):
        if step.action is Action.MERGE:
            merged = _merge_notebook(step, course, base, destination, report.source_version)
            if merged is None:  # unreadable: the student's file stays, the course's beside
                report.steps[index] = dataclasses.replace(step, action=Action.BESIDE)
            else:
                _write_atomically(destination / step.path, merged[0])
                report.cells[step.path] = merged[1]
    for step in report.steps:
        if step.action in (Action.ADD, Action.UPDATE, Action.BESIDE):
            target = beside_name(step.path) if step.action is Action.BESIDE else step.path
            _write_atomically(destination / target, (course / step.path).read_bytes())


def _last_received(state_file: Path) -> str | None:
    """The labs version of the base, None if there is none or its record is damaged: then
    the sync trusts no base and treats every difference as the student's (nothing lost)."""
    try:
        return str(json.loads(state_file.read_text())["labs"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def sync_labs(source: Path, destination: Path) -> SyncReport:
    """Bring ``destination`` (the student's labs) up to ``source`` (the course's), keeping
    every change of the student's; the report says what happened."""
    with opened_source(source) as course:
        course_digests = course_files(course)
        if not course_digests:
            raise UsageError(f"{source} holds no labs files to sync from")
        state_dir = destination / STATE_DIR
        base = state_dir / "base"
        state_file = state_dir / "state.json"
        received = _last_received(state_file)
        report = SyncReport(str(source), str(destination), labs_version(course, course_digests),
                            received, first=not destination.exists())
        report.steps = plan(course_digests, course_files(base) if received else None,
                            course_files(destination))
        if not report.changed:
            return report
        now = datetime.now(UTC)
        writes = [step for step in report.steps if step.action in WRITES]
        report.backup = _backup(destination, [
            beside_name(s.path) if s.action is Action.BESIDE else s.path for s in writes],
            now.strftime("%Y%m%dT%H%M%S.%fZ"))
        _apply(report, course, base, destination)
        _refresh_base(course, course_digests, base)
        _write_atomically(state_file, json.dumps(
            {"labs": report.source_version, "synced": now.isoformat(timespec="seconds"),
             "source": str(source)}, indent=1).encode())
        _write_atomically(destination / REPORT_NAME, report.markdown(
            now.strftime("%Y-%m-%d %H:%M UTC")).encode())
        return report
