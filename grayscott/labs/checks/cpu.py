"""The checks of the CPU day (labs/cpu): measuring, NumPy, the slices baseline and HDF5 by
hand, Numba, JAX. The JAX advance check serves the GPU day's first notebook too."""

from __future__ import annotations

import inspect
import threading
import time
from typing import Any

import numpy as np

from grayscott import model
from grayscott.labs.checks.core import (
    CHECK_PARAMS,
    ONE_STEP_TOL,
    Fn,
    Verdict,
    array_problem,
    conclude,
    correct,
    frames_problem,
    input_changed,
    laplacian_problem,
    not_a_tuple,
    reference_frames,
    reference_steps,
    refuse,
    seeded_state,
    state_problem,
)
from grayscott.labs.checks.jax_tracing import NotTraceable, jax_in_words, jax_problem, traced

# --- notebook 1: measuring -------------------------------------------------------------

def check_time_ms(time_ms: Fn, *, raise_on_failure: bool = True) -> Verdict:
    """``time_ms(fn, *args, number=n)`` must return the mean milliseconds per call of ``fn``."""
    name = "check_time_ms"
    calls: list[float] = []

    def sleepy(seconds: float) -> None:
        calls.append(seconds)
        time.sleep(seconds)

    number = 12  # a total of 12 calls (>= 48 ms) can never pass for one call's time
    got = time_ms(sleepy, 0.004, number=number)
    if not isinstance(got, (int, float, np.floating)):
        return refuse(name, f"returned a {type(got).__name__}, expected a number of milliseconds",
                      raise_on_failure)
    if len(calls) < number:
        return refuse(name, f"called the function {len(calls)} times, expected number={number} "
                      "calls", raise_on_failure)
    if not 3.5 <= float(got) <= 40.0:
        hint = " (seconds? multiply by 1000)" if float(got) < 0.1 else ""
        hint = hint or (f" (the total of all {number} calls? divide by number)"
                        if float(got) >= number * 3.5 else "")
        return refuse(name, f"a 4 ms sleep measured {float(got):.4g} ms per call{hint}", raise_on_failure)
    return correct(name, f"a 4 ms sleep measured {float(got):.2f} ms per call")


def check_peak_bytes(peak_bytes: Fn, *, raise_on_failure: bool = True) -> Verdict:
    """``peak_bytes(fn, *args)`` must return the peak memory (bytes) allocated during the call."""
    name = "check_peak_bytes"
    n = 1_000_000

    def two_arrays(size: int) -> float:
        a = np.ones(size)        # 8 MB
        b = a * 2.0              # 8 MB more, both alive at once
        return float(b[0])

    got = peak_bytes(two_arrays, n)
    expected = 2 * 8 * n
    if not isinstance(got, (int, np.integer)):
        return refuse(name, f"returned a {type(got).__name__}, expected an int of bytes", raise_on_failure)
    if not 0.95 * expected <= got <= 1.2 * expected:
        return refuse(name, f"two live 8 MB arrays measured {got / 1e6:.3g} MB, expected about "
                      f"{expected / 1e6:.0f} MB (tracemalloc's peak, reset before the call)",
                      raise_on_failure)
    return correct(name, f"two live 8 MB arrays measured {got / 1e6:.2f} MB")


# --- notebook 2: NumPy --------------------------------------------------------------------

def check_diffuse_1d(diffuse_1d: Fn, *, raise_on_failure: bool = True) -> Verdict:
    """``diffuse_1d(x, d)``: a new array, ends unchanged, inside x + d*(left - 2x + right)."""
    name = "check_diffuse_1d"
    rng = np.random.default_rng(5)
    x = rng.uniform(0, 1, 41).astype(np.float32)
    before = x.copy()
    expected = x.copy()
    expected[1:-1] = x[1:-1] + np.float32(0.2) * (x[:-2] - 2 * x[1:-1] + x[2:])
    got = diffuse_1d(x, 0.2)
    problem = input_changed(before[None, :], x[None, :], "x")
    if problem is None and np.ndim(got) != 1:
        problem = f"returned an array of shape {np.shape(got)}, expected 1-D like x"
    if problem is None:
        problem = array_problem(np.asarray(got)[None, :], expected[None, :], "the result", ONE_STEP_TOL)
    if problem is not None:
        return refuse(name, problem.replace("cell (0, ", "index (").replace("interior ", ""),
                      raise_on_failure)
    return correct(name, "41 points, ends kept, no loop needed")


