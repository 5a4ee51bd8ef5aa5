"""The C a student writes for CuPy's ElementwiseKernel (labs/gpu/2_CuPy, section 2), compiled
and run on this machine's CPU (tests/utils/elementwise_c.py), through the notebook's own check:
the solution's body is right, and the usual wrong bodies are refused with the mistake named.
The notebook itself needs a GPU (scripts/gpu-check.sh runs it where one is lent)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import nbformat
import numpy as np
import pytest

from grayscott import model
from grayscott.labs import checks
from grayscott.labs.checks import CheckFailed
from tests.utils.elementwise_c import ElementwiseC

NOTEBOOK = Path(__file__).parents[1] / "labs" / "gpu" / "solutions" / "2_CuPy.ipynb"


def kernel_cell() -> str:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    return next(c.source for c in nb.cells if c.get("id") == "g2-ew")


def solution_body() -> str:
    match = re.search(r'REACT_BODY = """(.*?)"""', kernel_cell(), re.S)
    assert match, "the ElementwiseKernel cell no longer defines REACT_BODY"
    return match.group(1)


def params_of_cell() -> tuple[str, str]:
    """The in/out parameter strings the notebook gives ElementwiseKernel."""
    strings = re.findall(r'^\s*"(T [^"]*)"', kernel_cell(), re.M)
    assert len(strings) == 2, strings
    return strings[0], strings[1]


def step_with(body: str) -> Any:
    """The notebook's ``elementwise_step`` on NumPy arrays, the kernel compiled from ``body``."""
    kernel = ElementwiseC(*params_of_cell(), body)

    def step(u: Any, v: Any, *coefficients: float) -> Any:
        c = [u.dtype.type(x) for x in coefficients]
        u_new, v_new = u.copy(), v.copy()
        u_new[1:-1, 1:-1], v_new[1:-1, 1:-1] = kernel(
            u[1:-1, 1:-1], v[1:-1, 1:-1], model.laplacian(u), model.laplacian(v), *c)
        return u_new, v_new
    return step


def test_solution_body_passes_the_notebook_check() -> None:
    verdict = checks.check_device_step(step_with(solution_body()), np.asarray,
                                       name="check_elementwise_step")
    assert verdict


#: mistake: (text of the right body, what the student wrote instead, words the refusal must say)
WRONG = {
    "forgotten dt in u": ("u2 = u + dt * (", "u2 = u + (", ("u's update", "without dt")),
    "Du where Dv belongs": ("dv * lv", "du * lv", ("v's update", "Du and Dv")),
    "the reaction's sign in v": ("dv * lv + uvv", "dv * lv - uvv", ("reaction term in v",)),
    "kill without feed in v's removal": ("(feed + kill) * v", "kill * v", ("removal term",)),
}


@pytest.mark.parametrize("mistake", WRONG)
def test_wrong_body_is_refused_and_named(mistake: str) -> None:
    old, new, phrases = WRONG[mistake]
    body = solution_body()
    assert old in body, f"the solution changed: {old!r} is no longer in it"
    with pytest.raises(CheckFailed) as refused:
        checks.check_device_step(step_with(body.replace(old, new, 1)), np.asarray,
                                 name="check_elementwise_step")
    message = str(refused.value)
    assert "check_elementwise_step" in message
    # the refusal names the mistake and where, not only a value at a cell
    for phrase in phrases:
        assert phrase in message, message


def test_body_that_does_not_compile_says_so() -> None:
    with pytest.raises(RuntimeError, match="does not compile"):
        step_with("u2 = u +;")(*[np.ones((4, 5), np.float32)] * 2, 0.1, 0.05, 0.03, 0.06, 1.0)
