"""``cupy``: the NumPy slices, unchanged, on CuPy arrays on the GPU."""

from __future__ import annotations

from typing import Any

import numpy as np

from grayscott.backends import _cuda
from grayscott.backends._slices import SlicesBackend
from grayscott.backends.base import register


@register
class CupyBackend(SlicesBackend):
    name = "cupy"
    summary = "CuPy slices: the NumPy code on the GPU (one kernel per array operation)"
    libraries = ("cupy-cuda13x", "cupy-cuda12x")
    needs_gpu = True

    @classmethod
    def unavailable_reason(cls) -> str | None:
        return _cuda.cupy_reason()

    def to_device(self, a: np.ndarray) -> Any:
        import cupy

        return cupy.asarray(a, dtype=self.params.np_dtype)

    def to_host(self, a: Any) -> np.ndarray:
        import cupy

        return cupy.asnumpy(a)

    def synchronize(self) -> None:
        import cupy

        cupy.cuda.get_current_stream().synchronize()

    @property
    def device(self) -> str:
        return _cuda.cupy_device_name()
