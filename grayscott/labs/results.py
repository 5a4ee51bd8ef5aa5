"""The labs' reference run (``labs/results/``), wherever the labs are.

In the jupyter images the labs live in ``$GRAYSCOTT_LABS`` (a read-only copy; the student's
own is in /work/labs); in a checkout, ``labs/`` sits beside the package. A notebook asks for a
file by name and gets its path, wherever it runs from (the tests run notebooks elsewhere).
"""

from __future__ import annotations

import os
from pathlib import Path

from grayscott.errors import UsageError

#: labs/ in the repository this module belongs to (a checkout, the package installed editable).
LABS_ROOT = Path(__file__).resolve().parents[2] / "labs"


def results_file(name: str) -> Path:
    """The path of ``labs/results/<name>`` (``reference.h5``, ``reference.mp4``, ...)."""
    roots = [Path(p) for p in (os.environ.get("GRAYSCOTT_LABS"),) if p] + [LABS_ROOT]
    for root in roots:
        if (root / "results" / name).is_file():
            return root / "results" / name
    raise UsageError(f"labs/results/{name} not found (looked in {', '.join(map(str, roots))}): "
                     "set GRAYSCOTT_LABS to the labs folder")
