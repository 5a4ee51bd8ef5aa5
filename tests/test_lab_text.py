"""What a lab's text says must hold on the machine it runs on (issue #23).

Every package name the prose or code mentions exists (a student who follows the prose must not
meet a function that is not there, as `model.laplacian_at` once was), and no code cell prints a
comparison written in advance: "threads do help NumPy" once stood beside a measured 0.86x.
A sentence that compares is built from the notebook's own measurement (an f-string with the
numbers, or ``Timings.verdict``); that each such printed comparison has a chart of repeats
under it is checked where the solutions are executed (tests/test_labs.py)."""

from __future__ import annotations

import ast
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


#: Words of a comparison: a string that holds one must carry a measured value with it
COMPARATIVE = re.compile(r"\b(faster|slower|speeds? up|speed-up|helps?|wins?|beats?)\b", re.IGNORECASE)


def fixed_comparisons(source: str) -> list[str]:
    """String constants of a code cell that compare without a value in them: a plain string, or
    an f-string without a single placeholder (docstrings and comments are not printed)."""
    if source.lstrip().startswith("%%"):  # a cell magic: %%writefile's file is a program
        return []
    tree = ast.parse(source)
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, ast.FunctionDef | ast.ClassDef | ast.Module) and node.body
                  and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    inside_fstrings = {id(part) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr)
                       for part in node.values}
    found = []
    for node in ast.walk(tree):
        placeholders = isinstance(node, ast.JoinedStr) and any(
            isinstance(v, ast.FormattedValue) for v in node.values)
        if isinstance(node, ast.JoinedStr) and not placeholders:
            text = "".join(v.value for v in node.values if isinstance(v, ast.Constant))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and id(node) not in inside_fstrings and id(node) not in docstrings:
            text = node.value
        else:
            continue
        if COMPARATIVE.search(text):
            found.append(text)
    return found


SOLUTIONS = [p for p in NOTEBOOKS if p.parent.name == "solutions"]


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: f"{p.parent.parent.name}/{p.stem}")
def test_no_code_cell_prints_a_comparison_written_in_advance(path: Path) -> None:
    cells = json.loads(path.read_text())["cells"]
    fixed = [text for cell in cells if cell["cell_type"] == "code"
             for text in fixed_comparisons("".join(cell["source"]))]
    assert not fixed, f"{path.name}: comparisons written in advance, not measured: {fixed}"


def test_the_scan_finds_a_comparison_written_in_advance() -> None:
    """What cpu/2 printed before issue #23 is found; its measured replacement is not."""
    assert fixed_comparisons('print("threads do help NumPy")') == ["threads do help NumPy"]
    assert fixed_comparisons('print(f"(about 1: the threads take turns) faster")') != []
    assert fixed_comparisons('print(f"NumPy in threads: {t.verdict(a, b)}")') == []
    assert fixed_comparisons('def f():\n    """Faster than a loop."""\n    return 1') == []
