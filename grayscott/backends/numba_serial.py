"""``numba``: the explicit double loop, compiled with ``@njit`` (one thread)."""

from __future__ import annotations

from grayscott.backends._numba_loop import NumbaLoopBackend
from grayscott.backends.base import register


@register
class NumbaBackend(NumbaLoopBackend):
    name = "numba"
    summary = "Numba @njit explicit loop, one thread"
    parallel = False
