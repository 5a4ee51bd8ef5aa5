"""The notebooks' check cells and the checks package agree: every ``checks.<name>`` a notebook
under labs/ calls is a check that ``grayscott.labs.checks`` names.

The checks live in one module per course (``checks.cpu``, ``gpu``, ``scale``) and the
notebooks reach them all through the package; a check moved or renamed in one course but
not re-exported would fail only when a student runs that cell. This reads the notebooks as
JSON, so it runs without nbformat or a kernel.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from grayscott.labs import checks

LABS = Path(__file__).resolve().parents[1] / "labs"
#: A use of the package in a code cell: ``checks.check_step(...)``, ``checks.CheckFailed``.
CALL = re.compile(r"\bchecks\.([A-Za-z_]\w*)")


def called_by_notebooks() -> dict[str, set[str]]:
    """Each name the notebooks use as ``checks.<name>``, with the notebooks that use it."""
    used: dict[str, set[str]] = {}
    for path in sorted(LABS.rglob("*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        for cell in cells:
            if cell["cell_type"] != "code":
                continue
            source = "".join(cell["source"])
            for name in CALL.findall(source):
                used.setdefault(name, set()).add(path.relative_to(LABS).as_posix())
    return used


def test_the_scan_sees_the_check_cells_of_every_course() -> None:
    """Guards the test below against passing on nothing: each course calls its checks."""
    used = called_by_notebooks()
    courses = {notebook.split("/")[0] for notebooks in used.values() for notebook in notebooks}
    assert courses == {"cpu", "gpu", "scale"}
    assert "check_step" in used and "check_device_step" in used and "check_split_rows" in used


def test_every_check_a_notebook_calls_is_in_the_package() -> None:
    missing = {name: sorted(notebooks) for name, notebooks in called_by_notebooks().items()
               if not callable(getattr(checks, name, None)) or name not in checks.__all__}
    assert not missing, f"called by the notebooks but not in grayscott.labs.checks: {missing}"
