"""``c-blocked``: our own fused C kernel, box-sum Laplacian and temporal blocking.

The step of ``csrc/gs_blocked.c``, compiled here with gcc -O3 -march=native and OpenMP:

- the school's Laplacian (eight neighbours, centre -8) as the 3x3 box sum minus 9 x the
  centre, the box sum separable (three rows summed once per row into a scratch row, then three
  neighbouring column sums), so about 7 loads and 4 adds per cell and field instead of 9 and 8;
- the Euler update folded into five constants computed here from ``grayscott.model``
  (``folded_coefficients``), so the inner loop is 3 multiply-adds per field;
- rows 64-byte aligned with the interior starting on a cache line, so the unit-stride loops
  run on packed ymm (zmm) registers with no branch, modulo or indirection per cell;
- temporal blocking as in ``numba-blocked``: bands of rows advanced ``depth`` steps per pass,
  intermediate levels in three-row rings that stay in L2; OpenMP threads take bands one by one.

The sums are in another order than NumPy's (box minus 9 x centre, constants folded, fused
multiply-adds), so the result agrees with NumPy within ``model.tolerance`` (tested), not bit
for bit. Without a C compiler the backend is unavailable and says so in one line.
"""

from __future__ import annotations

import ctypes

import numpy as np

from grayscott import model, native
from grayscott.backends._bands import band_edges
from grayscott.backends._c import CBackend, ptr
from grayscott.backends.base import SMALL_OBJECTS, register

#: Steps per pass; the rings of a band (depth - 1 levels x 3 rows x 2 fields x 7.8 kB on 1920
#: columns) stay in L2. See benchmarks/NOTES.md for the measurements behind these defaults.
DEFAULT_DEPTH = 8
#: Bands per thread, handed out one at a time (a thread slowed by other work takes fewer).
BANDS_PER_THREAD = 2

ALIGN = 64


def folded_coefficients(params: model.Params) -> tuple[float, ...]:
    """(au, bu, cu, av, bv, dt) with u' = au u + bu box_u - dt u v v + cu and
    v' = av v + bv box_v + dt u v v: ``model.react`` with lap = box - 9 x centre, expanded."""
    du, dv, feed, kill, dt = params.coefficients()
    return (1.0 - dt * (feed + 9.0 * du), dt * du, dt * feed,
            1.0 - dt * (feed + kill + 9.0 * dv), dt * dv, dt)


def aligned_zeros(shape: tuple[int, ...], dtype: np.dtype, align: int = ALIGN) -> np.ndarray:
    """A zeroed C-contiguous array whose first element sits on an ``align``-byte boundary."""
    nbytes = int(np.prod(shape)) * dtype.itemsize
    raw = np.zeros(nbytes + align, dtype=np.uint8)
    start = -raw.ctypes.data % align
    return raw[start:start + nbytes].view(dtype).reshape(shape)


@register
class CBlockedBackend(CBackend):
    name = "c-blocked"
    summary = (f"our fused C kernel: box-sum Laplacian, {DEFAULT_DEPTH} steps per pass, "
               "OpenMP over row bands (compiled here)")
    source = "gs_blocked.c"
    depth = DEFAULT_DEPTH
    bands_per_thread = BANDS_PER_THREAD

    def load(self, u: np.ndarray, v: np.ndarray) -> None:
        p, dtype = self.params, self.params.np_dtype
        self._fn = self.library().gs_sweep
        self._fn.argtypes = ([ctypes.c_void_p] * 7 + [ctypes.c_int] * 2 + [ctypes.c_long] * 4
                             + [ctypes.c_void_p, ctypes.c_int])
        self._fn.restype = None
        self.off, self.stride = self._row_layout()
        self.u, self.v, self.u2, self.v2 = (
            aligned_zeros((p.rows + 2, self.stride), dtype) for _ in range(4))
        for dst, src in ((self.u, u), (self.v, v), (self.u2, u), (self.v2, v)):
            self._padded(dst)[...] = src
        self._k = np.array(folded_coefficients(p), dtype=dtype)
        self.set_bands(self.bands_per_thread * self.threads)

    def _row_layout(self) -> tuple[int, int]:
        """(offset, stride) of a row in elements: interior column 1 on a cache line; the
        stride a whole number of cache lines, with room for the frame column and one more
        whole vector (read, never used) after the interior."""
        off = ALIGN // self.params.np_dtype.itemsize
        return off, (-(-self.params.cols // off) + 2) * off

    def state_bytes(self) -> int:
        """Four padded grids of ``stride`` columns, and each band's rings and scratch rows
        (the bands of ``load``, one thread's worth per core: the count before compiling)."""
        p = self.params
        _, stride = self._row_layout()
        threads = getattr(self, "threads", native.default_threads())
        bands = len(band_edges(p.rows, self.bands_per_thread * threads)) - 1
        rows = 4 * (p.rows + 2) + bands * (max(self.depth - 1, 1) * 3 * 2 + 2)
        return rows * stride * p.np_dtype.itemsize + 6 * ALIGN + SMALL_OBJECTS

    def set_bands(self, bands: int) -> None:
        """Split the rows into ``bands`` bands and allocate their rings and scratch rows."""
        p, dtype = self.params, self.params.np_dtype
        self._bands = band_edges(p.rows, bands)
        n = len(self._bands) - 1
        self._rings = aligned_zeros((n, max(self.depth - 1, 1), 3, 2, self.stride), dtype)
        for field, value in ((0, model.U_BOUNDARY), (1, model.V_BOUNDARY)):
            self._rings[..., field, self.off - 1] = value
            self._rings[..., field, self.off + p.cols] = value
        self._scratch = aligned_zeros((n, 2, self.stride), dtype)

    def _padded(self, a: np.ndarray) -> np.ndarray:
        """The (rows + 2) x (cols + 2) view of an internal array, frame included."""
        return a[:, self.off - 1:self.off + self.params.cols + 1]

    def advance(self, steps: int) -> None:
        p = self.params
        while steps > 0:
            depth = min(self.depth, steps)
            self._fn(ptr(self.u), ptr(self.v), ptr(self.u2), ptr(self.v2), ptr(self._rings),
                     ptr(self._scratch), ptr(self._bands), len(self._bands) - 1, depth,
                     p.rows, p.cols, self.off, self.stride, ptr(self._k), self.threads)
            self.u, self.u2 = self.u2, self.u
            self.v, self.v2 = self.v2, self.v
            steps -= depth

    def fetch_v(self) -> np.ndarray:
        return self.v[1:-1, self.off:self.off + self.params.cols].copy()

    def fetch_state(self) -> tuple[np.ndarray, np.ndarray]:
        return self._padded(self.u).copy(), self._padded(self.v).copy()
