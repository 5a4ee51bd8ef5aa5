"""Availability checks shared by the CUDA backends (CuPy, cuPyNumeric)."""

from __future__ import annotations

import re
from importlib import metadata, util
from typing import ClassVar

from grayscott import hardware


def wheel_cuda_major(prefix: str) -> int | None:
    """The CUDA major a wheel family was built for, from its installed distribution name
    (``cupy-cuda13x`` -> 13), or None if none is installed or the name does not say."""
    for dist in metadata.distributions():
        name = (dist.metadata["Name"] or "").lower()
        match = re.fullmatch(rf"{prefix}-cuda(\d+)x?", name)
        if match:
            return int(match.group(1))
    return None


def cupy_reason() -> str | None:
    """None when CuPy can use a GPU here, else why not."""
    if util.find_spec("cupy") is None:
        return "CuPy is not installed (pip install 'grayscott[cupy]')"
    reason = hardware.gpu_reason(min_cuda_major=wheel_cuda_major("cupy"))
    if reason:
        return reason
    import cupy

    try:
        cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # CUDARuntimeError and friends: say what CUDA said
        return f"CuPy cannot use the GPU: {exc}"
    return None


class CupyDevice:
    """What every CuPy backend shares: availability, synchronisation and the device's name."""

    libraries: ClassVar[tuple[str, ...]] = ("cupy-cuda13x", "cupy-cuda12x")
    needs_gpu: ClassVar[bool] = True

    @classmethod
    def unavailable_reason(cls) -> str | None:
        return cupy_reason()

    def device_free_bytes(self) -> int | None:
        """The driver's free memory, plus what CuPy's pool holds for reuse."""
        import cupy

        free, _ = cupy.cuda.runtime.memGetInfo()
        pool = cupy.get_default_memory_pool()
        return int(free) + int(pool.free_bytes())

    def synchronize(self) -> None:
        import cupy

        cupy.cuda.get_current_stream().synchronize()

    @property
    def device(self) -> str:
        import cupy

        device = cupy.cuda.Device()
        name = cupy.cuda.runtime.getDeviceProperties(device.id)["name"]
        return f"cuda:{device.id} {name.decode() if isinstance(name, bytes) else name}"
