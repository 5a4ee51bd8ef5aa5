"""``grayscott bench``: every backend on the same grid, against NumPy and the memory bound.

Each backend is warmed up (compilation kept out of the numbers, reported apart), then timed
over enough steps to last ``min_seconds``, several times; the median counts. The ratio to
``numpy`` and to the bandwidth bound come from the same run, so they compare across machines.
"""

from __future__ import annotations

import json
import math
import re
import statistics
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from grayscott import __version__, backends, bandwidth, hardware
from grayscott.errors import GrayScottError
from grayscott.model import Params, initial_state


@dataclass
class BenchRow:
    backend: str
    status: str  # ok | unavailable | error
    device: str = ""
    reason: str = ""
    ms_per_step: float = math.nan
    steps_timed: int = 0
    warmup_s: float = math.nan
    versions: dict[str, str] = field(default_factory=dict)
    # filled in by ``finish`` once every backend has run
    mcells_per_s: float = math.nan
    gb_per_s: float = math.nan
    speedup_vs_numpy: float = math.nan
    bound_ms_per_step: float = math.nan
    ratio_to_bound: float = math.nan
    reference: bool = False  # a yardstick, not one of ours (the C/OpenMP loop)

    @property
    def on_gpu(self) -> bool:
        return self.device.startswith(("cuda", "gpu", "legate"))


def time_backend(name: str, params: Params, *, min_seconds: float, repeat: int,
                 device: str | None = None) -> BenchRow:
    """Median ms/step of one backend, or a row that says why it could not run."""
    reason = backends.get(name).unavailable_reason()
    if reason is not None:
        return BenchRow(name, "unavailable", reason=reason)
    try:
        backend = backends.create(name, params, device)
        backend.load(*initial_state(params))
        start = time.perf_counter()
        backend.advance(2)  # compiles the JIT backends
        backend.synchronize()
        warmup = time.perf_counter() - start
        steps, elapsed = 1, 0.0
        while True:  # grow the step count until one timing lasts long enough
            start = time.perf_counter()
            backend.advance(steps)
            backend.synchronize()
            elapsed = time.perf_counter() - start
            if elapsed >= min_seconds / repeat:
                break
            steps = max(steps * 2, math.ceil(steps * min_seconds / repeat / max(elapsed, 1e-6)))
        times = [elapsed]
        for _ in range(repeat - 1):
            start = time.perf_counter()
            backend.advance(steps)
            backend.synchronize()
            times.append(time.perf_counter() - start)
        description = backend.describe()
        return BenchRow(name, "ok", device=description["device"],
                        ms_per_step=1e3 * statistics.median(times) / steps,
                        steps_timed=steps * repeat, warmup_s=warmup,
                        versions=description["versions"])
    except GrayScottError as exc:
        return BenchRow(name, "error", reason=str(exc))
    except Exception as exc:  # a backend failing must not hide the others' numbers
        return BenchRow(name, "error", reason=f"{type(exc).__name__}: {exc}")


def finish(rows: list[BenchRow], params: Params, cpu_bw: bandwidth.Bandwidth,
           gpu_bw: bandwidth.Bandwidth | None) -> None:
    """Derived columns: throughput, ratio to numpy and to the device's bandwidth bound."""
    numpy_ms = next((r.ms_per_step for r in rows if r.backend == "numpy" and r.status == "ok"),
                    math.nan)
    cells = params.rows * params.cols
    for row in rows:
        if row.status != "ok":
            continue
        row.mcells_per_s = cells / row.ms_per_step / 1e3
        row.gb_per_s = params.bytes_per_step / row.ms_per_step / 1e6
        row.speedup_vs_numpy = numpy_ms / row.ms_per_step
        bw = gpu_bw if row.on_gpu else cpu_bw
        if bw is not None:
            row.bound_ms_per_step = params.bytes_per_step / (bw.gb_per_s * 1e9) * 1e3
            row.ratio_to_bound = row.ms_per_step / row.bound_ms_per_step


