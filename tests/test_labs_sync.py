"""The labs sync's scenarios (issue #25): the course (a copy of the repository's labs/ notebooks,
changed with nbformat as a teacher would) flows into a student's copy the student changed.

Every scenario ends in ``synced()``, which asserts the four promises on top of its own:
no student cell or file lost, no course change dropped without a line in the report, every
notebook valid, and a second sync that changes nothing (not one byte, the report included).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import nbformat
import pytest

from grayscott.labs.sync import SyncReport, sync_labs
from grayscott.labs.sync.apply import KEEP_BACKUPS
from grayscott.labs.sync.notebook import MARK
from grayscott.labs.sync.plan import Action
from grayscott.labs.sync.tree import REPORT_NAME, SKIPPED_NAMES

ROOT = Path(__file__).resolve().parents[1]
NB3 = "cpu/tutorial/3_Python_Implementation.ipynb"
NB1 = "cpu/tutorial/1_Optimization.ipynb"


# --- the course and the student ----------------------------------------------------------

@pytest.fixture
def course(tmp_path: Path) -> Path:
    """The course: the repository's CPU-day tutorials, its README and a small helper file."""
    root = tmp_path / "course"
    shutil.copytree(ROOT / "labs/cpu/tutorial", root / "cpu/tutorial")
    shutil.copy(ROOT / "labs/README.md", root / "README.md")
    (root / "cpu/helpers.py").write_text("def grid():\n    return 64, 96\n")
    return root


@pytest.fixture
def student(course: Path, tmp_path: Path) -> Path:
    """The student's labs after the first lab start."""
    labs = tmp_path / "work/labs"
    sync_labs(course, labs)
    return labs


def read(path: Path) -> Any:
    return nbformat.read(path, as_version=4)


def write(notebook: Any, path: Path) -> None:
    nbformat.write(notebook, path)


def code_cells(notebook: Any) -> list[Any]:
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def run_cell(cell: Any, text: str) -> None:
    """What running a cell leaves: an execution count and an output."""
    cell.execution_count = 1
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _student_work(cell: Any) -> str:
    """A cell as the student left it: id, type, text and outputs (one comparable string)."""
    return json.dumps([cell.get("id"), cell.cell_type, cell.source, cell.get("outputs")],
                      sort_keys=True)


def _readable(data: bytes) -> bool:
    try:
        nbformat.reads(data.decode(), 4)
    except (ValueError, nbformat.reader.NotJSONError):
        return False
    return True


def synced(course: Path, labs: Path) -> tuple[SyncReport, str]:
    """Sync, assert the four promises, return the report and its Markdown."""
    base = labs / ".sync/base"
    before = snapshot(labs) if labs.exists() else {}
    base_files = snapshot(base) if base.exists() else {}
    report = sync_labs(course, labs)
    text = (labs / REPORT_NAME).read_text()
    after = snapshot(labs)
    for path, data in before.items():
        if path.split("/")[0] in SKIPPED_NAMES:
            continue
        pristine = base_files.get(path) == data
        if path.endswith(".ipynb") and path in after and _readable(data):
            # every cell of the student's (changed or run) is still there, as it was
            received = {_student_work(c) for c in nbformat.reads(base_files[path].decode(), 4).cells
                        } if path in base_files else set()
            kept = {_student_work(c) for c in nbformat.reads(after[path].decode(), 4).cells}
            for cell in nbformat.reads(data.decode(), 4).cells:
                if _student_work(cell) not in received:
                    assert _student_work(cell) in kept, f"{path}: cell {cell.get('id')} lost"
        elif not pristine:
            assert after.get(path) == data, f"{path}: the student's file changed or went"
    for path, data in snapshot(course).items():
        if after.get(path) == data or base_files.get(path) == data:
            continue  # arrived as it is, or the course did not change it
        if path.endswith(".ipynb") and path in base_files and _readable(after.get(path, b"")):
            # each changed or new course cell is in the student's notebook, or reported
            old = {c.get("id"): c.source for c in nbformat.reads(base_files[path].decode(), 4).cells}
            have = {c.source for c in nbformat.reads(after[path].decode(), 4).cells}
            for cell in nbformat.reads(data.decode(), 4).cells:
                if old.get(cell.get("id")) != cell.source and cell.source not in have:
                    assert path in text and cell.get("id", "?") in text, f"{path}: {cell.get('id')} dropped"
        else:
            assert f"`{path}`" in text, f"{path}: the course's change is not in the report"
    for path, data in after.items():
        if path.endswith(".ipynb") and not path.startswith(".sync/") and (
                before.get(path) != data or _readable(data)):
            nbformat.validate(read(labs / path))
    assert sync_labs(course, labs).summary().count("up to date") == 1
    assert snapshot(labs) == after, "a second sync changed files"
    return report, text


