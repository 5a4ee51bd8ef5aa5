"""Wrong answers typed into the lab checks: each refused, with the mistake named; and correct
answers written unusually, each accepted (issue #23).

Hermetic and fast: the checks are called directly with small implementations, no notebook
runs. A case is (check, answer, phrase): the refusal's one line must contain the phrase.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any

import numpy as np
import pytest

from grayscott import model
from grayscott.labs import checks
from grayscott.labs.checks import CheckFailed

Step = Callable[..., tuple[Any, Any]]


def make_step(react: Callable[..., Any] = model.react,
              lap: Callable[[Any], Any] = model.laplacian) -> Step:
    """A NumPy step: new arrays, ``react`` with ``lap`` on the interior."""
    def step(u: Any, v: Any, du: float, dv: float, f: float, k: float, dt: float) -> Any:
        un, vn = u.copy(), v.copy()
        un[1:-1, 1:-1], vn[1:-1, 1:-1] = react(u[1:-1, 1:-1], v[1:-1, 1:-1], lap(u), lap(v),
                                               du, dv, f, k, dt)
        return un, vn
    return step


def react_with(**change: Any) -> Callable[..., Any]:
    """``model.react`` with some coefficients replaced by others (swapped, forgotten)."""
    def react(u: Any, v: Any, lu: Any, lv: Any, du: float, dv: float, f: float, k: float,
              dt: float) -> Any:
        given = {"du": du, "dv": dv, "f": f, "k": k, "dt": dt}
        values = {key: given.get(str(val), val) for key, val in change.items()}
        merged = {**given, **values}
        lu2, lv2 = (lv, lu) if change.get("laps") else (lu, lv)
        return model.react(u, v, lu2, lv2, merged["du"], merged["dv"], merged["f"], merged["k"],
                           merged["dt"])
    return react


def signs(su: int = -1, sv: int = 1, sf: int = 1, sk: int = -1, sd: int = 1, uuv: bool = False,
          kill_only: bool = False, dt_diffusion_only: bool = False) -> Callable[..., Any]:
    def react(u: Any, v: Any, lu: Any, lv: Any, du: float, dv: float, f: float, k: float,
              dt: float) -> Any:
        r = u * u * v if uuv else u * v * v
        removal = k if kill_only else f + k
        if dt_diffusion_only:
            return u + dt * du * lu - r + (f - f * u), v + dt * dv * lv + r - removal * v
        return (u + dt * (sd * du * lu + su * r + sf * (f - f * u)),
                v + dt * (sd * dv * lv + sv * r + sk * removal * v))
    return react


GOOD = make_step()


def in_place_loops(u: Any, v: Any, du: float, dv: float, f: float, k: float, dt: float) -> Any:
    un, vn = u.copy(), v.copy()
    for i in range(1, u.shape[0] - 1):
        for j in range(1, u.shape[1] - 1):
            lu = model.laplacian(un[i - 1:i + 2, j - 1:j + 2])[0, 0]
            lv = model.laplacian(vn[i - 1:i + 2, j - 1:j + 2])[0, 0]
            un[i, j], vn[i, j] = model.react(un[i, j], vn[i, j], lu, lv, du, dv, f, k, dt)
    return un, vn


def loops(row_range: Callable[[int], range], col_range: Callable[[int], range],
          j_outer: bool = False) -> Step:
    """A loop step over the given padded index ranges (rows+2, cols+2 -> range)."""
    def step(u: Any, v: Any, du: float, dv: float, f: float, k: float, dt: float) -> Any:
        un, vn = u.copy(), v.copy()
        lu, lv = model.laplacian(u), model.laplacian(v)
        cells = [(i, j) for i in row_range(u.shape[0]) for j in col_range(u.shape[1])]
        if j_outer:
            cells.sort(key=lambda c: (c[1], c[0]))
        for i, j in cells:
            un[i, j], vn[i, j] = model.react(u[i, j], v[i, j], lu[i - 1, j - 1], lv[i - 1, j - 1],
                                             du, dv, f, k, dt)
        return un, vn
    return step


def frame_written(u: Any, v: Any) -> tuple[Any, Any]:
    u[0, 0] = 0.3
    return u, v


STEP_MISTAKES: list[tuple[str, Step, str]] = [
    ("no-dt", make_step(react_with(dt=1.0)), "without dt"),
    ("du-dv-swapped", make_step(react_with(du="dv", dv="du")), "Du and Dv are swapped"),
    ("feed-kill-swapped", make_step(react_with(f="k", k="f")), "feed and kill are swapped"),
    ("laplacians-swapped", make_step(react_with(laps=True)), "Laplacians are swapped"),
    ("reaction-sign-u", make_step(signs(su=1)), "reaction term in u"),
    ("reaction-sign-v", make_step(signs(sv=-1)), "reaction term in v"),
    ("feed-sign", make_step(signs(sf=-1)), "sign of the feed term"),
    ("removal-sign", make_step(signs(sk=1)), "sign of the removal term"),
    ("diffusion-sign", make_step(signs(sd=-1)), "sign of the diffusion terms"),
    ("uuv", make_step(signs(uuv=True)), "not u*u*v"),
    ("kill-only", make_step(signs(kill_only=True)), "not kill * v alone"),
    ("dt-diffusion-only", make_step(signs(dt_diffusion_only=True)), "only the diffusion"),
    ("outputs-swapped", lambda *a: GOOD(*a)[::-1], "come back swapped"),
    ("inputs-swapped", lambda u, v, *c: GOOD(v, u, *c), "swapped on the way in"),
    ("unchanged", lambda u, v, *c: (u.copy(), v.copy()), "came back unchanged"),
    ("five-point", make_step(lap=lambda a: model.laplacian_weighted(a, model.STENCIL_5)),
     "5-point stencil"),
    ("reads-updated", in_place_loops, "already updated"),
    ("last-row-missed", loops(lambda n: range(1, n - 2), lambda n: range(1, n - 1)), "one short"),
    ("first-row-missed", loops(lambda n: range(2, n - 1), lambda n: range(1, n - 1)), "one short"),
    ("last-col-missed", loops(lambda n: range(1, n - 1), lambda n: range(1, n - 2)),
     "padded column(s) [17]"),
    ("writes-input", lambda u, v, *c: (u.__setitem__((1, 1), 0.5), (u, v))[1], "modified its input u"),
    ("frame-written", lambda u, v, *c: frame_written(*GOOD(u, v, *c)), "boundary frame of u"),
    ("one-array", lambda u, v, *c: GOOD(u, v, *c)[0], "expected a pair (u, v)"),
    ("interior-only", lambda u, v, *c: tuple(a[1:-1, 1:-1] for a in GOOD(u, v, *c)),
     "return the whole padded array"),
    ("float64", lambda u, v, *c: tuple(a.astype(np.float64) for a in GOOD(u, v, *c)),
     "dtype float64"),
    ("model-coefficients", lambda u, v, *c: GOOD(u, v, *model.Params().coefficients()),
     "ignores the coefficients it is given"),
]


@pytest.mark.parametrize(("step", "phrase"), [pytest.param(s, p, id=i) for i, s, p in STEP_MISTAKES])
def test_check_step_names_the_mistake(step: Step, phrase: str) -> None:
    with pytest.raises(CheckFailed, match=re.escape(phrase)):
        checks.check_step(step)


@pytest.mark.parametrize(("step", "phrase"), [pytest.param(s, p, id=i) for i, s, p in STEP_MISTAKES
                                              if i not in ("writes-input",)])
def test_check_device_step_names_the_mistake(step: Step, phrase: str) -> None:
    with pytest.raises(CheckFailed, match=re.escape(phrase)):
        checks.check_device_step(step, np.array)


def refused(check: Callable[..., Any], *args: Any, phrase: str, **kwargs: Any) -> None:
    """The check refuses the answer in one line that contains ``phrase``."""
    with pytest.raises(CheckFailed, match=re.escape(phrase)) as caught:
        check(*args, **kwargs)
    assert "\n" not in str(caught.value)


# --- measuring: time units, call counts ------------------------------------------------------

def timer(scale: float, per_call: bool = True, calls: int | None = None) -> Callable[..., Any]:
    """A time_ms that measures right, then reports in the wrong unit or as a total."""
    def time_ms(fn: Callable[..., Any], *args: Any, number: int = 1) -> float:
        n = number if calls is None else calls
        start = time.perf_counter()
        for _ in range(n):
            fn(*args)
        total = time.perf_counter() - start
        return total * scale / (n if per_call else 1)
    return time_ms


TIME_MISTAKES = [
    ("seconds", timer(1.0), "seconds? multiply by 1000"),
    ("microseconds", timer(1e6), "microseconds?"),
    ("nanoseconds", timer(1e9), "nanoseconds?"),
    ("total-ms", timer(1e3, per_call=False), "the total of all 12 calls? divide by number"),
    ("total-us", timer(1e6, per_call=False), "in microseconds?"),
    ("total-s", timer(1.0, per_call=False), "in seconds?"),
    ("one-call", timer(1e3, calls=1), "called the function 1 times"),
    ("string", lambda fn, *a, number=1: f"{timer(1e3)(fn, *a, number=number):.2f} ms",
     "returned a str"),
]


@pytest.mark.parametrize(("time_ms", "phrase"), [pytest.param(t, p, id=i) for i, t, p in TIME_MISTAKES])
def test_check_time_ms_names_the_unit(time_ms: Callable[..., Any], phrase: str) -> None:
    refused(checks.check_time_ms, time_ms, phrase=phrase)


# --- threads: overlap and order --------------------------------------------------------------

def pool_of(workers: int) -> Callable[..., Any]:
    def threaded(fn: Callable[..., Any], args: list[Any]) -> list[Any]:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(fn, args))
    return threaded


def start_join_in_loop(fn: Callable[..., Any], args: list[Any]) -> list[Any]:
    results: list[Any] = [None] * len(args)
    for i, a in enumerate(args):
        t = threading.Thread(target=lambda i=i, a=a: results.__setitem__(i, fn(a)))
        t.start()
        t.join()
    return results


def completion_order(fn: Callable[..., Any], args: list[Any]) -> list[Any]:
    with ThreadPoolExecutor(max_workers=len(args)) as pool:
        return [f.result() for f in as_completed([pool.submit(fn, a) for a in args])]


def appended_by_threads(fn: Callable[..., Any], args: list[Any]) -> list[Any]:
    results: list[Any] = []
    threads = [threading.Thread(target=lambda a=a: results.append(fn(a))) for a in args]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


THREAD_MISTAKES = [
    ("one-worker", pool_of(1), "did not all run at once"),
    ("two-workers", pool_of(2), "did not all run at once"),
    ("start-join-in-loop", start_join_in_loop, "did not all run at once"),
    ("completion-order", completion_order, "the order they finished in"),
    ("appended-as-finished", appended_by_threads, "the order they finished in"),
    ("no-threads", lambda fn, args: [fn(a) for a in args], "every call ran in the calling thread"),
    ("reversed", lambda fn, args: pool_of(4)(fn, args)[::-1], "expected the results in argument order"),
]


@pytest.mark.parametrize(("threaded", "phrase"), [pytest.param(t, p, id=i) for i, t, p in THREAD_MISTAKES])
def test_check_threaded_times_overlap_and_order(threaded: Callable[..., Any], phrase: str) -> None:
    refused(checks.check_threaded, threaded, phrase=phrase)


# --- Laplacians, 1-D diffusion, views ---------------------------------------------------------

def weighted(weights: model.Stencil) -> Callable[[Any], Any]:
    return lambda a: model.laplacian_weighted(a, weights)


def broadcast_mistake(a: Any) -> Any:
    return model.laplacian(a) + a[1:, 1:-1]


def modifies(a: Any) -> Any:
    a[1, 1] = 9.0
    return model.laplacian(a)


LAPLACIAN_MISTAKES = [
    ("five-point", weighted(model.STENCIL_5), "that is the 5-point stencil"),
    ("centre-minus-9", weighted(((1, 1, 1), (1, -9, 1), (1, 1, 1))), "centre weight of -9"),
    ("no-centre", weighted(((1, 1, 1), (1, 0, 1), (1, 1, 1))), "centre weight of 0"),
    ("ne-missed", weighted(((1, 1, 0), (1, -8, 1), (1, 1, 1))), "NE 0"),
    ("sw-doubled", weighted(((1, 1, 1), (1, -8, 1), (2, 1, 1))), "SW 2"),
    ("broadcast", broadcast_mistake, "do not all have the interior's shape"),
    ("input-modified", modifies, "modified its input array"),
    ("padded-result", lambda a: np.pad(model.laplacian(a), 1), "return only the interior"),
]


@pytest.mark.parametrize(("laplacian", "phrase"),
                         [pytest.param(f, p, id=i) for i, f, p in LAPLACIAN_MISTAKES])
def test_check_laplacian_names_the_weight(laplacian: Callable[..., Any], phrase: str) -> None:
    refused(checks.check_laplacian, laplacian, phrase=phrase)


def diffuse_in_place(x: Any, d: float) -> Any:
    x[1:-1] = x[1:-1] + d * (x[:-2] - 2 * x[1:-1] + x[2:])
    return x


DIFFUSE_MISTAKES = [
    ("in-place", diffuse_in_place, "modified its input x"),
    ("sign", lambda x, d: np.concatenate([x[:1], x[1:-1] - d * (x[:-2] - 2 * x[1:-1] + x[2:]), x[-1:]]),
     "value at"),
    ("interior-only", lambda x, d: x[1:-1] + d * (x[:-2] - 2 * x[1:-1] + x[2:]), "has shape"),
    ("ends-zeroed", lambda x, d: np.concatenate([[0], x[1:-1] + d * (x[:-2] - 2 * x[1:-1] + x[2:]), [0]])
     .astype(np.float32), "index (0)"),
]


@pytest.mark.parametrize(("diffuse", "phrase"), [pytest.param(f, p, id=i) for i, f, p in DIFFUSE_MISTAKES])
def test_check_diffuse_1d_refuses(diffuse: Callable[..., Any], phrase: str) -> None:
    refused(checks.check_diffuse_1d, diffuse, phrase=phrase)


@pytest.mark.parametrize(("interior", "phrase"), [
    pytest.param(lambda a: a[1:-1, 1:-1].copy(), "the result is a copy", id="copy"),
    pytest.param(lambda a: a[1:-1, 1:-1][:, ::-1], "value at", id="flipped"),
    pytest.param(lambda a: a[1:, 1:], "has shape", id="one-sided"),
    pytest.param(lambda a: a[np.ix_(range(1, a.shape[0] - 1), range(1, a.shape[1] - 1))],
                 "the result is a copy", id="fancy-index"),
])
def test_check_interior_view_refuses(interior: Callable[..., Any], phrase: str) -> None:
    refused(checks.check_interior_view, interior, phrase=phrase)


# --- Numba: njit, parallel, prange in the code (not in a comment) ----------------------------

def test_check_numba_step_refuses_a_plain_function() -> None:
    refused(checks.check_numba_step, GOOD, phrase="decorate it with @numba.njit")


def _numba_steps() -> dict[str, Any]:
    numba = pytest.importorskip("numba")

    def serial(u, v, du, dv, f, k, dt):
        # prange would split this loop
        un, vn = u.copy(), v.copy()
        for i in range(1, u.shape[0] - 1):
            for j in range(1, u.shape[1] - 1):
                lu = model.laplacian_rows(u[i - 1], u[i], u[i + 1], j)
                lv = model.laplacian_rows(v[i - 1], v[i], v[i + 1], j)
                un[i, j], vn[i, j] = model.react(u[i, j], v[i, j], lu, lv, du, dv, f, k, dt)
        return un, vn

    return {"serial-njit": numba.njit(serial), "parallel-comment-only": numba.njit(parallel=True)(serial)}


def test_check_numba_step_wants_parallel_true() -> None:
    refused(checks.check_numba_step, _numba_steps()["serial-njit"], parallel=True,
            phrase="compiled without parallel=True")


def test_check_numba_step_finds_prange_in_the_code_not_a_comment() -> None:
    refused(checks.check_numba_step, _numba_steps()["parallel-comment-only"], parallel=True,
            phrase="no for loop runs over prange")


# --- JAX: steps under fori_loop, advance under jit, vmap, generic weights ---------------------

def jax_step(react: Callable[..., Any] = model.react, lap: Callable[[Any], Any] = model.laplacian,
             ) -> Callable[..., Any]:
    """A JAX step with the model's coefficients, as the notebooks close over them."""
    import jax.numpy as jnp

    coefficients = checks.CHECK_PARAMS.coefficients()

    def step(u: Any, v: Any) -> Any:
        un, vn = react(u[1:-1, 1:-1], v[1:-1, 1:-1], lap(u), lap(v), *coefficients)
        return jnp.pad(un, 1, constant_values=1.0), jnp.pad(vn, 1, constant_values=0.0)
    return step


