"""``numba-parallel``: the explicit loop over rows with ``prange``, u and v fused in one pass."""

from __future__ import annotations

from grayscott.backends._numba_loop import NumbaLoopBackend
from grayscott.backends.base import register


@register
class NumbaParallelBackend(NumbaLoopBackend):
    name = "numba-parallel"
    summary = "Numba prange over rows, u and v updated in one fused pass, all cores"
    parallel = True
