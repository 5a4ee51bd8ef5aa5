"""``gslab`` run by an ordinary user on rootless Podman, as on a cluster login node.

``make test-rootless`` (as root) makes the account with scripts/rootless-podman.sh, loads
cpu-light and cpu-jupyter into its rootless storage, and sets GSLAB_ROOTLESS_USER; without
that variable these tests are deselected (``make test-launcher`` does not run them). gslab runs
as that user through ``runuser``, from this checkout and this environment's packages.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
import sys
import sysconfig
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.launcher.test_gslab_engines import save_through_jupyter
from tests.test_launcher_squatting import squatted_after_the_check
from tests.utils import free_port

REPO = Path(__file__).resolve().parents[2]
ACCOUNTS = [name for name in [os.environ.get("GSLAB_ROOTLESS_USER", "")] if name]


@dataclass
class Student:
    """An ordinary account that runs commands, gslab included, as itself."""

    name: str
    uid: int
    gid: int
    home: Path
    python: str

    def argv(self, *args: str) -> list[str]:
        """``args`` as this account, in its home, with gslab importable."""
        env = [f"HOME={self.home}", "COLUMNS=200", "PYTHONDONTWRITEBYTECODE=1",
               "PYTHONPATH=" + os.pathsep.join(_import_paths()),
               f"PATH={os.environ.get('PATH', '/usr/bin:/bin')}"]
        return ["runuser", "-u", self.name, "--", "env", "-i", "-C", str(self.home), *env, *args]

    def run(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.argv(*args), capture_output=True, text=True,
                              timeout=timeout, check=False)

    def gslab(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run(self.python, "-m", "grayscott.launcher", *args)


def _import_paths() -> list[str]:
    """This checkout, then this environment's packages (typer, rich, h5py, ...)."""
    paths = sysconfig.get_paths()
    return list(dict.fromkeys([str(REPO), paths["purelib"], paths["platlib"]]))


def _python_for(name: str) -> str:
    """An interpreter of this Python version the account may execute (a venv's may live
    under /root): this one, else the system's."""
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    candidates = [os.path.realpath(sys.executable), shutil.which(f"python{version}"),
                  f"/usr/bin/python{version}"]
    for candidate in dict.fromkeys(c for c in candidates if c):
        probe = subprocess.run(["runuser", "-u", name, "--", candidate, "-c",
                                "import sys; print(sys.version_info[:2])"],
                               capture_output=True, text=True, check=False)
        if probe.returncode == 0 and probe.stdout.strip() == str(sys.version_info[:2]):
            return candidate
    raise AssertionError(f"{name} can execute no Python {version} among {candidates}")


@pytest.fixture(params=ACCOUNTS, scope="module")
def student(request: pytest.FixtureRequest) -> Student:
    assert os.geteuid() == 0, "these tests switch to the student account: run them as root"
    entry = pwd.getpwnam(request.param)
    account = Student(entry.pw_name, entry.pw_uid, entry.pw_gid, Path(entry.pw_dir),
                      _python_for(entry.pw_name))
    readable = account.run(account.python, "-c", "import grayscott.launcher, h5py")
    assert readable.returncode == 0, (
        f"{account.name} cannot import gslab from {REPO} (check its permissions):\n"
        + readable.stderr)
    return account


@pytest.fixture
def student_workdir(student: Student) -> Iterator[Path]:
    """A fresh folder in the student's home, made by the student."""
    made = student.run("mktemp", "-d", "-p", str(student.home), "gslab-work.XXXX")
    assert made.returncode == 0, made.stderr
    work = Path(made.stdout.strip())
    yield work
    shutil.rmtree(work)


def test_the_account_is_rootless(student: Student) -> None:
    info = student.run("podman", "info", "--format", "{{.Host.Security.Rootless}}")
    assert info.returncode == 0, info.stderr
    assert info.stdout.strip() == "true"


def test_batch_run_writes_files_the_student_owns(student: Student, student_workdir: Path) -> None:
    result = student.gslab("run", "light", "--runtime", "podman", "--workdir",
                           str(student_workdir), "--", "run", "-b", "numba-parallel",
                           "-r", "48", "-c", "64", "-n", "2", "-s", "5", "-o", "/work/out.h5")
    assert result.returncode == 0, result.stdout + result.stderr
    out = student_workdir / "out.h5"
    assert (out.stat().st_uid, out.stat().st_gid) == (student.uid, student.gid)
    read = student.run(student.python, "-c", "import h5py, sys; "
                       "print(h5py.File(sys.argv[1])['matrix'].shape)", str(out))
    assert read.returncode == 0, read.stderr
    assert read.stdout.strip() == "(2, 48, 64)"


def test_smoke_through_rootless_podman(student: Student) -> None:
    result = student.gslab("smoke", "cpu-light", "--runtime", "podman")
    assert result.returncode == 0, result.stdout + result.stderr
    rows = [line for line in result.stdout.splitlines() if "numba-parallel" in line]
    assert rows and "ok" in rows[0] and "podman" in rows[0]


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, b""


def test_jupyter_on_the_host_port_with_its_token(student: Student,
                                                  student_workdir: Path) -> None:
    port = free_port()
    started = student.gslab("run", "jupyter", "--runtime", "podman", "--detach", "--port",
                            str(port), "--workdir", str(student_workdir))
    assert started.returncode == 0, started.stdout + started.stderr
    url = re.search(rf"http://127\.0\.0\.1:{port}/lab\?token=([0-9a-f]+)", started.stdout)
    name = re.search(r"running as (\S+):", started.stdout)
    assert url and name, started.stdout
    try:
        status, body = _get(f"http://127.0.0.1:{port}/api/contents?token={url.group(1)}")
        assert status == 200 and b'"labs"' in body
        assert _get(f"http://127.0.0.1:{port}/api/contents")[0] == 403  # never without token
        labs = student_workdir / "labs"  # the labs the server copied in are the student's
        assert (labs.stat().st_uid, labs.stat().st_gid) == (student.uid, student.gid)
        api = f"http://127.0.0.1:{port}/api/contents/{{}}?token={url.group(1)}"
        assert save_through_jupyter(api, "labs/mywork.txt", "saved") == 201
        assert (labs / "mywork.txt").stat().st_uid == student.uid
        assert name.group(1) in student.gslab("ps").stdout
    finally:
        stopped = student.gslab("stop", name.group(1))
    assert stopped.returncode == 0, stopped.stderr
    assert name.group(1) not in student.gslab("ps").stdout


def test_a_port_squatted_by_another_user_is_refused(student: Student,
                                                    student_workdir: Path) -> None:
    """Issue #22, attack 5 on a login node: another user (root here: any other UID) binds
    the port just after gslab's free-port check, while the rootless container starts on the
    host network. gslab refuses in one line naming the port, sends the squatter nothing (no
    token), prints no URL and leaves no container behind."""
    port = free_port()
    gslab = subprocess.Popen(student.argv(student.python, "-m", "grayscott.launcher", "run",
                                          "jupyter", "--runtime", "podman", "--detach",
                                          "--port", str(port), "--workdir",
                                          str(student_workdir), "--timeout", "60"),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err, squatter = squatted_after_the_check(gslab, "podman", port)
    assert "The lab is ready" not in out, (out, err, squatter.seen)
    assert squatter.seen == [], squatter.seen
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert gslab.returncode == 2 and len(errors) == 1, (out, err)
    assert f"port {port} is taken by uid 0" in errors[0], err
    assert "cpu-jupyter" not in student.gslab("ps").stdout  # the refused container is gone