def fori(step: Callable[..., Any]) -> Callable[..., Any]:
    from jax import lax

    return lambda u, v, steps: lax.fori_loop(0, steps, lambda _, s: step(*s), (u, v))


JAX_STEP_MISTAKES = [
    ("du-dv-swapped", jax_step(react_with(du="dv", dv="du")), "Du and Dv are swapped"),
    ("feed-kill-swapped", jax_step(react_with(f="k", k="f")), "feed and kill are swapped"),
    ("reaction-sign-u", jax_step(signs(su=1)), "reaction term in u"),
    ("removal-sign", jax_step(signs(sk=1)), "sign of the removal term"),
    ("uuv", jax_step(signs(uuv=True)), "not u*u*v"),
    ("five-point", jax_step(lap=lambda a: model.laplacian_weighted(a, model.STENCIL_5)), "5-point"),
    ("outputs-swapped", lambda u, v: jax_step()(u, v)[::-1], "each step hands back (v, u)"),
]


@pytest.mark.parametrize(("step", "phrase"), [pytest.param(s, p, id=i) for i, s, p in JAX_STEP_MISTAKES])
def test_check_jax_fori_names_the_mistake(step: Callable[..., Any], phrase: str) -> None:
    pytest.importorskip("jax")
    refused(checks.check_jax_fori, fori(step), phrase=phrase)


