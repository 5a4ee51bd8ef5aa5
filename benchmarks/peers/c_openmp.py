"""Peer: the straightforward C/OpenMP fused loop (``c-openmp``, grayscott/csrc/c_loop.c).

Runs in the project's own environment; compiled here with gcc -O3 -march=native -fopenmp.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import _common

from grayscott import backends, model, native

args = _common.parse(__doc__ or "")
try:
    backend = backends.create("c-openmp", model.Params(rows=args.rows, cols=args.cols,
                                                       dtype=args.dtype))
except Exception as exc:
    print(json.dumps({"peer": "c-openmp", "error": str(exc)}))
    sys.exit(1)
_common.main("c-openmp", native.compiler_version(), args, backend.load, backend.advance,
             backend.fetch_state, flags=" ".join((*native.BASE_FLAGS, native.OPENMP_FLAG)))
