"""``c-openmp``: the yardstick, a straightforward fused C/OpenMP loop (not one of ours).

What a student writes in C for the school's step (``csrc/c_loop.c``): one pass per step, the
Laplacian and the update term by term as ``grayscott.model`` writes them, rows shared among
OpenMP threads, gcc -O3 -march=native. ``grayscott bench`` lists it beside our backends so that
every "x times the C loop" comes from one run. It needs a C compiler, found at run time.
"""

from __future__ import annotations

import ctypes

import numpy as np

from grayscott.backends._c import CTYPE, CBackend, ptr
from grayscott.backends.base import HostPairs, register


@register
class COpenMPBackend(CBackend, HostPairs):
    name = "c-openmp"
    summary = "reference: a plain fused C/OpenMP loop, gcc -O3 -march=native (compiled here)"
    source = "c_loop.c"
    reference = True

    def load(self, u: np.ndarray, v: np.ndarray) -> None:
        self._load_pairs(u, v)
        self._fn = self.library().gs_loop
        real = CTYPE[self.params.dtype]
        self._fn.argtypes = [ctypes.c_void_p] * 4 + [ctypes.c_long] * 3 + [real] * 5 + [ctypes.c_int]
        self._fn.restype = ctypes.c_int
        self._coefficients = self.params.coefficients()

    def advance(self, steps: int) -> None:
        p = self.params
        if self._fn(ptr(self.u), ptr(self.v), ptr(self.u2), ptr(self.v2), p.rows, p.cols, steps,
                    *self._coefficients, self.threads):
            self._swap()
