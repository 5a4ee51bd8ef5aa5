"""The check of the GPU day's Numba CUDA notebook (labs/gpu/6): a kernel launched over the grid.

The student's ``run(u, v, steps, du, dv, feed, kill, dt)`` launches their kernel ``steps``
times and returns the host (u, v). It is checked on a small grid with coefficients that differ
from the school's (dt != 1, Du != 2 Dv, a feed and kill of their own), so that a forgotten
``dt`` or a swapped coefficient shows, against the numpy backend with the same coefficients.
The mistakes a kernel makes have a shape in the result, and the message names it: a guard
off by one leaves the last interior row or column unchanged, an index that forgets the frame
shifts every cell by one, swapped launch dimensions leave part of the grid untouched, the
frame written over, the two outputs swapped.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from grayscott import model
from grayscott.labs.checks.core import Fn, Verdict, conclude, not_a_tuple, reference_steps
from grayscott.labs.checks.diagnosis import STEP_PARAMS, step_mistake

#: The step checks' coefficients (dt != 1, Du != Dv, feed != kill: each term's mistake shows)
CUDA_PARAMS = STEP_PARAMS
#: Steps the check runs (each launch costs about a second under the simulator)
CUDA_STEPS = 2
#: float32 sums in another order, over two steps
CUDA_TOL = 1e-5


def _where(wrong: np.ndarray) -> str | None:
    """The shape of the interior cells one launch got wrong, in the words of the likely mistake."""
    if not wrong[:-1, :-1].any():
        return ("only the last interior row or column is wrong: the guard stops one cell early "
                "(the interior runs from 1 to rows and to cols, inclusive)")
    if not wrong[1:, 1:].any():
        return ("only the first interior row or column is wrong: cuda.grid counts from 0, the "
                "interior starts at 1")
    return None


def _host_pair(result: Any) -> tuple[np.ndarray, np.ndarray]:
    """The (u, v) a run returned, on the host (device arrays are copied back)."""
    u, v = result[0], result[1]
    return (np.asarray(u.copy_to_host() if hasattr(u, "copy_to_host") else u),
            np.asarray(v.copy_to_host() if hasattr(v, "copy_to_host") else v))


def _one_launch_problem(run: Fn, params: model.Params) -> str | None:
    """None when one launch steps like the model, else its mistake in words."""
    u0, v0 = model.initial_state(params, noise=0.3, seed=2027)
    coefficients = tuple(np.float32(c) for c in params.coefficients())
    result = run(u0.copy(), v0.copy(), 1, *coefficients)
    if (problem := not_a_tuple(result)) is not None:
        return problem
    u, v = _host_pair(result)
    ref_u, ref_v = reference_steps(u0, v0, 1, params)
    if u.shape != ref_u.shape or v.shape != ref_v.shape:
        return (f"run returned shapes {u.shape} and {v.shape}; expected the padded {ref_u.shape} "
                "(copy the whole device arrays back)")
    if np.abs(u - ref_v).max() <= CUDA_TOL and np.abs(v - ref_u).max() <= CUDA_TOL:
        return "u and v are swapped: return (u, v) in that order"
    if (frame := model.check_boundary(u, v)) is not None:
        return f"{frame}: a thread must write only interior cells (1..rows, 1..cols)"
    if np.array_equal(u, u0) and np.array_equal(v, v0):
        return ("nothing changed in the arrays returned: did the kernel run (kernel[blocks, "
                "threads](...)), does its guard let any thread through, and do you return the pair "
                "the last launch wrote?")
    wrong = ((np.abs(u - ref_u) > CUDA_TOL) | (np.abs(v - ref_v) > CUDA_TOL))[1:-1, 1:-1]
    if not wrong.any():
        return None
    untouched = ((u == u0) & (v == v0))[1:-1, 1:-1]
    if (untouched == wrong).all():
        if (shape := _where(wrong)) is not None:
            return shape
        return (f"{int(wrong.sum())} of {wrong.size} interior cells were never computed: are there "
                "enough blocks to cover the grid (a division rounded up; in (x, y) order, x along "
                "a row, as cuda.grid(2) gives them)?")
    if (mistake := step_mistake((u, v), u0, v0, 1, params)) is not None:
        return mistake
    i, j = np.argwhere(wrong)[0] + 1
    got, want, name = ((u[i, j], ref_u[i, j], "u") if abs(u[i, j] - ref_u[i, j]) > CUDA_TOL
                       else (v[i, j], ref_v[i, j], "v"))
    return (f"after one launch, {name} at cell ({i}, {j}) is {got:.6f} instead of {want:.6f}: check "
            f"that cell's nine-term Laplacian of {name} (centre weight -8) and each term of its update")


def cuda_run_problem(run: Fn, params: model.Params = CUDA_PARAMS) -> str | None:
    """None when ``run`` steps like the model, else its first mistake in words: one launch
    first (where a mistake still has the shape of its cause), then several."""
    if (problem := _one_launch_problem(run, params)) is not None:
        return problem
    u0, v0 = model.initial_state(params, noise=0.3, seed=2027)
    coefficients = tuple(np.float32(c) for c in params.coefficients())
    u, v = _host_pair(run(u0.copy(), v0.copy(), CUDA_STEPS, *coefficients))
    ref_u, ref_v = reference_steps(u0, v0, CUDA_STEPS, params)
    if np.abs(u - ref_u).max() > CUDA_TOL or np.abs(v - ref_v).max() > CUDA_TOL:
        return (f"one launch is right, {CUDA_STEPS} are not: after each launch swap the two pairs, "
                "so that the next launch reads what this one wrote")
    return None


def launcher(kernel: Any, threads: tuple[int, int] = (8, 8)) -> Fn:
    """A ``run`` for ``kernel`` alone: one pair of device arrays in, one out, enough blocks in
    (x, y) = (columns, rows) order; so the kernel is checked before the student's own launch."""
    def run(u0: np.ndarray, v0: np.ndarray, steps: int, *coefficients: np.float32) -> tuple[Any, Any]:
        from numba import cuda

        u, v, u2, v2 = (cuda.to_device(a) for a in (u0, v0, u0, v0))
        rows, cols = u0.shape[0] - 2, u0.shape[1] - 2
        blocks = (-(-cols // threads[0]), -(-rows // threads[1]))
        for _ in range(steps):
            kernel[blocks, threads](u, v, u2, v2, *coefficients)
            u, u2, v, v2 = u2, u, v2, v
        return u.copy_to_host(), v.copy_to_host()
    return run


def check_cuda_kernel(kernel: Any, raise_on_failure: bool = True) -> Verdict:
    """The kernel alone, launched by the check over a small grid, one step."""
    problem = _one_launch_problem(launcher(kernel), CUDA_PARAMS)
    return conclude("check_cuda_kernel", problem,
                    f"one launch on a {CUDA_PARAMS.rows}x{CUDA_PARAMS.cols} grid with dt = "
                    f"{CUDA_PARAMS.dt} matches the numpy backend's step", raise_on_failure)


def check_cuda_run(run: Fn, raise_on_failure: bool = True) -> Verdict:
    problem = cuda_run_problem(run)
    return conclude("check_cuda_run", problem,
                    f"{CUDA_STEPS} launches on a {CUDA_PARAMS.rows}x{CUDA_PARAMS.cols} grid with "
                    f"dt = {CUDA_PARAMS.dt} match the numpy backend", raise_on_failure)