def check_interior_view(interior: Fn, *, raise_on_failure: bool = True) -> Verdict:
    """``interior(a)`` must return the interior of padded ``a`` as a view (no copy)."""
    name = "check_interior_view"
    u, _ = seeded_state()
    got = interior(u)
    problem = array_problem(got, u[1:-1, 1:-1], "the interior", 0.0)
    if problem is None and not np.shares_memory(got, u):
        problem = ("the result is a copy: writing to it would not change the grid "
                   "(use slices, not np.copy or fancy indexing)")
    return conclude(name, problem, "a view: it shares memory with the grid", raise_on_failure)


def check_threaded(threaded: Fn, *, raise_on_failure: bool = True) -> Verdict:
    """``threaded(fn, args)`` must run ``fn(arg)`` for each arg in its own thread, results in order."""
    name = "check_threaded"
    seen: list[int] = []
    lock = threading.Lock()

    def record(x: int) -> int:
        with lock:
            seen.append(threading.get_ident())
        time.sleep(0.01)
        return x * x

    got = threaded(record, [1, 2, 3, 4])
    if list(got) != [1, 4, 9, 16]:
        return refuse(name, f"returned {list(got)!r}, expected the results in argument order [1, 4, 9, 16]",
                      raise_on_failure)
    main = threading.get_ident()
    if all(ident == main for ident in seen):
        return refuse(name, "every call ran in the calling thread: start threads (threading.Thread "
                      "or concurrent.futures.ThreadPoolExecutor)", raise_on_failure)
    return correct(name, f"{len(set(seen))} threads, results in order")


# --- notebook 3: the slices baseline ----------------------------------------------------

def _slices_problem(exc: ValueError) -> str:
    """NumPy's broadcast error, in the lesson's words."""
    return (f"your slices do not all have the interior's shape ({exc}): each of the nine must "
            "be a[1+di : rows+1+di, 1+dj : cols+1+dj] for its neighbour (di, dj)")


def check_laplacian(laplacian: Fn, *, raise_on_failure: bool = True) -> Verdict:
    """``laplacian(a)``: the nine-term Laplacian of the interior of padded ``a`` (model.laplacian)."""
    name = "check_laplacian"
    u, _ = seeded_state()
    before = u.copy()
    try:
        got = laplacian(u)
    except ValueError as exc:
        if "broadcast" not in str(exc):
            raise
        return refuse(name, _slices_problem(exc), raise_on_failure)
    expected = model.laplacian(before)
    problem = input_changed(before, u, "array")
    if problem is None:
        problem = laplacian_problem(got, before, expected, "the Laplacian")
    return conclude(name, problem,
                    f"{expected.shape[0]}x{expected.shape[1]} interior, float32, input untouched",
                    raise_on_failure)


def check_step(step: Fn, *,
               steps: int = 1, raise_on_failure: bool = True, name: str = "check_step") -> Verdict:
    """``step(u, v, du, dv, feed, kill, dt) -> (u, v)``: one step, padded, frame untouched,
    the input arrays unchanged (a loop that writes into them reads neighbours it has already
    updated; the exercises' main warning).

    The result is compared with the ``numpy`` backend; ``steps`` > 1 feeds the result back,
    which catches a step that swaps its buffers wrongly.
    """
    u0, v0 = seeded_state()
    expected = reference_steps(u0, v0, steps)
    u, v = u0.copy(), v0.copy()
    for k in range(steps):
        given = (u, v)
        result = step(u, v, *CHECK_PARAMS.coefficients())
        if (problem := not_a_tuple(result)) is not None:
            return refuse(name, problem, raise_on_failure)
        if k == 0:  # the caller's arrays: a loop that writes into them reads updated neighbours
            changed = input_changed(u0, given[0], "u") or input_changed(v0, given[1], "v")
            if changed:
                return refuse(name, changed + " (u.copy(), v.copy() first, then write the copies)",
                             raise_on_failure)
        u, v = result
    problem = state_problem((u, v), expected, model.tolerance("float32") if steps > 1 else ONE_STEP_TOL)
    grid = f"{CHECK_PARAMS.rows}x{CHECK_PARAMS.cols}"
    return conclude(name, problem, f"{steps} step(s) on {grid} agree with the numpy backend",
                    raise_on_failure)


