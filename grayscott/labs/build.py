"""Write the tutorial notebooks from the solution notebooks: one source per exercise.

A solution notebook (``labs/<day>/solutions/N_Name.ipynb``) marks each answer inside a code
cell with::

    ### BEGIN SOLUTION: what the student has to do, in a few words
    ...the answer...
    ### END SOLUTION

The tutorial (``labs/<day>/tutorial/N_Name.ipynb``) is the same notebook with each such block
replaced, at the block's indentation, by ``# YOUR CODE HERE`` and
``raise NotImplementedError("exercise: <what to do>")``, and with every output removed.
Keeping only the solutions by hand means the prose, the check cells and the comparison are
written once and cannot drift between the two copies.

``python -m grayscott.labs.build`` rewrites the tutorials; ``--check`` only reports stale
ones (exit 1), which is what the tests assert.
"""

from __future__ import annotations

import argparse
import copy
import re
import sys
from pathlib import Path
from typing import Any

import nbformat

from grayscott.labs.results import LABS_ROOT

BEGIN = re.compile(r"^(?P<indent>[ \t]*)### BEGIN SOLUTION(?::[ \t]*(?P<hint>.*?))?[ \t]*$")
END = re.compile(r"^[ \t]*### END SOLUTION[ \t]*$")



class SolutionMarkupError(ValueError):
    """A BEGIN/END SOLUTION block is unbalanced or has no hint."""


def strip_solutions(source: str, where: str = "cell") -> tuple[str, int]:
    """The cell source with each solution block replaced by a gap; and the number of gaps."""
    out: list[str] = []
    gaps = 0
    inside: re.Match[str] | None = None
    for number, line in enumerate(source.split("\n"), 1):
        begin, end = BEGIN.match(line), END.match(line)
        if begin:
            if inside:
                raise SolutionMarkupError(f"{where}, line {number}: BEGIN SOLUTION inside another block")
            if not begin["hint"]:
                raise SolutionMarkupError(f"{where}, line {number}: write what to do after "
                                          "'### BEGIN SOLUTION:', it becomes the tutorial's message")
            inside = begin
        elif end:
            if not inside:
                raise SolutionMarkupError(f"{where}, line {number}: END SOLUTION without BEGIN")
            indent, hint = inside["indent"], inside["hint"].replace("\\", "\\\\").replace('"', '\\"')
            out += [f"{indent}# YOUR CODE HERE", f'{indent}raise NotImplementedError("exercise: {hint}")']
            gaps += 1
            inside = None
        elif not inside:
            out.append(line)
    if inside:
        raise SolutionMarkupError(f"{where}: BEGIN SOLUTION without END SOLUTION")
    return "\n".join(out), gaps


def tutorial_from_solution(solution: Any, where: str = "notebook") -> Any:
    """A copy of the solution notebook with the answers replaced by gaps, without outputs."""
    tutorial = copy.deepcopy(solution)
    total = 0
    for index, cell in enumerate(tutorial.cells):
        if cell.cell_type != "code":
            continue
        cell.source, gaps = strip_solutions(cell.source, f"{where}, cell {index}")
        cell.outputs = []
        cell.execution_count = None
        total += gaps
    if total == 0:
        raise SolutionMarkupError(f"{where}: no '### BEGIN SOLUTION' block, nothing to exercise")
    return tutorial


def tutorial_path(solution: Path) -> Path:
    """labs/<day>/solutions/N.ipynb -> labs/<day>/tutorial/N.ipynb"""
    return solution.parent.parent / "tutorial" / solution.name


def render_tutorial(solution: Path) -> str:
    """The exact text the tutorial file must hold."""
    nb = nbformat.read(solution, as_version=4)
    tutorial = tutorial_from_solution(nb, str(solution))
    nbformat.validate(tutorial)
    text = nbformat.writes(tutorial)
    return text if text.endswith("\n") else text + "\n"  # as nbformat.write does


def solution_notebooks(root: Path = LABS_ROOT) -> list[Path]:
    return sorted(root.glob("*/solutions/*.ipynb"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grayscott.labs.build",
                                     description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--labs", type=Path, default=LABS_ROOT, help="the labs/ directory")
    parser.add_argument("--check", action="store_true", help="only report stale tutorials (exit 1)")
    args = parser.parse_args(argv)
    solutions = solution_notebooks(args.labs)
    if not solutions:
        print(f"no solution notebooks under {args.labs}/*/solutions/", file=sys.stderr)
        return 2
    stale = []
    for solution in solutions:
        target = tutorial_path(solution)
        text = render_tutorial(solution)
        if target.exists() and target.read_text(encoding="utf-8") == text:
            continue
        stale.append(target)
        if not args.check:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
            print(f"wrote {target}")
    if args.check and stale:
        print("stale tutorials (run `make labs`): " + ", ".join(map(str, stale)), file=sys.stderr)
        return 1
    print(f"{len(solutions)} tutorials up to date")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