def run_bench(names: list[str], params: Params, *, min_seconds: float = 1.0, repeat: int = 3,
              device: str | None = None, on_row: Any = None) -> dict[str, Any]:
    """Time ``names`` on ``params``' grid and return the whole report (machine, versions, rows)."""
    cpu_bw = bandwidth.cpu_bandwidth()
    gpu_bw = bandwidth.gpu_bandwidth()
    rows = []
    for name in names:
        row = time_backend(name, params, min_seconds=min_seconds, repeat=repeat, device=device)
        rows.append(row)
        if on_row is not None:
            on_row(row)
    finish(rows, params, cpu_bw, gpu_bw)
    for row in rows:
        row.reference = backends.get(row.backend).reference
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "grayscott_version": __version__,
        "machine": hardware.machine_info(),
        "params": {k: v for k, v in asdict(params).items() if k != "stencil"},
        "bytes_per_step": params.bytes_per_step,
        "bandwidth": {"cpu": asdict(cpu_bw), "gpu": asdict(gpu_bw) if gpu_bw else None},
        "rows": [asdict(r) for r in rows],
    }


def _fmt(value: float, digits: int = 2) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) \
        else f"{value:.{digits}f}"


def machine_line(machine: dict[str, Any]) -> str:
    """``- machine: ...`` for the Markdown reports (``bench`` and ``bench --full``)."""
    m = machine
    return (f"- machine: {m['hostname']}, {m['cpu']} ({m['cpus']} CPUs)"
            + (f", GPU {', '.join(m['gpus'])} (CUDA driver {m['cuda_driver']})"
               if m["gpus"] else ""))


def to_markdown(report: dict[str, Any]) -> str:
    m, p, bw = report["machine"], report["params"], report["bandwidth"]
    lines = [
        f"# grayscott bench, {report['date']}",
        "",
        machine_line(m),
        f"- grid {p['rows']} x {p['cols']} {p['dtype']}, {report['bytes_per_step'] / 1e6:.1f} MB"
        " moved per step at least (read u, v; write u, v)",
        f"- CPU bandwidth {bw['cpu']['gb_per_s']:.1f} GB/s ({bw['cpu']['method']})"
        + (f"; GPU bandwidth {bw['gpu']['gb_per_s']:.0f} GB/s ({bw['gpu']['method']})"
           if bw["gpu"] else ""),
        f"- Python {m['python']}, grayscott {report['grayscott_version']}",
        "",
        "| backend | device | ms/step | Mcells/s | GB/s | x numpy | x bound | warm-up s |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in report["rows"]:
        name = r["backend"] + (" (reference)" if r.get("reference") else "")
        if r["status"] != "ok":
            lines.append(f"| {name} | {r['status']}: {r['reason']} | | | | | | |")
            continue
        lines.append(
            f"| {name} | {r['device']} | {_fmt(r['ms_per_step'], 3)} | "
            f"{_fmt(r['mcells_per_s'], 0)} | {_fmt(r['gb_per_s'], 1)} | "
            f"{_fmt(r['speedup_vs_numpy'], 1)} | {_fmt(r['ratio_to_bound'], 2)} | "
            f"{_fmt(r['warmup_s'], 2)} |")
    versions: dict[str, str] = {}
    for r in report["rows"]:
        versions.update(r["versions"])
    lines += ["", "Versions: " + ", ".join(f"{k} {v}" for k, v in sorted(versions.items())), "",
              "x bound: time per step over the bandwidth bound of its device (1.0 = streaming "
              "limit; below 1 needs several steps per pass over memory).",
              "", "(reference): a straightforward fused C/OpenMP loop, gcc -O3 -march=native, "
              "compiled here (grayscott/csrc/c_loop.c): not one of ours, the yardstick; "
              "without a C compiler its row says so. pystencils and Devito: "
              "benchmarks/peers/run.py."]
    return "\n".join(lines) + "\n"


def write_report(report: dict[str, Any], directory: Path, kind: str = "bench",
                 markdown: str | None = None) -> tuple[Path, Path]:
    """``<directory>/<kind>-<date>-<device>-<rows>x<cols>.json`` and ``.md`` (``markdown``, by
    default this module's table); returns both paths. ``grayscott bench --full`` uses it too."""
    directory.mkdir(parents=True, exist_ok=True)
    machine = report["machine"]
    device = machine["gpus"][0] if machine["gpus"] else machine["cpu"]
    slug = re.sub(r"[^a-z0-9]+", "-", f"{device}".lower()).strip("-")[:40]
    stem = f"{kind}-{report['date'][:10]}-{slug}-{report['params']['rows']}x{report['params']['cols']}"
    json_path, md_path = directory / f"{stem}.json", directory / f"{stem}.md"
    json_path.write_text(json.dumps(report, indent=2, default=str) + "\n")
    md_path.write_text(to_markdown(report) if markdown is None else markdown)
    return json_path, md_path
