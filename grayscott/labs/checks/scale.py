"""The checks of the scaling day (labs/scale): MPI domain decomposition and halo exchange,
JAX sharding over a mesh, the speed ladder's projection to the school's run.

The halo exchange is judged on real MPI ranks by ``grayscott.labs.halo_check``, a program
that ``mpiexec`` starts in every rank: it stays outside this package so that each rank
imports numpy and mpi4py only, not every check of every day.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from grayscott import model
from grayscott.labs.checks.core import (
    Fn,
    Verdict,
    array_problem,
    conclude,
    correct,
    not_a_tuple,
    reference_steps,
    refuse,
    seeded_state,
)

# --- scale: MPI domain decomposition -------------------------------------------------------

#: (rows, ranks) the decomposition check tries: even, uneven, one rank, one row per rank.
SPLITS = ((12, 1), (12, 3), (11, 3), (10, 4), (270, 4), (3, 3), (7, 2))


def check_split_rows(split_rows: Fn, *, raise_on_failure: bool = True) -> Verdict:
    """``split_rows(rows, size, rank) -> (start, stop)``: contiguous blocks in rank order, balanced."""
    name = "check_split_rows"
    for rows, size in SPLITS:
        blocks = []
        for rank in range(size):
            got = split_rows(rows, size, rank)
            if (not isinstance(got, (tuple, list)) or len(got) != 2
                    or not all(isinstance(x, (int, np.integer)) for x in got)):
                return refuse(name, f"split_rows({rows}, {size}, {rank}) returned {got!r}, expected a pair "
                              "of ints (start, stop)", raise_on_failure)
            blocks.append((int(got[0]), int(got[1])))
        problem = _split_problem(rows, size, blocks)
        if problem is not None:
            return refuse(name, problem, raise_on_failure)
    return correct(name, f"{len(SPLITS)} (rows, ranks) cases: contiguous, in rank order, "
                     "sizes differ by at most one")


def _split_problem(rows: int, size: int, blocks: list[tuple[int, int]]) -> str | None:
    expected_start = 0
    for rank, (start, stop) in enumerate(blocks):
        call = f"split_rows({rows}, {size}, {rank}) returned ({start}, {stop})"
        if start != expected_start:
            where = "0" if rank == 0 else f"{expected_start}, where rank {rank - 1} stops"
            return f"{call}: rank {rank} must start at {where}"
        if stop < start:
            return f"{call}: stop is before start"
        expected_start = stop
    if expected_start != rows:
        return (f"{rows} rows over {size} ranks: the blocks end at row {expected_start}, "
                f"not {rows}: {'rows are lost' if expected_start < rows else 'past the grid'}")
    sizes = [stop - start for start, stop in blocks]
    if max(sizes) - min(sizes) > 1:
        return (f"{rows} rows over {size} ranks gives blocks of {sizes} rows: they must differ by at "
                "most one (the slowest rank sets the pace)")
    return None


#: Seconds the halo check waits for its ranks: a correct exchange of a few small rows takes
#: about a second (most of it starting the ranks); one that waits longer is stuck, and the
#: student hears so now rather than after the two minutes a whole run is allowed.
HALO_TIMEOUT_S = 20.0


def check_halo_exchange(script: str, *, ranks: int = 3, raise_on_failure: bool = True,
                        timeout: float = HALO_TIMEOUT_S) -> Verdict:
    """``exchange_halos(comm, a, up, down)`` in ``script``, run on ``ranks`` real MPI processes.

    See ``grayscott.labs.halo_check``: every ghost row must hold the neighbour's edge row, the
    boundary's ghost rows and the interiors must stay as they were. Ranks that do not finish
    within ``timeout`` seconds are a deadlock, named as one.
    """
    import json

    from grayscott.labs import mpi

    name = "check_halo_exchange"
    try:
        output = mpi.mpirun("grayscott.labs.halo_check", script, ranks=ranks, quiet=True, module=True,
                            timeout=timeout)
    except mpi.MPIRunFailed as exc:
        if "did not finish" not in str(exc):
            raise
        return refuse(name, f"the {ranks} ranks were still waiting after {timeout:g} s: a deadlock, "
                      "every rank blocked in a receive whose sender is itself blocked (a rank that "
                      "receives before it sends waits for a neighbour doing the same): pair each "
                      "send with its receive so that no rank waits first", raise_on_failure)
    lines = [line for line in output.splitlines() if line.startswith("{")]
    if not lines:
        return refuse(name, f"the check printed nothing (did {script} print or exit by itself?): "
                           f"{output[-300:]!r}",
                      raise_on_failure)
    verdict = json.loads(lines[-1])
    return conclude(name, verdict["problem"], f"{verdict['ranks']} ranks, strips of different heights, "
                    "boundary rows untouched", raise_on_failure)


# --- scale: JAX sharding -------------------------------------------------------------------

def _mesh_size(mesh: Any) -> tuple[str, int]:
    """The name and size of a 1-D mesh's axis (the notebooks use one axis, "rows")."""
    (axis, size), = mesh.shape.items()
    return axis, int(size)


