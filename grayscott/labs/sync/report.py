"""The sync's report: SYNC-REPORT.md in the student's labs folder (JupyterLab renders it) and
one summary line for the server's log. Every course change that does not reach the student's
file as-is (a conflict, a file or cell the student deleted, a file the course removed) has a
line here: nothing is dropped without a word.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from grayscott.labs.sync.plan import Action, Step, beside_name

#: the report's sections, in order (UNCHANGED is counted, never listed)
SECTIONS = (Action.ADD, Action.UPDATE, Action.MERGE, Action.BESIDE, Action.KEEP,
            Action.DELETED_BY_STUDENT, Action.REMOVED_BY_COURSE)


@dataclass
class CellChanges:
    """What one notebook's merge did, by cell id (the report lists them)."""

    added: list[str] = field(default_factory=list)        # new course cells
    updated: list[str] = field(default_factory=list)      # course's change, student's untouched
    removed: list[str] = field(default_factory=list)      # course removed, student untouched
    conflicts: list[str] = field(default_factory=list)    # both changed: both kept, marked
    kept_removed: list[str] = field(default_factory=list)  # course removed, student changed
    deleted_changed: list[str] = field(default_factory=list)  # student deleted, course changed
    by: str = "cell ids"

    def summary(self) -> str:
        parts = [f"{len(ids)} {name.replace('_', ' ')}" for name, ids in (
            ("added", self.added), ("updated", self.updated), ("removed", self.removed),
            ("conflicts", self.conflicts), ("kept_removed", self.kept_removed),
            ("deleted_changed", self.deleted_changed)) if ids]
        return ", ".join(parts) or "no cell changes"


@dataclass
class SyncReport:
    """What one sync did: the steps, each merged notebook's cell changes, the versions."""

    source: str
    destination: str
    source_version: str
    base_version: str | None
    steps: list[Step] = field(default_factory=list)
    cells: dict[str, CellChanges] = field(default_factory=dict)
    backup: str | None = None
    first: bool = False

    def paths(self, action: Action) -> list[str]:
        return [step.path for step in self.steps if step.action is action]

    @property
    def conflicts(self) -> int:
        """Places where the student has to choose: both-changed cells and files."""
        return (sum(len(c.conflicts) for c in self.cells.values())
                + len(self.paths(Action.BESIDE)))

    @property
    def changed(self) -> bool:
        """The course moved since the student's last sync (or this is the first): only then
        is there news to report. A sync with no news leaves every file as it was."""
        return self.source_version != self.base_version

    def summary(self) -> str:
        """The log's line: one count per section, and the versions."""
        counts = ", ".join(f"{len(self.paths(a))} {a.name.lower().replace('_', '-')}"
                           for a in SECTIONS if self.paths(a))
        what = "first copy" if self.first else ("updated" if self.changed else "up to date")
        return (f"labs sync {self.source} -> {self.destination}: {what} "
                f"(labs {self.source_version}, last received {self.base_version or 'none'}): "
                f"{counts or 'nothing to do'}; {self.conflicts} conflict(s)")

    def markdown(self, when: str) -> str:
        lines = [
            "# Course update of your labs", "",
            f"On {when} the labs were brought up to the course's version **{self.source_version}**"
            f" (you last received {self.base_version or 'no recorded version'}). Nothing of "
            "yours was overwritten: what you changed is kept, and where the course changed the "
            "same thing, its version is next to yours.", "",
            f"- conflicts to look at: **{self.conflicts}**",
        ]
        if self.backup:
            lines.append(f"- your files as they were before: `{self.backup}`")
        lines.append("")
        for action in SECTIONS:
            paths = self.paths(action)
            if not paths:
                continue
            lines += [f"## {action.value.capitalize()} ({len(paths)})", ""]
            lines += [self._line(step) for step in self.steps if step.action is action]
            lines.append("")
        return "\n".join(lines)

    def _line(self, step: Step) -> str:
        path = f"- `{step.path}`"
        if step.action is Action.MERGE:
            changes = self.cells[step.path]
            detail = f"{path}: {changes.summary()}"
            if changes.conflicts:
                detail += (" — look for the cells marked **Course update** after cells "
                           + ", ".join(f"`{c}`" for c in changes.conflicts))
            if changes.deleted_changed:
                detail += (" — cells you deleted that the course changed (not put back): "
                           + ", ".join(f"`{c}`" for c in changes.deleted_changed))
            return detail
        if step.action is Action.BESIDE:
            return f"{path}: yours kept; the course's new version is `{beside_name(step.path)}`"
        if step.action is Action.DELETED_BY_STUDENT and step.course_changed:
            return (f"{path}: the course changed it since; its version is in "
                    f"`{self.source}/{step.path}`")
        return path
