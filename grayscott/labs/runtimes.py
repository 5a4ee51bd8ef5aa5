"""How long each solution notebook takes, run as the notebook tests run them, written as a report.

The issue's bar is a minute per notebook at the default class size (``GRAYSCOTT_LAB_SIZE``
unset: the school's grid on the CPU day, the small grid for the GPU day run on a CPU). A class
runs the notebooks in JupyterLab; here each runs with nbclient in a fresh ``python3`` kernel
from a temporary directory (a private Numba cache, matplotlib's agg backend), which is what
``tests/test_labs.py`` does at the tiny grid. A notebook that stops at its first cell for a
missing GPU or library is reported as stopped, with the one line it stopped with.

``python -m grayscott.labs.runtimes`` (``make labs-runtimes``) writes
``benchmarks/labs-runtimes-YYYY-MM-DD.json``: machine, date, versions, and per notebook its
seconds, how it ended and its slowest cells (what to look at when it is over the bar).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from grayscott import __version__, hardware
from grayscott.labs.build import solution_notebooks
from grayscott.labs.results import LABS_ROOT
from grayscott.labs.size import ENV_VAR, SIZES

#: The issue's bar for one notebook at the default class size, in seconds
BAR_S = 60.0
#: What the notebooks import: their versions go in the report
PACKAGES = ("numpy", "numba", "jax", "jaxlib", "torch", "mpi4py", "h5py", "matplotlib",
            "ipykernel", "nbclient")
#: The slowest cells kept per notebook
SLOWEST = 3


def versions() -> dict[str, str]:
    """Installed versions of the packages the notebooks use (absent ones left out)."""
    found = {"grayscott": __version__}
    for name in PACKAGES:
        with contextlib.suppress(metadata.PackageNotFoundError):
            found[name] = metadata.version(name)
    return found


def _cell_seconds(cell: Any) -> float | None:
    """A cell's run time from the timestamps nbclient records (``metadata.execution``)."""
    stamps = cell.get("metadata", {}).get("execution", {})
    start, end = stamps.get("iopub.execute_input"), stamps.get("shell.execute_reply")
    if not (start and end):
        return None
    parse = datetime.fromisoformat
    return (parse(end.replace("Z", "+00:00")) - parse(start.replace("Z", "+00:00"))).total_seconds()


def slowest_cells(nb: Any, count: int = SLOWEST) -> list[dict[str, Any]]:
    """The ``count`` slowest code cells: index, seconds, first line of the source."""
    timed: list[dict[str, Any]] = []
    for index, cell in enumerate(nb.cells):
        seconds = _cell_seconds(cell) if cell.cell_type == "code" else None
        if seconds is not None:
            first = next((line for line in cell.source.splitlines() if line.strip()), "")
            timed.append({"cell": index, "seconds": round(seconds, 2), "starts": first[:100]})
    return sorted(timed, key=lambda c: float(c["seconds"]), reverse=True)[:count]


def key(path: Path) -> str:
    """How the tests name a notebook: day and stem, e.g. ``cpu/3_Python_Implementation``."""
    return f"{path.parent.parent.name}/{path.stem}"


def run_notebook(path: Path, timeout: float) -> dict[str, Any]:
    """Execute ``path`` in a fresh kernel; its seconds, how it ended, its slowest cells."""
    import nbclient
    import nbformat

    nb = nbformat.read(path, as_version=4)
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="labs-runtime-") as tmp:
        os.environ["NUMBA_CACHE_DIR"] = str(Path(tmp) / "numba-cache")
        client = nbclient.NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                         resources={"metadata": {"path": tmp}})
        start = time.perf_counter()
        try:
            client.execute()
            ended = "ran"
        except nbclient.exceptions.CellExecutionError as exc:
            ended = f"stopped: {exc.ename}: {exc.evalue}"[:300]
        except nbclient.exceptions.CellTimeoutError:
            ended = f"timed out: a cell ran over {timeout:g} s"
        seconds = time.perf_counter() - start
    return {"seconds": round(seconds, 1), "ended": ended, "over_bar": seconds > BAR_S,
            "load_at_start": round(load, 2), "slowest_cells": slowest_cells(nb)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grayscott.labs.runtimes",
                                     description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--size", choices=sorted(SIZES),
                        help=f"{ENV_VAR} for the run (default: unset, each notebook's default)")
    parser.add_argument("--only", nargs="+", default=[], metavar="PART",
                        help="only notebooks whose name (day/stem) contains PART, e.g. cpu/3_")
    parser.add_argument("--out", type=Path, default=Path("benchmarks"),
                        help="directory of the report (default: benchmarks)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per cell (600)")
    args = parser.parse_args(argv)
    notebooks = [p for p in solution_notebooks(LABS_ROOT)
                 if not args.only or any(part in key(p) for part in args.only)]
    if not notebooks:
        print(f"no solution notebook under {LABS_ROOT} matches {' '.join(args.only)}", file=sys.stderr)
        return 2
    saved = dict(os.environ)  # the kernels inherit the settings below; the caller keeps its own
    try:
        os.environ.pop(ENV_VAR, None)
        if args.size:
            os.environ[ENV_VAR] = args.size
        os.environ["MPLBACKEND"] = "agg"
        now = datetime.now(UTC)
        load_before = os.getloadavg()
        results = {}
        for path in notebooks:
            name = key(path)
            results[name] = run_notebook(path, args.timeout)
            print(f"{name:32s} {results[name]['seconds']:7.1f} s  {results[name]['ended'][:80]}",
                  flush=True)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    report = {"date": now.isoformat(timespec="seconds"), "size": args.size or "default",
              "bar_seconds": BAR_S, "machine": hardware.machine_info(), "versions": versions(),
              # others' work on a shared machine slows the notebooks: the load, 1-minute mean
              "load_average": {"before": round(load_before[0], 2),
                               "after": round(os.getloadavg()[0], 2)},
              "notebooks": results}
    args.out.mkdir(parents=True, exist_ok=True)
    target = args.out / f"labs-runtimes-{now:%Y-%m-%d}.json"
    target.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    over = [name for name, r in results.items() if r["over_bar"]]
    print(f"wrote {target}; over {BAR_S:g} s: {', '.join(over) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