def _rows_split_problem(a: Any, rows: int, n: int, what: str) -> str | None:
    """None if ``a`` is split by rows over ``n`` devices, one block of rows/n rows each, in order."""
    import jax

    if not isinstance(a, jax.Array):
        return f"{what} is a {type(a).__name__}, expected a JAX array"
    shards = sorted(a.addressable_shards, key=lambda s: s.index[0].start or 0)
    devices = {s.device for s in shards}
    if len(devices) != n:
        return f"{what} lives on {len(devices)} device(s), expected all {n} devices of the mesh"
    if n > 1 and all(s.data.shape == a.shape for s in shards):
        return (f"every device holds all of {what} (replicated): name the mesh axis for dimension 0, "
                "PartitionSpec(axis, None)")
    block = rows // n
    for k, s in enumerate(shards):
        if s.data.shape[0] != block or s.data.shape[1] != a.shape[1]:
            return (f"{what}: device {k} holds a block of shape {s.data.shape}, expected ({block}, "
                    f"{a.shape[1]}): split the rows (dimension 0), keep whole rows")
    return None


def check_row_sharding(shard_rows: Fn, mesh: Any, *, raise_on_failure: bool = True) -> Verdict:
    """``shard_rows(a)``: ``a`` on the mesh's devices, split by rows (blocks of rows/n rows)."""
    name = "check_row_sharding"
    _, n = _mesh_size(mesh)
    rng = np.random.default_rng(7)
    a = rng.uniform(0, 1, (6 * n, 17)).astype(np.float32)
    got = shard_rows(a)
    problem = _rows_split_problem(got, a.shape[0], n, "the result")
    if problem is None:
        problem = array_problem(np.asarray(got), a, "the sharded array", 0.0)
    return conclude(name, problem, f"{a.shape[0]} rows over {n} devices, {a.shape[0] // n} rows each",
                    raise_on_failure)


def check_jax_halo_rows(halo_rows: Fn, mesh: Any, *, raise_on_failure: bool = True) -> Verdict:
    """``halo_rows(block, boundary)`` inside ``shard_map``: the block with the neighbours' edge rows.

    Each device's block of an array whose values say row and column gets one row above (the
    last row of the block above, or ``boundary`` on the first device) and one below.
    """
    import jax
    from jax.sharding import NamedSharding
    from jax.sharding import PartitionSpec as P

    name = "check_jax_halo_rows"
    axis, n = _mesh_size(mesh)
    block, cols, boundary = 3, 5, -1.0
    rr, cc = np.meshgrid(np.arange(block * n), np.arange(cols), indexing="ij")
    a = (10 * rr + cc).astype(np.float32)
    x = jax.device_put(a, NamedSharding(mesh, P(axis, None)))
    mapped = jax.shard_map(lambda b: halo_rows(b, boundary), mesh=mesh, in_specs=P(axis, None),
                           out_specs=P(axis, None))
    got = np.asarray(jax.jit(mapped)(x))
    if got.shape != ((block + 2) * n, cols):
        return refuse(name, f"each device's result has {got.shape[0] // n} rows "
                      f"(and {got.shape[1]} columns), expected {block + 2} x {cols}: its block of "
                      f"{block} rows plus one halo row above and one below", raise_on_failure)
    problem = None
    for k in range(n):
        mine = got[k * (block + 2):(k + 1) * (block + 2)]
        above = a[k * block - 1] if k > 0 else np.full(cols, boundary, np.float32)
        below = a[(k + 1) * block] if k < n - 1 else np.full(cols, boundary, np.float32)
        expected = np.vstack([above, a[k * block:(k + 1) * block], below])
        for row, label in ((0, "the row above"), (block + 1, "the row below")):
            if not np.array_equal(mine[row], expected[row]):
                source = ("the boundary value" if (row == 0 and k == 0) or (row > 0 and k == n - 1)
                          else f"device {k - 1 if row == 0 else k + 1}'s "
                               f"{'last' if row == 0 else 'first'} row")
                problem = (f"device {k}: {label} holds {mine[row][:3]}..., "
                           f"expected {source} {expected[row][:3]}...")
                break
        if problem is None and not np.array_equal(mine[1:-1], expected[1:-1]):
            problem = f"device {k}: its own rows changed; they go in the middle, unchanged"
        if problem:
            break
    return conclude(name, problem, f"{n} devices, the neighbours' edge rows and the boundary at both ends",
                    raise_on_failure)


