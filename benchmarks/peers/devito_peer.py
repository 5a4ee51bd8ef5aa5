"""Peer: Devito, the explicit 9-point update as one Operator (OpenMP, Devito's own flags).

Needs devito in its own environment (not the project's), for instance
``/work/peers-venv/bin/pip install devito``; run it with that Python and ``PYTHONPATH=.`` from
the repository root. The grid is the padded (rows + 2) x (cols + 2) grid; the update
(``grayscott.model.react`` on Devito's symbolic functions, the Laplacian the model's 3x3 weights)
runs on Devito's built-in ``interior`` subdomain, so the frame keeps its boundary values.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import _common
import numpy as np

from grayscott import model

args = _common.parse(__doc__ or "")
os.environ.setdefault("DEVITO_LANGUAGE", "openmp")
os.environ.setdefault("DEVITO_LOGGING", "ERROR")
try:
    import devito
    from devito import Eq, Grid, Operator, TimeFunction
except ImportError:
    print('{"peer": "devito", "error": "devito is not installed in this Python"}')
    sys.exit(1)

params = model.Params(rows=args.rows, cols=args.cols, dtype=args.dtype)
grid = Grid(shape=params.padded_shape, dtype=params.np_dtype.type)
x, y = grid.dimensions
t = grid.stepping_dim
fu = TimeFunction(name="u", grid=grid, space_order=2)
fv = TimeFunction(name="v", grid=grid, space_order=2)


def lap(f: TimeFunction) -> object:
    return sum(w * f[t, x + di - 1, y + dj - 1] for di, row in enumerate(params.stencil)
               for dj, w in enumerate(row) if w != 0)


un, vn = model.react(fu[t, x, y], fv[t, x, y], lap(fu), lap(fv), *params.coefficients())
op = Operator([Eq(fu.forward, un, subdomain=grid.interior),
               Eq(fv.forward, vn, subdomain=grid.interior)])
clock = {"t": 0}


def load(u: np.ndarray, v: np.ndarray) -> None:
    for buffer in (0, 1):
        fu.data[buffer] = u
        fv.data[buffer] = v
    clock["t"] = 0


def advance(steps: int) -> None:
    op.apply(time_m=clock["t"], time_M=clock["t"] + steps - 1)
    clock["t"] += steps


def state() -> tuple[np.ndarray, np.ndarray]:
    now = clock["t"] % 2
    return np.array(fu.data[now]), np.array(fv.data[now])


_common.main("devito", devito.__version__, args, load, advance, state,
             flags=f"Devito defaults, language {devito.configuration['language']}, "
                   f"compiler {devito.configuration['compiler']}")