def check_save_run(save_run: Fn, *, raise_on_failure: bool = True) -> Verdict:
    """``save_run(path, u, v, frames, steps_per_frame)``: the school's HDF5 layout, by hand.

    Runs it on a small grid into a temporary file and opens that with h5py: a float32
    dataset ``matrix`` of shape (frames, rows, cols) holding V's interior after each frame,
    and the attribute ``steps_per_frame``."""
    import tempfile
    from pathlib import Path

    import h5py

    name = "check_save_run"
    u0, v0 = seeded_state()
    frames, per_frame = 3, 4
    ref_frames, _, _ = reference_frames(u0, v0, frames, per_frame)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "check.h5"
        save_run(path, u0.copy(), v0.copy(), frames, per_frame)
        if not path.exists():
            return refuse(name, f"no file was written at the path given ({path.name})", raise_on_failure)
        with h5py.File(path, "r") as f:
            if "matrix" not in f:
                return refuse(name, f"the file has no dataset 'matrix' (it has: {sorted(f) or 'nothing'})",
                             raise_on_failure)
            got = f["matrix"][...]
            attr = f["matrix"].attrs.get("steps_per_frame", f.attrs.get("steps_per_frame"))
    problem = None
    padded = (frames, CHECK_PARAMS.rows + 2, CHECK_PARAMS.cols + 2)
    if got.shape == padded:
        problem = f"'matrix' has shape {got.shape}: that is the padded grid, store V's interior"
    elif got.shape != ref_frames.shape:
        problem = f"'matrix' has shape {got.shape}, expected {ref_frames.shape} (frames, rows, cols)"
    elif got.dtype != np.float32:
        problem = f"'matrix' holds {got.dtype}, expected float32 (half the bytes, the model's precision)"
    elif np.array_equal(got[0], v0[1:-1, 1:-1]):
        problem = ("frame 0 is the initial state: write a frame after each steps_per_frame steps, "
                   "not before them")
    elif not got.any():
        problem = "'matrix' holds only zeros: the frames were never written into it"
    else:
        problem = frames_problem(got, ref_frames, lambda k: f"frame {k} in the file")
    if problem is None and (attr is None or int(attr) != per_frame):
        problem = (f"the attribute steps_per_frame is {attr!r}, expected {per_frame} (set it on the "
                   "dataset or the file: a reader needs it to know the time of each frame)")
    return conclude(name, problem, f"{frames} frames of {per_frame} steps in 'matrix', float32",
                    raise_on_failure)



# --- notebook 4: Numba --------------------------------------------------------------------

def check_numba_step(step: Fn, *, parallel: bool = False, raise_on_failure: bool = True) -> Verdict:
    """Like ``check_step``, and the function must be compiled by Numba (with ``parallel=True``)."""
    name = "check_numba_step"
    if not (hasattr(step, "py_func") and hasattr(step, "targetoptions")):
        return refuse(name, f"{getattr(step, '__name__', step)!s} is a plain Python function: "
                      "decorate it with @numba.njit", raise_on_failure)
    if parallel and not step.targetoptions.get("parallel"):
        return refuse(name, "compiled without parallel=True: prange then runs serially", raise_on_failure)
    if parallel and "prange" not in inspect.getsource(step.py_func):
        return refuse(name, "parallel=True but no prange loop: tell Numba which loop to split",
                      raise_on_failure)
    return check_step(step, steps=3, raise_on_failure=raise_on_failure, name=name)


# --- notebooks 5 and 6: JAX ---------------------------------------------------------------

def check_jax_set_frame(set_frame: Fn, *, raise_on_failure: bool = True) -> Verdict:
    """``set_frame(a, value)``: a new JAX array, the one-cell frame set to value, a unchanged."""
    import jax.numpy as jnp

    name = "check_jax_set_frame"
    u, _ = seeded_state()
    a = jnp.asarray(u)
    expected = u.copy()
    expected[0, :] = expected[-1, :] = expected[:, 0] = expected[:, -1] = 0.5
    try:
        got = traced(set_frame, a, 0.5)
    except NotTraceable as exc:
        return refuse(name, f"{exc} (JAX arrays are immutable: a.at[...].set(...))",
                      raise_on_failure)
    problem = jax_problem(got, "set_frame") or array_problem(got, expected, "the result", 0.0, padded=True)
    return conclude(name, problem, "pure: a new array, traceable by jit", raise_on_failure)


