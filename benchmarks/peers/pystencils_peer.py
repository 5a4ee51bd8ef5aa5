"""Peer: pystencils 2.0, one generated fused kernel (u and v), OpenMP, explicit SIMD.

Needs pystencils in its own environment (not the project's), for instance
``python3 -m venv /work/peers-venv && /work/peers-venv/bin/pip install pystencils``; run it
with that Python and ``PYTHONPATH=.`` from the repository root. The update is
``grayscott.model.react`` applied to pystencils' symbolic fields, the Laplacian the model's
3x3 weights, so the generated kernel computes the same model as our backends.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import _common
import numpy as np

from grayscott import model

args = _common.parse(__doc__ or "")
try:
    import pystencils as ps
except ImportError:
    print('{"peer": "pystencils", "error": "pystencils is not installed in this Python"}')
    sys.exit(1)

params = model.Params(rows=args.rows, cols=args.cols, dtype=args.dtype)
fu, fv, fu2, fv2 = ps.fields(f"u, v, u2, v2: {params.dtype}[2D]", layout="c")


def lap(f: ps.Field) -> object:
    return sum(w * f[di - 1, dj - 1] for di, row in enumerate(params.stencil)
               for dj, w in enumerate(row) if w != 0)


un, vn = model.react(fu.center, fv.center, lap(fu), lap(fv), *params.coefficients())


def best_target() -> ps.Target:
    """The widest x86 SIMD this CPU has: ``Target.CurrentCPU`` alone gets 4-lane SSE code."""
    flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    if " avx512f" in flags:
        return ps.Target.X86_AVX512
    if " avx2" in flags:
        return ps.Target.X86_AVX
    return ps.Target.CurrentCPU


target = best_target()
cfg = ps.CreateKernelConfig(target=target)
cfg.cpu.openmp.enable = True
cfg.cpu.vectorize.enable = True
cfg.cpu.vectorize.assume_inner_stride_one = True
kernel = ps.create_kernel([ps.Assignment(fu2.center, un), ps.Assignment(fv2.center, vn)],
                          cfg).compile()
state: dict[str, np.ndarray] = {}


def load(u: np.ndarray, v: np.ndarray) -> None:
    state.update(u=u.copy(), v=v.copy(), u2=u.copy(), v2=v.copy())


def advance(steps: int) -> None:
    s = state
    for _ in range(steps):
        kernel(u=s["u"], v=s["v"], u2=s["u2"], v2=s["v2"])
        s["u"], s["u2"], s["v"], s["v2"] = s["u2"], s["u"], s["v2"], s["v"]


_common.main("pystencils", ps.__version__, args, load, advance,
             lambda: (state["u"].copy(), state["v"].copy()),
             flags=f"pystencils defaults (-Ofast), {target.name}, OpenMP, vectorize")
