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


def view_written(u: Any, v: Any, *c: float) -> tuple[Any, Any]:
    un, vn = u[:], v[:]  # views of the input, not copies
    new_u, new_v = GOOD(u, v, *c)
    un[1:-1, 1:-1], vn[1:-1, 1:-1] = new_u[1:-1, 1:-1], new_v[1:-1, 1:-1]
    return un, vn


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
    ("view-written", view_written, "shares memory with the input"),
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
                                              if i not in ("writes-input", "view-written")])
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


# --- the GPU day on the CPU: torch tensors, JAX batches and scans, frames to the host --------

def _torch_laplacians() -> dict[str, Callable[..., Any]]:
    torch = pytest.importorskip("torch")
    functional = torch.nn.functional
    weight = torch.tensor(model.STENCIL_9, dtype=torch.float32).reshape(1, 1, 3, 3)
    return {
        "no-batch-axes": lambda a: functional.conv2d(a, weight),
        "weights-2d": lambda a: functional.conv2d(a[None, None], weight[0, 0])[0, 0],
        "float64-weights": lambda a: functional.conv2d(
            a[None, None], torch.from_numpy(np.asarray(model.STENCIL_9)).reshape(1, 1, 3, 3))[0, 0],
        "keeps-4d": lambda a: functional.conv2d(a[None, None], weight),
        "padding-1": lambda a: functional.conv2d(a[None, None], weight, padding=1)[0, 0],
        "numpy-result": lambda a: model.laplacian(a.numpy()),
        "five-point": lambda a: functional.conv2d(
            a[None, None], torch.tensor(model.STENCIL_5, dtype=torch.float32).reshape(1, 1, 3, 3))[0, 0],
    }


@pytest.mark.parametrize(("kind", "phrase"), [
    ("no-batch-axes", "conv2d takes a 4-D input"),
    ("weights-2d", "conv2d takes its weights as a 4-D tensor"),
    ("float64-weights", "differ in dtype"),
    ("keeps-4d", "drop conv2d's batch and channel axes"),
    ("padding-1", "that is the padded shape"),
    ("numpy-result", "expected a torch.Tensor"),
    ("five-point", "5-point stencil"),
])
def test_check_torch_laplacian_names_the_mistake(kind: str, phrase: str) -> None:
    refused(checks.check_torch_laplacian, _torch_laplacians()[kind], phrase=phrase)


@pytest.mark.parametrize(("step", "phrase"), [pytest.param(s, p, id=i) for i, s, p in STEP_MISTAKES
                                              if i in ("no-dt", "du-dv-swapped", "outputs-swapped",
                                                       "reaction-sign-v", "model-coefficients")])
def test_check_device_step_on_torch_tensors_names_the_mistake(step: Step, phrase: str) -> None:
    torch = pytest.importorskip("torch")

    def on_torch(u: Any, v: Any, *c: float) -> Any:
        return tuple(torch.from_numpy(np.ascontiguousarray(a)) for a in step(u.numpy(), v.numpy(), *c))

    refused(checks.check_device_step, on_torch, torch.tensor, phrase=phrase)


def test_check_device_step_wants_the_state_kept_on_the_device() -> None:
    torch = pytest.importorskip("torch")
    refused(checks.check_device_step, lambda u, v, *c: GOOD(u.numpy(), v.numpy(), *c), torch.tensor,
            phrase="keep the state on the device")


def _jax_advance(u: Any, v: Any, feed: Any, kill: Any, n: int) -> Any:
    import jax.numpy as jnp
    from jax import lax

    p = checks.CHECK_PARAMS

    def body(_: int, state: Any) -> Any:
        u, v = state
        a, b = model.react(u[1:-1, 1:-1], v[1:-1, 1:-1], model.laplacian(u), model.laplacian(v),
                           p.du, p.dv, feed, kill, p.dt)
        return jnp.pad(a, 1, constant_values=1.0), jnp.pad(b, 1, constant_values=0.0)

    return lax.fori_loop(0, n, body, (u, v))


