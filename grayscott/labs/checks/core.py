"""The verdict every check ends with, and what the courses' checks share to reach it.

On failure a check raises ``CheckFailed`` (an ``AssertionError``), so that "Run All" stops
at the first wrong answer and the tests see it; ``raise_on_failure=False`` returns False
instead. Exceptions raised by the student's function itself (``NotImplementedError`` in an
unfilled gap, an ``IndexError``) propagate unchanged: their traceback points at the line.

Shared here, written once: the seeded input, the comparison of an answer with the
reference (shape, dtype, finite, values; the stencil an answer applied), the guard on what a
function returned (a pair (u, v)), and the numpy backend's reference steps and frames.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from grayscott import backends, model
from grayscott.labs import progress

Fn = Callable[..., Any]

#: Small grid for the checks: not square, so that swapped axes show up as a wrong shape.
CHECK_PARAMS = model.Params(rows=12, cols=17)
#: Largest |difference| for one Laplacian or one step in float32 (sums in another order).
ONE_STEP_TOL = 1e-5


class CheckFailed(AssertionError):
    """A check cell found a wrong answer; the message says what is wrong.

    In a notebook it shows as that one line: IPython renders an exception through its
    ``_render_traceback_`` when it has one, so the student reads no frames of this module
    (the mistake is in their cell, not here) and no second copy of the message."""

    def _render_traceback_(self) -> list[str]:
        return [f"\x1b[1;31m{self}\x1b[0m"]


class Passed:
    """What a check returns when the answer is right: true, and silent as a cell's last
    value (a bare ``True`` under every check cell says nothing the printed line did not)."""

    def __init__(self, check: str) -> None:
        self.check = check

    def __bool__(self) -> bool:
        return True

    def __repr__(self) -> str:
        return f"Passed({self.check!r})"

    def _ipython_display_(self) -> None:
        """Display nothing: the check already printed "correct" and why."""


#: What a check returns: ``Passed`` (true) when right; ``False`` when wrong and told not to raise.
Verdict = bool | Passed


def refuse(check: str, problem: str, raise_on_failure: bool) -> bool:
    """The one message naming the mistake: raised as ``CheckFailed``, or printed and False.
    Either way it goes to the teacher's page too, where a hub has one (labs/progress.py)."""
    progress.report(check, False, problem)
    if raise_on_failure:
        raise CheckFailed(f"{check}: NOT YET - {problem}")
    print(f"{check}: NOT YET - {problem}")
    return False


def correct(check: str, detail: str) -> Passed:
    """The line that says the answer is right, and why we think so."""
    progress.report(check, True, detail)
    print(f"{check}: correct ({detail})")
    return Passed(check)


def conclude(check: str, problem: str | None, detail: str, raise_on_failure: bool) -> Verdict:
    """The end of every check: what is wrong if anything, else "correct" with ``detail``."""
    if problem is not None:
        return refuse(check, problem, raise_on_failure)
    return correct(check, detail)


def seeded_state(params: model.Params = CHECK_PARAMS) -> tuple[np.ndarray, np.ndarray]:
    """Padded (u, v) from the model with seeded noise: no symmetry to hide a swapped index."""
    return model.initial_state(params, noise=0.3, seed=2026)


