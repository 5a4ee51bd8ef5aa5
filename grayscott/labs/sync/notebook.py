"""The three-way notebook merge, cell by cell.

Cells are matched by their nbformat cell id (the labs' notebooks carry stable ids, and
JupyterLab gives each new cell its own), so a cell the student moved, ran or rewrote is still
"the same cell". Per cell: the side that changed it wins; when both did, the student's cell
stays and the course's version follows it, announced by a note cell the student sees. A cell
the course removed goes only if the student never touched it. Notebooks without ids on every
cell (nbformat < 4.5) fall back to nbdime's merge, whose conflicts are marked inline.
"""

from __future__ import annotations

import copy
from typing import Any

import nbformat
from nbformat import NotebookNode

from grayscott.labs.sync.report import CellChanges

#: cell metadata key the sync sets on the cells it adds for a conflict
MARK = "grayscott_sync"


def _content(cell: NotebookNode) -> tuple[Any, ...]:
    """What the course's side means by a cell: its type, text, tags and attachments."""
    return (cell.cell_type, cell.source, cell.get("metadata", {}).get("tags"),
            cell.get("attachments"))


def _student_work(cell: NotebookNode) -> tuple[Any, ...]:
    """What the student's side means by a cell: its content and its outputs (a cell the
    student ran holds work too: its results)."""
    return (*_content(cell), cell.get("outputs"))


def _ids_usable(*notebooks: NotebookNode | None) -> bool:
    for notebook in notebooks:
        if notebook is None:
            continue
        ids = [cell.get("id") for cell in notebook.cells]
        if None in ids or len(set(ids)) != len(ids):
            return False
    return True


def _conflict_pair(course: NotebookNode, version: str, tag: str) -> list[NotebookNode]:
    """The note and the course's version that follow a cell both sides changed."""
    cell_id = course.id[:40]
    note = nbformat.v4.new_markdown_cell(
        f"**Course update** (labs {version}): the course changed the cell above, and you had "
        "changed or run it too. Your version is kept, above; the course's new version is the "
        "next cell. Keep the one you want and delete the other, and this note.",
        id=f"{cell_id}-note-{tag}")
    theirs = copy.deepcopy(course)
    theirs.id = f"{cell_id}-course-{tag}"
    for cell in (note, theirs):
        cell.metadata[MARK] = {"course_version_of": course.id, "labs": version}
    return [note, theirs]


def merge(base: NotebookNode | None, student: NotebookNode, course: NotebookNode,
          version: str) -> tuple[NotebookNode, CellChanges]:
    """The student's notebook with the course's changes since ``base`` (None: unknown)."""
    if not _ids_usable(base, student, course):
        return _merge_by_nbdime(base, student, course)
    changes = CellChanges()
    before = {cell.id: cell for cell in base.cells} if base is not None else {}
    ours = {cell.id: cell for cell in course.cells}
    tag = "".join(ch for ch in version.rsplit("+", maxsplit=1)[-1] if ch.isalnum())[:8] or "new"
    groups: list[list[NotebookNode]] = []  # a cell and what follows it because of it
    for cell in student.cells:
        old, new = before.get(cell.id), ours.get(cell.id)
        if new is None:
            if old is None:
                groups.append([cell])  # the student's own cell
            elif _student_work(cell) != _student_work(old):
                groups.append([cell])
                changes.kept_removed.append(cell.id)
            else:
                changes.removed.append(cell.id)
        elif (old is not None and _content(new) == _content(old)) or \
                _content(cell) == _content(new):
            groups.append([cell])  # the course did not change it, or both made the same change
        elif old is not None and _student_work(cell) == _student_work(old):
            groups.append([copy.deepcopy(new)])
            changes.updated.append(cell.id)
        else:
            groups.append([cell, *_conflict_pair(new, version, tag)])
            changes.conflicts.append(cell.id)
    _insert_new_cells(groups, course, before, changes)
    merged = copy.deepcopy(student)
    merged.cells = [cell for group in groups for cell in group]
    merged.nbformat_minor = max(student.nbformat_minor, course.nbformat_minor)
    return merged, changes


def _insert_new_cells(groups: list[list[NotebookNode]], course: NotebookNode,
                      before: dict[str, NotebookNode], changes: CellChanges) -> None:
    """Each new course cell goes right after the course cell that precedes it (or first)."""
    position = {group[0].id: index for index, group in enumerate(groups)}
    anchor = -1
    for cell in course.cells:
        if cell.id in position:
            anchor = position[cell.id]
            continue
        if cell.id in before:  # the student deleted it: left deleted, said if it changed
            if _content(cell) != _content(before[cell.id]):
                changes.deleted_changed.append(cell.id)
            continue
        anchor += 1
        groups.insert(anchor, [copy.deepcopy(cell)])
        position = {group[0].id: index for index, group in enumerate(groups)}
        changes.added.append(cell.id)


def _merge_by_nbdime(base: NotebookNode | None, student: NotebookNode, course: NotebookNode
                     ) -> tuple[NotebookNode, CellChanges]:
    """nbdime's merge, for notebooks whose cells cannot be matched by id: it matches cells by
    content and marks its conflicts inline in the cell (each one is listed as a conflict)."""
    from nbdime.merging import merge_notebooks

    merged, decisions = merge_notebooks(base or nbformat.v4.new_notebook(), student, course)
    changes = CellChanges(by="nbdime (cells without ids)")
    changes.conflicts = ["/".join(str(p) for p in d["common_path"]) for d in decisions
                         if d.get("conflict")]
    changes.updated = ["/".join(str(p) for p in d["common_path"]) for d in decisions
                       if not d.get("conflict") and d.get("action") in ("remote", "either")]
    return nbformat.from_dict(merged), changes