# --- the scenarios -----------------------------------------------------------------------

def test_first_start_is_a_copy_and_records_the_base(course: Path, tmp_path: Path) -> None:
    labs = tmp_path / "work/labs"
    report, text = synced(course, labs)
    assert report.first and report.base_version is None
    course_files = snapshot(course)
    assert {p: d for p, d in snapshot(labs).items() if p in course_files} == course_files
    assert snapshot(labs / ".sync/base") == course_files
    assert "`cpu/helpers.py`" in text and "## Added" in text
    assert json.loads((labs / ".sync/state.json").read_text())["labs"] == report.source_version


def test_new_course_files_appear(course: Path, student: Path) -> None:
    (course / "gpu").mkdir()
    write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# GPU day")]),
          course / "gpu/1_CUDA.ipynb")
    (course / "cpu/plot.py").write_text("print('plot')\n")
    report, text = synced(course, student)
    assert (student / "gpu/1_CUDA.ipynb").read_bytes() == (course / "gpu/1_CUDA.ipynb").read_bytes()
    assert (student / "cpu/plot.py").read_text() == "print('plot')\n"
    assert "`gpu/1_CUDA.ipynb`" in text and report.base_version != report.source_version


def test_files_the_student_never_touched_are_updated(course: Path, student: Path) -> None:
    notebook = read(course / NB1)
    notebook.cells[0].source += "\n\nUpdated for day two."
    write(notebook, course / NB1)
    (course / "README.md").write_text("# The labs, second edition\n")
    report, text = synced(course, student)
    assert (student / NB1).read_bytes() == (course / NB1).read_bytes()
    assert (student / "README.md").read_text() == "# The labs, second edition\n"
    assert report.paths(Action.UPDATE) == ["README.md", NB1] and "## Updated (2)" in text


def test_edited_notebook_keeps_student_cells_and_gets_new_course_cells(course: Path,
                                                                       student: Path) -> None:
    mine = read(student / NB3)
    first, second = code_cells(mine)[1], code_cells(mine)[2]
    first.source += "\nprint('mine')"
    run_cell(first, "mine\n")
    run_cell(second, "ran it\n")
    mine.cells.append(nbformat.v4.new_code_cell("notes = 'my own cell'"))
    write(mine, student / NB3)
    theirs = read(course / NB3)
    hint = nbformat.v4.new_markdown_cell("**Hint:** the slice `a[:-2, 1:-1]` is north.")
    check = nbformat.v4.new_code_cell("checks.check_laplacian(laplacian)  # again")
    theirs.cells.insert(3, hint)
    theirs.cells.insert(6, check)
    theirs.cells[0].source += "\n\nRead the hints."
    write(theirs, course / NB3)
    _, text = synced(course, student)
    merged = read(student / NB3)
    ids = [cell.id for cell in merged.cells]
    assert hint.id in ids and check.id in ids
    assert ids.index(hint.id) == [c.id for c in theirs.cells].index(hint.id)
    assert merged.cells[0].source == theirs.cells[0].source
    assert merged.cells[-1].source == "notes = 'my own cell'"
    assert "2 added, 1 updated" in text