def array_problem(got: Any, expected: np.ndarray, what: str, tol: float,
                  padded: bool = False) -> str | None:
    """None if ``got`` matches ``expected`` (type, shape, dtype, finite, values), else why not."""
    if not hasattr(got, "shape") or not hasattr(got, "dtype"):
        return f"{what} is a {type(got).__name__}, expected an array"
    arr = np.asarray(got)
    if arr.shape != expected.shape:
        hint = ""
        if arr.shape == (expected.shape[0] + 2, expected.shape[1] + 2):
            hint = " (that is the padded shape: return only the interior)"
        elif arr.shape == (expected.shape[0] - 2, expected.shape[1] - 2):
            hint = " (that is the interior: return the whole padded array, frame included)"
        return f"{what} has shape {arr.shape}, expected {expected.shape}{hint}"
    if arr.dtype != expected.dtype:
        return (f"{what} has dtype {arr.dtype}, expected {expected.dtype} "
                "(np.zeros/np.empty without dtype=, or a NumPy float64 scalar such as "
                "np.float64(8.0) * a, promotes it; a plain Python float like 8.0 does not)")
    bad = ~np.isfinite(arr)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        return f"{what} holds {int(bad.sum())} NaN/inf values, the first at cell ({i}, {j})"
    diff = np.abs(arr.astype(np.float64) - expected.astype(np.float64))
    if diff.max() > tol:
        i, j = np.unravel_index(int(np.argmax(diff)), diff.shape)
        where = "padded" if padded else "interior"
        wrong = int((diff > tol).sum())
        return (f"{what}: value at {where} cell ({i}, {j}) is {arr[i, j]:.6g} instead of "
                f"{expected[i, j]:.6g} (|difference| {diff[i, j]:.2g} > tolerance {tol:g}; "
                f"{wrong} of {diff.size} cells wrong)")
    return None


def frames_problem(got: Any, expected: np.ndarray, label: Callable[[int], str]) -> str | None:
    """What is wrong with the first frame of ``got`` that differs from ``expected`` (float32
    tolerance), or None when every frame agrees."""
    for k in range(len(expected)):
        problem = array_problem(got[k], expected[k], label(k), model.tolerance("float32"))
        if problem:
            return problem
    return None


def input_changed(before: np.ndarray, after: Any, what: str) -> str | None:
    """None if the function left its input as it was, else where it first wrote into it."""
    after = np.asarray(after)
    if after.shape == before.shape and np.array_equal(after, before):
        return None
    changed = np.argwhere(after != before) if after.shape == before.shape else [(0, 0)]
    i, j = changed[0]
    return (f"your function modified its input {what} (first at cell ({i}, {j})): "
            "compute into a new array instead of writing into the input")


def not_a_tuple(result: Any, expected: str = "a pair (u, v)", length: int = 2) -> str | None:
    """None if ``result`` is a tuple or list of ``length`` items, else what came back instead.

    The first guard of every check whose function returns the state: the message names what
    was expected ("a pair (u, v)", "a triple (u, v, frames)") and the type that came back."""
    if not isinstance(result, (tuple, list)) or len(result) != length:
        return f"returned {type(result).__name__}, expected {expected}"
    return None


#: The nine cells of a 3x3 stencil, by (row offset, column offset), in the lesson's words.
NEIGHBOURS = {(-1, -1): "NW", (-1, 0): "N", (-1, 1): "NE", (0, -1): "W", (0, 0): "centre",
              (0, 1): "E", (1, -1): "SW", (1, 0): "S", (1, 1): "SE"}


def stencil_of(got: np.ndarray, a: np.ndarray) -> dict[str, float] | None:
    """The 3x3 weights that an answer applied to padded ``a``, if it is a stencil at all:
    the least-squares fit of ``got`` by the nine shifted interiors, None if it fits badly."""
    rows, cols = a.shape[0] - 2, a.shape[1] - 2
    if got.shape != (rows, cols):
        return None
    shifts = np.stack([a[1 + di:rows + 1 + di, 1 + dj:cols + 1 + dj].astype(np.float64).ravel()
                       for di, dj in NEIGHBOURS], axis=1)
    target = got.astype(np.float64).ravel()
    weights, *_ = np.linalg.lstsq(shifts, target, rcond=None)
    if np.abs(shifts @ weights - target).max() > 1e-3:
        return None
    return {name: round(float(w), 3) + 0.0 for name, w in zip(NEIGHBOURS.values(), weights,
                                                              strict=True)}