def _batches() -> dict[str, Callable[..., Any]]:
    jax = pytest.importorskip("jax")
    import jax.numpy as jnp

    def loop(u: Any, v: Any, feeds: Any, kills: Any, steps: int) -> Any:
        outs = [_jax_advance(u[i], v[i], feeds[i], kills[i], steps) for i in range(u.shape[0])]
        return jnp.stack([o[0] for o in outs]), jnp.stack([o[1] for o in outs])

    return {
        "python-loop": loop,
        "first-pair-for-all": jax.vmap(lambda u, v, f, k, n: _jax_advance(u, v, 0.014, 0.054, n),
                                       in_axes=(0, 0, 0, 0, None)),
        "feed-kill-swapped": jax.vmap(lambda u, v, f, k, n: _jax_advance(u, v, k, f, n),
                                      in_axes=(0, 0, 0, 0, None)),
        "one-grid": lambda u, v, f, k, n: _jax_advance(u[0], v[0], f[0], k[0], n),
        "in-axes-short": jax.vmap(_jax_advance, in_axes=(0, 0, 0, None)),
        "steps-mapped": lambda u, v, f, k, n: jax.vmap(_jax_advance)(u, v, f, k, jnp.full(2, n)),
    }


@pytest.mark.parametrize(("kind", "phrase"), [
    ("python-loop", "a Python loop over the pairs"),
    ("first-pair-for-all", "use each grid's own feed and kill"),
    ("feed-kill-swapped", "grid 0 (feed=0.014, kill=0.054)"),
    ("one-grid", "one padded grid per (feed, kill) pair"),
    ("in-axes-short", "in_axes has one entry per argument"),
    ("steps-mapped", "vmap maps axes of different lengths"),
])
def test_check_jax_batch_refuses(kind: str, phrase: str) -> None:
    refused(checks.check_jax_batch, _batches()[kind], phrase=phrase)


def _scans() -> dict[str, Callable[..., Any]]:
    pytest.importorskip("jax")
    import jax.numpy as jnp
    from jax import lax

    p = checks.CHECK_PARAMS

    def loop(u: Any, v: Any, frames: int, per: int) -> Any:
        vs = []
        for _ in range(frames):
            u, v = _jax_advance(u, v, p.feed, p.kill, per)
            vs.append(v[1:-1, 1:-1])
        return u, v, jnp.stack(vs)

    def before(u: Any, v: Any, frames: int, per: int) -> Any:
        def one(state: Any, _: Any) -> Any:
            return _jax_advance(state[0], state[1], p.feed, p.kill, per), state[1][1:-1, 1:-1]
        (u, v), vs = lax.scan(one, (u, v), xs=None, length=frames)
        return u, v, vs

    def padded(u: Any, v: Any, frames: int, per: int) -> Any:
        def one(state: Any, _: Any) -> Any:
            new = _jax_advance(state[0], state[1], p.feed, p.kill, per)
            return new, new[1]
        (u, v), vs = lax.scan(one, (u, v), xs=None, length=frames)
        return u, v, vs

    return {"python-loop": loop, "frame-before-steps": before, "padded-frames": padded}


@pytest.mark.parametrize(("kind", "phrase"), [
    ("python-loop", "a Python loop over the frames"),
    ("frame-before-steps", "frame 0 (after 3 steps)"),
    ("padded-frames", "one interior of V per frame"),
])
def test_check_jax_scan_frames_refuses(kind: str, phrase: str) -> None:
    refused(checks.check_jax_scan_frames, _scans()[kind], phrase=phrase)


# --- the scaling day: rows split over ranks, the school's run in seconds ----------------------