def test_a_cell_both_changed_keeps_the_students_and_adds_the_courses_marked(course: Path,
                                                                           student: Path) -> None:
    mine = read(student / NB3)
    target = code_cells(mine)[2]
    target.source = "def laplacian(a):\n    return my_answer(a)"
    write(mine, student / NB3)
    theirs = read(course / NB3)
    fixed = next(c for c in theirs.cells if c.id == target.id)
    fixed.source = fixed.source.replace("YOUR CODE HERE", "YOUR CODE HERE (eight slices)")
    write(theirs, course / NB3)
    report, text = synced(course, student)
    cells = read(student / NB3).cells
    at = [c.id for c in cells].index(target.id)
    note, course_version = cells[at + 1], cells[at + 2]
    assert cells[at].source == target.source
    assert note.cell_type == "markdown" and "**Course update**" in note.source
    assert course_version.source == fixed.source and course_version.id != target.id
    assert course_version.metadata[MARK]["course_version_of"] == target.id
    assert report.conflicts == 1 and f"`{target.id}`" in text


def test_files_the_student_deleted_stay_deleted_and_are_listed(course: Path, student: Path) -> None:
    (student / NB1).unlink()
    notebook = read(course / NB3)
    notebook.cells[0].source += " (v2)"
    write(notebook, course / NB3)
    _, text = synced(course, student)
    assert not (student / NB1).exists()
    assert "## Deleted by you" in text and f"`{NB1}`" in text


def test_a_deleted_file_the_course_changed_is_listed_with_where_to_find_it(course: Path,
                                                                          student: Path) -> None:
    (student / "cpu/helpers.py").unlink()
    (course / "cpu/helpers.py").write_text("def grid():\n    return 270, 480\n")
    _, text = synced(course, student)
    assert not (student / "cpu/helpers.py").exists()
    assert f"{course}/cpu/helpers.py" in text


def test_files_the_course_removed_stay_with_the_student_and_are_listed(course: Path,
                                                                      student: Path) -> None:
    mine = read(student / NB3)
    run_cell(code_cells(mine)[1], "ran\n")
    write(mine, student / NB3)
    (course / NB3).unlink()
    (course / NB1).unlink()
    _, text = synced(course, student)
    assert (student / NB1).is_file() and read(student / NB3) == mine
    assert "## Removed from the course" in text and f"`{NB1}`" in text and f"`{NB3}`" in text
    assert NB1 not in snapshot(student / ".sync/base")


def test_a_file_both_changed_is_kept_and_the_new_version_lands_beside(course: Path,
                                                                     student: Path) -> None:
    (student / "cpu/helpers.py").write_text("def grid():\n    return 8, 8  # mine\n")
    (course / "cpu/helpers.py").write_text("def grid():\n    return 270, 480\n")
    report, text = synced(course, student)
    assert (student / "cpu/helpers.py").read_text().endswith("# mine\n")
    assert (student / "cpu/helpers.new.py").read_text() == "def grid():\n    return 270, 480\n"
    assert "`cpu/helpers.new.py`" in text and report.conflicts == 1


def test_a_file_only_the_student_changed_is_kept(course: Path, student: Path) -> None:
    (student / "README.md").write_text("my notes\n")
    write(read(course / NB1), course / NB1)  # same cells; a course update elsewhere:
    (course / "cpu/new.txt").write_text("new\n")
    _, text = synced(course, student)
    assert (student / "README.md").read_text() == "my notes\n"
    assert "## Kept (your changes)" in text and "`README.md`" in text


def test_cells_the_course_removed_go_only_when_the_student_never_touched_them(
        course: Path, student: Path) -> None:
    mine = read(student / NB3)
    edited = code_cells(mine)[1]
    edited.source += "\n# my note"
    write(mine, student / NB3)
    theirs = read(course / NB3)
    untouched = theirs.cells[3]
    theirs.cells = [c for c in theirs.cells if c.id not in (edited.id, untouched.id)]
    write(theirs, course / NB3)
    _, text = synced(course, student)
    ids = [c.id for c in read(student / NB3).cells]
    assert edited.id in ids and untouched.id not in ids
    assert "1 removed, 1 kept removed" in text


