"""A course update reaches a running class without a lost edit (issue #25): `make hub-sync`.

Two students' labs run; each edits a notebook in /work/labs through her kernel (a code cell
changed, a cell of her own; one also changes the check cell the course will change). The
teacher then loads a new version of the lab image (the same name, changed labs: a new
notebook, a hint cell, a changed check cell) and runs ``hub.sh sync``: the labs, still
running the old image, get the new version's labs, every student edit is kept, the course's
new cells and file are there, SYNC-REPORT.md says so. A second run changes nothing; a course
folder or tarball (``--from``) works the same; a student whose sync fails is a line and exit 1.
The seconds of ``hub.sh sync`` (an update, then nothing to do) go to build/hub-labs-sync.json.

The class's image is this checkout's ``grayscott`` and start script over
gray-scott-lab:cpu-jupyter, under a name of the test's own (removed afterwards): the test
checks this checkout's sync whatever the local image was built from, and the "new version"
is built under that name as a site's `make build-cpu-jupyter` rebuilds the hub's image.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import tarfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest

from grayscott.classroom.client import execute, open_kernel, server_ready
from tests.deploy.conftest import BUILD, CPU_JUPYTER, Hub, started_hub
from tests.utils import REPO, run, wait_for

NOTEBOOK = "cpu/tutorial/3_Python_Implementation.ipynb"
NEW_NOTEBOOK = "cpu/tutorial/7_Day_Two.ipynb"
HINT = "**Hint:** the eight neighbours are eight slices of the padded array."
CHECK_V2 = "checks.check_laplacian(laplacian)  # course v2: float32 too"
STUDENTS = ("alice", "bob")

#: The class's image: this checkout's package and start script over the lab image.
CLASS_DOCKERFILE = f"""FROM {CPU_JUPYTER}
USER 0:0
COPY grayscott /tmp/grayscott
COPY start-jupyter.sh /usr/local/bin/start-jupyter
RUN target=$(python -c 'import grayscott, pathlib; print(pathlib.Path(grayscott.__file__).parent)') \\
    && rm -rf "$target" && cp -r /tmp/grayscott "$target" && rm -rf /tmp/grayscott \\
    && chmod 755 /usr/local/bin/start-jupyter
USER 1000:100
"""

#: A student's edit, in her kernel: the Laplacian answered (cell 3-04), a cell of her own,
#: and for ``check`` the check cell (3-05) too; prints what she wrote, as it is saved.
EDIT = """
import json, nbformat
path = "/work/labs/{notebook}"
nb = nbformat.read(path, as_version=4)
cells = {{c.id: c for c in nb.cells}}
cells["3-04"].source = "def laplacian(a):\\n    return answer_of_{user}(a)"
mine = [cells["3-04"], nbformat.v4.new_code_cell("print('my own cell, {user}')")]
nb.cells.append(mine[1])
if {check}:
    cells["3-05"].source = "checks.check_laplacian(laplacian)  # {user} tried this"
    mine.append(cells["3-05"])
nbformat.write(nb, path)
print(json.dumps([c.source for c in mine]))
"""

#: What a student has after the sync, read in her kernel.
READ = """
import json, os, nbformat
labs = "/work/labs"
nb = nbformat.read(labs + "/{notebook}", as_version=4)
nbformat.validate(nb)
print(json.dumps({{"sources": [c.source for c in nb.cells],
                  "new": os.path.isfile(labs + "/{new}"),
                  "report": open(labs + "/SYNC-REPORT.md").read()}}))
"""


def _build(tag: str, context: Path, dockerfile: str) -> str:
    (context / "Dockerfile").write_text(dockerfile)
    run("docker", "build", "-q", "-t", tag, str(context), timeout=300)
    return run("docker", "image", "inspect", "-f", "{{.Id}}", tag).stdout.strip()


@pytest.fixture(scope="module")
def class_image(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, list[str]]]:
    """The class's image name, and the ids built under it (removed at the end)."""
    tag = f"gslab-sync-test-{uuid.uuid4().hex[:6]}:cpu-jupyter"
    context = tmp_path_factory.mktemp("class-image")
    shutil.copytree(REPO / "grayscott", context / "grayscott",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "images/jupyter/start-jupyter.sh", context / "start-jupyter.sh")
    built = [_build(tag, context, CLASS_DOCKERFILE)]
    try:
        yield tag, built
    finally:
        run("docker", "image", "rm", "-f", tag, *built, check=False)


def _new_version_of_the_labs(tag: str, labs: Path) -> None:
    """The course's next version, from the class's image: a hint cell before the exercise, a
    changed check cell, a new notebook; world-readable (a course folder the labs' user reads)."""
    container = run("docker", "create", tag).stdout.strip()
    try:
        run("docker", "cp", f"{container}:/opt/labs", str(labs))
    finally:
        run("docker", "rm", container, check=False)
    course = nbformat.read(labs / NOTEBOOK, as_version=4)
    at = next(i for i, c in enumerate(course.cells) if c.id == "3-04")
    course.cells.insert(at, nbformat.v4.new_markdown_cell(HINT, id="3-03h"))
    next(c for c in course.cells if c.id == "3-05").source = CHECK_V2
    nbformat.write(course, labs / NOTEBOOK)
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(
        "# Day two", id="7-00")]), labs / NEW_NOTEBOOK)
    for item in (labs, *labs.rglob("*")):
        item.chmod(0o755 if item.is_dir() else 0o644)


