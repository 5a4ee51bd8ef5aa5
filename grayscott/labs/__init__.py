"""Support code for the lab notebooks (labs/): grid size, check cells, comparisons, charts of
repeated timings (``timing``).

The notebooks run in three places: a student's JupyterLab (the school's full 1080 x 1920
grid, so that timings mean something), a quick pass on a laptop (``small``) and CI
(``tiny``, so that all the notebooks execute in seconds). ``GRAYSCOTT_LAB_SIZE`` picks one;
the notebooks ask ``lab_params()`` for the grid and ``by_size()`` for step counts instead of
hard-coding them, so the same file serves all three.
"""

from __future__ import annotations

from grayscott.labs.checks import CheckFailed
from grayscott.labs.compare import Comparison, compare_result, compare_with_backend
from grayscott.labs.gpu import NeedsGPU, NeedsLibrary, numba_cuda_target, require_gpu, require_library
from grayscott.labs.results import results_file
from grayscott.labs.size import SIZES, by_size, grid_size, lab_params, size_for_device, size_name
from grayscott.labs.timing import Timings, draw, repeat, show

__all__ = [
    "SIZES",
    "CheckFailed",
    "Comparison",
    "NeedsGPU",
    "NeedsLibrary",
    "Timings",
    "by_size",
    "compare_result",
    "compare_with_backend",
    "draw",
    "grid_size",
    "lab_params",
    "numba_cuda_target",
    "repeat",
    "require_gpu",
    "require_library",
    "results_file",
    "show",
    "size_for_device",
    "size_name",
]
