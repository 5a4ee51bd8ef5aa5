"""Judge a student's ``exchange_halos(comm, a, up, down)`` on real MPI ranks.

Run by ``checks.check_halo_exchange`` as
``mpiexec -n 3 python -m mpi4py -m grayscott.labs.halo_check halo.py``: each rank builds a
strip whose every value says which rank, row and column it comes from (strips of different
heights, so that a hard-coded row index shows), calls the student's function once, and rank
0 compares every strip with what a correct exchange leaves: ghost row 0 = the last interior
row of the rank above, ghost row -1 = the first interior row of the rank below, the ghost
rows at the domain's edges (the boundary frame) and every interior row unchanged. It prints
one JSON line: ``{"ranks": N, "problem": null}`` or the first problem found, in words.
"""

from __future__ import annotations

import json
import sys

import numpy as np

#: Interior columns of the test strips (plus the two frame columns).
COLS = 5
#: Ghost rows start at this value: it shows a row that nothing was received into.
UNSET = -1.0


def strip(rank: int) -> np.ndarray:
    """Rank ``rank``'s padded strip: 2 + rank interior rows; value rank*1000 + row*10 + col."""
    rows = 2 + rank
    rr, cc = np.meshgrid(np.arange(rows + 2), np.arange(COLS + 2), indexing="ij")
    a = (rank * 1000 + rr * 10 + cc).astype(np.float32)
    a[0], a[-1] = UNSET, UNSET
    return a


def _describe_row(row: np.ndarray, strips: list[np.ndarray]) -> str:
    """Which rank's row this is, if any: 'rank 1's interior row 2', 'never written'."""
    if np.all(row == UNSET):
        return "is unchanged: nothing was received into it"
    for rank, a in enumerate(strips):
        for index in range(1, len(a) - 1):
            if np.array_equal(row, a[index]):
                edge = {1: ", its first interior row", len(a) - 2: ", its last interior row"}.get(index, "")
                return f"holds rank {rank}'s a[{index}]{edge}"
    return "holds values that are no row of any rank"


def problem(before: list[np.ndarray], after: list[np.ndarray]) -> str | None:
    """The first difference between the strips after the exchange and a correct exchange."""
    size = len(before)
    for rank in range(size):
        got, mine = after[rank], before[rank]
        if got.shape != mine.shape:
            return (f"rank {rank}'s strip changed shape from {mine.shape} to {got.shape}: "
                    "fill the ghost rows in place")
        if not np.array_equal(got[1:-1], mine[1:-1]):
            return (f"rank {rank}'s interior rows changed: exchange_halos writes only the ghost "
                    "rows a[0] and a[-1]")
        last = len(mine) - 1
        for ghost, neighbour, source in ((0, rank - 1, -2), (last, rank + 1, 1)):
            side = "upper" if ghost == 0 else "lower"
            if not 0 <= neighbour < size:
                if not np.array_equal(got[ghost], mine[ghost]):
                    return (f"rank {rank}'s {side} ghost row a[{ghost if ghost == 0 else -1}] is the "
                            f"domain's boundary (no neighbour: MPI.PROC_NULL) and must stay as it was; "
                            f"it {_describe_row(got[ghost], before)}")
                continue
            want = before[neighbour][source]
            if not np.array_equal(got[ghost], want):
                label = "a[-2], its last interior row" if source == -2 else "a[1], its first interior row"
                return (f"rank {rank}'s {side} ghost row a[{ghost if ghost == 0 else -1}] "
                        f"{_describe_row(got[ghost], before)}; it must hold rank {neighbour}'s {label}")
    return None


def main(argv: list[str]) -> int:
    from mpi4py import MPI

    from grayscott.labs.mpi import load_script

    if len(argv) != 1:
        print("usage: python -m mpi4py -m grayscott.labs.halo_check SCRIPT.py", file=sys.stderr)
        return 2
    comm = MPI.COMM_WORLD
    halo = load_script(argv[0])
    up = comm.rank - 1 if comm.rank > 0 else MPI.PROC_NULL
    down = comm.rank + 1 if comm.rank < comm.size - 1 else MPI.PROC_NULL
    a = strip(comm.rank)
    before = a.copy()
    halo.exchange_halos(comm, a, up, down)
    gathered = comm.gather((before, np.asarray(a)), root=0)
    if comm.rank == 0:
        assert gathered is not None
        found = problem([b for b, _ in gathered], [g for _, g in gathered])
        print(json.dumps({"ranks": comm.size, "problem": found}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
