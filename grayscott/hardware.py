"""What machine we run on: CPU, NVIDIA driver and GPUs, without importing any GPU library.

The driver is asked directly through ``libcuda.so.1`` (ctypes), so ``grayscott backends``,
benchmark files and the launcher can say "no GPU" or "driver too old" on any machine.
"""

from __future__ import annotations

import ctypes
import os
import platform
import socket
from dataclasses import dataclass, field
from functools import cache


@dataclass(frozen=True)
class CudaDriver:
    """The NVIDIA driver as libcuda reports it."""

    version: int  # e.g. 13000 for CUDA 13.0
    gpus: tuple[str, ...] = field(default=())

    @property
    def cuda_version(self) -> str:
        return f"{self.version // 1000}.{(self.version % 1000) // 10}"


@cache
def cuda_driver() -> CudaDriver | None:
    """The CUDA driver and its GPUs, or None when there is no driver or no GPU."""
    try:
        lib = ctypes.CDLL("libcuda.so.1")
    except OSError:
        return None
    if lib.cuInit(0) != 0:
        return None
    version, count = ctypes.c_int(0), ctypes.c_int(0)
    if lib.cuDriverGetVersion(ctypes.byref(version)) != 0:
        return None
    if lib.cuDeviceGetCount(ctypes.byref(count)) != 0 or count.value == 0:
        return None
    names = []
    for index in range(count.value):
        handle, buf = ctypes.c_int(0), ctypes.create_string_buffer(256)
        if lib.cuDeviceGet(ctypes.byref(handle), index) == 0 and \
                lib.cuDeviceGetName(buf, 256, handle) == 0:
            names.append(buf.value.decode(errors="replace"))
    return CudaDriver(version=version.value, gpus=tuple(names))


#: The first NVIDIA Linux driver of each CUDA major version (NVIDIA's compatibility table).
DRIVER_FOR_CUDA = {12: 525, 13: 580}


def _driver_hint(cuda_major: int) -> str:
    driver = DRIVER_FOR_CUDA.get(cuda_major)
    return f", CUDA {cuda_major} needs >= {driver}" if driver else ""


def gpu_reason(min_cuda_major: int | None = None) -> str | None:
    """None when an NVIDIA GPU is usable (with a driver new enough), else why not."""
    driver = cuda_driver()
    if driver is None:
        return "no NVIDIA GPU found (no driver libcuda.so.1, or it sees no device)"
    if min_cuda_major is not None and driver.version // 1000 < min_cuda_major:
        return (f"the NVIDIA driver supports CUDA {driver.cuda_version}, this library needs "
                f"CUDA {min_cuda_major} (update the driver{_driver_hint(min_cuda_major)})")
    return None


def cpu_name() -> str:
    """The CPU model name from /proc/cpuinfo, else what ``platform`` knows."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_count() -> int:
    """CPUs this process may use (respects affinity and container limits on Linux)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def machine_info() -> dict[str, object]:
    """A summary for benchmark files and HDF5 attributes."""
    driver = cuda_driver()
    return {
        "hostname": socket.gethostname(),
        "cpu": cpu_name(),
        "cpus": cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "gpus": list(driver.gpus) if driver else [],
        "cuda_driver": driver.cuda_version if driver else None,
    }
