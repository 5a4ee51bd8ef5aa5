"""``cupynumeric``: the NumPy slices, unchanged, on cuPyNumeric (Legate) arrays.

Legate decides where the arrays live; more GPUs or nodes are asked for on the ``legate``
launcher's command line (``legate --gpus 2 ...``), not in this code.
"""

from __future__ import annotations

import importlib
from importlib import util
from typing import Any

import numpy as np

from grayscott import hardware
from grayscott.backends._slices import SlicesBackend
from grayscott.backends.base import register


@register
class CupynumericBackend(SlicesBackend):
    name = "cupynumeric"
    summary = "cuPyNumeric slices: the NumPy code on Legate, one or more GPUs"
    libraries = ("nvidia-cupynumeric", "legate")
    needs_gpu = True

    @classmethod
    def unavailable_reason(cls) -> str | None:
        # Importing cupynumeric starts the Legate runtime, which needs the driver's
        # libcuda.so.1 even to import: check for it before trying.
        if util.find_spec("cupynumeric") is None:
            return "cuPyNumeric is not installed (pip install 'grayscott[cupynumeric]')"
        if hardware.cuda_driver() is None:
            return "cuPyNumeric needs an NVIDIA driver and GPU (libcuda.so.1), none found"
        return None

    def to_device(self, a: np.ndarray) -> Any:
        # h5py first: Legate loads its own libhdf5 with global symbols, and an h5py imported
        # after it binds to that library and fails ("Not a datatype") when writing frames.
        importlib.import_module("h5py")
        import cupynumeric

        return cupynumeric.array(a, dtype=self.params.np_dtype)

    def to_host(self, a: Any) -> np.ndarray:
        return np.array(a, copy=True)

    @property
    def device(self) -> str:
        driver = hardware.cuda_driver()
        return f"legate {', '.join(driver.gpus) if driver else '?'}"
