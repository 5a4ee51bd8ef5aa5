"""The explicit-loop Gray-Scott that Numba compiles, serial or with ``prange``.

The loop body calls the model's own ``laplacian_at`` and ``react``, compiled by Numba as
inlined scalar functions: the loop is the only thing written here. u and v are updated in
one pass into a second pair of buffers, then the buffers swap.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import numpy as np

from grayscott import model
from grayscott.backends.base import Backend


@cache
def compiled_advance(parallel: bool) -> Callable[..., int]:
    """``advance(u, v, u2, v2, steps, du, dv, feed, kill, dt) -> parity``, compiled once."""
    import numba

    lap = numba.njit(inline="always")(model.laplacian_at)
    react = numba.njit(inline="always")(model.react)

    @numba.njit(parallel=parallel, nogil=True)
    def advance(u, v, u2, v2, steps, du, dv, feed, kill, dt):
        rows, cols = u.shape[0] - 2, u.shape[1] - 2
        for _ in range(steps):
            for i in numba.prange(1, rows + 1):
                for j in range(1, cols + 1):
                    u2[i, j], v2[i, j] = react(u[i, j], v[i, j], lap(u, i, j), lap(v, i, j),
                                               du, dv, feed, kill, dt)
            u, u2 = u2, u
            v, v2 = v2, v
        return steps % 2

    return advance


class NumbaLoopBackend(Backend):
    """Shared by ``numba`` and ``numba-parallel``: state in two pairs of host buffers."""

    libraries = ("numba", "llvmlite")
    parallel = False

    @classmethod
    def unavailable_reason(cls) -> str | None:
        try:
            import numba  # noqa: F401
        except ImportError:
            return "Numba is not installed (pip install 'grayscott[numba]')"
        return None

    def load(self, u: np.ndarray, v: np.ndarray) -> None:
        dtype = self.params.np_dtype
        self.u, self.v = np.array(u, dtype=dtype), np.array(v, dtype=dtype)
        self.u2, self.v2 = self.u.copy(), self.v.copy()  # frames included: never written
        self._coefficients = tuple(dtype.type(c) for c in self.params.coefficients())
        self._advance: Any = compiled_advance(self.parallel)

    def advance(self, steps: int) -> None:
        if self._advance(self.u, self.v, self.u2, self.v2, steps, *self._coefficients):
            self.u, self.u2 = self.u2, self.u
            self.v, self.v2 = self.v2, self.v

    def fetch_v(self) -> np.ndarray:
        return self.v[1:-1, 1:-1].copy()

    def fetch_state(self) -> tuple[np.ndarray, np.ndarray]:
        return self.u.copy(), self.v.copy()

    @property
    def device(self) -> str:
        if not self.parallel:
            return "cpu (1 thread)"
        import numba

        return f"cpu ({numba.get_num_threads()} threads)"
