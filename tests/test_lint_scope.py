"""ruff and mypy see every Python file we ship: an exclude meant for the exercises at the top
(labs/) once hid grayscott/labs/ too, the largest module of the package, never linted; and
mypy was run on a list of file names that a new module did not join."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
#: The folders whose Python files we ship (the package, the hubs, the scripts, the tests).
SHIPPED = ("grayscott", "compose", "hpc", "scripts", "tests")
#: Not type-checked yet, said in the Makefile beside MYPY_ROOTS.
MYPY_NOT_YET = ("tests",)


def _is_python(path: Path) -> bool:
    """A .py file, or a script without the suffix whose first line runs Python."""
    if path.suffix == ".py":
        return True
    if path.suffix or not path.is_file():
        return False
    with path.open("rb") as f:
        first = f.readline()
    return first.startswith(b"#!") and b"python" in first


def shipped_python(folders: tuple[str, ...]) -> set[Path]:
    files = (p for folder in folders for p in (REPO / folder).rglob("*"))
    return {p.resolve() for p in files if "__pycache__" not in p.parts and _is_python(p)}


def _tool(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    assert found, f"{name} is not installed (make .venv/.test-deps)"
    return found


def _missing(expected: set[Path], seen: set[Path]) -> list[str]:
    return sorted(str(p.relative_to(REPO)) for p in expected - seen)


def test_the_scripts_without_py_are_found() -> None:
    """The shebang probe finds a script without .py (else the two checks below prove less)."""
    assert REPO / "compose/hub/gslab-hub-admin" in shipped_python(("compose",))


def test_ruff_lints_every_python_file_we_ship() -> None:
    listed = subprocess.run([_tool("ruff"), "check", "--show-files", "."], cwd=REPO,
                            capture_output=True, text=True, check=True).stdout
    seen = {Path(line.strip()).resolve() for line in listed.splitlines() if line.strip()}
    missing = _missing(shipped_python(SHIPPED), seen)
    assert not missing, f"ruff does not see: {missing} (pyproject's [tool.ruff] extend-include)"


def test_mypy_checks_every_python_file_we_ship() -> None:
    """What ``make typecheck`` would run (``make -n``), with every file it names."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    ruff, mypy = _tool("ruff"), _tool("mypy")
    dry = subprocess.run(["make", "-s", "-n", "typecheck", f"BIN={Path(ruff).parent}"],
                         cwd=REPO, capture_output=True, text=True, check=True).stdout
    runs = [line.split()[1:] for line in dry.splitlines() if line.startswith(f"{mypy} ")]
    assert runs, f"make typecheck runs no mypy:\n{dry}"
    seen = {(REPO / name).resolve() for run in runs for name in run if not name.startswith("-")}
    checked = tuple(folder for folder in SHIPPED if folder not in MYPY_NOT_YET)
    missing = _missing(shipped_python(checked), seen)
    assert not missing, f"mypy does not see: {missing} (the Makefile's MYPY_ROOTS)"
