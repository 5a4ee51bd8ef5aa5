"""The labs sync in the image (issue #25): a student's edits survive a course update at the
next lab start, the course's new cells and files arrive, and SYNC-REPORT.md says so.

The changed course is the image's own /opt/labs, copied out, changed with nbformat and mounted
back over /opt/labs at the restart: what a rebuilt image with changed labs holds, without a
rebuild (the sync only reads $GRAYSCOTT_LABS, wherever it comes from). The image runs as
Apptainer runs it: read-only, as a UID it does not know, the work directory bound at /work.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

from grayscott.launcher.runtime import Mount
from tests.images.conftest import Container

ARBITRARY = "12345:100"
NOTEBOOK = "cpu/tutorial/3_Python_Implementation.ipynb"


def _own(path: Path) -> None:
    """Files the test writes for the student belong to the student's UID."""
    for item in (path, *path.rglob("*")) if path.is_dir() else (path,):
        os.chown(item, 12345, 100)


@dataclass
class Update:
    """What the student did and what the course changed, to look for after the restart."""

    course: Path
    edited: nbformat.NotebookNode
    ran: nbformat.NotebookNode
    fixed: str
    hint: str


def _edit_then_update_the_course(container: Container, workdir: Path) -> Update:
    """The student edits a cell, runs another and adds her own; the course's next version
    adds a hint cell, fixes the cell she edited, and adds a file."""
    labs = workdir / "labs"
    assert (labs / NOTEBOOK).is_file() and (labs / ".sync/base" / NOTEBOOK).is_file()
    mine = nbformat.read(labs / NOTEBOOK, as_version=4)
    code = [c for c in mine.cells if c.cell_type == "code"]
    code[2].source = "def laplacian(a):\n    return my_answer(a)"
    code[1].execution_count = 1
    code[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="ran it\n")]
    mine.cells.append(nbformat.v4.new_markdown_cell("My own notes."))
    nbformat.write(mine, labs / NOTEBOOK)
    course = workdir.parent / "course"
    course.mkdir()
    _own(course)
    container.sh("cp -r /opt/labs /course/labs", user=ARBITRARY, mounts=(Mount(course, "/course"),))
    theirs = nbformat.read(course / "labs" / NOTEBOOK, as_version=4)
    hint = nbformat.v4.new_markdown_cell("**Hint:** eight slices and the centre.")
    theirs.cells.insert(2, hint)
    fixed = next(c for c in theirs.cells if c.id == code[2].id)
    fixed.source += "\n# course fix"
    nbformat.write(theirs, course / "labs" / NOTEBOOK)
    (course / "labs/cpu/day-two.md").write_text("# Day two\n")
    _own(workdir)
    return Update(course / "labs", code[2], code[1], fixed.source, hint.source)


def _nothing_lost(workdir: Path, update: Update) -> None:
    labs = workdir / "labs"
    merged = nbformat.read(labs / NOTEBOOK, as_version=4)
    sources = [c.source for c in merged.cells]
    assert update.edited.source in sources and update.fixed in sources and update.hint in sources
    assert "My own notes." in sources
    assert next(c for c in merged.cells if c.id == update.ran.id).outputs == update.ran.outputs
    assert (labs / "cpu/day-two.md").read_text() == "# Day two\n"
    report = (labs / "SYNC-REPORT.md").read_text()
    assert "cpu/day-two.md" in report and NOTEBOOK in report
    assert (labs / "SYNC-REPORT.md").stat().st_uid == 12345


@pytest.mark.runtimes("docker", "podman")
def test_a_course_update_reaches_the_student_at_the_next_start(
        container: Container, workdir: Path) -> None:
    """The served lab: the log says what the sync did, JupyterLab serves the report."""
    work = Mount(workdir, "/work")
    with container.serve(8888, health="/api", user=ARBITRARY, mounts=(work,),
                         read_only=True, env={"JUPYTER_TOKEN": "t"}) as server:
        assert "first copy" in server.logs()
    update = _edit_then_update_the_course(container, workdir)
    with container.serve(8888, health="/api", user=ARBITRARY, env={"JUPYTER_TOKEN": "t"},
                         read_only=True,
                         mounts=(work, Mount(update.course, "/opt/labs", read_only=True))
                         ) as server:
        log = server.logs()
        assert "1 add, 1 merge" in log and "1 conflict(s)" in log, log
        status, _, body = server.request("GET", "/api/contents/labs/SYNC-REPORT.md?token=t")
        assert status == 200 and NOTEBOOK in json.loads(body)["content"]
    _nothing_lost(workdir, update)


@pytest.mark.runtimes("docker", "podman", "apptainer")
def test_every_start_syncs_the_labs_on_every_runtime(container: Container,
                                                     workdir: Path) -> None:
    """The image's entrypoint as each runtime starts it (Apptainer: `apptainer run
    --containall --bind <home>:/work`, as the Slurm hub and the sbatch script do); Jupyter
    is asked for its version only, so the start ends after the sync."""
    work = Mount(workdir, "/work")
    first = container.run("--version", user=ARBITRARY, read_only=True, mounts=(work,))
    assert "first copy" in first.stdout, first.stdout + first.stderr
    update = _edit_then_update_the_course(container, workdir)
    second = container.run("--version", user=ARBITRARY, read_only=True,
                           mounts=(work, Mount(update.course, "/opt/labs", read_only=True)))
    assert "1 add, 1 merge" in second.stdout, second.stdout + second.stderr
    _nothing_lost(workdir, update)
    third = container.run("--version", user=ARBITRARY, read_only=True,
                          mounts=(work, Mount(update.course, "/opt/labs", read_only=True)))
    assert "up to date" in third.stdout