def check_sharded_advance(advance: Fn, shard_rows: Fn, mesh: Any, *,
                          raise_on_failure: bool = True) -> Verdict:
    """``advance(u, v, steps)`` on interior arrays split by rows: agrees with numpy, stays split."""
    name = "check_sharded_advance"
    _, n = _mesh_size(mesh)
    params = model.Params(rows=6 * n, cols=17)
    u0, v0 = seeded_state(params)
    steps = 7
    ref_u, ref_v = reference_steps(u0, v0, steps, params)
    got = advance(shard_rows(u0[1:-1, 1:-1]), shard_rows(v0[1:-1, 1:-1]), steps)
    if (problem := not_a_tuple(got)) is not None:
        return refuse(name, problem, raise_on_failure)
    for label, a, expected in (("u", got[0], ref_u[1:-1, 1:-1]), ("v", got[1], ref_v[1:-1, 1:-1])):
        problem = (array_problem(np.asarray(a), expected, f"the new {label} (interior)",
                                 model.tolerance("float32"))
                   or _rows_split_problem(a, params.rows, n, f"the new {label}"))
        if problem:
            break
    return conclude(name, problem, f"{steps} steps on {params.rows}x{params.cols} split over {n} devices "
                    "agree with the numpy backend, result still split by rows", raise_on_failure)


# --- scale: the speed ladder ---------------------------------------------------------------

def check_school_seconds(school_seconds: Fn, *, raise_on_failure: bool = True) -> Verdict:
    """``school_seconds(ms_per_step, rows, cols)``: the school's whole run at that speed, in seconds."""
    from grayscott import school

    name = "check_school_seconds"
    run = school.school_run()
    cases = ((2.0, run.rows, run.cols), (0.5, 270, 480), (0.02, 64, 96))
    for ms, rows, cols in cases:
        got = school_seconds(ms, rows, cols)
        expected = school.projected_seconds(ms, rows, cols)
        if not isinstance(got, (int, float, np.floating)):
            return refuse(name, f"school_seconds({ms}, {rows}, {cols}) returned a {type(got).__name__}, "
                          "expected a number of seconds", raise_on_failure)
        if np.isclose(got, expected, rtol=1e-6):
            continue
        call = f"school_seconds({ms}, {rows}, {cols}) = {float(got):.6g}, expected {expected:.6g}"
        unscaled = ms / 1e3 * run.steps
        hints = [
            (expected * 1e3, "milliseconds, not seconds: divide by 1000"),
            (expected / 1e3, "a factor 1000 too small: ms/step x steps is milliseconds, "
                             "/ 1000 gives seconds"),
            (unscaled, f"the school's grid has {run.cells / (rows * cols):g} times as many cells as "
                       f"{rows}x{cols}: scale the time per step by that ratio"),
            (unscaled * (rows * cols) / run.cells,
             "the cell ratio is upside down: the school's grid is the larger"),
            (expected / run.steps_per_frame,
             f"the run has {run.frames} frames of {run.steps_per_frame} steps "
             f"each: run.steps = {run.steps} steps in all"),
        ]
        hint = next((text for value, text in hints if np.isclose(got, value, rtol=1e-6)), None)
        return refuse(name, call + (f" ({hint})" if hint else ""), raise_on_failure)
    return correct(name, f"{run.frames} x {run.steps_per_frame} steps of {run.rows}x{run.cols}, "
                         "scaled by cells")
