"""What the two C backends share: the compiled library per dtype, and its availability."""

from __future__ import annotations

import ctypes
from typing import Any

import numpy as np

from grayscott import native
from grayscott.backends.base import Backend

CTYPE = {"float32": ctypes.c_float, "float64": ctypes.c_double}
#: ``-D`` macros per dtype: the C type, and GS_DOUBLE where a kernel needs to know its lanes.
C_REAL = {"float32": ("REAL=float",), "float64": ("REAL=double", "GS_DOUBLE")}


def ptr(a: np.ndarray) -> int:
    """Address of a C-contiguous array's first element, for a ``c_void_p`` argument."""
    assert a.flags.c_contiguous
    return int(a.ctypes.data)


class CBackend(Backend):
    """A backend whose step is a C function compiled here (``grayscott.native``)."""

    source: str
    #: Extra ``-D`` macros for the compiler (variants of a kernel, for experiments).
    defines: tuple[str, ...] = ()
    libraries = ()

    @classmethod
    def unavailable_reason(cls) -> str | None:
        return native.unavailable_reason()

    def library(self) -> Any:
        """The compiled library for this run's dtype (compiled on first use, then cached)."""
        lib, self.openmp = native.load(self.source,
                                   (*C_REAL[self.params.dtype], *self.defines))
        self.threads = native.default_threads() if self.openmp else 1
        return lib

    @property
    def device(self) -> str:
        threads = getattr(self, "threads", native.default_threads())
        return f"cpu ({threads} thread{'s' if threads != 1 else ''}, C)"

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        if native.compiler() is not None:
            info["versions"]["cc"] = native.compiler_version()
        return info
