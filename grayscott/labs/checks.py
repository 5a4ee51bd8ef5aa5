"""The check cells of the lab notebooks: is the student's function right, and if not, why?

Each ``check_*`` calls the student's function on a small seeded input, compares with the
package's reference (``grayscott.model`` or the ``numpy`` backend, never a copy of it) and
prints either ``correct`` or the *first* precise problem: wrong shape, wrong dtype, the
boundary frame or the input modified, a NaN, or the cell whose value is wrong and by how
much. A student fixes one thing at a time, so one clear message beats a list.

On failure a check raises ``CheckFailed`` (an ``AssertionError``), so that "Run All" stops
at the first wrong answer and the tests see it; ``raise_on_failure=False`` returns False
instead. Exceptions raised by the student's function itself (``NotImplementedError`` in an
unfilled gap, an ``IndexError``) propagate unchanged: their traceback points at the line.
"""

from __future__ import annotations

import inspect
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from grayscott import backends, model

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


def _fail(check: str, problem: str, raise_on_failure: bool) -> bool:
    if raise_on_failure:
        raise CheckFailed(f"{check}: NOT YET - {problem}")
    print(f"{check}: NOT YET - {problem}")
    return False


def _ok(check: str, detail: str) -> Passed:
    print(f"{check}: correct ({detail})")
    return Passed(check)


def _verdict(check: str, problem: str | None, detail: str, raise_on_failure: bool) -> Verdict:
    """The end of every check: what is wrong if anything, else "correct" with ``detail``."""
    if problem is not None:
        return _fail(check, problem, raise_on_failure)
    return _ok(check, detail)


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


def _frames_problem(got: Any, expected: np.ndarray, label: Callable[[int], str]) -> str | None:
    """What is wrong with the first frame of ``got`` that differs from ``expected`` (float32
    tolerance), or None when every frame agrees."""
    for k in range(len(expected)):
        problem = array_problem(got[k], expected[k], label(k), model.tolerance("float32"))
        if problem:
            return problem
    return None


def _changed(before: np.ndarray, after: Any, what: str) -> str | None:
    after = np.asarray(after)
    if after.shape == before.shape and np.array_equal(after, before):
        return None
    changed = np.argwhere(after != before) if after.shape == before.shape else [(0, 0)]
    i, j = changed[0]
    return (f"your function modified its input {what} (first at cell ({i}, {j})): "
            "compute into a new array instead of writing into the input")


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


def _stencil_hint(got: np.ndarray, a: np.ndarray, stencil: model.Stencil = model.STENCIL_9) -> str:
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


def _slices_problem(exc: ValueError) -> str:
    """NumPy's broadcast error, in the lesson's words."""
    return (f"your slices do not all have the interior's shape ({exc}): each of the nine must "
            "be a[1+di : rows+1+di, 1+dj : cols+1+dj] for its neighbour (di, dj)")


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
        return _fail(name, f"returned a {type(got).__name__}, expected a number of milliseconds",
                     raise_on_failure)
    if len(calls) < number:
        return _fail(name, f"called the function {len(calls)} times, expected number={number} "
                     "calls", raise_on_failure)
    if not 3.5 <= float(got) <= 40.0:
        hint = " (seconds? multiply by 1000)" if float(got) < 0.1 else ""
        hint = hint or (f" (the total of all {number} calls? divide by number)"
                        if float(got) >= number * 3.5 else "")
        return _fail(name, f"a 4 ms sleep measured {float(got):.4g} ms per call{hint}", raise_on_failure)
    return _ok(name, f"a 4 ms sleep measured {float(got):.2f} ms per call")


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
        return _fail(name, f"returned a {type(got).__name__}, expected an int of bytes", raise_on_failure)
    if not 0.95 * expected <= got <= 1.2 * expected:
        return _fail(name, f"two live 8 MB arrays measured {got / 1e6:.3g} MB, expected about "
                     f"{expected / 1e6:.0f} MB (tracemalloc's peak, reset before the call)",
                     raise_on_failure)
    return _ok(name, f"two live 8 MB arrays measured {got / 1e6:.2f} MB")


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
    problem = _changed(before[None, :], x[None, :], "x")
    if problem is None and np.ndim(got) != 1:
        problem = f"returned an array of shape {np.shape(got)}, expected 1-D like x"
    if problem is None:
        problem = array_problem(np.asarray(got)[None, :], expected[None, :], "the result", ONE_STEP_TOL)
    if problem is not None:
        return _fail(name, problem.replace("cell (0, ", "index (").replace("interior ", ""), raise_on_failure)
    return _ok(name, "41 points, ends kept, no loop needed")


