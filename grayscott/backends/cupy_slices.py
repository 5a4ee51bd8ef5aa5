"""``cupy``: the NumPy slices, unchanged, on CuPy arrays on the GPU."""

from __future__ import annotations

from typing import Any

import numpy as np

from grayscott.backends._cuda import CupyDevice
from grayscott.backends._slices import SlicesBackend
from grayscott.backends.base import register


@register
class CupyBackend(CupyDevice, SlicesBackend):
    name = "cupy"
    summary = "CuPy slices: the NumPy code on the GPU (one kernel per array operation)"

    def to_device(self, a: np.ndarray) -> Any:
        import cupy

        return cupy.asarray(a, dtype=self.params.np_dtype)

    def to_host(self, a: Any) -> np.ndarray:
        import cupy

        return cupy.asnumpy(a)
