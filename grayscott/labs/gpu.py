"""The first cell of a GPU-day notebook: stop cleanly, with one clear line, when it cannot run.

CuPy and cuPyNumeric run only on an NVIDIA GPU. On a machine without one (a laptop, CI) their
notebooks stop at the first code cell with ``NeedsGPU``. The machine is asked first: where
there is no GPU, "pip install cupy" would not help, so the student reads that this machine has
no GPU and where the notebook does run. With a GPU, the message names what else is missing
(the library, or a driver too old for it). JAX and PyTorch run on the CPU when
there is no GPU, but PyTorch is not in every environment (the cpu images leave it out: its
wheel is large): its notebook stops with ``NeedsLibrary`` and how to install it. The tests
tell these expected stops apart from a real error by the exception's class.
"""

from __future__ import annotations

import os
import sys

from grayscott import backends, hardware

#: Library names for the message, by backend.
LIBRARY = {"cupy": "CuPy", "cupy-fused": "CuPy", "cupynumeric": "cuPyNumeric", "torch": "PyTorch"}


class LabStop(Exception):
    """This notebook cannot run here; the message is the one line a student needs.

    IPython renders an exception through ``_render_traceback_`` when it has one: the
    student reads the reason once, without frames of this module."""

    def _render_traceback_(self) -> list[str]:
        return [f"\x1b[1;31m{self}\x1b[0m"]


class NeedsGPU(LabStop):
    """This notebook needs an NVIDIA GPU (and its library), and this machine has none usable."""


class NeedsLibrary(LabStop):
    """This notebook needs a library that is not installed in this environment."""


#: Where a GPU notebook runs when this machine has no GPU (the course's GPU day), and what
#: runs here meanwhile.
ELSEWHERE = ("run it where there is one: the hub's GPU profile, or `gslab run jupyter --target gpu` "
             "on a machine with an NVIDIA GPU; here, notebooks 1 (JAX) and 3 (PyTorch) run on the CPU")


def no_gpu_message(backend_names: tuple[str, ...], reason: str) -> str:
    libraries = " and ".join(dict.fromkeys(LIBRARY.get(name, name) for name in backend_names))
    return (f"This notebook needs an NVIDIA GPU for {libraries}, and this machine has none "
            f"({reason}): {ELSEWHERE}")


def message(backend: str, reason: str) -> str:
    return f"This notebook needs an NVIDIA GPU with {LIBRARY.get(backend, backend)}: {reason}"


def library_message(backend: str, reason: str) -> str:
    return f"This notebook needs {LIBRARY.get(backend, backend)}: {reason}"


def require_gpu(*backend_names: str) -> None:
    """Return when every named backend can run here; else raise ``NeedsGPU`` saying why: the
    missing GPU first (nothing to install then), else the backend's own reason."""
    if (reason := hardware.gpu_reason()) is not None:
        raise NeedsGPU(no_gpu_message(backend_names, reason))
    for name in backend_names:
        reason = backends.get(name).unavailable_reason()
        if reason is not None:
            raise NeedsGPU(message(name, reason))


def require_library(backend: str) -> None:
    """Return when ``backend``'s library is installed (it may run on the CPU); else raise
    ``NeedsLibrary`` with how to install it."""
    reason = backends.get(backend).unavailable_reason()
    if reason is not None:
        raise NeedsLibrary(library_message(backend, reason))


def numba_cuda_target() -> str:
    """Where this notebook's Numba CUDA kernels will run: "gpu", or "simulator" on a machine
    without one, after switching Numba's CUDA simulator on (it runs every thread of a kernel
    in Python: the same answers, thousands of times slower, so the notebook shrinks its grid
    and times nothing). A laptop can then write and check a kernel before the GPU day.

    The simulator is chosen when ``numba.cuda`` is first imported: called after that import,
    without a GPU, the notebook stops with the way out (restart the kernel)."""
    if hardware.gpu_reason() is None:
        return "gpu"
    if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
        return "simulator"
    if "numba.cuda" in sys.modules:
        raise NeedsGPU("numba.cuda was imported before this cell, without the simulator this machine "
                       "needs (it has no NVIDIA GPU): restart the kernel and run this cell first")
    os.environ["NUMBA_ENABLE_CUDASIM"] = "1"
    if "numba" in sys.modules:  # numba read its settings at import: read them again
        from numba.core import config

        config.reload_config()
    return "simulator"