def check_interior_view(interior: Fn, *, raise_on_failure: bool = True) -> Verdict:
    """``interior(a)`` must return the interior of padded ``a`` as a view (no copy)."""
    name = "check_interior_view"
    u, _ = seeded_state()
    got = interior(u)
    problem = array_problem(got, u[1:-1, 1:-1], "the interior", 0.0)
    if problem is None and not np.shares_memory(got, u):
        problem = ("the result is a copy: writing to it would not change the grid "
                   "(use slices, not np.copy or fancy indexing)")
    return _verdict(name, problem, "a view: it shares memory with the grid", raise_on_failure)


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
        return _fail(name, f"returned {list(got)!r}, expected the results in argument order [1, 4, 9, 16]",
                     raise_on_failure)
    main = threading.get_ident()
    if all(ident == main for ident in seen):
        return _fail(name, "every call ran in the calling thread: start threads (threading.Thread "
                     "or concurrent.futures.ThreadPoolExecutor)", raise_on_failure)
    return _ok(name, f"{len(set(seen))} threads, results in order")


# --- notebook 3: the slices baseline ----------------------------------------------------

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
        return _fail(name, _slices_problem(exc), raise_on_failure)
    expected = model.laplacian(before)
    problem = _changed(before, u, "array")
    if problem is None:
        problem = array_problem(got, expected, "the Laplacian", ONE_STEP_TOL)
        if problem is not None and "value at" in problem:
            problem += _stencil_hint(np.asarray(got), before)
    return _verdict(name, problem,
                    f"{expected.shape[0]}x{expected.shape[1]} interior, float32, input untouched",
                    raise_on_failure)


def _reference_steps(u0: np.ndarray, v0: np.ndarray, steps: int) -> tuple[np.ndarray, np.ndarray]:
    ref = backends.create("numpy", CHECK_PARAMS)
    ref.load(u0, v0)
    ref.advance(steps)
    return ref.fetch_state()


def _state_problem(result: Any, expected: tuple[np.ndarray, np.ndarray], tol: float) -> str | None:
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        return f"returned {type(result).__name__}, expected a pair (u, v)"
    u, v = (np.asarray(a) if hasattr(a, "shape") else a for a in result)
    for label, got, ref in (("u", u, expected[0]), ("v", v, expected[1])):
        problem = array_problem(got, ref, f"the new {label}", np.inf, padded=True)
        if problem is not None:
            return problem
    frame = model.check_boundary(u, v)
    if frame is not None:
        return f"{frame}: update only the interior [1:-1, 1:-1]"
    for label, got, ref in (("u", u, expected[0]), ("v", v, expected[1])):
        problem = array_problem(got, ref, f"the new {label}", tol, padded=True)
        if problem is not None:
            return problem
    return None


def check_step(step: Fn, *,
               steps: int = 1, raise_on_failure: bool = True, name: str = "check_step") -> Verdict:
    """``step(u, v, du, dv, feed, kill, dt) -> (u, v)``: one step, padded, frame untouched,
    the input arrays unchanged (a loop that writes into them reads neighbours it has already
    updated; the exercises' main warning).

    The result is compared with the ``numpy`` backend; ``steps`` > 1 feeds the result back,
    which catches a step that swaps its buffers wrongly.
    """
    u0, v0 = seeded_state()
    expected = _reference_steps(u0, v0, steps)
    u, v = u0.copy(), v0.copy()
    for k in range(steps):
        given = (u, v)
        result = step(u, v, *CHECK_PARAMS.coefficients())
        if not isinstance(result, (tuple, list)) or len(result) != 2:
            return _fail(name, f"returned {type(result).__name__}, expected a pair (u, v)", raise_on_failure)
        if k == 0:  # the caller's arrays: a loop that writes into them reads updated neighbours
            changed = _changed(u0, given[0], "u") or _changed(v0, given[1], "v")
            if changed:
                return _fail(name, changed + " (u.copy(), v.copy() first, then write the copies)",
                             raise_on_failure)
        u, v = result
    problem = _state_problem((u, v), expected, model.tolerance("float32") if steps > 1 else ONE_STEP_TOL)
    grid = f"{CHECK_PARAMS.rows}x{CHECK_PARAMS.cols}"
    return _verdict(name, problem, f"{steps} step(s) on {grid} agree with the numpy backend",
                    raise_on_failure)


# --- notebook 4: Numba --------------------------------------------------------------------

def check_numba_step(step: Fn, *, parallel: bool = False, raise_on_failure: bool = True) -> Verdict:
    """Like ``check_step``, and the function must be compiled by Numba (with ``parallel=True``)."""
    name = "check_numba_step"
    if not (hasattr(step, "py_func") and hasattr(step, "targetoptions")):
        return _fail(name, f"{getattr(step, '__name__', step)!s} is a plain Python function: "
                     "decorate it with @numba.njit", raise_on_failure)
    if parallel and not step.targetoptions.get("parallel"):
        return _fail(name, "compiled without parallel=True: prange then runs serially", raise_on_failure)
    if parallel and "prange" not in inspect.getsource(step.py_func):
        return _fail(name, "parallel=True but no prange loop: tell Numba which loop to split",
            raise_on_failure)
    return check_step(step, steps=3, raise_on_failure=raise_on_failure, name=name)


# --- notebooks 5 and 6: JAX ---------------------------------------------------------------

