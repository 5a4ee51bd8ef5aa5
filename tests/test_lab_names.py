"""Every package name a lab's text or code mentions exists (issue #23: a student who follows
the prose must not meet a function that is not there, as `model.laplacian_at` once was)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from grayscott import model

LABS = Path(__file__).resolve().parent.parent / "labs"
NOTEBOOKS = sorted(LABS.glob("*/*/*.ipynb"))
#: `model.<name>` in a notebook's markdown or code
MODEL_NAME = re.compile(r"\bmodel\.([A-Za-z_]\w*)")


def mentioned(path: Path) -> set[str]:
    cells = json.loads(path.read_text())["cells"]
    return {name for cell in cells for name in MODEL_NAME.findall("".join(cell["source"]))}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.parent.name}/{p.parent.name}/{p.stem}")
def test_every_model_name_a_notebook_mentions_exists(path: Path) -> None:
    missing = sorted(name for name in mentioned(path) if not hasattr(model, name))
    assert not missing, f"{path.name} mentions model.{', model.'.join(missing)}, which grayscott.model lacks"


def test_the_scan_sees_the_names() -> None:
    """The regular expression finds what the notebooks use (an empty scan would pass anything)."""
    assert {"react", "laplacian"} <= set().union(*(mentioned(p) for p in NOTEBOOKS))
