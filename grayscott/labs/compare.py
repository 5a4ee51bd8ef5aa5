"""The last cell of each notebook: the student's implementation against the package's backend.

Both run the same number of steps from the same initial state on the same grid; each is
warmed up first (Numba and JAX compile on the first call, and a timing that includes the
compilation says nothing about the steps), then timed several times, interleaved, with a
chart of every run (``grayscott.labs.timing``: one timing on a shared machine says little).
The result says whether they agree (``model.tolerance``) and how their times per step compare.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from grayscott import backends, model
from grayscott.labs.size import by_size, lab_params
from grayscott.labs.timing import Timings, repeat, show

#: ``run(u0, v0, steps) -> (u, v)``: the student's whole run, padded arrays in and out.
Run = Callable[[np.ndarray, np.ndarray, int], Any]


@dataclass(frozen=True)
class Comparison:
    backend: str
    steps: int
    rows: int
    cols: int
    yours_ms_per_step: float
    backend_ms_per_step: float
    max_difference: float
    tolerance: float
    #: every run of both, when they were repeated (``compare_with_backend``)
    timings: Timings | None = None

    @property
    def agree(self) -> bool:
        return self.max_difference <= self.tolerance

    @property
    def speedup(self) -> float:
        """How many times faster the backend is than yours (< 1: yours is faster)."""
        return self.yours_ms_per_step / self.backend_ms_per_step


def time_backend(backend: str, params: model.Params, steps: int) -> tuple[float, np.ndarray, np.ndarray]:
    """Seconds ``backend`` takes for ``steps`` steps from the initial state (after a warm-up step),
    and its final padded (u, v)."""
    u0, v0 = model.initial_state(params)
    b = backends.create(backend, params)
    b.load(u0, v0)
    b.advance(1)  # warm-up: compilation, first touch of the buffers
    b.synchronize()
    b.load(u0, v0)
    start = time.perf_counter()
    b.advance(steps)
    b.synchronize()
    seconds = time.perf_counter() - start
    ref_u, ref_v = b.fetch_state()
    return seconds, ref_u, ref_v


def compare_with_backend(run: Run, backend: str, steps: int,
                         params: model.Params | None = None, runs: int | None = None) -> Comparison:
    """Run ``run`` and the backend ``backend`` for ``steps`` steps from the model's initial
    state, ``runs`` times each, interleaved (``grayscott.labs.timing``), and print and draw the
    comparison: medians per step, the spread, whether the results agree."""
    params = params or lab_params()
    runs = runs or by_size(tiny=3, small=5, full=5)
    u0, v0 = model.initial_state(params)
    b = backends.create(backend, params)
    results: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def yours() -> None:
        u, v = run(u0.copy(), v0.copy(), steps)
        results["yours"] = np.asarray(u), np.asarray(v)  # waits for asynchronous libraries (JAX)

    def theirs() -> None:
        b.load(u0, v0)
        b.advance(steps)
        b.synchronize()

    np.asarray(run(u0.copy(), v0.copy(), 1)[1])  # warm-up of yours: one step, forced to the host
    b.load(u0, v0)
    b.advance(1)  # warm-up: compilation, first touch of the buffers
    b.synchronize()
    timings = repeat({"yours": yours, backend: theirs}, runs=runs, per=steps, what="step",
                     warm_up=False)
    u, v = results["yours"]
    ref_u, ref_v = b.fetch_state()
    result = _comparison(u, v, ref_u, ref_v, timings.median("yours"), timings.median(backend),
                         backend, steps, params, timings)
    show(timings, f"{params.rows}x{params.cols}, {steps} steps: yours vs {backend}", lines=False)
    return result


def _comparison(u: np.ndarray, v: np.ndarray, ref_u: np.ndarray, ref_v: np.ndarray,
                yours_s: float, backend_s: float, backend: str, steps: int,
                params: model.Params, timings: Timings | None = None) -> Comparison:
    """The comparison of two finished runs (seconds per step each), printed."""
    if u.shape != ref_u.shape or v.shape != ref_v.shape:
        raise ValueError(f"your run returned shapes {u.shape}, {v.shape}; expected padded {ref_u.shape}")
    diff = float(max(np.abs(u - ref_u).max(), np.abs(v - ref_v).max()))
    result = Comparison(backend, steps, params.rows, params.cols, 1e3 * yours_s,
                        1e3 * backend_s, diff, model.tolerance(params.dtype), timings)
    runs = f", {len(timings.seconds[backend])} runs each, interleaved (medians)" if timings else ""
    print(f"{params.rows}x{params.cols}, {steps} steps, {params.dtype}{runs}")
    print(f"  yours          {result.yours_ms_per_step:9.3f} ms/step")
    faster = (f"the backend is {result.speedup:.2f}x faster" if result.speedup >= 1
              else f"yours is {1 / result.speedup:.2f}x faster")
    if timings and timings.overlap("yours", backend):
        faster += "; their runs overlap: no clear winner"
    print(f"  {backend:<14} {result.backend_ms_per_step:9.3f} ms/step  ({faster})")
    verdict = "agree" if result.agree else "DISAGREE"
    print(f"  max |difference| {diff:.2e} (tolerance {result.tolerance:g}): {verdict}")
    return result


def compare_result(u: np.ndarray, v: np.ndarray, yours_s: float, backend: str, steps: int,
                   params: model.Params | None = None) -> Comparison:
    """Compare a finished run (padded ``u``, ``v`` after ``steps`` steps from the model's initial
    state, ``yours_s`` seconds) with ``backend`` doing the same, and print the comparison.

    For runs the notebook's kernel cannot time itself: an MPI program reports its own time.
    """
    params = params or lab_params()
    backend_s, ref_u, ref_v = time_backend(backend, params, steps)
    return _comparison(u, v, ref_u, ref_v, yours_s / steps, backend_s / steps, backend, steps,
                       params)