@pytest.mark.parametrize(("split_rows", "phrase"), [
    pytest.param(lambda r, s, k: (k * (r // s), (k + 1) * (r // s)), "rows are lost", id="remainder-lost"),
    pytest.param(lambda r, s, k: (k * (r // s), (k + 1) * (r // s) if k < s - 1 else r),
                 "they must differ by at most one", id="remainder-on-last"),
    pytest.param(lambda r, s, k: (k * -(-r // s), min((k + 1) * -(-r // s), r) + 1), "past the grid",
                 id="overlap"),
    pytest.param(lambda r, s, k: r // s, "expected a pair of ints", id="size-only"),
    pytest.param(lambda r, s, k: (k * r / s, (k + 1) * r / s), "expected a pair of ints", id="floats"),
    pytest.param(lambda r, s, k: ((s - 1 - k) * (r // s), (s - k) * (r // s)), "must start at 0",
                 id="reversed-ranks"),
])
def test_check_split_rows_refuses(split_rows: Callable[..., Any], phrase: str) -> None:
    refused(checks.check_split_rows, split_rows, phrase=phrase)


def _school_seconds(kind: str) -> Callable[..., Any]:
    from grayscott import school

    run = school.school_run()
    right = school.projected_seconds
    return {
        "milliseconds": lambda ms, r, c: right(ms, r, c) * 1e3,
        "too-small": lambda ms, r, c: right(ms, r, c) / 1e3,
        "unscaled": lambda ms, r, c: ms / 1e3 * run.steps,
        "ratio-upside-down": lambda ms, r, c: ms / 1e3 * run.steps * (r * c) / run.cells,
        "frames-not-steps": lambda ms, r, c: right(ms, r, c) / run.steps_per_frame,
        "string": lambda ms, r, c: f"{right(ms, r, c):.1f} s",
    }[kind]


@pytest.mark.parametrize(("kind", "phrase"), [
    ("milliseconds", "milliseconds, not seconds"),
    ("too-small", "a factor 1000 too small"),
    ("unscaled", "scale the time per step by that ratio"),
    ("ratio-upside-down", "the cell ratio is upside down"),
    ("frames-not-steps", "steps in all"),
    ("string", "expected a number of seconds"),
])
def test_check_school_seconds_names_the_slip(kind: str, phrase: str) -> None:
    refused(checks.check_school_seconds, _school_seconds(kind), phrase=phrase)


# --- correct answers written another way: each accepted -------------------------------------

def lap_roll(a: Any) -> Any:
    total = -9.0 * a
    for di in (-1, 0, 1):
        for dj in (-1, 0, 1):
            total = total + np.roll(np.roll(a, di, axis=0), dj, axis=1)
    return total[1:-1, 1:-1]


def lap_ndimage(a: Any) -> Any:
    from scipy import ndimage

    return ndimage.convolve(a, np.asarray(model.STENCIL_9, dtype=np.float32))[1:-1, 1:-1]


def lap_convolve2d(a: Any) -> Any:
    from scipy import signal

    return signal.convolve2d(a, np.asarray(model.STENCIL_9, dtype=np.float32), mode="valid")


def lap_correlate2d(a: Any) -> Any:
    from scipy import signal

    return signal.correlate2d(a, np.asarray(model.STENCIL_9, dtype=np.float32), mode="valid")


def lap_weights_from_list(a: Any) -> Any:
    weights = np.array([[1.0, 1.0, 1.0], [1.0, -8.0, 1.0], [1.0, 1.0, 1.0]])  # float64
    rows, cols = a.shape[0] - 2, a.shape[1] - 2
    return sum(weights[i, j] * a[i:i + rows, j:j + cols] for i in range(3) for j in range(3))


def step_roll(u: Any, v: Any, du: float, dv: float, f: float, k: float, dt: float) -> Any:
    un, vn = u.copy(), v.copy()
    un[1:-1, 1:-1], vn[1:-1, 1:-1] = model.react(u[1:-1, 1:-1], v[1:-1, 1:-1], lap_roll(u),
                                                 lap_roll(v), du, dv, f, k, dt)
    return un, vn


def threads_by_hand(fn: Callable[..., Any], args: list[Any]) -> list[Any]:
    results: list[Any] = [None] * len(args)

    def run(i: int, a: Any) -> None:
        results[i] = fn(a)

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(args)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def timeit_ms(fn: Callable[..., Any], *args: Any, number: int = 1) -> float:
    import timeit

    return 1e3 * timeit.timeit(lambda: fn(*args), number=number) / number


ACCEPTED: list[tuple[str, Callable[[], Any]]] = [
    ("laplacian-np-roll", lambda: checks.check_laplacian(lap_roll)),
    ("laplacian-ndimage-convolve", lambda: checks.check_laplacian(lap_ndimage)),
    ("laplacian-signal-convolve2d", lambda: checks.check_laplacian(lap_convolve2d)),
    ("laplacian-signal-correlate2d", lambda: checks.check_laplacian(lap_correlate2d)),
    ("laplacian-float64-weights-from-a-list", lambda: checks.check_laplacian(lap_weights_from_list)),
    ("diffuse-np-convolve-list-kernel", lambda: checks.check_diffuse_1d(
        lambda x, d: np.concatenate([x[:1], x[1:-1] + d * np.convolve(x, [1.0, -2.0, 1.0], "valid"),
                                     x[-1:]]))),
    ("step-np-roll", lambda: checks.check_step(step_roll)),
    ("step-columns-outer", lambda: checks.check_step(loops(lambda n: range(1, n - 1),
                                                           lambda n: range(1, n - 1), j_outer=True))),
    ("step-device-numpy", lambda: checks.check_device_step(step_roll, np.array)),
    ("threaded-by-hand", lambda: checks.check_threaded(threads_by_hand)),
    ("threaded-pool-map", lambda: checks.check_threaded(pool_of(8))),
    ("time-ms-timeit", lambda: checks.check_time_ms(timeit_ms)),
    ("peak-bytes-reset", lambda: checks.check_peak_bytes(_peak(reset=True))),
]


@pytest.mark.parametrize("check", [pytest.param(c, id=i) for i, c in ACCEPTED])
def test_correct_answers_written_another_way_are_accepted(check: Callable[[], Any]) -> None:
    assert check()


def _jax_accepted() -> dict[str, Callable[[], Any]]:
    jax = pytest.importorskip("jax")
    import jax.numpy as jnp
    from jax.scipy.signal import correlate2d

    def generic_sum(a: Any, w: Any) -> Any:
        rows, cols = a.shape[0] - 2, a.shape[1] - 2
        return sum(w[i, j] * a[i:i + rows, j:j + cols] for i in range(3) for j in range(3))

    return {
        "vmap-jitted": lambda: checks.check_jax_vmap(jax.jit(jax.vmap(model.laplacian))),
        "vmap-of-roll": lambda: checks.check_jax_vmap(jax.vmap(lambda a: (
            sum(jnp.roll(jnp.roll(a, i, 0), j, 1) for i in (-1, 0, 1) for j in (-1, 0, 1))
            - 9 * a)[1:-1, 1:-1])),
        "generic-correlate2d": lambda: checks.check_jax_laplacian(
            lambda a, w: correlate2d(a, w, mode="valid"), generic=True),
        "generic-sum-of-slices": lambda: checks.check_jax_laplacian(generic_sum, generic=True),
        "advance-jitted-fori": lambda: checks.check_jax_advance(jax.jit(fori(jax_step()))),
        "batch-vmap": lambda: checks.check_jax_batch(jax.jit(jax.vmap(_jax_advance,
                                                                      in_axes=(0, 0, 0, 0, None)))),
    }


@pytest.mark.parametrize("kind", ["vmap-jitted", "vmap-of-roll", "generic-correlate2d",
                                  "generic-sum-of-slices", "advance-jitted-fori", "batch-vmap"])
def test_correct_jax_answers_written_another_way_are_accepted(kind: str) -> None:
    assert _jax_accepted()[kind]()
