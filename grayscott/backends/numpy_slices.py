"""``numpy``: the course's baseline, whole-array slices on the CPU."""

from __future__ import annotations

from typing import Any

import numpy as np

from grayscott.backends._slices import SlicesBackend
from grayscott.backends.base import register


@register
class NumpyBackend(SlicesBackend):
    name = "numpy"
    summary = "NumPy slices, the nine terms by hand (the course's baseline and our reference)"

    def to_device(self, a: np.ndarray) -> Any:
        return np.array(a, dtype=self.params.np_dtype, copy=True)

    def to_host(self, a: Any) -> np.ndarray:
        return np.array(a, copy=True)