def test_a_cell_the_student_deleted_and_the_course_changed_is_reported(course: Path,
                                                                       student: Path) -> None:
    mine = read(student / NB3)
    gone = mine.cells.pop(3)
    write(mine, student / NB3)
    theirs = read(course / NB3)
    next(c for c in theirs.cells if c.id == gone.id).source += "\n\nCorrected."
    write(theirs, course / NB3)
    _, text = synced(course, student)
    assert gone.id not in [c.id for c in read(student / NB3).cells]
    assert "cells you deleted that the course changed" in text and f"`{gone.id}`" in text


def test_nbgitpuller_case_a_hint_and_a_fix_to_a_cell_the_student_reran(course: Path,
                                                                      student: Path) -> None:
    """nbgitpuller's line merge drops both the hint and the fix, silently; here both arrive
    and the student's run stays."""
    mine = read(student / NB3)
    reran = code_cells(mine)[1]
    run_cell(reran, "padded shape (66, 98)\n")
    write(mine, student / NB3)
    theirs = read(course / NB3)
    at = [c.id for c in theirs.cells].index(reran.id)
    hint = nbformat.v4.new_markdown_cell("**Hint:** the seed is a square in the middle.")
    theirs.cells.insert(at + 1, hint)
    theirs.cells[at].source += "\nprint('seed at', params.rows // 2)"
    write(theirs, course / NB3)
    report, text = synced(course, student)
    cells = read(student / NB3).cells
    sources = [c.source for c in cells]
    assert hint.source in sources and theirs.cells[at].source in sources
    assert next(c for c in cells if c.id == reran.id).outputs == reran.outputs
    assert report.conflicts == 1 and "1 added" in text and f"`{reran.id}`" in text


def test_the_students_own_files_and_moved_cells_are_kept(course: Path, student: Path) -> None:
    (student / "cpu/my_notes.md").write_text("notes\n")
    mine = read(student / NB3)
    mine.cells.insert(0, mine.cells.pop(5))
    write(mine, student / NB3)
    theirs = read(course / NB3)
    new = nbformat.v4.new_markdown_cell("A new paragraph.")
    theirs.cells.insert(6, new)
    write(theirs, course / NB3)
    synced(course, student)
    ids = [c.id for c in read(student / NB3).cells]
    assert ids[0] == mine.cells[0].id  # the student's order stays
    assert ids[ids.index(theirs.cells[5].id) + 1] == new.id  # after its course predecessor
    assert (student / "cpu/my_notes.md").read_text() == "notes\n"


def test_a_copy_made_before_the_sync_existed_loses_nothing(course: Path, tmp_path: Path) -> None:
    """The old start script copied the labs once, with no base: every difference is both
    sides' change."""
    labs = tmp_path / "work/labs"
    shutil.copytree(course, labs)
    mine = read(labs / NB3)
    code_cells(mine)[2].source = "def laplacian(a):\n    return 0 * a"
    run_cell(code_cells(mine)[1], "ran\n")
    write(mine, labs / NB3)
    theirs = read(course / NB3)
    theirs.cells.insert(2, nbformat.v4.new_markdown_cell("New in v2."))
    code_cells(theirs)[2].source += "\n# v2"
    write(theirs, course / NB3)
    report, text = synced(course, labs)
    assert report.base_version is None and not report.first
    assert "you last received no recorded version" in text
    sources = [c.source for c in read(labs / NB3).cells]
    assert "New in v2." in sources and code_cells(theirs)[2].source in sources
    assert report.conflicts == 1


def test_a_damaged_sync_record_trusts_no_base(course: Path, student: Path) -> None:
    (student / ".sync/state.json").write_text("{not json")
    (student / "cpu/helpers.py").write_text("mine\n")
    (course / "cpu/helpers.py").write_text("course v2\n")
    report, _ = synced(course, student)
    assert report.base_version is None
    assert (student / "cpu/helpers.py").read_text() == "mine\n"
    assert (student / "cpu/helpers.new.py").read_text() == "course v2\n"