def _jax_problem(result: Any, what: str) -> str | None:
    import jax

    leaves = result if isinstance(result, (tuple, list)) else [result]
    if not all(isinstance(leaf, jax.Array) for leaf in leaves):
        kinds = ", ".join(type(leaf).__name__ for leaf in leaves)
        return f"{what} returned {kinds}, expected JAX arrays (use jax.numpy, not numpy)"
    return None


def _traced(fn: Fn, check: str, *args: Any, static: tuple[int, ...] = ()) -> Any:
    """Run ``fn`` under ``jax.jit``; a tracing error becomes a CheckFailed with the reason."""
    import jax

    try:
        return jax.jit(fn, static_argnums=static)(*args)
    except NotImplementedError:
        raise
    except (TypeError, ValueError, jax.errors.JAXTypeError,
            jax.errors.ConcretizationTypeError) as exc:
        words = _jax_in_words(exc)
        if words is None and isinstance(exc, ValueError):
            raise
        first = str(exc).strip().splitlines()[0]
        raise CheckFailed(f"{check}: your function cannot be traced by jax.jit: "
                          f"{words or first}") from None


def _jax_in_words(exc: Exception) -> str | None:
    """The tracing errors students meet, said as the lesson says them (None: not one of them)."""
    import jax

    text = str(exc)
    if "Non-hashable static arguments" in text:
        return ("a static argument must be a plain Python value such as the number n, never an "
                "array: static_argnums gives the position of n, not of the array")
    if isinstance(exc, jax.errors.TracerIntegerConversionError):
        return ("a traced value was used as a Python int (range(steps), int(x), a[x]): make that "
                "argument static (static_argnums) or loop with jax.lax.fori_loop")
    if isinstance(exc, jax.errors.TracerBoolConversionError):
        return ("Python's if/while looked at a traced value: use jnp.where, or jax.lax.cond / "
                "jax.lax.fori_loop")
    if isinstance(exc, jax.errors.ConcretizationTypeError):
        return ("a traced value was needed as a concrete number here: make it static "
                "(static_argnums) or keep it inside jax.numpy / jax.lax operations")
    return None


def check_jax_set_frame(set_frame: Fn, *, raise_on_failure: bool = True) -> Verdict:
    """``set_frame(a, value)``: a new JAX array, the one-cell frame set to value, a unchanged."""
    import jax.numpy as jnp

    name = "check_jax_set_frame"
    u, _ = seeded_state()
    a = jnp.asarray(u)
    expected = u.copy()
    expected[0, :] = expected[-1, :] = expected[:, 0] = expected[:, -1] = 0.5
    try:
        got = _traced(set_frame, name, a, 0.5)
    except CheckFailed as exc:
        return _fail(name, str(exc).split(": ", 1)[1] + " (JAX arrays are immutable: a.at[...].set(...))",
                     raise_on_failure)
    problem = _jax_problem(got, "set_frame") or array_problem(got, expected, "the result", 0.0, padded=True)
    return _verdict(name, problem, "pure: a new array, traceable by jit", raise_on_failure)


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
        return _fail(name, "n is traced, so range(n) cannot run: make n static "
                     "(static_argnums=1, the position of n)", raise_on_failure)
    except ValueError as exc:
        if (words := _jax_in_words(exc)) is None:
            raise
        return _fail(name, words, raise_on_failure)
    if not hasattr(power, "lower"):
        return _fail(name, "power is not jitted: wrap it with jax.jit(..., static_argnums=...)",
            raise_on_failure)
    problem = _jax_problem(got, "power") or array_problem(
        jnp.atleast_2d(got), np.atleast_2d(np.arange(1.0, 5.0, dtype=np.float32) ** 3), "x ** 3", 1e-4)
    return _verdict(name, problem, "jitted, n static, one trace per value of n", raise_on_failure)


def check_jax_fori(repeat_step: Fn, *, raise_on_failure: bool = True) -> Verdict:
    """``repeat_step(u, v, steps)``: ``steps`` applications of a step with ``lax.fori_loop``."""
    import jax.numpy as jnp

    name = "check_jax_fori"
    u0, v0 = seeded_state()
    expected = _reference_steps(u0, v0, 7)
    try:
        got = _traced(repeat_step, name, jnp.asarray(u0), jnp.asarray(v0), 7)
    except CheckFailed as exc:
        return _fail(name, str(exc).split(": ", 1)[1] + " (steps is traced: use lax.fori_loop, not range)",
                     raise_on_failure)
    problem = _jax_problem(got, "repeat_step") or _state_problem(got, expected, model.tolerance("float32"))
    return _verdict(name, problem, "7 steps under jit with a traced step count agree with the numpy backend",
                    raise_on_failure)


