"""ruff sees every Python file we ship: an exclude meant for the exercises at the top (labs/)
once hid grayscott/labs/ too, the largest module of the package, never linted."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_ruff_lints_every_module_of_the_package() -> None:
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    assert ruff, "ruff is not installed (make .venv/.test-deps)"
    listed = subprocess.run([ruff, "check", "--show-files", "."], cwd=REPO, capture_output=True,
                            text=True, check=True).stdout
    seen = {Path(line.strip()).resolve() for line in listed.splitlines() if line.strip()}
    shipped = set((REPO / "grayscott").rglob("*.py"))
    missing = sorted(str(p.relative_to(REPO)) for p in shipped - seen)
    assert not missing, f"ruff does not see: {missing}"
