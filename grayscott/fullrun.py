"""``grayscott bench --full``: the school's whole run, and the two floors it cannot beat.

The school timed 32 x 1000 steps of 1920 x 1080 with all 1000 V frames written to HDF5. Such a
run is bound by whichever is slower: computing (the backend alone, frames fetched but not
written) or writing (8.3 GB of frames through the same HDF5 writer, no computing). Written
well, the two overlap and the run takes little more than the slower of them: ``overlap`` is
the run's time over max(compute alone, write alone), 1.0 being perfect.

All three are measured in the same invocation on the same disk, so the ratio compares
across machines even where the absolute times do not.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from grayscott import __version__, backends, bench, hardware
from grayscott.backends.base import library_versions
from grayscott.h5io import FrameWriter
from grayscott.model import Params, initial_state
from grayscott.simulation import check_counts, run_to_file

Progress = Callable[[str, int, int], None]


@dataclass
class FullRow:
    backend: str
    device: str
    compute_s: float  # the run without a file: advance + fetch of V per frame
    write_s: float  # the same frames written, nothing computed
    total_s: float  # the real run: computing while a thread writes
    frames_written: int

    @property
    def floor_s(self) -> float:
        return max(self.compute_s, self.write_s)

    @property
    def overlap(self) -> float:
        return self.total_s / self.floor_s

    @property
    def bound(self) -> str:
        return "compute" if self.compute_s >= self.write_s else "disk"


def compute_alone(name: str, params: Params, frames: int, steps: int,
                  progress: Progress | None = None) -> tuple[float, str]:
    """Seconds for the run's computing and frame fetches, warmed up first (JIT compiled)."""
    backend = backends.create(name, params)
    backend.load(*initial_state(params))
    backend.advance(2)
    backend.fetch_v()
    backend.load(*initial_state(params))
    start = time.perf_counter()
    for index in range(frames):
        backend.advance(steps)
        backend.fetch_v()
        if progress is not None:
            progress(f"{name}: compute alone", index + 1, frames)
    return time.perf_counter() - start, backend.describe()["device"]


def write_alone(params: Params, frames: int, path: Path,
                progress: Progress | None = None) -> float:
    """Seconds to write ``frames`` frames through the run's own writer (a fresh array each
    frame, as a backend hands over), from the first put to the closed file."""
    frame = initial_state(params, noise=0.5, seed=0)[1][1:-1, 1:-1]
    start = time.perf_counter()
    writer = FrameWriter(path, params, frames, {"purpose": "write-alone floor"}, force=True)
    for index in range(frames):
        writer.put(frame.copy())
        if progress is not None:
            progress("write alone", index + 1, frames)
    writer.close({"completed": True})
    return time.perf_counter() - start


def measure(name: str, params: Params, frames: int, steps: int, scratch: Path,
            progress: Progress | None = None, check_size: bool = True) -> FullRow:
    """The three timings of one backend; the scratch files are removed afterwards.
    ``check_size``: the run's own check of memory and disk (the command line has made it
    for every backend already, or was told not to)."""
    check_counts(frames, steps)
    compute_s, device = compute_alone(name, params, frames, steps, progress)
    path = scratch / f"grayscott-full-{os.getpid()}.h5"
    try:
        write_s = write_alone(params, frames, path, progress)
        path.unlink()
        start = time.perf_counter()

        def on_frame(done: int) -> None:
            if progress is not None:
                progress(f"{name}: run with HDF5", done, frames)

        stats = run_to_file(name, params, frames, steps, path, on_frame=on_frame, force=True,
                            check_size=check_size)
        total_s = time.perf_counter() - start
    finally:
        path.unlink(missing_ok=True)
    return FullRow(name, device, compute_s, write_s, total_s, stats.frames_done)


def run_full(names: list[str], params: Params, frames: int = 1000, steps: int = 32,
             scratch: Path | None = None, progress: Progress | None = None,
             check_size: bool = True) -> dict[str, Any]:
    """Measure every backend in ``names``; the report with machine, versions and rows."""
    scratch = scratch or Path(tempfile.gettempdir())
    rows = [measure(name, params, frames, steps, scratch, progress, check_size)
            for name in names]
    versions: dict[str, str] = {}
    for name in names:
        versions.update(library_versions(backends.get(name).libraries))
    return {
        "kind": "full-run",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "grayscott_version": __version__,
        "machine": hardware.machine_info(),
        "params": {"rows": params.rows, "cols": params.cols, "dtype": params.dtype},
        "frames": frames, "steps_per_frame": steps,
        "bytes_written": frames * params.rows * params.cols * params.np_dtype.itemsize,
        "scratch": str(scratch),
        "versions": versions,
        "rows": [{**asdict(r), "floor_s": r.floor_s, "overlap": r.overlap, "bound": r.bound}
                 for r in rows],
    }


def to_markdown(report: dict[str, Any]) -> str:
    m, p = report["machine"], report["params"]
    gb = report["bytes_written"] / 1e9
    lines = [
        f"# grayscott bench --full, {report['date']}",
        "",
        bench.machine_line(m),
        f"- {report['frames']} frames x {report['steps_per_frame']} steps of {p['rows']} x "
        f"{p['cols']} {p['dtype']}; {gb:.1f} GB of frames written to {report['scratch']}",
        f"- Python {m['python']}, grayscott {report['grayscott_version']}; "
        + ", ".join(f"{k} {v}" for k, v in sorted(report["versions"].items())),
        "",
        "| backend | device | run with HDF5 s | compute alone s | write alone s | bound by "
        "| overlap | write MB/s |",
        "|---|---|---:|---:|---:|---|---:|---:|",
    ]
    for r in report["rows"]:
        lines.append(
            f"| {r['backend']} | {r['device']} | {r['total_s']:.2f} | {r['compute_s']:.2f} | "
            f"{r['write_s']:.2f} | {r['bound']} | {r['overlap']:.2f} | "
            f"{report['bytes_written'] / r['write_s'] / 1e6:.0f} |")
    lines += ["", "overlap: the run's time over max(compute alone, write alone); 1.00 means "
              "writing hid entirely behind computing (or the reverse)."]
    return "\n".join(lines) + "\n"


def write_report(report: dict[str, Any], directory: Path) -> tuple[Path, Path]:
    """benchmarks/full-<date>-<device>-<grid>.json and .md."""
    return bench.write_report(report, directory, "full", to_markdown(report))
