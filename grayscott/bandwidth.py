"""The machine's memory-bandwidth bound, measured in the same run as the benchmark.

Gray-Scott is memory bound: a step must at least read u, v and write u, v. A large copy
(bytes read + bytes written, over the time) measures what the memory can stream; a backend's
time per step is then compared with ``bytes_per_step / bandwidth``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Bandwidth:
    gb_per_s: float
    method: str


def _best_of(run: Callable[[], None], repeat: int, sync: Callable[[], None]) -> float:
    run()
    sync()
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        sync()
        best = min(best, time.perf_counter() - start)
    return best


def cpu_bandwidth(nbytes: int = 512 * 2**20, repeat: int = 5) -> Bandwidth:
    """Copy bandwidth of host memory, with all cores when Numba is there (else one)."""
    src = np.ones(nbytes // 4, dtype=np.float32)
    dst = np.empty_like(src)
    try:
        import numba

        @numba.njit(parallel=True)
        def copy(a, b):
            for i in numba.prange(a.size):
                b[i] = a[i]

        method = f"numba prange copy, {numba.get_num_threads()} threads"

        def run() -> None:
            copy(src, dst)
    except ImportError:
        method = "numpy copyto, 1 thread"

        def run() -> None:
            np.copyto(dst, src)

    seconds = _best_of(run, repeat, lambda: None)
    return Bandwidth(2 * nbytes / seconds / 1e9, f"{method}, {nbytes >> 20} MiB")


def gpu_bandwidth(nbytes: int = 1024 * 2**20, repeat: int = 10) -> Bandwidth | None:
    """Device-to-device copy bandwidth of the first NVIDIA GPU (CuPy, else torch), or None."""
    from grayscott import hardware

    if hardware.cuda_driver() is None:
        return None
    try:
        import cupy

        src = cupy.ones(nbytes // 4, dtype=cupy.float32)
        dst = cupy.empty_like(src)
        seconds = _best_of(lambda: cupy.copyto(dst, src), repeat,
                           cupy.cuda.get_current_stream().synchronize)
        return Bandwidth(2 * nbytes / seconds / 1e9, f"cupy device copy, {nbytes >> 20} MiB")
    except ImportError:
        pass
    try:
        import torch

        if not torch.cuda.is_available():
            return None
        tsrc = torch.ones(nbytes // 4, dtype=torch.float32, device="cuda")
        tdst = torch.empty_like(tsrc)
        def torch_copy() -> None:
            tdst.copy_(tsrc)

        seconds = _best_of(torch_copy, repeat, torch.cuda.synchronize)
        return Bandwidth(2 * nbytes / seconds / 1e9, f"torch device copy, {nbytes >> 20} MiB")
    except ImportError:
        return None
