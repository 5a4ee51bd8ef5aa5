"""The checks of the CPU day (labs/cpu) before JAX: measuring, NumPy, the slices baseline and
HDF5 by hand, Numba. The JAX notebooks' checks are in ``cpu_jax``.

Concurrency is judged by timing calls of unequal length (their order and overlap), and
Numba's ``prange`` by the syntax tree of the compiled function, never by searching its text."""

from __future__ import annotations

import ast
import inspect
import textwrap
import threading
import time

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
from grayscott.labs.checks.diagnosis import STEP_PARAMS, step_mistake

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
        units = ((1e-3, "seconds? multiply by 1000"),
                 (number, f"the total of all {number} calls? divide by number"),
                 (1e3, "microseconds? a millisecond is 1000 microseconds"),
                 (1e3 * number, f"the total of all {number} calls, in microseconds?"),
                 (1e6, "nanoseconds? a millisecond is 1,000,000 nanoseconds"),
                 (1e-3 * number, f"the total of all {number} calls, in seconds?"))
        hint = next((f" ({text})" for scale, text in units
                     if 3.5 <= float(got) / scale <= 40.0), "")
        return refuse(name, f"a 4 ms sleep measured {float(got):.4g} ms per call{hint}", raise_on_failure)
    return correct(name, f"a 4 ms sleep measured {float(got):.2f} ms per call")


def check_peak_bytes(peak_bytes: Fn, *, raise_on_failure: bool = True) -> Verdict:
    """``peak_bytes(fn, *args)`` must return the peak memory (bytes) allocated during the call.

    Measured twice, the larger peak first: an answer that never resets the peak (or never
    stops tracing) reports the first call's peak again for the second."""
    name = "check_peak_bytes"
    n = 1_000_000

    def arrays(count: int, size: int) -> float:
        live = [np.ones(size)]               # 8 MB
        for _ in range(count - 1):
            live.append(live[-1] * 2.0)      # 8 MB more each, all alive at once
        return float(live[-1][0])

    expected = 2 * 8 * n
    first = peak_bytes(arrays, 3, n)
    got = peak_bytes(arrays, 2, n)
    if not isinstance(got, (int, np.integer)):
        return refuse(name, f"returned a {type(got).__name__}, expected an int of bytes", raise_on_failure)
    if isinstance(first, (int, np.integer)) and got >= 1.4 * expected and abs(got - first) <= 0.05 * first:
        return refuse(name, f"two live 8 MB arrays measured {got / 1e6:.3g} MB, the peak of the call "
                      "before (three arrays): reset the peak before each call", raise_on_failure)
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
    if problem is None and np.asarray(got).dtype == np.float64:  # a float64 kernel: still right
        got = np.asarray(got).astype(np.float32)
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


#: (argument, seconds) of the threaded check: unequal sleeps, so that completion order is not
#: argument order, and each one long enough that calls run together must overlap.
THREADED_SLEEPS = ((1, 0.15), (2, 0.06), (3, 0.12), (4, 0.09))


