"""Our CPU backends and the peers (C/OpenMP loop, pystencils, Devito) in one run, alternated.

Usage, from the repository root (the peers' Python needs pystencils and devito; see
benchmarks/NOTES.md)::

    PYTHONPATH=. .venv/bin/python benchmarks/peers/run.py --peers-python /work/peers-venv/bin/python

Every implementation runs the same model (``grayscott.model``: params, initial state,
1080 x 1920 float32) for the same ``--steps`` per timing, and is checked once against NumPy
after ``--check-steps`` steps. The timings are taken in rounds, A B C ... A B C ..., so that a
burst of load from other work on the machine hits every row alike; the median over the rounds
counts, the load average of each round is recorded. Writes
``<output-dir>/peers-<date>-<cpu>-<rows>x<cols>.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).parent))

import _common  # noqa: E402

from grayscott import backends, bench, hardware, model  # noqa: E402

PEERS = {"c-openmp": "c_openmp.py", "pystencils": "pystencils_peer.py",
         "devito": "devito_peer.py"}


def run_peer(name: str, python: str, args: argparse.Namespace, check_steps: int) -> dict[str, Any]:
    """One timing of a peer script in its own process; its JSON line, or an error row."""
    script = Path(__file__).with_name(PEERS[name])
    cmd = [python, str(script), "--rows", str(args.rows), "--cols", str(args.cols),
           "--steps", str(args.steps), "--repeat", "1", "--check-steps", str(check_steps)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT,
                              timeout=900, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return {"peer": name, "error": f"{type(exc).__name__}: {exc}"}
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
    if not lines:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"peer": name, "error": f"exit {done.returncode}: {tail}"}
    result: dict[str, Any] = json.loads(lines[-1])
    return result


class Ours:
    """One of our backends, loaded once in this process, checked once, timed every round."""

    def __init__(self, name: str, params: model.Params, args: argparse.Namespace,
                 ref: tuple[np.ndarray, np.ndarray]) -> None:
        self.name, self.row = name, {"peer": name, "ours": True}
        self.backend: backends.Backend | None = None
        try:
            self.backend = backends.create(name, params)
            self.backend.load(*model.initial_state(params))
            self.backend.advance(args.check_steps)
            u, v = self.backend.fetch_state()
            diff = max(float(np.abs(u - ref[0]).max()), float(np.abs(v - ref[1]).max()))
            self.row.update(check_steps=args.check_steps, max_diff=diff,
                            agrees=diff <= model.tolerance(params.dtype),
                            device=self.backend.device, version=", ".join(
                                f"{k} {v}" for k, v in self.backend.describe()["versions"].items()
                                if k != "numpy"))
        except Exception as exc:
            self.backend = None
            self.row["error"] = f"{type(exc).__name__}: {exc}".splitlines()[0]

    def time(self, steps: int) -> float:
        assert self.backend is not None
        start = time.perf_counter()
        self.backend.advance(steps)
        self.backend.synchronize()
        return 1e3 * (time.perf_counter() - start) / steps


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backends", default="numba-parallel,numba-blocked,c-blocked",
                    help="our backends to time in this process")
    ap.add_argument("--peers", default=",".join(PEERS))
    ap.add_argument("--peers-python", default=os.environ.get("PEERS_PYTHON", sys.executable),
                    help="Python with pystencils and devito (c-openmp runs with this one)")
    ap.add_argument("--rows", type=int, default=model.Params.rows)
    ap.add_argument("--cols", type=int, default=model.Params.cols)
    ap.add_argument("--steps", type=int, default=256, help="steps per timing")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--check-steps", type=int, default=200)
    ap.add_argument("--output-dir", type=Path, default=ROOT / "benchmarks")
    ap.add_argument("--threads", type=int, default=0,
                    help="threads for every row (OMP_NUM_THREADS, NUMBA_NUM_THREADS); 0: all CPUs")
    ap.add_argument("--no-save", action="store_true")
    args = ap.parse_args()
    if args.threads > 0:  # before Numba or any OpenMP runtime is loaded
        os.environ["OMP_NUM_THREADS"] = os.environ["NUMBA_NUM_THREADS"] = str(args.threads)
    peers = [p for p in args.peers.split(",") if p]
    unknown = [p for p in peers if p not in PEERS]
    if unknown:
        print(f"error: unknown peer(s) {', '.join(unknown)}; known: {', '.join(PEERS)}",
              file=sys.stderr)
        return 2
    if args.steps < 1 or args.rounds < 1 or args.check_steps < 1:
        print("error: --steps, --rounds and --check-steps must be >= 1", file=sys.stderr)
        return 2
    params = model.Params(rows=args.rows, cols=args.cols)
    print(f"NumPy reference, {args.check_steps} steps ...", file=sys.stderr)
    ref = _common.reference(params, args.check_steps)
    ours = [Ours(n, params, args, ref) for n in args.backends.split(",") if n]
    rows: dict[str, dict[str, Any]] = {o.name: o.row for o in ours}
    times: dict[str, list[float]] = {n: [] for n in [o.name for o in ours] + peers}
    loads = []
    for r in range(args.rounds):
        loads.append(os.getloadavg()[0])
        for o in ours:
            if o.backend is not None:
                times[o.name].append(o.time(args.steps))
        for p in peers:
            python = sys.executable if p == "c-openmp" else args.peers_python
            got = run_peer(p, python, args, args.check_steps if r == 0 else 0)
            if r == 0:
                rows[p] = {k: v for k, v in got.items() if k not in ("ms_per_step", "load_average")}
            if "ms_per_step" in got:
                times[p].append(got["ms_per_step"])
            elif "error" not in rows[p]:
                rows[p]["error"] = got.get("error", "no timing")
        print(f"round {r + 1}/{args.rounds}, load {loads[-1]:.2f}: " + ", ".join(
            f"{n} {t[-1]:.3f}" for n, t in times.items() if t), file=sys.stderr)
    for name, row in rows.items():
        if times[name]:
            row.update(ms_per_step=statistics.median(times[name]), ms_min=min(times[name]),
                       ms_rounds=times[name])
    report = {"date": datetime.now(UTC).isoformat(timespec="seconds"),
              "machine": hardware.machine_info(), "params": {"rows": params.rows,
              "cols": params.cols, "dtype": params.dtype}, "steps_per_timing": args.steps,
              "rounds": args.rounds, "load_average_per_round": loads,
              "threads": os.environ.get("OMP_NUM_THREADS", "all CPUs"), "rows": list(rows.values())}
    md = to_markdown(report)
    print(md)
    if not args.no_save:
        paths = bench.write_report(report, args.output_dir, kind="peers", markdown=md)
        print(f"wrote {paths[0]} and {paths[1]}", file=sys.stderr)
    return 0


def to_markdown(report: dict[str, Any]) -> str:
    best_ours = min((r["ms_per_step"] for r in report["rows"] if r.get("ours")
                     and "ms_per_step" in r), default=float("nan"))
    p = report["params"]
    lines = [f"# Peers, {report['date']}", "", bench.machine_line(report["machine"]),
             f"- grid {p['rows']} x {p['cols']} {p['dtype']}; {report['steps_per_timing']} steps per"
             f" timing, {report['rounds']} rounds alternated (median; min beside it)",
             "- load average (1 min) at each round: "
             + ", ".join(f"{x:.2f}" for x in report["load_average_per_round"]),
             f"- threads: {report['threads']}", "",
             "| implementation | ms/step | min | x our best | agrees with numpy (max diff) | version |",
             "|---|---:|---:|---:|---|---|"]
    for r in report["rows"]:
        name = r["peer"] + (" (ours)" if r.get("ours") else "")
        if "ms_per_step" not in r:
            lines.append(f"| {name} | {r.get('error', 'no timing')} | | | | |")
            continue
        check = (f"{'yes' if r['agrees'] else 'NO'} ({r['max_diff']:.1e} after "
                 f"{r['check_steps']} steps)") if "agrees" in r else "not checked"
        lines.append(f"| {name} | {r['ms_per_step']:.3f} | {r['ms_min']:.3f} | "
                     f"{r['ms_per_step'] / best_ours:.2f} | {check} | {r.get('version', '')} |")
    lines += ["", "x our best: ms/step over the fastest of our backends in this run "
              "(2.00 = half as fast)."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
