"""What every peer script shares: the model's grid and state, the timing, the check, the output.

A peer script builds one step of the school's model in its own framework, from
``grayscott.model`` (params, initial state, stencil weights, ``react``), then calls ``main``
with three functions: ``load(u, v)`` (padded float arrays), ``advance(steps)``, ``state()``
(padded u, v on the host). ``main`` checks the first ``--check-steps`` steps against NumPy
(``model.laplacian`` + ``model.react``, the reference of tests/test_backends.py), times
``--steps`` steps ``--repeat`` times (median), and prints one JSON object on stdout.
Run from the repository root with ``PYTHONPATH=.``; ``benchmarks/peers/run.py`` runs them all.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from grayscott import model


def parse(description: str) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--rows", type=int, default=model.Params.rows)
    ap.add_argument("--cols", type=int, default=model.Params.cols)
    ap.add_argument("--dtype", default=model.Params.dtype, choices=model.DTYPES)
    ap.add_argument("--steps", type=int, default=256, help="steps per timing")
    ap.add_argument("--repeat", type=int, default=3, help="timings (the median counts)")
    ap.add_argument("--check-steps", type=int, default=200,
                    help="steps compared with NumPy first (0: no check)")
    return ap.parse_args()


def reference(params: model.Params, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """NumPy's (u, v) after ``steps`` steps from the initial state: the model's own slices."""
    u, v = model.initial_state(params)
    for _ in range(steps):
        lu, lv = model.laplacian(u), model.laplacian(v)
        un, vn = model.react(u[1:-1, 1:-1], v[1:-1, 1:-1], lu, lv, *params.coefficients())
        u[1:-1, 1:-1], v[1:-1, 1:-1] = un, vn
    return u, v


def main(peer: str, version: str, args: argparse.Namespace,
         load: Callable[[np.ndarray, np.ndarray], None], advance: Callable[[int], None],
         state: Callable[[], tuple[np.ndarray, np.ndarray]], **extra: Any) -> None:
    params = model.Params(rows=args.rows, cols=args.cols, dtype=args.dtype)
    try:
        load(*model.initial_state(params))
        out: dict[str, Any] = {"peer": peer, "version": version, "rows": params.rows,
                               "cols": params.cols, "dtype": params.dtype,
                               "omp_num_threads": os.environ.get("OMP_NUM_THREADS", ""), **extra}
        if args.check_steps > 0:
            advance(args.check_steps)
            u, v = state()
            ref_u, ref_v = reference(params, args.check_steps)
            diff = max(float(np.abs(u - ref_u).max()), float(np.abs(v - ref_v).max()))
            out.update(check_steps=args.check_steps, max_diff=diff,
                       agrees=diff <= model.tolerance(params.dtype))
        advance(2)  # warm: compilation and first touch kept out of the timing
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            advance(args.steps)
            times.append((time.perf_counter() - start) / args.steps)
        out.update(ms_per_step=1e3 * statistics.median(times), steps_timed=args.steps * args.repeat,
                   load_average=os.getloadavg()[0])
    except Exception as exc:  # one line for the runner, never a traceback
        print(json.dumps({"peer": peer, "version": version,
                          "error": f"{type(exc).__name__}: {exc}".splitlines()[0]}))
        sys.exit(1)
    print(json.dumps(out))
