"""The check cells of the lab notebooks: is the student's function right, and if not, why?

Each ``check_*`` calls the student's function on a small seeded input, compares with the
package's reference (``grayscott.model`` or the ``numpy`` backend, never a copy of it) and
prints either ``correct`` or the *first* precise problem: wrong shape, wrong dtype, the
boundary frame or the input modified, a NaN, or the cell whose value is wrong and by how
much. A student fixes one thing at a time, so one clear message beats a list.

One module per course, as the notebooks sit in labs/: ``cpu`` (its JAX notebooks in
``cpu_jax``), ``gpu``, ``scale``; what they share (the verdict, the guards, the comparisons
with the reference) is ``core``, JAX's tracing in the lesson's words ``jax_tracing``, the
likely mistakes of a wrong step ``diagnosis``. The notebooks call every check as
``checks.check_x`` after ``from grayscott.labs import checks``: this module names them all.
"""

from __future__ import annotations

from grayscott.labs.checks.core import (
    CHECK_PARAMS,
    NEIGHBOURS,
    ONE_STEP_TOL,
    CheckFailed,
    Fn,
    Passed,
    Verdict,
    array_problem,
    seeded_state,
    stencil_of,
)
from grayscott.labs.checks.cpu import (
    check_diffuse_1d,
    check_interior_view,
    check_laplacian,
    check_numba_step,
    check_peak_bytes,
    check_save_run,
    check_step,
    check_threaded,
    check_time_ms,
)
from grayscott.labs.checks.cpu_jax import (
    check_jax_advance,
    check_jax_fori,
    check_jax_laplacian,
    check_jax_power,
    check_jax_set_frame,
    check_jax_vmap,
)
from grayscott.labs.checks.diagnosis import STEP_PARAMS
from grayscott.labs.checks.gpu import (
    BATCH_PAIRS,
    check_device_step,
    check_host_frames,
    check_jax_batch,
    check_jax_scan_frames,
    check_run_to_file,
    check_torch_laplacian,
    to_host,
)
from grayscott.labs.checks.numba_cuda import check_cuda_kernel, check_cuda_run
from grayscott.labs.checks.scale import (
    SPLITS,
    check_halo_exchange,
    check_jax_halo_rows,
    check_row_sharding,
    check_school_seconds,
    check_sharded_advance,
    check_split_rows,
)

__all__ = [
    "BATCH_PAIRS",
    "CHECK_PARAMS",
    "NEIGHBOURS",
    "ONE_STEP_TOL",
    "SPLITS",
    "STEP_PARAMS",
    "CheckFailed",
    "Fn",
    "Passed",
    "Verdict",
    "array_problem",
    "check_cuda_kernel",
    "check_cuda_run",
    "check_device_step",
    "check_diffuse_1d",
    "check_halo_exchange",
    "check_host_frames",
    "check_interior_view",
    "check_jax_advance",
    "check_jax_batch",
    "check_jax_fori",
    "check_jax_halo_rows",
    "check_jax_laplacian",
    "check_jax_power",
    "check_jax_scan_frames",
    "check_jax_set_frame",
    "check_jax_vmap",
    "check_laplacian",
    "check_numba_step",
    "check_peak_bytes",
    "check_row_sharding",
    "check_run_to_file",
    "check_save_run",
    "check_school_seconds",
    "check_sharded_advance",
    "check_split_rows",
    "check_step",
    "check_threaded",
    "check_time_ms",
    "check_torch_laplacian",
    "seeded_state",
    "stencil_of",
    "to_host",
]
