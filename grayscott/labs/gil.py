"""The work the GIL lesson (cpu/2) runs one after another, in threads and in processes.

In a module, not in the notebook, because a process pool's workers find the function they run
by its module and name. With the "spawn" start method (the safe one: forking a Jupyter
kernel, which runs threads of its own, can leave a child waiting forever on a lock that one of
those threads held) a function defined in a notebook cell cannot be found by a new process.
"""

from __future__ import annotations

import numpy as np


def python_work(n: int) -> int:
    """Pure Python: holds the GIL the whole time."""
    total = 0
    for i in range(n):
        total += i * i
    return total


def numpy_work(a: np.ndarray) -> float:
    """Long NumPy loops in C: the GIL is released while they run."""
    return float(np.sqrt(a * a + 1.0).sum())