def _spawn_class(hub: Hub) -> dict[str, str]:
    """Both students' labs started together, waited for: each one's kernel channels URL."""
    for user in STUDENTS:
        assert hub.api("POST", f"/users/{user}").status_code == 201
        assert hub.api("POST", f"/users/{user}/server").status_code in (201, 202)
    for user in STUDENTS:
        wait_for(lambda u=user: server_ready(hub, u), 180, f"{user}'s server", 0.2)
    return {user: open_kernel(hub, user)[1] for user in STUDENTS}


def _in_kernel(hub: Hub, ws_url: str, code: str) -> str:
    return asyncio.run(execute(ws_url, code, token=hub.token, timeout=120))


def _student_lines(printed: str) -> dict[str, str]:
    return {line.split(": ", 1)[0]: line for line in printed.splitlines() if ": " in line}


def test_a_new_course_version_reaches_the_running_class_without_a_lost_edit(
        docker_engine: None, class_image: tuple[str, list[str]],
        tmp_path: Path) -> None:
    tag, built = class_image
    with started_hub(tmp_path, {"GSLAB_HUB_CPU_IMAGE": tag}) as hub:
        kernels = _spawn_class(hub)
        edited = {user: json.loads(_in_kernel(hub, kernels[user], EDIT.format(
            notebook=NOTEBOOK, user=user, check=user == "bob"))) for user in STUDENTS}
        # a student of the class whose lab is stopped (her volume holds her work)
        run("docker", "volume", "create", f"{hub.name}-user-carol")

        course = tmp_path / "course-labs"
        _new_version_of_the_labs(tag, course)
        context = tmp_path / "new-version"
        context.mkdir()
        shutil.copytree(course, context / "labs")
        built.append(_build(tag, context, f"FROM {tag}\nCOPY labs /opt/labs\n"))

        started = time.monotonic()
        synced = hub.script("sync")
        seconds = {"update": time.monotonic() - started}
        lines = _student_lines(synced.stdout)
        for user in STUDENTS:
            assert "1 add, 1 merge" in lines[user] and "is newer than the lab's image" in lines[
                user], synced.stdout
        assert "1 conflict(s)" in lines["bob"] and "0 conflict(s)" in lines["alice"]
        assert "carol: not running" in synced.stdout
        assert "total: 2 running lab(s): 2 updated, 0 up to date, 0 failed; 1 stopped" in \
            synced.stdout

        for user in STUDENTS:
            after = json.loads(_in_kernel(hub, kernels[user], READ.format(
                notebook=NOTEBOOK, new=NEW_NOTEBOOK)))
            assert set(edited[user]) <= set(after["sources"]), user  # no edit of hers lost
            assert HINT in after["sources"] and CHECK_V2 in after["sources"], user
            assert after["new"], user
            assert NEW_NOTEBOOK in after["report"] and NOTEBOOK in after["report"], user
        assert "Course update" in after["report"]  # bob's check cell: both kept, marked

        started = time.monotonic()
        again = hub.script("sync")
        seconds["up_to_date"] = time.monotonic() - started
        assert "total: 2 running lab(s): 0 updated, 2 up to date, 0 failed" in again.stdout
        BUILD.mkdir(exist_ok=True)
        (BUILD / "hub-labs-sync.json").write_text(json.dumps(
            {"running_labs": len(STUDENTS), "hub_sync_s": seconds}, indent=2) + "\n")

        # the same course as a tarball: nothing new; as a folder with one more file, a student
        # whose folder she made read-only fails (her line, exit 1) and the other gets it
        tarball = tmp_path / "course.tar.gz"
        with tarfile.open(tarball, "w:gz") as archive:
            archive.add(course, arcname="labs")
        tarball.chmod(0o644)
        from_tarball = hub.script("sync", "--from", str(tarball))
        assert "0 updated, 2 up to date, 0 failed" in from_tarball.stdout, from_tarball.stdout
        (course / "cpu/tutorial/extra.md").write_text("# Extra\n")
        (course / "cpu/tutorial/extra.md").chmod(0o644)
        _in_kernel(hub, kernels["bob"], "import os; os.chmod('/work/labs/cpu/tutorial', 0o555)")
        failing = hub.script("sync", "--from", str(course), check=False)
        lines = _student_lines(failing.stdout)
        assert failing.returncode == 1, failing.stdout + failing.stderr
        assert "1 add" in lines["alice"] and "bob: error: the labs sync stopped" in lines["bob"]
        assert "1 updated, 0 up to date, 1 failed" in failing.stdout
