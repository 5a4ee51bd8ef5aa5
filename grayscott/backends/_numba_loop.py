"""The explicit-loop Gray-Scott that Numba compiles, serial or with ``prange``.

``step_row`` updates one row: it calls the model's own ``laplacian_rows`` and ``react``,
compiled by Numba as inlined scalar functions, so the loops are the only thing written here.
The plain loop updates u and v in one pass into a second pair of buffers, then the buffers
swap; ``numba-blocked`` calls the same ``step_row`` on rows held in a cache-sized ring.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import numpy as np

from grayscott import model
from grayscott.backends.base import HostPairs


@cache
def compiled_step_row() -> Callable[..., None]:
    """``step_row(ua, uc, ub, va, vc, vb, u_out, v_out, du, dv, feed, kill, dt)``: one row.

    The rows are padded 1-D arrays (cols + 2); the interior columns of ``u_out``/``v_out``
    get the next step of the centre row, their two frame cells are left alone.
    """
    import numba

    lap = numba.njit(inline="always")(model.laplacian_rows)
    react = numba.njit(inline="always")(model.react)

    @numba.njit(inline="always")
    def step_row(ua, uc, ub, va, vc, vb, u_out, v_out, du, dv, feed, kill, dt):
        for j in range(1, uc.shape[0] - 1):
            u_out[j], v_out[j] = react(uc[j], vc[j], lap(ua, uc, ub, j), lap(va, vc, vb, j),
                                       du, dv, feed, kill, dt)

    return step_row


@cache
def compiled_advance(parallel: bool) -> Callable[..., int]:
    """``advance(u, v, u2, v2, steps, du, dv, feed, kill, dt) -> parity``, compiled once."""
    import numba

    step_row = compiled_step_row()

    @numba.njit(parallel=parallel, nogil=True)
    def advance(u, v, u2, v2, steps, du, dv, feed, kill, dt):
        rows = u.shape[0] - 2
        for _ in range(steps):
            for i in numba.prange(1, rows + 1):
                step_row(u[i - 1], u[i], u[i + 1], v[i - 1], v[i], v[i + 1], u2[i], v2[i],
                         du, dv, feed, kill, dt)
            u, u2 = u2, u
            v, v2 = v2, v
        return steps % 2

    return advance


class NumbaLoopBackend(HostPairs):
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
        self._load_pairs(u, v)
        self._coefficients = tuple(dtype.type(c) for c in self.params.coefficients())
        self._advance: Any = compiled_advance(self.parallel)

    def advance(self, steps: int) -> None:
        if self._advance(self.u, self.v, self.u2, self.v2, steps, *self._coefficients):
            self._swap()

    @property
    def device(self) -> str:
        if not self.parallel:
            return "cpu (1 thread)"
        import numba

        return f"cpu ({numba.get_num_threads()} threads)"
