"""How long the labs sync takes at a lab start, on the real labs: ``python -m
grayscott.labs.sync.bench`` writes ``benchmarks/labs-sync-YYYY-MM-DD.json`` (machine, date,
versions, medians). Measured through the command the start script runs (``grayscott labs
sync``, Python's start-up included: what a student waits for), for the three kinds of start:
the first (a copy), one with no course change (every later start), one with a course update
to merge into an edited notebook.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from grayscott import __version__, hardware
from grayscott.labs.results import LABS_ROOT
from grayscott.labs.sync.tree import course_files


def _seconds(source: Path, destination: Path) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "grayscott", "labs", "sync", "--from", str(source),
                    "--to", str(destination)], check=True, capture_output=True)
    return time.perf_counter() - start


def _course_update(course: Path, student: Path, version: int) -> None:
    """The teacher adds a cell to every notebook; the student had run a cell in each."""
    import nbformat

    for path in sorted(course.rglob("*.ipynb")):
        for side, text in ((course, f"Course update {version}."), (student, None)):
            target = side / path.relative_to(course)
            notebook = nbformat.read(target, as_version=4)
            if text:
                notebook.cells.insert(1, nbformat.v4.new_markdown_cell(text))
            else:
                notebook.cells[0].source += f"\n\nmy note {version}"
            nbformat.write(notebook, target)


def _summary(times: list[float]) -> dict[str, float]:
    return {"median_s": round(statistics.median(times), 3), "min_s": round(min(times), 3),
            "max_s": round(max(times), 3), "runs": len(times)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grayscott.labs.sync.bench",
                                     description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--labs", type=Path, default=LABS_ROOT, help="the labs (the repo's)")
    parser.add_argument("--repeats", type=int, default=10, help="runs of each kind (10)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks"), help="report folder")
    args = parser.parse_args(argv)
    files = course_files(args.labs)
    now = datetime.now(UTC)
    first, unchanged, merging = [], [], []
    with tempfile.TemporaryDirectory(prefix="labs-sync-bench-") as scratch:
        course = Path(scratch) / "course"
        shutil.copytree(args.labs, course)
        for run in range(args.repeats):
            student = Path(scratch) / f"work{run}/labs"
            first.append(_seconds(course, student))
            unchanged.append(_seconds(course, student))
            _course_update(course, student, run)
            merging.append(_seconds(course, student))
    versions = {"python": sys.version.split()[0], "grayscott": __version__}
    for name in ("nbformat", "nbdime"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[name] = metadata.version(name)
    report = {
        "date": now.isoformat(timespec="seconds"), "machine": hardware.machine_info(),
        "versions": versions, "command": "grayscott labs sync (a new Python process each)",
        "labs": {"files": len(files), "notebooks": sum(p.endswith(".ipynb") for p in files),
                 "bytes": sum((args.labs / p).stat().st_size for p in files)},
        "load_average_1min": round(os.getloadavg()[0], 2),
        "first_start_copy": _summary(first), "start_without_course_change": _summary(unchanged),
        "start_with_course_update_merging_every_notebook": _summary(merging),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    target = args.out / f"labs-sync-{now:%Y-%m-%d}.json"
    target.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {target}: no course change {_summary(unchanged)['median_s']} s"
          f" (median of {args.repeats})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