@pytest.mark.parametrize(("step", "phrase"), [pytest.param(s, p, id=i) for i, s, p in JAX_STEP_MISTAKES])
def test_check_jax_advance_names_the_mistake(step: Callable[..., Any], phrase: str) -> None:
    jax = pytest.importorskip("jax")
    refused(checks.check_jax_advance, jax.jit(fori(step)), phrase=phrase)


def test_check_jax_advance_wants_it_jitted() -> None:
    pytest.importorskip("jax")
    refused(checks.check_jax_advance, fori(jax_step()), phrase="is not jitted")


def _python_loop_batch(stack: Any) -> Any:
    import jax.numpy as jnp

    return jnp.stack([model.laplacian(a) for a in stack])


def _python_loop_batch_jitted() -> Any:
    import jax

    return jax.jit(_python_loop_batch)


def _wrong_axis_batch(stack: Any) -> Any:
    import jax

    return jax.vmap(model.laplacian, in_axes=2, out_axes=2)(stack)


@pytest.mark.parametrize(("make", "phrase"), [
    pytest.param(lambda: _python_loop_batch, "a Python loop over the grids", id="python-loop"),
    pytest.param(_python_loop_batch_jitted, "a Python loop over the grids", id="jitted-python-loop"),
    pytest.param(lambda: _wrong_axis_batch, "has shape", id="wrong-axis"),
    pytest.param(lambda: (lambda stack: model.laplacian(stack[0])), "has shape", id="first-grid-only"),
])
def test_check_jax_vmap_wants_one_transformation(make: Callable[[], Any], phrase: str) -> None:
    pytest.importorskip("jax")
    refused(checks.check_jax_vmap, make(), phrase=phrase)


