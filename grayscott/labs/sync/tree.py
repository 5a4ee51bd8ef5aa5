"""What a labs folder holds: its files by relative path and content digest, and its version.

Only course files count: the sync's own state (``.sync/``), its report, Jupyter's checkpoints
and Python's caches are never course material, so they are never planned, copied or listed.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from grayscott import __version__
from grayscott.errors import UsageError

#: the sync's state inside the student's labs folder (hidden in JupyterLab: a dot folder)
STATE_DIR = ".sync"
#: the report the student opens in JupyterLab (Markdown renders there)
REPORT_NAME = "SYNC-REPORT.md"
#: folders and files that are never course material
SKIPPED_NAMES = frozenset({STATE_DIR, REPORT_NAME, ".ipynb_checkpoints", "__pycache__", ".git"})


def digest(path: Path) -> str:
    """SHA-256 of a file's bytes: equal digests, equal files."""
    sha = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


def course_files(root: Path) -> dict[str, str]:
    """Every course file under ``root`` (POSIX relative path -> digest); {} if no folder."""
    if not root.is_dir():
        return {}
    found: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if any(part in SKIPPED_NAMES for part in relative.parts):
            continue
        if path.is_file() and not path.is_symlink():
            found[relative.as_posix()] = digest(path)
    return found


def tree_digest(files: dict[str, str]) -> str:
    """One digest for a whole tree: the same course files give the same labs version."""
    sha = hashlib.sha256()
    for relative, file_digest in sorted(files.items()):
        sha.update(f"{relative}\0{file_digest}\n".encode())
    return sha.hexdigest()


def labs_version(root: Path, files: dict[str, str]) -> str:
    """The labs' version a teacher can compare: the package version, the content digest and,
    for a git checkout, its commit (``0.1.0+3f2a9c1e0b4d git 1a2b3c4``)."""
    version = f"{__version__}+{tree_digest(files)[:12]}"
    if (root / ".git").exists() and shutil.which("git"):
        result = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True, check=False)
        if result.returncode == 0:
            version += f" git {result.stdout.strip()}"
    return version


@contextmanager
def opened_source(source: Path) -> Iterator[Path]:
    """The course's labs as a folder: the folder itself (a git checkout is one), or a tarball
    unpacked into a temporary folder (its single top folder, if it has one)."""
    if source.is_dir():
        yield source
        return
    if not source.exists():
        raise UsageError(f"the labs to sync from, {source}, do not exist (--from: a folder, "
                         "a .tar/.tar.gz/.tgz or a git checkout)")
    if not tarfile.is_tarfile(source):
        raise UsageError(f"{source} is neither a folder nor a tarball of the labs")
    with tempfile.TemporaryDirectory(prefix="labs-sync-") as unpacked:
        with tarfile.open(source) as archive:
            archive.extractall(unpacked, filter="data")  # no links or paths out of the folder
        entries = list(Path(unpacked).iterdir())
        yield entries[0] if len(entries) == 1 and entries[0].is_dir() else Path(unpacked)
