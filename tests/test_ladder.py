"""The README's speed-ladder chart: the school's bars and ours, from benchmark reports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grayscott import ladder, school


def _report(tmp: Path, name: str, report: dict) -> None:
    (tmp / name).write_text(json.dumps(report))


MACHINE = {"cpu": "Test CPU", "cpus": 4, "gpus": [], "hostname": "t"}


def test_our_bars_from_bench_and_full_reports(tmp_path: Path) -> None:
    _report(tmp_path, "bench-2026-01-01-x-1080x1920.json", {
        "date": "2026-01-01T12:00:00+00:00", "machine": MACHINE,
        "params": {"rows": 1080, "cols": 1920},
        "rows": [{"backend": "numpy", "status": "ok", "device": "cpu", "ms_per_step": 30.0},
                 {"backend": "cupy", "status": "unavailable", "device": ""}]})
    _report(tmp_path, "bench-2026-02-01-x-1080x1920.json", {  # newer: replaces the first
        "date": "2026-02-01T12:00:00+00:00", "machine": MACHINE, "params": {"rows": 1080, "cols": 1920},
        "rows": [{"backend": "numpy", "status": "ok", "device": "cpu", "ms_per_step": 20.0}]})
    _report(tmp_path, "bench-2026-02-01-x-64x96.json", {  # another grid: not on the chart
        "date": "2026-02-01T12:00:00+00:00", "machine": MACHINE, "params": {"rows": 64, "cols": 96},
        "rows": [{"backend": "numba", "status": "ok", "device": "cpu", "ms_per_step": 0.01}]})
    _report(tmp_path, "full-2026-02-01-x-1080x1920.json", {
        "date": "2026-02-01T13:00:00+00:00", "kind": "full-run", "machine": MACHINE,
        "params": {"rows": 1080, "cols": 1920},
        "frames": 1000, "steps_per_frame": 32,
        "rows": [{"backend": "numba-blocked", "device": "cpu (4 threads)", "total_s": 41.5}]})
    bars = ladder.our_bars(tmp_path)
    steps = school.school_run().steps
    assert [(b.label, b.seconds, b.with_output) for b in bars] == [
        ("numpy", pytest.approx(20.0 * steps / 1e3), False),
        ("numba-blocked + HDF5", 41.5, True)]
    assert {b.group for b in bars} == {"Test CPU (4 CPUs)"}


def test_chart_is_drawn(tmp_path: Path) -> None:
    out = tmp_path / "ladder.png"
    bars = [*ladder.school_bars(), ladder.Bar("here", "numba-blocked", 25.0, True, False)]
    ladder.draw(bars, out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 10_000
    assert len(ladder.school_bars()) == len(school.results())
