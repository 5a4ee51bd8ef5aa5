"""The first cell of a GPU notebook: stop cleanly, with one clear line, when no GPU is usable.

CuPy and cuPyNumeric run only on an NVIDIA GPU. On a machine without one (a laptop, CI) their
notebooks stop at the first code cell with ``NeedsGPU``: the message says which library and
why (no driver, library not installed, driver too old), and the tests tell this expected stop
apart from a real error by the exception's class. JAX and PyTorch notebooks do not use this:
they run on the CPU when there is no GPU.
"""

from __future__ import annotations

from grayscott import backends

#: Library names for the message, by backend.
LIBRARY = {"cupy": "CuPy", "cupy-fused": "CuPy", "cupynumeric": "cuPyNumeric"}


class NeedsGPU(Exception):  # noqa: N818 - the name is what a student reads in the traceback
    """This notebook needs an NVIDIA GPU (and its library), and this machine has none usable."""


def message(backend: str, reason: str) -> str:
    return f"This notebook needs an NVIDIA GPU with {LIBRARY.get(backend, backend)}: {reason}"


def require_gpu(*backend_names: str) -> None:
    """Return when every named backend can run here; else print why and raise ``NeedsGPU``."""
    for name in backend_names:
        reason = backends.get(name).unavailable_reason()
        if reason is not None:
            line = message(name, reason)
            print(line)
            raise NeedsGPU(line)