def test_a_tarball_of_the_labs_is_a_source(course: Path, tmp_path: Path) -> None:
    archive = tmp_path / "labs-v2.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(course, arcname="labs")
    labs = tmp_path / "work/labs"
    report, _ = synced(archive, labs)
    assert (labs / NB3).read_bytes() == (course / NB3).read_bytes() and report.first


def test_what_a_sync_overwrites_is_backed_up_and_old_backups_go(course: Path,
                                                               student: Path) -> None:
    mine = read(student / NB3)
    run_cell(code_cells(mine)[1], "ran\n")
    write(mine, student / NB3)
    before = (student / NB3).read_bytes()
    for version in range(KEEP_BACKUPS + 2):
        theirs = read(course / NB3)
        theirs.cells[0].source += f" v{version}"
        write(theirs, course / NB3)
        report, text = synced(course, student)
        assert report.backup and f"`{report.backup}`" in text
        if version == 0:
            assert (student / report.backup / NB3).read_bytes() == before
    assert len(list((student / ".sync/backups").iterdir())) == KEEP_BACKUPS


def test_an_unreadable_notebook_is_kept_and_the_course_version_lands_beside(
        course: Path, student: Path) -> None:
    (student / NB3).write_text('{"cells": [ half-saved')
    theirs = read(course / NB3)
    theirs.cells[0].source += " v2"
    write(theirs, course / NB3)
    _, text = synced(course, student)
    assert (student / NB3).read_text() == '{"cells": [ half-saved'
    beside = NB3.replace(".ipynb", ".new.ipynb")
    assert (student / beside).read_bytes() == (course / NB3).read_bytes() and beside in text


def test_notebooks_without_cell_ids_are_merged_by_nbdime(course: Path, tmp_path: Path) -> None:
    def old_notebook(*sources: str) -> Any:
        notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(s) for s in sources])
        notebook.nbformat_minor = 4
        for cell in notebook.cells:
            del cell["id"]
        return notebook

    write(old_notebook("# Intro", "Step one."), course / "old.ipynb")
    labs = tmp_path / "work/labs"
    sync_labs(course, labs)
    write(old_notebook("# Intro", "Step one.", "My answer."), labs / "old.ipynb")
    write(old_notebook("# Intro (v2)", "Step one."), course / "old.ipynb")
    report, _ = synced(course, labs)
    assert [c.source for c in read(labs / "old.ipynb").cells] == [
        "# Intro (v2)", "Step one.", "My answer."]
    assert report.cells["old.ipynb"].by.startswith("nbdime")


# --- the entry points ---------------------------------------------------------------------

def grayscott(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "grayscott", *args], capture_output=True,
                          text=True, timeout=120, check=False, env=env)


def test_command_syncs_and_says_what_it_did(course: Path, tmp_path: Path) -> None:
    env = {**os.environ, "GRAYSCOTT_LABS": str(course), "GRAYSCOTT_WORKDIR": str(tmp_path)}
    first = grayscott("labs", "sync", env=env)
    assert first.returncode == 0, first.stderr
    assert "first copy" in first.stdout and (tmp_path / "labs" / NB3).is_file()
    again = grayscott("labs", "sync", env=env)
    assert "up to date" in again.stdout and "nothing to do" in again.stdout


@pytest.mark.parametrize(("source", "destination", "message"), [
    ("missing", "labs", "do not exist"),
    ("file.txt", "labs", "neither a folder nor a tarball"),
    ("course", "file.txt", "is not a folder"),
])
def test_command_bad_input_is_one_line(course: Path, tmp_path: Path, source: str,
                                       destination: str, message: str) -> None:
    (tmp_path / "file.txt").write_text("x")
    result = grayscott("labs", "sync", "--from", str(tmp_path / source),
                       "--to", str(tmp_path / destination))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1 and message in result.stderr