def check_jax_power(power: Fn, *, raise_on_failure: bool = True) -> Verdict:
    """``power`` must be a jitted function with ``n`` static: power(x, n) = x ** n by a loop."""
    import jax
    import jax.numpy as jnp

    name = "check_jax_power"
    x = jnp.arange(1.0, 5.0, dtype=jnp.float32)  # explicit: another library may have enabled x64
    try:
        got = power(x, 3)
    except (jax.errors.ConcretizationTypeError, jax.errors.TracerIntegerConversionError,
            TypeError):
        return refuse(name, "n is traced, so range(n) cannot run: make n static "
                      "(static_argnums=1, the position of n)", raise_on_failure)
    except ValueError as exc:
        if (words := jax_in_words(exc)) is None:
            raise
        return refuse(name, words, raise_on_failure)
    if not hasattr(power, "lower"):
        return refuse(name, "power is not jitted: wrap it with jax.jit(..., static_argnums=...)",
                      raise_on_failure)
    problem = jax_problem(got, "power") or array_problem(
        jnp.atleast_2d(got), np.atleast_2d(np.arange(1.0, 5.0, dtype=np.float32) ** 3), "x ** 3", 1e-4)
    return conclude(name, problem, "jitted, n static, one trace per value of n", raise_on_failure)


def check_jax_fori(repeat_step: Fn, *, raise_on_failure: bool = True) -> Verdict:
    """``repeat_step(u, v, steps)``: ``steps`` applications of a step with ``lax.fori_loop``."""
    import jax.numpy as jnp

    name = "check_jax_fori"
    u0, v0 = seeded_state()
    expected = reference_steps(u0, v0, 7)
    try:
        got = traced(repeat_step, jnp.asarray(u0), jnp.asarray(v0), 7)
    except NotTraceable as exc:
        return refuse(name, f"{exc} (steps is traced: use lax.fori_loop, not range)",
                      raise_on_failure)
    problem = jax_problem(got, "repeat_step") or state_problem(got, expected, model.tolerance("float32"))
    return conclude(name, problem, "7 steps under jit with a traced step count agree with the numpy backend",
                    raise_on_failure)


def check_jax_vmap(batched: Fn, *, raise_on_failure: bool = True) -> Verdict:
    """``batched(stack)``: the Laplacian of each padded grid of a (batch, R+2, C+2) stack."""
    import jax.numpy as jnp

    name = "check_jax_vmap"
    u, v = seeded_state()
    stack = np.stack([u, v, 1.0 - u])
    expected = np.stack([model.laplacian(a) for a in stack])
    got = batched(jnp.asarray(stack))
    problem = jax_problem(got, "batched")
    if problem is None:
        arr = np.asarray(got)
        if arr.shape != expected.shape:
            problem = f"the result has shape {arr.shape}, expected {expected.shape} (one Laplacian per grid)"
        else:
            for k in range(len(stack)):
                problem = array_problem(arr[k], expected[k], f"grid {k} of the batch", ONE_STEP_TOL)
                if problem:
                    break
    return conclude(name, problem, f"{len(stack)} grids, one Laplacian each", raise_on_failure)


def check_jax_laplacian(laplacian: Fn, *, generic: bool = False, raise_on_failure: bool = True) -> Verdict:
    """A JAX Laplacian: ``laplacian(a)`` (nine terms) or ``laplacian(a, weights)`` (any 3x3)."""
    import jax.numpy as jnp

    name = "check_jax_laplacian"
    u, _ = seeded_state()
    stencils = [model.STENCIL_9, model.STENCIL_5] if generic else [model.STENCIL_9]
    for stencil in stencils:
        expected = np.asarray(model.laplacian_weighted(u, stencil), dtype=np.float32)
        args: tuple[Any, ...] = (jnp.asarray(u),)
        if generic:
            args = (*args, jnp.asarray(stencil, dtype=jnp.float32))
        try:
            got = traced(laplacian, *args)
        except NotTraceable as exc:
            return refuse(name, str(exc), raise_on_failure)
        label = "the 9-point" if stencil == model.STENCIL_9 else "the 5-point"
        problem = jax_problem(got, "laplacian") or laplacian_problem(got, u, expected,
                                                                      f"{label} Laplacian", stencil)
        if problem is not None:
            return refuse(name, problem, raise_on_failure)
    kinds = "9-point and 5-point weights" if generic else "nine terms"
    return correct(name, f"{kinds}, under jit")


def check_jax_advance(advance: Fn, *, raise_on_failure: bool = True) -> Verdict:
    """``advance(u, v, steps) -> (u, v)`` in JAX: agrees with the numpy backend for 5 and 12 steps."""
    import jax.numpy as jnp

    name = "check_jax_advance"
    u0, v0 = seeded_state()
    for steps in (5, 12):
        expected = reference_steps(u0, v0, steps)
        got = advance(jnp.asarray(u0), jnp.asarray(v0), steps)
        problem = jax_problem(got, "advance") or state_problem(got, expected, model.tolerance("float32"))
        if problem is not None:
            return refuse(name, f"after {steps} steps: {problem}", raise_on_failure)
    return correct(name, "5 and 12 steps agree with the numpy backend")