def _generic(kind: str) -> Callable[..., Any]:
    import jax.numpy as jnp
    from jax.scipy.signal import convolve2d, correlate2d

    return {
        "transposed": lambda a, w: correlate2d(a, jnp.transpose(w), mode="valid"),
        "convolution": lambda a, w: convolve2d(a, w, mode="valid"),
        "weights-ignored": lambda a, w: model.laplacian(a),
        "same-mode": lambda a, w: correlate2d(a, w, mode="same"),
    }[kind]


@pytest.mark.parametrize(("kind", "phrase"), [
    ("transposed", "applies the weights transposed"),
    ("convolution", "applies the weights flipped"),
    ("weights-ignored", "the 5-point Laplacian"),
    ("same-mode", "that is the padded shape"),
])
def test_check_jax_laplacian_generic_tries_asymmetric_weights(kind: str, phrase: str) -> None:
    pytest.importorskip("jax")
    refused(checks.check_jax_laplacian, _generic(kind), generic=True, phrase=phrase)


@pytest.mark.parametrize(("power", "phrase"), [
    pytest.param(lambda x, n: x ** n, "power is not jitted", id="not-jitted"),
    pytest.param("traced-n", "make n static", id="n-traced"),
    pytest.param("static-x", "never an array", id="static-array"),
])
def test_check_jax_power_refuses(power: Any, phrase: str) -> None:
    jax = pytest.importorskip("jax")

    def loop(x: Any, n: int) -> Any:
        out = x
        for _ in range(n - 1):
            out = out * x
        return out

    fn = {"traced-n": jax.jit(loop), "static-x": jax.jit(loop, static_argnums=0)}.get(power, power)
    refused(checks.check_jax_power, fn, phrase=phrase)


# --- measuring memory: the peak of this call, not of the one before ----------------------------

def _peak(reset: bool, scale: float = 1.0, current: bool = False) -> Callable[..., Any]:
    import tracemalloc

    def peak_bytes(fn: Callable[..., Any], *args: Any) -> Any:
        if not tracemalloc.is_tracing():
            tracemalloc.start()
        if reset:
            tracemalloc.reset_peak()
        fn(*args)
        now, peak = tracemalloc.get_traced_memory()
        if reset:
            tracemalloc.stop()
        value = now if current else peak
        return value * scale if scale != 1.0 else value
    return peak_bytes


@pytest.mark.parametrize(("peak_bytes", "phrase"), [
    pytest.param(_peak(reset=False), "the peak of the call before", id="never-reset"),
    pytest.param(_peak(reset=True, scale=1e-6), "returned a float", id="megabytes"),
    pytest.param(_peak(reset=True, current=True), "expected about 16 MB", id="current-not-peak"),
])
def test_check_peak_bytes_refuses(peak_bytes: Callable[..., Any], phrase: str) -> None:
    import tracemalloc

    try:
        refused(checks.check_peak_bytes, peak_bytes, phrase=phrase)
    finally:
        tracemalloc.stop()
