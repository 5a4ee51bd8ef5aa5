"""The speed ladder as a picture: the school's published runs next to ours.

Every bar is the school's whole run, 1000 frames x 32 steps of 1080 x 1920 float32, in
seconds on a log axis. The school's bars are its published wall times; ours come from the
reports in ``benchmarks/``: ``grayscott bench`` (ms/step on the same grid x 32,000 steps:
computing only) and ``grayscott bench --full`` (the real run with every frame written).

``python -m grayscott.ladder [benchmarks/] [-o benchmarks/ladder.png]`` redraws the README's
chart from whatever reports are there (the newest per machine and kind).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grayscott import school


@dataclass(frozen=True)
class Bar:
    group: str  # the machine
    label: str  # implementation / backend
    seconds: float
    ours: bool
    with_output: bool  # the time includes writing the frames


def _device(report: dict[str, Any], row: dict[str, Any], gpu: bool) -> str:
    machine = report["machine"]
    if gpu:
        return machine["gpus"][0] if machine["gpus"] else row["device"]
    return f"{machine['cpu']} ({machine['cpus']} CPUs)"


def _on_gpu(row: dict[str, Any]) -> bool:
    return str(row.get("device", "")).startswith(("cuda", "gpu", "legate"))


def _reports(directory: Path) -> list[dict[str, Any]]:
    """Every ``grayscott bench`` / ``bench-full`` report of the school's grid in ``directory``,
    oldest first (the peers' and the hub's reports beside them are other kinds)."""
    paths = [*directory.glob("bench-*.json"), *directory.glob("full-*.json")]
    reports = [json.loads(path.read_text()) for path in paths]
    return sorted((r for r in reports if (r.get("params", {}).get("rows"),
                                          r.get("params", {}).get("cols")) == (1080, 1920)),
                  key=lambda r: str(r["date"]))


def our_bars(directory: Path) -> list[Bar]:
    """One bar per machine and backend (and per kind: computing only, or with HDF5), from
    the newest report that has it: a later report, even of one backend, replaces only its
    own rows."""
    run = school.school_run()
    bars: dict[tuple[str, str], Bar] = {}
    for report in _reports(directory):
        full = report.get("kind") == "full-run"
        if full and report["frames"] * report["steps_per_frame"] != run.steps:
            continue
        for row in report["rows"]:
            if not full and row["status"] != "ok":
                continue
            group = _device(report, row, _on_gpu(row))
            if full:
                bar = Bar(group, f"{row['backend']} + HDF5", row["total_s"], True, True)
            else:
                bar = Bar(group, row["backend"], row["ms_per_step"] * run.steps / 1e3, True, False)
            bars[(bar.group, bar.label)] = bar
    return list(bars.values())


def school_bars() -> list[Bar]:
    return [Bar(f"school: {r.machine}", r.label, r.seconds, False, True)
            for r in school.results()]


def draw(bars: list[Bar], output: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = list(dict.fromkeys(b.group for b in bars))
    ordered = [b for g in groups for b in sorted((b for b in bars if b.group == g),
                                                   key=lambda b: -b.seconds)]
    fig, ax = plt.subplots(figsize=(10, 0.32 * len(ordered) + 1.6))
    colours = {False: "#9e9e9e", True: "#1f77b4"}
    y = list(range(len(ordered)))[::-1]
    ax.barh(y, [b.seconds for b in ordered],
            color=[colours[b.ours] for b in ordered],
            hatch=None, edgecolor=["#333333" if b.with_output and b.ours else "none"
                                   for b in ordered])
    ax.set_yticks(y, [f"{b.group} | {b.label}" for b in ordered], fontsize=8)
    for yi, b in zip(y, ordered, strict=True):
        ax.text(b.seconds * 1.08, yi, f"{b.seconds:,.1f} s" if b.seconds < 100
                else f"{b.seconds:,.0f} s", va="center", fontsize=7)
    ax.set_xscale("log")
    run = school.school_run()
    ax.set_xlabel(f"seconds for the school's run: {run.frames} frames x {run.steps_per_frame} "
                  f"steps of {run.rows} x {run.cols} {run.dtype} (log scale)")
    ax.set_title("Gray-Scott speed ladder: the school's published runs (grey) and ours (blue)\n"
                 "ours: computing only, or '+ HDF5' = the whole run with every frame written",
                 fontsize=9)
    ax.set_xlim(right=max(b.seconds for b in ordered) * 6)
    fig.tight_layout()
    output.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(output, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", nargs="?", type=Path, default=Path("benchmarks"))
    parser.add_argument("-o", "--output", type=Path, default=Path("benchmarks/ladder.png"))
    args = parser.parse_args(argv)
    bars = school_bars() + our_bars(args.directory)
    draw(bars, args.output)
    print(f"wrote {args.output} ({len(bars)} bars)")


if __name__ == "__main__":
    main()
