"""The school's published timings, read from ``grayscott/data/school.toml`` (the one copy).

The school timed whole runs: 1000 frames x 32 steps of the 1080 x 1920 float32 grid, in
seconds. Our own measurements are milliseconds per step (``grayscott bench``), often on
another grid; ``projected_seconds`` turns one into the other so that both stand on the same
axis. The projection scales with the number of cells, which is honest for a grid too large
for the caches and optimistic for a small one (it fits in cache and runs faster per cell).

``python -m grayscott.school`` prints the table in Markdown (for the README).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any


@dataclass(frozen=True)
class SchoolRun:
    """What every published timing ran: ``frames`` x ``steps_per_frame`` steps of rows x cols."""

    rows: int
    cols: int
    dtype: str
    frames: int
    steps_per_frame: int

    @property
    def steps(self) -> int:
        return self.frames * self.steps_per_frame

    @property
    def cells(self) -> int:
        return self.rows * self.cols


@dataclass(frozen=True)
class SchoolResult:
    machine: str
    kind: str  # cpu | gpu
    label: str  # as the school wrote it
    backend: str  # our backend of the same kind
    seconds: float  # the whole run

    def ms_per_step(self, run: SchoolRun) -> float:
        return 1e3 * self.seconds / run.steps


@cache
def _table() -> dict[str, Any]:
    text = resources.files("grayscott").joinpath("data/school.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def school_run() -> SchoolRun:
    run = _table()["run"]
    return SchoolRun(int(run["rows"]), int(run["cols"]), str(run["dtype"]), int(run["frames"]),
                     int(run["steps_per_frame"]))


def results(kind: str | None = None) -> list[SchoolResult]:
    """Every published timing (``kind``: only "cpu" or only "gpu" machines), table order."""
    out = []
    for machine in _table()["machine"]:
        if kind is not None and machine["kind"] != kind:
            continue
        out += [SchoolResult(machine["name"], machine["kind"], r["label"], r["backend"], float(r["seconds"]))
                for r in machine["results"]]
    return out


def machines() -> list[str]:
    return [m["name"] for m in _table()["machine"]]


def projected_seconds(ms_per_step: float, rows: int, cols: int, run: SchoolRun | None = None) -> float:
    """Seconds the school's whole run would take at ``ms_per_step`` measured on rows x cols.

    Time per step scales with the cells: the school's grid has run.cells / (rows * cols)
    times as many, and the run has run.steps steps.
    """
    run = run or school_run()
    return ms_per_step / 1e3 * run.steps * run.cells / (rows * cols)


def to_markdown() -> str:
    run = school_run()
    lines = [f"The school's timings: {run.frames} x {run.steps_per_frame} steps of {run.rows} x "
             f"{run.cols} {run.dtype} (seconds for the whole run; ms/step derived).", "",
             "| machine | implementation | our backend | s | ms/step |", "|---|---|---|---:|---:|"]
    for r in results():
        lines.append(f"| {r.machine} | {r.label} | `{r.backend}` | {r.seconds:g} | "
                     f"{r.ms_per_step(run):.1f} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(to_markdown(), end="")
