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


@pytest.mark.runtimes("docker", "podman")
def test_a_course_update_reaches_the_student_at_the_next_start(
        container: Container, workdir: Path) -> None:
    work_mount = Mount(workdir, "/work")
    with container.serve(8888, health="/api", user=ARBITRARY, mounts=(work_mount,),
                         read_only=True, env={"JUPYTER_TOKEN": "t"}) as server:
        assert "first copy" in server.logs()
    labs = workdir / "labs"
    assert (labs / NOTEBOOK).is_file() and (labs / ".sync/base" / NOTEBOOK).is_file()

    # the student edits a cell and runs another, and adds a cell of her own
    mine = nbformat.read(labs / NOTEBOOK, as_version=4)
    code = [c for c in mine.cells if c.cell_type == "code"]
    code[2].source = "def laplacian(a):\n    return my_answer(a)"
    code[1].execution_count = 1
    code[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="ran it\n")]
    mine.cells.append(nbformat.v4.new_markdown_cell("My own notes."))
    nbformat.write(mine, labs / NOTEBOOK)

    # the course's next version: a hint cell, a fix to the cell she edited, a new file
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

    with container.serve(8888, health="/api", user=ARBITRARY, env={"JUPYTER_TOKEN": "t"},
                         read_only=True,
                         mounts=(work_mount, Mount(course / "labs", "/opt/labs", read_only=True))
                         ) as server:
        log = server.logs()
        assert "1 add, 1 merge" in log and "1 conflict(s)" in log, log
        status, _, body = server.request("GET", "/api/contents/labs/SYNC-REPORT.md?token=t")
        assert status == 200 and NOTEBOOK in json.loads(body)["content"]
    merged = nbformat.read(labs / NOTEBOOK, as_version=4)
    sources = [c.source for c in merged.cells]
    assert code[2].source in sources and fixed.source in sources and hint.source in sources
    assert "My own notes." in sources
    assert next(c for c in merged.cells if c.id == code[1].id).outputs == code[1].outputs
    assert (labs / "cpu/day-two.md").read_text() == "# Day two\n"
    assert "cpu/day-two.md" in (labs / "SYNC-REPORT.md").read_text()
    assert (labs / "SYNC-REPORT.md").stat().st_uid == 12345
