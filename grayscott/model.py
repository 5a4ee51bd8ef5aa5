"""The Gray-Scott model, defined once for every backend.

Every backend (NumPy, Numba, JAX, CuPy, cuPyNumeric, PyTorch, our CUDA kernels) takes its
constants, its initial state and its arithmetic from here, so that they cannot drift apart:

- ``react`` is the reaction-diffusion update of one cell *or* of whole arrays: it uses only
  ``+ - *``, so the same function runs on NumPy/CuPy/JAX/torch arrays and, compiled by
  Numba, on scalars inside an explicit loop.
- ``laplacian`` (the nine terms by hand, with slices) and ``laplacian_weighted`` (any 3x3
  weights) take a padded array and return the Laplacian of its interior, for every library
  that understands slices.
- ``laplacian_rows`` is the same nine-term stencil at column j of three rows (above, centre,
  below), for compiled explicit loops: they walk a grid row by row, or rows kept in a small
  cache-resident ring (temporal blocking).

The grid is stored padded: ``(rows + 2) x (cols + 2)`` with a one-cell frame held at the
boundary values u = 1, v = 0; only the interior is ever updated.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from grayscott.errors import UsageError

Stencil = tuple[tuple[float, float, float], tuple[float, float, float], tuple[float, float, float]]

#: The school's Laplacian: the 8 neighbours with weight 1 and the centre -8 (no 1/h^2).
STENCIL_9: Stencil = ((1.0, 1.0, 1.0), (1.0, -8.0, 1.0), (1.0, 1.0, 1.0))
#: The classic 5-point Laplacian, for the generic backends and their tests.
STENCIL_5: Stencil = ((0.0, 1.0, 0.0), (1.0, -4.0, 1.0), (0.0, 1.0, 0.0))

NAMED_STENCILS: dict[str, Stencil] = {"9point": STENCIL_9, "5point": STENCIL_5}

#: Boundary values of the frame around the grid.
U_BOUNDARY = 1.0
V_BOUNDARY = 0.0

DTYPES = ("float32", "float64")


@dataclass(frozen=True)
class Params:
    """Everything that defines a run of the model (the output layout aside)."""

    rows: int = 1080
    cols: int = 1920
    du: float = 0.1
    dv: float = 0.05
    feed: float = 0.014
    kill: float = 0.054
    dt: float = 1.0
    dtype: str = "float32"
    stencil: Stencil = field(default=STENCIL_9)

    def __post_init__(self) -> None:
        if self.rows < 3 or self.cols < 3:
            raise UsageError(f"grid {self.rows}x{self.cols} is too small: rows and cols must be >= 3")
        if self.dtype not in DTYPES:
            raise UsageError(f"dtype {self.dtype!r} is not supported: choose one of {', '.join(DTYPES)}")
        if len(self.stencil) != 3 or any(len(row) != 3 for row in self.stencil):
            raise UsageError("the stencil must be 3x3 weights")

    @property
    def shape(self) -> tuple[int, int]:
        """Interior shape (rows, cols): what is written to HDF5."""
        return (self.rows, self.cols)

    @property
    def padded_shape(self) -> tuple[int, int]:
        """Stored shape, with the one-cell boundary frame."""
        return (self.rows + 2, self.cols + 2)

    @property
    def np_dtype(self) -> np.dtype[Any]:
        return np.dtype(self.dtype)

    @property
    def is_default_stencil(self) -> bool:
        return self.stencil == STENCIL_9

    @property
    def bytes_per_step(self) -> int:
        """Fewest bytes a step moves through memory: read u, v and write u, v."""
        return 4 * self.rows * self.cols * self.np_dtype.itemsize

    def coefficients(self) -> tuple[float, float, float, float, float]:
        """(du, dv, feed, kill, dt): the argument order of ``react``."""
        return (self.du, self.dv, self.feed, self.kill, self.dt)

    def to_attrs(self) -> dict[str, Any]:
        """Flat dict for HDF5/JSON attributes."""
        attrs = asdict(self)
        attrs["stencil"] = np.asarray(self.stencil, dtype=np.float64)
        return attrs


def react(u: Any, v: Any, lap_u: Any, lap_v: Any,
          du: Any, dv: Any, feed: Any, kill: Any, dt: Any) -> tuple[Any, Any]:
    """One explicit Euler step of Gray-Scott, given the Laplacians of u and v.

    Pure ``+ - *`` arithmetic: it works on scalars (compiled by Numba) and on the arrays of
    every library. Returns the new (u, v). No float literal appears (``feed - feed * u``, not
    ``feed * (1.0 - u)``): Numba types a literal as float64 and would widen float32 runs to
    double precision, at half the vector width.
    """
    uvv = u * v * v
    u_new = u + dt * (du * lap_u - uvv + (feed - feed * u))
    v_new = v + dt * (dv * lap_v + uvv - (feed + kill) * v)
    return u_new, v_new


def laplacian(a: Any) -> Any:
    """Laplacian of the interior of padded ``a``: the nine terms by hand (the course's slices)."""
    return (
        a[:-2, :-2] + a[:-2, 1:-1] + a[:-2, 2:]
        + a[1:-1, :-2] - 8.0 * a[1:-1, 1:-1] + a[1:-1, 2:]
        + a[2:, :-2] + a[2:, 1:-1] + a[2:, 2:]
    )


def laplacian_weighted(a: Any, weights: Stencil) -> Any:
    """Laplacian of the interior of padded ``a`` for any 3x3 weights (zero weights skipped)."""
    rows, cols = a.shape[0] - 2, a.shape[1] - 2
    total: Any = None
    for di in range(3):
        for dj in range(3):
            w = weights[di][dj]
            if w == 0:
                continue
            term = a[di:di + rows, dj:dj + cols]
            term = term if w == 1 else w * term
            total = term if total is None else total + term
    if total is None:
        return 0.0 * a[1:-1, 1:-1]
    return total


def laplacian_rows(above: Any, centre: Any, below: Any, j: int) -> Any:
    """The nine-term Laplacian at column j of the row ``centre``, given its neighbour rows.

    ``8 * centre[j]`` is written as three doublings, exact in floating point (the same value
    as ``8.0 * c``) but without a float64 literal that would widen float32 math in Numba.
    """
    c2 = centre[j] + centre[j]
    return (
        above[j - 1] + above[j] + above[j + 1]
        + centre[j - 1] - ((c2 + c2) + (c2 + c2)) + centre[j + 1]
        + below[j - 1] + below[j] + below[j + 1]
    )


def seed_window(rows: int, cols: int) -> tuple[slice, slice]:
    """The school's seed square, in interior coordinates:
    rows [7R/16 - 4, 8R/16 - 4) and columns [7C/16, 8C/16), integer division, clipped at 0."""
    r0, r1 = max(7 * rows // 16 - 4, 0), max(8 * rows // 16 - 4, 0)
    c0, c1 = 7 * cols // 16, 8 * cols // 16
    return slice(r0, r1), slice(c0, c1)


def initial_state(params: Params, *, noise: float = 0.0,
                  seed: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Padded (u, v) on the host: u = 1, v = 0 everywhere, u = 0, v = 1 in the seed square.

    ``noise`` > 0 adds seeded uniform noise of that amplitude to the interior (clipped to
    [0, 1]), so that tests can start from a state without symmetry.
    """
    if noise < 0:
        raise UsageError("noise must be >= 0")
    u = np.full(params.padded_shape, U_BOUNDARY, dtype=params.np_dtype)
    v = np.full(params.padded_shape, V_BOUNDARY, dtype=params.np_dtype)
    rs, cs = seed_window(params.rows, params.cols)
    u_in, v_in = u[1:-1, 1:-1], v[1:-1, 1:-1]
    u_in[rs, cs] = 0.0
    v_in[rs, cs] = 1.0
    if noise > 0:
        rng = np.random.default_rng(seed)
        for interior in (u_in, v_in):
            jitter = noise * rng.uniform(-1.0, 1.0, size=interior.shape)
            np.clip(interior + jitter.astype(params.np_dtype), 0.0, 1.0, out=interior)
    return u, v


def check_boundary(u: np.ndarray, v: np.ndarray) -> str | None:
    """None if the frame still holds u = 1, v = 0, else what is wrong (for tests and smoke)."""
    for name, a, value in (("u", u, U_BOUNDARY), ("v", v, V_BOUNDARY)):
        edges = (a[0, :], a[-1, :], a[:, 0], a[:, -1])
        if not all(np.all(e == value) for e in edges):
            return f"the boundary frame of {name} is no longer {value}"
    return None


def tolerance(dtype: str) -> float:
    """Largest |difference| with the NumPy reference that still counts as agreement.

    Backends order the same float operations differently (fused multiply-adds, sums of the
    nine terms in another order); after a few hundred steps the values, all in [0, 1], differ
    by a few units in the last place times the number of steps.
    """
    return 2e-4 if dtype == "float32" else 1e-10
