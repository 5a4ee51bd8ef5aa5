"""``grayscott smoke``: a few steps of every available backend, checked against NumPy.

What the images run to prove their backends work where they run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from grayscott import backends, model
from grayscott.errors import GrayScottError


@dataclass
class SmokeResult:
    backend: str
    status: str  # ok | unavailable | wrong | error
    device: str = ""
    detail: str = ""
    seconds: float = 0.0
    max_error: float = float("nan")


def compare(u: np.ndarray, v: np.ndarray, ref_u: np.ndarray, ref_v: np.ndarray,
            tol: float) -> tuple[float, str | None]:
    """Largest |difference| with the reference, and what is wrong if anything is."""
    if u.shape != ref_u.shape or v.shape != ref_v.shape:
        return float("nan"), f"shape {u.shape} instead of {ref_u.shape}"
    if not (np.all(np.isfinite(u)) and np.all(np.isfinite(v))):
        return float("nan"), "NaN or infinite values"
    boundary = model.check_boundary(u, v)
    if boundary:
        return float("nan"), boundary
    err = float(max(np.max(np.abs(u - ref_u)), np.max(np.abs(v - ref_v))))
    if err > tol:
        cell = np.unravel_index(np.argmax(np.abs(v - ref_v)), v.shape)
        return err, f"max |difference| {err:.2e} > {tol:.0e} (worst V cell {tuple(map(int, cell))})"
    return err, None


def run_smoke(names: list[str], params: model.Params, steps: int, seed: int = 0
              ) -> list[SmokeResult]:
    u0, v0 = model.initial_state(params, noise=0.1, seed=seed)
    reference = backends.create("numpy", params)
    reference.load(u0, v0)
    reference.advance(steps)
    ref_u, ref_v = reference.fetch_state()
    tol = model.tolerance(params.dtype)
    results = []
    for name in names:
        reason = backends.get(name).unavailable_reason()
        if reason is not None:
            results.append(SmokeResult(name, "unavailable", detail=reason))
            continue
        start = time.perf_counter()
        try:
            backend = backends.create(name, params)
            backend.load(u0, v0)
            backend.advance(steps)
            u, v = backend.fetch_state()
            device = backend.device
        except GrayScottError as exc:
            results.append(SmokeResult(name, "error", detail=str(exc)))
            continue
        except Exception as exc:  # report, and go on with the other backends
            results.append(SmokeResult(name, "error", detail=f"{type(exc).__name__}: {exc}"))
            continue
        err, problem = compare(u, v, ref_u, ref_v, tol)
        results.append(SmokeResult(name, "wrong" if problem else "ok", device, problem or "",
                                   time.perf_counter() - start, err))
    return results