def stencil_hint(got: np.ndarray, a: np.ndarray, stencil: model.Stencil = model.STENCIL_9) -> str:
    """Which weights of the answer's stencil are wrong, named as the lesson names the
    neighbours (a slice that keeps the shape but points at the wrong neighbour, a forgotten
    or wrong centre, the 5-point stencil instead of the school's 9-point one)."""
    weights = stencil_of(got, a)
    if weights is None:
        return ""
    expected = {name: float(stencil[di + 1][dj + 1]) for (di, dj), name in NEIGHBOURS.items()}
    if weights == {name: float(w) for name, w in zip(NEIGHBOURS.values(),
                                                      np.ravel(model.STENCIL_5), strict=True)}:
        return ("; that is the 5-point stencil (centre -4, N, S, E, W): this lab uses the "
                "school's 9-point one (centre -8, all eight neighbours 1)")
    wrong = [f"{name} {weights[name]:g}" for name in NEIGHBOURS.values()
             if abs(weights[name] - expected[name]) > 1e-3]
    if wrong == [f"centre {weights['centre']:g}"]:
        return f"; it looks like a centre weight of {weights['centre']:g} instead of " \
               f"{expected['centre']:g}"
    return (f"; your result is a stencil with weights {', '.join(wrong)} where the model has "
            + ", ".join(f"{name} {expected[name]:g}" for name in NEIGHBOURS.values()
                        if abs(weights[name] - expected[name]) > 1e-3)
            + ": check the slice of each")


def laplacian_problem(got: Any, a: np.ndarray, expected: np.ndarray, what: str,
                      stencil: model.Stencil = model.STENCIL_9) -> str | None:
    """``array_problem`` for a Laplacian of padded ``a``; a wrong value also says which weights
    of the stencil the answer applied are wrong (``stencil_hint``)."""
    problem = array_problem(got, expected, what, ONE_STEP_TOL)
    if problem is not None and "value at" in problem:
        problem += stencil_hint(np.asarray(got), a, stencil)
    return problem


def reference_steps(u0: np.ndarray, v0: np.ndarray, steps: int,
                    params: model.Params = CHECK_PARAMS) -> tuple[np.ndarray, np.ndarray]:
    """The numpy backend's padded (u, v) after ``steps`` steps from (u0, v0)."""
    ref = backends.create("numpy", params)
    ref.load(u0, v0)
    ref.advance(steps)
    return ref.fetch_state()


def state_problem(result: Any, expected: tuple[np.ndarray, np.ndarray], tol: float,
                  diagnose: Callable[[tuple[np.ndarray, np.ndarray]], str | None] | None = None,
                  ) -> str | None:
    """None if ``result`` is the padded (u, v) ``expected``, else its first problem: a pair,
    then each array's type, shape and dtype, then the mistake ``diagnose`` names in the
    values (outputs swapped, a term's sign: see ``diagnosis``), then the boundary frame, then
    the values."""
    if (problem := not_a_tuple(result)) is not None:
        return problem
    u, v = (np.asarray(a) if hasattr(a, "shape") else a for a in result)
    for label, got, ref in (("u", u, expected[0]), ("v", v, expected[1])):
        problem = array_problem(got, ref, f"the new {label}", np.inf, padded=True)
        if problem is not None:
            return problem
    if diagnose is not None and (mistake := diagnose((u, v))) is not None:
        return mistake
    frame = model.check_boundary(u, v)
    if frame is not None:
        return f"{frame}: update only the interior [1:-1, 1:-1]"
    for label, got, ref in (("u", u, expected[0]), ("v", v, expected[1])):
        problem = array_problem(got, ref, f"the new {label}", tol, padded=True)
        if problem is not None:
            return problem
    return None


def reference_frames(u0: np.ndarray, v0: np.ndarray, frames: int, steps_per_frame: int,
                     params: model.Params = CHECK_PARAMS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The numpy backend's V interior after each frame, and its final padded (u, v)."""
    ref = backends.create("numpy", params)
    ref.load(u0, v0)
    out = []
    for _ in range(frames):
        ref.advance(steps_per_frame)
        out.append(ref.fetch_v())
    return np.stack(out), *ref.fetch_state()