def check_jax_vmap(batched: Fn, *, raise_on_failure: bool = True) -> Verdict:
    """``batched(stack)``: the Laplacian of each padded grid of a (batch, R+2, C+2) stack."""
    import jax.numpy as jnp

    name = "check_jax_vmap"
    u, v = seeded_state()
    stack = np.stack([u, v, 1.0 - u])
    expected = np.stack([model.laplacian(a) for a in stack])
    got = batched(jnp.asarray(stack))
    problem = _jax_problem(got, "batched")
    if problem is None:
        arr = np.asarray(got)
        if arr.shape != expected.shape:
            problem = f"the result has shape {arr.shape}, expected {expected.shape} (one Laplacian per grid)"
        else:
            for k in range(len(stack)):
                problem = array_problem(arr[k], expected[k], f"grid {k} of the batch", ONE_STEP_TOL)
                if problem:
                    break
    return _verdict(name, problem, f"{len(stack)} grids, one Laplacian each", raise_on_failure)


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
            got = _traced(laplacian, name, *args)
        except CheckFailed as exc:
            return _fail(name, str(exc).split(": ", 1)[1], raise_on_failure)
        label = "the 9-point" if stencil == model.STENCIL_9 else "the 5-point"
        problem = _jax_problem(got, "laplacian") or array_problem(got, expected, f"{label} Laplacian",
                                                                  ONE_STEP_TOL)
        if problem is not None and "value at" in problem:
            problem += _stencil_hint(np.asarray(got), u, stencil)
        if problem is not None:
            return _fail(name, problem, raise_on_failure)
    kinds = "9-point and 5-point weights" if generic else "nine terms"
    return _ok(name, f"{kinds}, under jit")


def check_jax_advance(advance: Fn, *, raise_on_failure: bool = True) -> Verdict:
    """``advance(u, v, steps) -> (u, v)`` in JAX: agrees with the numpy backend for 5 and 12 steps."""
    import jax.numpy as jnp

    name = "check_jax_advance"
    u0, v0 = seeded_state()
    for steps in (5, 12):
        expected = _reference_steps(u0, v0, steps)
        got = advance(jnp.asarray(u0), jnp.asarray(v0), steps)
        problem = _jax_problem(got, "advance") or _state_problem(got, expected, model.tolerance("float32"))
        if problem is not None:
            return _fail(name, f"after {steps} steps: {problem}", raise_on_failure)
    return _ok(name, "5 and 12 steps agree with the numpy backend")


# --- GPU day -------------------------------------------------------------------------------

