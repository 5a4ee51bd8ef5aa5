"""Variants of c-blocked (compiler macros, depth, bands) alternated in one process: A B A B ...

Usage, from the repository root::

    PYTHONPATH=. .venv/bin/python benchmarks/kernels/ab.py "default;narrow=GS_NARROW;d16:depth=16" \\
        --threads 1 --rounds 7 --steps 64

Each variant is ``label[=MACRO,MACRO...][:attribute=value...]`` (attributes of the backend:
``depth``, ``bands_per_thread``). Prints, per variant, the median and minimum wall ms/step and
CPU time per cell (``time.process_time``: the number other work on a shared machine inflates
least; with one thread it is the kernel's cost per cell). The macros are those of
grayscott/csrc/gs_blocked.c (GS_NARROW, GS_WIDE, GS_TWO_PASS, GS_KEEP_DENORMALS).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from grayscott import model
from grayscott.backends.c_blocked import CBlockedBackend


def variant(spec: str, params: model.Params, threads: int) -> CBlockedBackend:
    head, *attributes = spec.split(":")
    macros = head.split("=", 1)[1].split(",") if "=" in head else []
    cls = type("Variant", (CBlockedBackend,), {"defines": tuple(m for m in macros if m)})
    backend = cls(params)
    for attribute in attributes:
        key, value = attribute.split("=")
        if key not in ("depth", "bands_per_thread"):
            raise SystemExit(f"error: unknown attribute {key!r} (depth, bands_per_thread)")
        setattr(backend, key, int(value))
    backend.load(*model.initial_state(params))
    backend.threads = threads
    backend.set_bands(backend.bands_per_thread * threads)
    return backend


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("variants", help="semicolon-separated variants")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--steps", type=int, default=64)
    ap.add_argument("--warm", type=int, default=64, help="steps before timing")
    args = ap.parse_args()
    if args.threads < 1 or args.rounds < 1 or args.steps < 1:
        print("error: --threads, --rounds and --steps must be >= 1", file=sys.stderr)
        return 2
    params = model.Params()
    specs = [s for s in args.variants.split(";") if s]
    backends = [variant(s, params, args.threads) for s in specs]
    for b in backends:
        b.advance(args.warm)
    wall: list[list[float]] = [[] for _ in specs]
    cpu: list[list[float]] = [[] for _ in specs]
    for _ in range(args.rounds):
        for n, b in enumerate(backends):
            c0, w0 = time.process_time(), time.perf_counter()
            b.advance(args.steps)
            wall[n].append((time.perf_counter() - w0) / args.steps)
            cpu[n].append((time.process_time() - c0) / args.steps)
    cells = params.rows * params.cols
    print(f"{args.threads} thread(s), {args.rounds} rounds x {args.steps} steps, "
          f"load average {os.getloadavg()[0]:.2f}")
    for n, spec in enumerate(specs):
        print(f"  {spec:36s} {1e3 * statistics.median(wall[n]):7.3f} ms/step "
              f"(min {1e3 * min(wall[n]):.3f})  {1e9 * statistics.median(cpu[n]) / cells:6.3f} "
              f"ns/cell CPU (min {1e9 * min(cpu[n]) / cells:.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