def test_a_sync_that_cannot_write_stops_with_one_line(course: Path, student: Path) -> None:
    """The course adds a folder where the student keeps a file of that name: a one-line
    error, the student's file untouched."""
    (student / "cpu/extra").write_text("mine\n")
    (course / "cpu/extra").mkdir()
    (course / "cpu/extra/notes.md").write_text("course\n")
    result = grayscott("labs", "sync", "--from", str(course), "--to", str(student))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith("error: the labs sync stopped") and result.stderr.count("\n") == 1
    assert (student / "cpu/extra").read_text() == "mine\n"


def test_without_nbformat_a_merge_is_refused_in_one_line_before_any_write(
        course: Path, student: Path) -> None:
    """An image without the lab extra: copies work, a notebook merge names the extra."""
    mine = read(student / NB3)
    run_cell(code_cells(mine)[1], "ran\n")
    write(mine, student / NB3)
    theirs = read(course / NB3)
    theirs.cells[0].source += " v2"
    write(theirs, course / NB3)
    (course / "cpu/new.txt").write_text("new\n")
    before = snapshot(student)
    result = subprocess.run(
        [sys.executable, "-c", "import sys; sys.modules['nbformat'] = None; "
         "from grayscott.cli import main; main()", "labs", "sync", "--from", str(course),
         "--to", str(student)], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "needs the lab extra (nbformat is missing)" in result.stderr
    assert {p: d for p, d in snapshot(student).items() if not p.startswith(".sync/")} == {
        p: d for p, d in before.items() if not p.startswith(".sync/")}


def test_the_image_label_names_the_labs_version_the_report_shows(
        course: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A teacher compares the image's label (grayscott.versions, run in the image with
    GRAYSCOTT_LABS set) with the version in a student's SYNC-REPORT.md."""
    from grayscott import versions

    monkeypatch.setenv("GRAYSCOTT_LABS", str(course))
    label = versions.collect()["labs"]
    report, text = synced(course, tmp_path / "labs")
    assert label == report.source_version and f"**{label}**" in text
    monkeypatch.delenv("GRAYSCOTT_LABS")
    assert "labs" not in versions.collect()


def test_every_lab_start_syncs(course: Path, tmp_path: Path) -> None:
    """The image's start script, run as the image runs it (a stand-in for jupyter lab): the
    first start copies, a start after a course update merges, and says so in the log."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "jupyter").write_text("#!/bin/sh\nexit 0\n")
    (bin_dir / "jupyter").chmod(0o755)
    (bin_dir / "grayscott").symlink_to(Path(sys.executable).parent / "grayscott")
    work = tmp_path / "work"
    work.mkdir()
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path / "home"),
           "JUPYTER_RUNTIME_DIR": str(tmp_path / "rt"), "JUPYTER_DATA_DIR": str(tmp_path / "d"),
           "IPYTHONDIR": str(tmp_path / "ipy"), "JUPYTER_TOKEN": "t",
           "GRAYSCOTT_LABS": str(course), "GRAYSCOTT_WORKDIR": str(work)}

    def start() -> str:
        result = subprocess.run(["bash", str(ROOT / "images/jupyter/start-jupyter.sh")],
                                env=env, capture_output=True, text=True, timeout=120, check=False)
        assert result.returncode == 0, result.stderr
        return result.stdout

    assert "first copy" in start()
    mine = read(work / "labs" / NB3)
    run_cell(code_cells(mine)[1], "mine\n")
    write(mine, work / "labs" / NB3)
    theirs = read(course / NB3)
    theirs.cells.insert(1, nbformat.v4.new_markdown_cell("Day two."))
    write(theirs, course / NB3)
    assert "1 merge" in start()
    merged = read(work / "labs" / NB3)
    assert "Day two." in [c.source for c in merged.cells]
    assert code_cells(mine)[1].outputs in [c.get("outputs") for c in merged.cells]
    assert "up to date" in start()