def _reference_frames(u0: np.ndarray, v0: np.ndarray, frames: int, steps_per_frame: int,
                      params: model.Params = CHECK_PARAMS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The numpy backend's V interior after each frame, and its final padded (u, v)."""
    ref = backends.create("numpy", params)
    ref.load(u0, v0)
    out = []
    for _ in range(frames):
        ref.advance(steps_per_frame)
        out.append(ref.fetch_v())
    return np.stack(out), *ref.fetch_state()


def to_host(a: Any) -> np.ndarray:
    """A NumPy copy of a CuPy, PyTorch, JAX, cuPyNumeric or NumPy array."""
    module = type(a).__module__.split(".")[0]
    if module == "cupy":
        return np.asarray(a.get())
    if module == "torch":
        return np.asarray(a.detach().cpu().numpy())
    return np.asarray(a)


def _kind(a: Any) -> str:
    kind = type(a)
    return f"{kind.__module__.split('.')[0]}.{kind.__name__}"


def check_device_step(step: Fn, to_device: Fn, *, steps: int = 3, raise_on_failure: bool = True,
                      name: str = "check_device_step") -> Verdict:
    """``step(u, v, du, dv, feed, kill, dt) -> (u, v)`` on device arrays (CuPy, PyTorch, ...).

    ``to_device`` makes the inputs (``cupy.asarray``, a tensor factory...); the results must be
    arrays of the same kind, still on the device (no copy to the host inside the step), and
    agree with the numpy backend after ``steps`` steps fed back into the function.
    """
    u0, v0 = seeded_state()
    expected = _reference_steps(u0, v0, steps)
    u, v = to_device(u0), to_device(v0)
    kind = _kind(u)
    device = getattr(u, "device", None)
    for _ in range(steps):
        result = step(u, v, *CHECK_PARAMS.coefficients())
        if not isinstance(result, (tuple, list)) or len(result) != 2:
            return _fail(name, f"returned {type(result).__name__}, expected a pair (u, v)", raise_on_failure)
        u, v = result
        for label, a in (("u", u), ("v", v)):
            if _kind(a) != kind:
                return _fail(name, f"the new {label} is a {_kind(a)}, expected a {kind}: keep the state "
                             "on the device (no .get(), .cpu() or np.asarray inside the step)",
                             raise_on_failure)
            if device is not None and getattr(a, "device", None) != device:
                return _fail(name, f"the new {label} is on {a.device}, the input was on {device}",
                             raise_on_failure)
    problem = _state_problem((to_host(u), to_host(v)), expected,
                             model.tolerance("float32") if steps > 1 else ONE_STEP_TOL)
    return _verdict(name, problem, f"{steps} step(s) on {kind} arrays agree with the numpy backend",
                    raise_on_failure)


def check_torch_laplacian(laplacian: Fn, device: Any = "cpu", *, raise_on_failure: bool = True) -> Verdict:
    """``laplacian(a)`` on a padded torch tensor: an (R, C) tensor on the same device."""
    import torch

    name = "check_torch_laplacian"
    u, _ = seeded_state()
    a = torch.tensor(u, device=device)
    got = laplacian(a)
    problem = None
    if not isinstance(got, torch.Tensor):
        problem = f"returned a {type(got).__name__}, expected a torch.Tensor"
    elif got.device != a.device:
        problem = f"the result is on {got.device}, the input was on {a.device}"
    elif got.dim() == 4:
        problem = f"the result has shape {tuple(got.shape)}: drop conv2d's batch and channel axes ([0, 0])"
    if problem is None:
        expected = model.laplacian(u)
        problem = array_problem(to_host(got), expected, "the Laplacian", ONE_STEP_TOL)
        if problem is not None and "value at" in problem:
            problem += _stencil_hint(to_host(got), u)
    return _verdict(name, problem, f"a {tuple(got.shape)} tensor on {got.device}", raise_on_failure)


#: (feed, kill) pairs of the batch checks: three different patterns of the model.
BATCH_PAIRS = ((0.014, 0.054), (0.022, 0.051), (0.030, 0.057))


def check_jax_batch(batched_advance: Fn, *, raise_on_failure: bool = True) -> Verdict:
    """``batched_advance(u, v, feeds, kills, steps)``: stacks (B, R+2, C+2), one (feed, kill) each."""
    import jax.numpy as jnp

    name = "check_jax_batch"
    u0, v0 = seeded_state()
    batch, steps = len(BATCH_PAIRS), 6
    feeds = jnp.asarray([f for f, _ in BATCH_PAIRS], dtype=jnp.float32)
    kills = jnp.asarray([k for _, k in BATCH_PAIRS], dtype=jnp.float32)
    stack_u = jnp.asarray(np.stack([u0] * batch))
    stack_v = jnp.asarray(np.stack([v0] * batch))
    got = batched_advance(stack_u, stack_v, feeds, kills, steps)
    problem = _jax_problem(got, "batched_advance")
    if problem is None and (not isinstance(got, (tuple, list)) or len(got) != 2):
        problem = f"returned {type(got).__name__}, expected a pair of stacks (u, v)"
    if problem is None:
        u, v = (np.asarray(a) for a in got)
        if u.shape != stack_u.shape or v.shape != stack_v.shape:
            problem = (f"returned stacks of shapes {u.shape}, {v.shape}, expected {stack_u.shape}: "
                       "one padded grid per (feed, kill) pair")
    if problem is None:
        for k, (feed, kill) in enumerate(BATCH_PAIRS):
            params = model.Params(rows=CHECK_PARAMS.rows, cols=CHECK_PARAMS.cols, feed=feed, kill=kill)
            ref = backends.create("numpy", params)
            ref.load(u0, v0)
            ref.advance(steps)
            problem = _state_problem((u[k], v[k]), ref.fetch_state(), model.tolerance("float32"))
            if problem is not None:
                if k > 0 and np.array_equal(v[k], v[0]):
                    problem = "every grid of the batch is the same: use each grid's own feed and kill"
                problem = f"grid {k} (feed={feed}, kill={kill}), after {steps} steps: {problem}"
                break
    return _verdict(name, problem,
                    f"{batch} (feed, kill) pairs, {steps} steps each, agree with the numpy backend",
                    raise_on_failure)


def check_jax_scan_frames(run_frames: Fn, *, raise_on_failure: bool = True) -> Verdict:
    """``run_frames(u, v, frames, steps_per_frame) -> (u, v, vs)`` with vs the (frames, R, C) V interiors."""
    import jax.numpy as jnp

    name = "check_jax_scan_frames"
    u0, v0 = seeded_state()
    frames, per_frame = 4, 3
    ref_frames, ref_u, ref_v = _reference_frames(u0, v0, frames, per_frame)
    got = run_frames(jnp.asarray(u0), jnp.asarray(v0), frames, per_frame)
    problem = _jax_problem(got, "run_frames")
    if problem is None and (not isinstance(got, (tuple, list)) or len(got) != 3):
        problem = f"returned {type(got).__name__}, expected a triple (u, v, frames)"
    if problem is None:
        stack = np.asarray(got[2])
        if stack.shape != ref_frames.shape:
            problem = (f"the frames have shape {stack.shape}, expected {ref_frames.shape}: "
                       "one interior of V per frame (scan stacks what the body returns)")
        else:
            problem = _frames_problem(stack, ref_frames,
                                      lambda k: f"frame {k} (after {(k + 1) * per_frame} steps)")
    if problem is None:
        problem = _state_problem(got[:2], (ref_u, ref_v), model.tolerance("float32"))
    return _verdict(name, problem, f"{frames} frames of {per_frame} steps agree with the numpy backend",
                    raise_on_failure)


def check_host_frames(run_frames: Fn, to_device: Fn, *, raise_on_failure: bool = True,
                      name: str = "check_host_frames") -> Verdict:
    """``run_frames(u, v, frames, steps_per_frame)``: device state in, a host (frames, R, C) array out."""
    u0, v0 = seeded_state()
    frames, per_frame = 3, 4
    ref_frames, _, _ = _reference_frames(u0, v0, frames, per_frame)
    got = run_frames(to_device(u0), to_device(v0), frames, per_frame)
    problem = None
    if not isinstance(got, np.ndarray):
        problem = f"returned a {_kind(got)}, expected a NumPy array on the host (the frames to write)"
    elif got.shape != ref_frames.shape:
        problem = f"the frames have shape {got.shape}, expected {ref_frames.shape} (frames, rows, cols)"
    else:
        problem = _frames_problem(got, ref_frames, lambda k: f"frame {k}")
    return _verdict(name, problem,
                    f"{frames} frames of {per_frame} steps on the host agree with the numpy backend",
                    raise_on_failure)


def check_run_to_file(run_to_file: Fn, *, raise_on_failure: bool = True,
                      name: str = "check_run_to_file") -> Verdict:
    """``run_to_file(b, path, frames, steps_per_frame)``: a loaded backend's frames into an HDF5 file.

    Runs it with the numpy backend on a small grid into a temporary file and reads the file
    back with ``grayscott.h5io.read_frames``: every frame there, in order, with the right values.
    """
    import tempfile
    from pathlib import Path

    from grayscott.h5io import read_frames

    u0, v0 = seeded_state()
    frames, per_frame = 3, 4
    ref_frames, _, _ = _reference_frames(u0, v0, frames, per_frame)
    b = backends.create("numpy", CHECK_PARAMS)
    b.load(u0, v0)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "check.h5"
        run_to_file(b, path, frames, per_frame)
        if not path.exists():
            return _fail(name, f"no file was written at the path given ({path.name})", raise_on_failure)
        got, _ = read_frames(path)
    problem = None
    if got.shape != ref_frames.shape:
        problem = (f"the file holds frames of shape {got.shape}, expected {ref_frames.shape}"
                   + (" (close the writer: it writes what is still queued)" if len(got) < frames else ""))
    else:
        problem = _frames_problem(got, ref_frames, lambda k: f"frame {k} in the file")
    return _verdict(name, problem, f"{frames} frames of {per_frame} steps in the file, in order",
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
    ref_frames, _, _ = _reference_frames(u0, v0, frames, per_frame)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "check.h5"
        save_run(path, u0.copy(), v0.copy(), frames, per_frame)
        if not path.exists():
            return _fail(name, f"no file was written at the path given ({path.name})", raise_on_failure)
        with h5py.File(path, "r") as f:
            if "matrix" not in f:
                return _fail(name, f"the file has no dataset 'matrix' (it has: {sorted(f) or 'nothing'})",
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
        problem = _frames_problem(got, ref_frames, lambda k: f"frame {k} in the file")
    if problem is None and (attr is None or int(attr) != per_frame):
        problem = (f"the attribute steps_per_frame is {attr!r}, expected {per_frame} (set it on the "
                   "dataset or the file: a reader needs it to know the time of each frame)")
    return _verdict(name, problem, f"{frames} frames of {per_frame} steps in 'matrix', float32",
                    raise_on_failure)


# --- scale: MPI domain decomposition -------------------------------------------------------

#: (rows, ranks) the decomposition check tries: even, uneven, one rank, one row per rank.
SPLITS = ((12, 1), (12, 3), (11, 3), (10, 4), (270, 4), (3, 3), (7, 2))


def check_split_rows(split_rows: Fn, *, raise_on_failure: bool = True) -> Verdict:
    """``split_rows(rows, size, rank) -> (start, stop)``: contiguous blocks in rank order, balanced."""
    name = "check_split_rows"
    for rows, size in SPLITS:
        blocks = []
        for rank in range(size):
            got = split_rows(rows, size, rank)
            if (not isinstance(got, (tuple, list)) or len(got) != 2
                    or not all(isinstance(x, (int, np.integer)) for x in got)):
                return _fail(name, f"split_rows({rows}, {size}, {rank}) returned {got!r}, expected a pair "
                             "of ints (start, stop)", raise_on_failure)
            blocks.append((int(got[0]), int(got[1])))
        problem = _split_problem(rows, size, blocks)
        if problem is not None:
            return _fail(name, problem, raise_on_failure)
    return _ok(name, f"{len(SPLITS)} (rows, ranks) cases: contiguous, in rank order, "
                     "sizes differ by at most one")


def _split_problem(rows: int, size: int, blocks: list[tuple[int, int]]) -> str | None:
    expected_start = 0
    for rank, (start, stop) in enumerate(blocks):
        call = f"split_rows({rows}, {size}, {rank}) returned ({start}, {stop})"
        if start != expected_start:
            where = "0" if rank == 0 else f"{expected_start}, where rank {rank - 1} stops"
            return f"{call}: rank {rank} must start at {where}"
        if stop < start:
            return f"{call}: stop is before start"
        expected_start = stop
    if expected_start != rows:
        return (f"{rows} rows over {size} ranks: the blocks end at row {expected_start}, "
                f"not {rows}: {'rows are lost' if expected_start < rows else 'past the grid'}")
    sizes = [stop - start for start, stop in blocks]
    if max(sizes) - min(sizes) > 1:
        return (f"{rows} rows over {size} ranks gives blocks of {sizes} rows: they must differ by at "
                "most one (the slowest rank sets the pace)")
    return None


def check_halo_exchange(script: str, *, ranks: int = 3, raise_on_failure: bool = True) -> Verdict:
    """``exchange_halos(comm, a, up, down)`` in ``script``, run on ``ranks`` real MPI processes.

    See ``grayscott.labs.halo_check``: every ghost row must hold the neighbour's edge row, the
    boundary's ghost rows and the interiors must stay as they were.
    """
    import json

    from grayscott.labs import mpi

    name = "check_halo_exchange"
    output = mpi.mpirun("grayscott.labs.halo_check", script, ranks=ranks, quiet=True, module=True)
    lines = [line for line in output.splitlines() if line.startswith("{")]
    if not lines:
        return _fail(name, f"the check printed nothing (did {script} print or exit by itself?): "
                           f"{output[-300:]!r}",
                     raise_on_failure)
    verdict = json.loads(lines[-1])
    return _verdict(name, verdict["problem"], f"{verdict['ranks']} ranks, strips of different heights, "
                    "boundary rows untouched", raise_on_failure)


# --- scale: JAX sharding -------------------------------------------------------------------

def _mesh_size(mesh: Any) -> tuple[str, int]:
    """The name and size of a 1-D mesh's axis (the notebooks use one axis, "rows")."""
    (axis, size), = mesh.shape.items()
    return axis, int(size)


def _rows_split_problem(a: Any, rows: int, n: int, what: str) -> str | None:
    """None if ``a`` is split by rows over ``n`` devices, one block of rows/n rows each, in order."""
    import jax

    if not isinstance(a, jax.Array):
        return f"{what} is a {type(a).__name__}, expected a JAX array"
    shards = sorted(a.addressable_shards, key=lambda s: s.index[0].start or 0)
    devices = {s.device for s in shards}
    if len(devices) != n:
        return f"{what} lives on {len(devices)} device(s), expected all {n} devices of the mesh"
    if n > 1 and all(s.data.shape == a.shape for s in shards):
        return (f"every device holds all of {what} (replicated): name the mesh axis for dimension 0, "
                "PartitionSpec(axis, None)")
    block = rows // n
    for k, s in enumerate(shards):
        if s.data.shape[0] != block or s.data.shape[1] != a.shape[1]:
            return (f"{what}: device {k} holds a block of shape {s.data.shape}, expected ({block}, "
                    f"{a.shape[1]}): split the rows (dimension 0), keep whole rows")
    return None


def check_row_sharding(shard_rows: Fn, mesh: Any, *, raise_on_failure: bool = True) -> Verdict:
    """``shard_rows(a)``: ``a`` on the mesh's devices, split by rows (blocks of rows/n rows)."""
    name = "check_row_sharding"
    _, n = _mesh_size(mesh)
    rng = np.random.default_rng(7)
    a = rng.uniform(0, 1, (6 * n, 17)).astype(np.float32)
    got = shard_rows(a)
    problem = _rows_split_problem(got, a.shape[0], n, "the result")
    if problem is None:
        problem = array_problem(np.asarray(got), a, "the sharded array", 0.0)
    return _verdict(name, problem, f"{a.shape[0]} rows over {n} devices, {a.shape[0] // n} rows each",
                    raise_on_failure)


def check_jax_halo_rows(halo_rows: Fn, mesh: Any, *, raise_on_failure: bool = True) -> Verdict:
    """``halo_rows(block, boundary)`` inside ``shard_map``: the block with the neighbours' edge rows.

    Each device's block of an array whose values say row and column gets one row above (the
    last row of the block above, or ``boundary`` on the first device) and one below.
    """
    import jax
    from jax.sharding import NamedSharding
    from jax.sharding import PartitionSpec as P

    name = "check_jax_halo_rows"
    axis, n = _mesh_size(mesh)
    block, cols, boundary = 3, 5, -1.0
    rr, cc = np.meshgrid(np.arange(block * n), np.arange(cols), indexing="ij")
    a = (10 * rr + cc).astype(np.float32)
    x = jax.device_put(a, NamedSharding(mesh, P(axis, None)))
    mapped = jax.shard_map(lambda b: halo_rows(b, boundary), mesh=mesh, in_specs=P(axis, None),
                           out_specs=P(axis, None))
    got = np.asarray(jax.jit(mapped)(x))
    if got.shape != ((block + 2) * n, cols):
        return _fail(name, f"each device's result has {got.shape[0] // n} rows (and {got.shape[1]} columns), "
                     f"expected {block + 2} x {cols}: its block of {block} rows plus one halo row above and "
                     "one below", raise_on_failure)
    problem = None
    for k in range(n):
        mine = got[k * (block + 2):(k + 1) * (block + 2)]
        above = a[k * block - 1] if k > 0 else np.full(cols, boundary, np.float32)
        below = a[(k + 1) * block] if k < n - 1 else np.full(cols, boundary, np.float32)
        expected = np.vstack([above, a[k * block:(k + 1) * block], below])
        for row, label in ((0, "the row above"), (block + 1, "the row below")):
            if not np.array_equal(mine[row], expected[row]):
                source = ("the boundary value" if (row == 0 and k == 0) or (row > 0 and k == n - 1)
                          else f"device {k - 1 if row == 0 else k + 1}'s "
                               f"{'last' if row == 0 else 'first'} row")
                problem = (f"device {k}: {label} holds {mine[row][:3]}..., "
                           f"expected {source} {expected[row][:3]}...")
                break
        if problem is None and not np.array_equal(mine[1:-1], expected[1:-1]):
            problem = f"device {k}: its own rows changed; they go in the middle, unchanged"
        if problem:
            break
    return _verdict(name, problem, f"{n} devices, the neighbours' edge rows and the boundary at both ends",
                    raise_on_failure)


def check_sharded_advance(advance: Fn, shard_rows: Fn, mesh: Any, *,
                          raise_on_failure: bool = True) -> Verdict:
    """``advance(u, v, steps)`` on interior arrays split by rows: agrees with numpy, stays split."""
    name = "check_sharded_advance"
    _, n = _mesh_size(mesh)
    params = model.Params(rows=6 * n, cols=17)
    u0, v0 = model.initial_state(params, noise=0.3, seed=2026)
    steps = 7
    ref = backends.create("numpy", params)
    ref.load(u0, v0)
    ref.advance(steps)
    ref_u, ref_v = ref.fetch_state()
    got = advance(shard_rows(u0[1:-1, 1:-1]), shard_rows(v0[1:-1, 1:-1]), steps)
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        return _fail(name, f"returned {type(got).__name__}, expected a pair (u, v)", raise_on_failure)
    problem = None
    for label, a, expected in (("u", got[0], ref_u[1:-1, 1:-1]), ("v", got[1], ref_v[1:-1, 1:-1])):
        problem = (array_problem(np.asarray(a), expected, f"the new {label} (interior)",
                                 model.tolerance("float32"))
                   or _rows_split_problem(a, params.rows, n, f"the new {label}"))
        if problem:
            break
    return _verdict(name, problem, f"{steps} steps on {params.rows}x{params.cols} split over {n} devices "
                    "agree with the numpy backend, result still split by rows", raise_on_failure)


# --- scale: the speed ladder ---------------------------------------------------------------

def check_school_seconds(school_seconds: Fn, *, raise_on_failure: bool = True) -> Verdict:
    """``school_seconds(ms_per_step, rows, cols)``: the school's whole run at that speed, in seconds."""
    from grayscott import school

    name = "check_school_seconds"
    run = school.school_run()
    cases = ((2.0, run.rows, run.cols), (0.5, 270, 480), (0.02, 64, 96))
    for ms, rows, cols in cases:
        got = school_seconds(ms, rows, cols)
        expected = school.projected_seconds(ms, rows, cols)
        if not isinstance(got, (int, float, np.floating)):
            return _fail(name, f"school_seconds({ms}, {rows}, {cols}) returned a {type(got).__name__}, "
                         "expected a number of seconds", raise_on_failure)
        if np.isclose(got, expected, rtol=1e-6):
            continue
        call = f"school_seconds({ms}, {rows}, {cols}) = {float(got):.6g}, expected {expected:.6g}"
        unscaled = ms / 1e3 * run.steps
        hints = [
            (expected * 1e3, "milliseconds, not seconds: divide by 1000"),
            (expected / 1e3, "a factor 1000 too small: ms/step x steps is milliseconds, "
                             "/ 1000 gives seconds"),
            (unscaled, f"the school's grid has {run.cells / (rows * cols):g} times as many cells as "
                       f"{rows}x{cols}: scale the time per step by that ratio"),
            (unscaled * (rows * cols) / run.cells,
             "the cell ratio is upside down: the school's grid is the larger"),
            (expected / run.steps_per_frame,
             f"the run has {run.frames} frames of {run.steps_per_frame} steps "
             f"each: run.steps = {run.steps} steps in all"),
        ]
        hint = next((text for value, text in hints if np.isclose(got, value, rtol=1e-6)), None)
        return _fail(name, call + (f" ({hint})" if hint else ""), raise_on_failure)
    return _ok(name, f"{run.frames} x {run.steps_per_frame} steps of {run.rows}x{run.cols}, scaled by cells")