def check_threaded(threaded: Fn, *, raise_on_failure: bool = True) -> Verdict:
    """``threaded(fn, args)`` must run ``fn(arg)`` for each arg in its own thread, all at once,
    results in argument order: the calls sleep unequal times, so a pool of one worker or a
    start-then-join in the loop shows as calls that never overlap, and results gathered as
    they finish come back in another order."""
    name = "check_threaded"
    sleeps = dict(THREADED_SLEEPS)
    spans: dict[int, tuple[float, float, int]] = {}
    lock = threading.Lock()

    def record(x: int) -> int:
        start = time.perf_counter()
        time.sleep(sleeps[x])
        with lock:
            spans[x] = (start, time.perf_counter(), threading.get_ident())
        return x * x

    args = [x for x, _ in THREADED_SLEEPS]
    got = threaded(record, args)
    got = list(got) if got is not None else got
    expected = [x * x for x in args]
    if got != expected:
        finished = [x * x for x in sorted(spans, key=lambda x: spans[x][1])]
        hint = (": that is the order they finished in; keep each result at its argument's place"
                if got == finished else "")
        return refuse(name, f"returned {got!r}, expected the results in argument order {expected}{hint}",
                      raise_on_failure)
    main = threading.get_ident()
    if all(ident == main for _, _, ident in spans.values()):
        return refuse(name, "every call ran in the calling thread: start threads (threading.Thread "
                      "or concurrent.futures.ThreadPoolExecutor)", raise_on_failure)
    last_start = max(start for start, _, _ in spans.values())
    first_end = min(end for _, end, _ in spans.values())
    if last_start >= first_end:
        threads = len({ident for _, _, ident in spans.values()})
        return refuse(name, f"the {len(args)} calls did not all run at once (one started after another "
                      f"had finished; {threads} thread(s) used): start every thread before waiting "
                      "for any, with as many workers as calls", raise_on_failure)
    return correct(name, f"{len(args)} calls of unequal length ran at once, results in argument order")


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
    if problem is None and getattr(got, "dtype", None) == np.float64:  # float64 weights: right
        got = np.asarray(got).astype(np.float32)
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

    The coefficients are ``STEP_PARAMS`` (dt != 1, each different), so that a forgotten dt
    or a swapped coefficient shows; the first step is compared with the ``numpy`` backend and
    a wrong one named (``diagnosis``); ``steps`` > 1 feeds the result back, which catches a
    step that swaps its buffers wrongly.
    """
    u0, v0 = seeded_state()
    u, v = u0.copy(), v0.copy()
    for k in range(steps):
        given = (u, v)
        try:
            result = step(u, v, *STEP_PARAMS.coefficients())
        except ValueError as exc:
            if "broadcast" not in str(exc):
                raise
            return refuse(name, _slices_problem(exc), raise_on_failure)
        if (problem := not_a_tuple(result)) is not None:
            return refuse(name, problem, raise_on_failure)
        if k == 0:  # the caller's arrays: a loop that writes into them reads updated neighbours
            changed = input_changed(u0, given[0], "u") or input_changed(v0, given[1], "v")
            shared = [label for label, new, old in zip("uv", result, given, strict=True)
                      if isinstance(new, np.ndarray) and np.shares_memory(new, old)]
            if changed and shared:
                changed += (f" (the new {shared[0]} shares memory with the input: u[:], u.view() or "
                            "plain assignment give a view of the same data, .copy() a new array)")
            if changed:
                return refuse(name, changed + " (u.copy(), v.copy() first, then write the copies)",
                             raise_on_failure)
            problem = state_problem(result, reference_steps(u0, v0, 1, STEP_PARAMS), ONE_STEP_TOL,
                                    lambda got: step_mistake(got, u0, v0, 1))
            if problem is not None:
                return refuse(name, problem if steps == 1 else f"after one step: {problem}",
                              raise_on_failure)
        u, v = result
    expected = reference_steps(u0, v0, steps, STEP_PARAMS)
    problem = state_problem((u, v), expected, model.tolerance("float32") if steps > 1 else ONE_STEP_TOL)
    if problem is not None and steps > 1:
        problem = (f"the first step is right, but after {steps} steps fed back: {problem} "
                   "(does the step keep state between calls, or hand back a buffer it reuses?)")
    grid = f"{CHECK_PARAMS.rows}x{CHECK_PARAMS.cols}"
    return conclude(name, problem, f"{steps} step(s) on {grid} with dt={STEP_PARAMS.dt:g} agree with "
                    "the numpy backend", raise_on_failure)


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

def _prange_loops(fn: Fn) -> int:
    """How many ``for`` loops of ``fn``'s syntax tree iterate over a ``prange(...)`` call (a
    comment or a string that says prange is no loop)."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))

    def is_prange(node: ast.expr) -> bool:
        func = node.func if isinstance(node, ast.Call) else None
        return (isinstance(func, ast.Name) and func.id == "prange") or (
            isinstance(func, ast.Attribute) and func.attr == "prange")

    return sum(1 for node in ast.walk(tree) if isinstance(node, ast.For) and is_prange(node.iter))


def check_numba_step(step: Fn, *, parallel: bool = False, raise_on_failure: bool = True) -> Verdict:
    """Like ``check_step``, and the function must be compiled by Numba (with ``parallel=True``
    and a loop over ``prange``, found in its syntax tree)."""
    name = "check_numba_step"
    if not (hasattr(step, "py_func") and hasattr(step, "targetoptions")):
        return refuse(name, f"{getattr(step, '__name__', step)!s} is a plain Python function: "
                      "decorate it with @numba.njit", raise_on_failure)
    if parallel and not step.targetoptions.get("parallel"):
        return refuse(name, "compiled without parallel=True: prange then runs serially", raise_on_failure)
    if parallel and _prange_loops(step.py_func) == 0:
        return refuse(name, "parallel=True but no for loop runs over prange(...) (a comment or a "
                      "range loop does not count): tell Numba which loop to split", raise_on_failure)
    return check_step(step, steps=3, raise_on_failure=raise_on_failure, name=name)
