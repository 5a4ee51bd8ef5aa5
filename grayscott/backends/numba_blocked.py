"""``numba-blocked``: temporal blocking, several time steps per pass over memory.

A step reads u, v and writes u, v: 16 bytes per cell, 33 MB on the school's grid, more than
the caches hold, so a step-by-step loop is bound by memory bandwidth however many cores
compute. Here each thread takes a band of rows and advances it ``depth`` steps in one pass:
a wavefront walks down the band and, at each row ``s``, computes level 1 of row ``s``, level 2
of row ``s - 1``, ... level ``depth`` of row ``s - depth + 1``. The intermediate levels live in
rings of three rows per level (a few hundred kB, resident in the core's L2), so main memory
sees one read of (u, v) and one write of (u2, v2) per ``depth`` steps.

Bands overlap by ``depth - 1`` rows on each side, recomputed by both neighbours (the price of
threads never waiting on each other: a few percent of the work). Every cell is computed by
``step_row``, the same row update as ``numba``/``numba-parallel``, so the results are
bit-for-bit those of the plain loop.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import numpy as np

from grayscott import model
from grayscott.backends._bands import band_edges
from grayscott.backends._numba_loop import NumbaLoopBackend, compiled_step_row
from grayscott.backends.base import register

#: Steps per pass. 8 makes the memory traffic per step 1/8 of a plain step's while the rings
#: of a band (7 levels x 3 rows x 2 fields x 7.7 kB on 1920 columns) stay in a 1 MB L2.
#: Measured on 2 cores (1080 x 1920, one run): depth 8 to 32 within 10 % of each other, depth 4
#: up to 35 % slower; see benchmarks/NOTES.md.
DEFAULT_DEPTH = 8
#: Bands per thread, handed out one at a time (chunk size 1): a thread slowed down by
#: something else on its core (the HDF5 writer thread, on a 2-core machine) takes fewer
#: bands instead of making the other threads wait for it at the end of every pass.
BANDS_PER_THREAD = 2


@cache
def compiled_sweep() -> Callable[..., None]:
    """``sweep(u, v, u2, v2, ring_u, ring_v, bands, depth, coefficients...)``: depth steps."""
    import numba

    step_row = compiled_step_row()

    @numba.njit(parallel=True, nogil=True)
    def sweep(u, v, u2, v2, ring_u, ring_v, bands, depth, du, dv, feed, kill, dt):
        last = u.shape[0] - 1  # the bottom frame row; rows 1 .. last - 1 are the interior
        for b in numba.prange(bands.shape[0] - 1):
            r0, r1 = bands[b], bands[b + 1]
            ru, rv = ring_u[b], ring_v[b]
            for s in range(max(1, r0 - depth + 1), min(last, r1 + depth - 1) + depth - 1):
                for k in range(1, depth + 1):
                    i = s - k + 1  # the row this level computes at this point of the wave
                    if i < max(1, r0 - depth + k) or i >= min(last, r1 + depth - k):
                        continue
                    # level k - 1: the input for k = 1, else its ring (the frame rows are
                    # constant, so they are read from the input at every level)
                    if k == 1:
                        ua, uc, ub, va, vc, vb = u[i - 1], u[i], u[i + 1], v[i - 1], v[i], v[i + 1]
                    else:
                        lu, lv = ru[k - 2], rv[k - 2]
                        ua = u[0] if i == 1 else lu[(i - 1) % 3]
                        va = v[0] if i == 1 else lv[(i - 1) % 3]
                        uc, vc = lu[i % 3], lv[i % 3]
                        ub = u[last] if i + 1 == last else lu[(i + 1) % 3]
                        vb = v[last] if i + 1 == last else lv[(i + 1) % 3]
                    if k == depth:
                        step_row(ua, uc, ub, va, vc, vb, u2[i], v2[i], du, dv, feed, kill, dt)
                    else:
                        step_row(ua, uc, ub, va, vc, vb, ru[k - 1, i % 3], rv[k - 1, i % 3],
                                 du, dv, feed, kill, dt)

    return sweep


@register
class NumbaBlockedBackend(NumbaLoopBackend):
    name = "numba-blocked"
    summary = f"Numba prange over row bands, {DEFAULT_DEPTH} steps per pass (temporal blocking)"
    parallel = True
    depth = DEFAULT_DEPTH

    def _band_edges(self, rows: int) -> np.ndarray:
        import numba

        return band_edges(rows, BANDS_PER_THREAD * numba.get_num_threads())

    def state_bytes(self) -> int:
        """The two pairs, and each band's rings: 3 rows per intermediate level and field."""
        rows, width = self.params.padded_shape
        bands = len(self._band_edges(rows - 2)) - 1
        ring_rows = 2 * bands * max(self.depth - 1, 1) * 3
        return super().state_bytes() + ring_rows * width * self.params.np_dtype.itemsize

    def load(self, u: np.ndarray, v: np.ndarray) -> None:
        super().load(u, v)
        rows, width = self.u.shape[0] - 2, self.u.shape[1]
        self._bands = self._band_edges(rows)
        # rings[band, level, slot, column]; their frame columns hold the boundary values
        shape = (len(self._bands) - 1, max(self.depth - 1, 1), 3, width)
        self._ring_u = np.full(shape, model.U_BOUNDARY, dtype=self.u.dtype)
        self._ring_v = np.full(shape, model.V_BOUNDARY, dtype=self.v.dtype)
        self._sweep: Any = compiled_sweep()

    def advance(self, steps: int) -> None:
        import numba

        while steps > 0:
            depth = min(self.depth, steps)
            with numba.parallel_chunksize(1):
                self._sweep(self.u, self.v, self.u2, self.v2, self._ring_u, self._ring_v,
                            self._bands, depth, *self._coefficients)
            self.u, self.u2 = self.u2, self.u
            self.v, self.v2 = self.v2, self.v
            steps -= depth
