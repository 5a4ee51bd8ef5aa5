"""The ``grayscott`` command: run, bench, smoke, render and list the backends.

Every user mistake (unknown backend, grid too small, existing output, no GPU) ends in one
line on stderr and exit code 2; an interrupted run exits 130 with its file readable.
"""

from __future__ import annotations

import math
import signal
import threading
import time
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from grayscott import __version__, backends
from grayscott.console import run_app, stderr_console, stdout_console
from grayscott.errors import UsageError
from grayscott.labs.sync.command import labs
from grayscott.model import NAMED_STENCILS, Params

app = typer.Typer(
    name="grayscott",
    help="The Gray-Scott reaction-diffusion model on NumPy, Numba, JAX, CuPy, cuPyNumeric "
         "and PyTorch, with HDF5 output and benchmarks.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
console = stdout_console()
err_console = stderr_console()

app.add_typer(labs, name="labs")

#: ``--backend auto`` takes the first of these that can run here.
AUTO_ORDER = ("cupy-fused", "numba-blocked", "numba-parallel", "jax-3x3", "numpy")

Rows = Annotated[int, typer.Option("--rows", "-r", help="Grid rows (without the boundary frame).")]
Cols = Annotated[int, typer.Option("--cols", "-c", help="Grid columns.")]
Dtype = Annotated[str, typer.Option(help="float32 (the school's) or float64.")]
ReportDir = Annotated[Path, typer.Option("--output-dir", help="Where the JSON + Markdown go.")]
Save = Annotated[bool, typer.Option(help="Write the report files.")]
ForceSize = Annotated[bool, typer.Option("--force-size", help=(
    "Run even where the memory or disk it needs looks larger than what is free (the "
    "estimate can be wrong: caches the kernel would drop, a file system that compresses)."))]
#: The model's defaults (the school's run): the options below start from them.
DEFAULT = Params()


def _version(value: bool) -> None:
    if value:
        console.print(f"grayscott {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                                help="Print the version and exit.")] = False
          ) -> None:
    """Gray-Scott Lab's simulation package."""


def _backend_list(spec: str | None) -> list[str]:
    """Names from a comma list (each checked), or every registered backend."""
    if not spec or spec == "all":
        return backends.names()
    names = [s.strip() for s in spec.split(",") if s.strip()]
    for name in names:
        backends.get(name)  # unknown name: UsageError listing the known ones
    return names


def _auto_backend() -> str:
    for name in AUTO_ORDER:
        if backends.get(name).unavailable_reason() is None:
            return name
    return "numpy"


def _params(rows: int, cols: int, dtype: str, stencil: str = "9point", **coefficients: float
            ) -> Params:
    if stencil not in NAMED_STENCILS:
        raise UsageError(f"unknown stencil {stencil!r}; choose one of {', '.join(NAMED_STENCILS)}")
    return Params(rows=rows, cols=cols, dtype=dtype, stencil=NAMED_STENCILS[stencil],
                  **coefficients)


@app.command("backends")
def list_backends() -> None:
    """List every backend: can it run here, and if not, why not."""
    table = Table(title="grayscott backends")
    table.add_column("backend", style="bold")
    table.add_column("status")
    table.add_column("what it is / why not")
    for name, reason in backends.available().items():
        cls = backends.get(name)
        if reason is None:
            table.add_row(name, "[green]available[/]", cls.summary)
        else:
            table.add_row(name, "[yellow]unavailable[/]", escape(reason))
    console.print(table)


@app.command()
def run(
    output: Annotated[Path, typer.Option("--output", "-o", help="HDF5 file to write.")] = Path(
        "gray-scott.h5"),
    backend: Annotated[str, typer.Option("--backend", "-b", help=(
        "Backend name (see `grayscott backends`), or auto: " + " > ".join(AUTO_ORDER)))] = "auto",
    rows: Rows = DEFAULT.rows,
    cols: Cols = DEFAULT.cols,
    frames: Annotated[int, typer.Option("--frames", "-n", help="Frames to write.")] = 1000,
    steps: Annotated[int, typer.Option("--steps", "-s", help="Time steps between frames.")] = 32,
    force: Annotated[bool, typer.Option("--force", "-f", help="Overwrite an existing file.")] = False,
    dtype: Dtype = DEFAULT.dtype,
    device: Annotated[str | None, typer.Option(help="cpu or cuda, for backends that do both "
                                               "(torch, jax).")] = None,
    du: Annotated[float, typer.Option(help="Diffusion rate of U.")] = DEFAULT.du,
    dv: Annotated[float, typer.Option(help="Diffusion rate of V.")] = DEFAULT.dv,
    feed: Annotated[float, typer.Option(help="Feed rate F.")] = DEFAULT.feed,
    kill: Annotated[float, typer.Option(help="Kill rate k.")] = DEFAULT.kill,
    dt: Annotated[float, typer.Option(help="Time step.")] = DEFAULT.dt,
    stencil: Annotated[str, typer.Option(help="9point (the school's) or 5point (generic "
                                         "backends only).")] = "9point",
    noise: Annotated[float, typer.Option(help="Amplitude of seeded noise on the initial state.")
                     ] = 0.0,
    seed: Annotated[int | None, typer.Option(help="Seed of that noise.")] = None,
    force_size: ForceSize = False,
) -> None:
    """Simulate and write V every --steps steps to an HDF5 file (the school's layout).

    A run larger than the memory or the disk it has is refused before it starts."""
    from grayscott.simulation import Simulation

    params = _params(rows, cols, dtype, stencil, du=du, dv=dv, feed=feed, kill=kill, dt=dt)
    name = _auto_backend() if backend == "auto" else backend
    stop = _stop_on_signals()  # from here on: a signal during set-up ends the run at once
    simulation = Simulation(name, params, frames, steps, output, force=force, device=device,
                            noise=noise, seed=seed, check_size=not force_size)
    progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                        MofNCompleteColumn(), TextColumn("frames"),
                        TextColumn("{task.fields[rate]}"), TimeRemainingColumn(),
                        console=err_console, transient=False)
    task = progress.add_task(name, total=frames, rate="")

    start = time.perf_counter()

    def on_frame(done: int) -> None:
        rate = done * steps / (time.perf_counter() - start)
        progress.update(task, completed=done, rate=f"{rate:,.0f} steps/s")

    with progress:
        stats = simulation.execute(on_frame, stop)
    summary = (f"{stats.frames_done}/{frames} frames x {steps} steps of {rows}x{cols} on "
               f"{stats.backend} ({stats.device}) in {stats.seconds_total:.2f} s: "
               f"{stats.ms_per_step:.3f} ms/step; compute {stats.seconds_compute:.2f} s, "
               f"disk {stats.seconds_write:.2f} s (overlapped), waited on disk "
               f"{stats.seconds_wait:.2f} s")
    console.print(summary, soft_wrap=True)
    if stats.interrupted:
        err_console.print(f"interrupted: {output} holds the {stats.frames_done} frames finished "
                          "(readable; attribute completed=False)")
        raise typer.Exit(130)
    console.print(f"wrote {output}  (see it: grayscott render {output})")


def _stop_on_signals() -> threading.Event:
    """An event that SIGTERM and Ctrl-C set, for the run to end after the frame in progress;
    a second one stops at once. (SIGINT stays ignored where the shell ignores it: a
    background job.)"""
    stop = threading.Event()

    def request_stop(signum: int, frame: Any) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
        signal.signal(signal.SIGINT, request_stop)
    return stop


@app.command()
def bench(
    backend_names: Annotated[str | None, typer.Option(
        "--backends", "-b", help="Comma-separated backends (default: all).")] = None,
    rows: Rows = DEFAULT.rows,
    cols: Cols = DEFAULT.cols,
    dtype: Dtype = DEFAULT.dtype,
    min_seconds: Annotated[float, typer.Option(help="Seconds of timing per backend.")] = 2.0,
    repeat: Annotated[int, typer.Option(help="Timings per backend (the median counts).")] = 3,
    output_dir: ReportDir = Path("benchmarks"),
    save: Save = True,
    full: Annotated[bool, typer.Option("--full", hidden=True,
                                       help="The same as grayscott bench-full.")] = False,
    frames: Annotated[int, typer.Option("--frames", "-n", hidden=True)] = 1000,
    steps: Annotated[int, typer.Option("--steps", "-s", hidden=True)] = 32,
    scratch: Annotated[Path | None, typer.Option(hidden=True)] = None,
    force_size: ForceSize = False,
) -> None:
    """Time backends on one grid: ms/step, throughput, x numpy and x the memory bound.

    The school's whole run with HDF5 output is grayscott bench-full (--full here is kept
    as its alias).
    """
    from grayscott.bench import run_bench, to_markdown, write_report

    if repeat < 1 or min_seconds <= 0:
        raise UsageError("--repeat must be >= 1 and --min-seconds > 0")
    params = _params(rows, cols, dtype)
    if full:
        _bench_full(backend_names, params, frames, steps, scratch, output_dir, save, force_size)
        return
    names = _backend_list(backend_names)
    if not force_size:
        _check_memory(names, params, frames_in_flight=0)

    def on_row(row: Any) -> None:
        if row.status == "ok":
            err_console.print(f"  {row.backend:16s} {row.ms_per_step:10.3f} ms/step  {row.device}")
        else:
            err_console.print(f"  {row.backend:16s} {row.status}: {escape(row.reason)}")

    err_console.print(f"benchmarking {len(names)} backends on {rows}x{cols} {dtype} ...")
    report = run_bench(names, params, min_seconds=min_seconds, repeat=repeat, on_row=on_row)
    console.print(to_markdown(report), markup=False, highlight=False)
    if save:
        json_path, md_path = write_report(report, output_dir)
        console.print(f"wrote {json_path} and {md_path}")
    if not any(r["status"] == "ok" for r in report["rows"]):
        raise typer.Exit(1)


@app.command("bench-full")
def bench_full(
    backend_names: Annotated[str | None, typer.Option(
        "--backends", "-b", help="Comma-separated backends (default: the fastest here).")] = None,
    rows: Rows = DEFAULT.rows,
    cols: Cols = DEFAULT.cols,
    dtype: Dtype = DEFAULT.dtype,
    frames: Annotated[int, typer.Option("--frames", "-n", help="Frames written.")] = 1000,
    steps: Annotated[int, typer.Option("--steps", "-s", help="Steps per frame.")] = 32,
    scratch: Annotated[Path | None, typer.Option(help=(
        "Directory for the HDF5 files (removed afterwards; default: the system temporary "
        "directory). Its disk is part of what is measured."))] = None,
    output_dir: ReportDir = Path("benchmarks"),
    save: Save = True,
    force_size: ForceSize = False,
) -> None:
    """The school's whole run (--frames x --steps, every frame written to HDF5) against
    computing alone and writing alone: does the writing hide behind the computing?"""
    _bench_full(backend_names, _params(rows, cols, dtype), frames, steps, scratch, output_dir,
                save, force_size)


def _check_memory(names: list[str], params: Params, frames_in_flight: int) -> None:
    """Refuse, before the first backend allocates, a grid that one of them cannot hold
    (backends that cannot run here are left to say so in their row)."""
    from grayscott import capacity

    for name in names:
        if backends.get(name).unavailable_reason() is None:
            capacity.check_memory(backends.create(name, params), frames_in_flight)


def _bench_full(backend_names: str | None, params: Params, frames: int, steps: int,
                scratch: Path | None, output_dir: Path, save: bool, force_size: bool) -> None:
    import tempfile

    from grayscott import capacity, fullrun

    names = _backend_list(backend_names) if backend_names else [_auto_backend()]
    for name in names:
        reason = backends.get(name).unavailable_reason()
        if reason is not None:
            raise UsageError(f"backend {name} cannot run here: {reason}")
    if scratch is not None and not scratch.is_dir():
        raise UsageError(f"--scratch {scratch} is not a directory")
    from grayscott.simulation import check_counts

    check_counts(frames, steps)
    if not force_size:
        _check_memory(names, params, capacity.FRAMES_IN_FLIGHT)
        folder = scratch or Path(tempfile.gettempdir())
        capacity.check_disk(params, frames, folder / "run.h5", option="--scratch")
    progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TimeRemainingColumn(), console=err_console, transient=True)
    tasks: dict[str, Any] = {}

    def on_progress(what: str, done: int, total: int) -> None:
        if what not in tasks:
            tasks[what] = progress.add_task(what, total=total)
        progress.update(tasks[what], completed=done)

    gb = frames * params.rows * params.cols * params.np_dtype.itemsize / 1e9
    err_console.print(f"full run: {frames} frames x {steps} steps of {params.rows}x{params.cols}, "
                      f"{gb:.1f} GB of frames, on {', '.join(names)}")
    with progress:
        report = fullrun.run_full(names, params, frames, steps, scratch, on_progress,
                                  check_size=False)
    console.print(fullrun.to_markdown(report), markup=False, highlight=False)
    if save:
        json_path, md_path = fullrun.write_report(report, output_dir)
        console.print(f"wrote {json_path} and {md_path}")


@app.command()
def smoke(
    require: Annotated[str | None, typer.Option(help=(
        "Comma-separated backends that must be available and correct (exit 1 otherwise).")
    )] = None,
    backend_names: Annotated[str | None, typer.Option(
        "--backends", "-b", help="Comma-separated backends to try (default: all).")] = None,
    rows: Rows = 64,
    cols: Cols = 96,
    steps: Annotated[int, typer.Option("--steps", "-s")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print the results as JSON.")] = False,
) -> None:
    """A few steps of each backend, checked against numpy: proof the install works."""
    from grayscott.model import tolerance
    from grayscott.smoke import run_smoke

    required = _backend_list(require) if require else []
    names = _backend_list(backend_names)
    names += [n for n in required if n not in names]
    params = Params(rows=rows, cols=cols)
    if steps <= 0:
        raise UsageError(f"--steps must be a positive number, not {steps}")
    results = run_smoke(names, params, steps)
    if as_json:
        import dataclasses
        import json

        print(json.dumps([dataclasses.asdict(r) for r in results], indent=1))
    table = Table(title=f"grayscott smoke: {rows}x{cols}, {steps} steps, tolerance "
                        f"{tolerance(params.dtype):.0e} against numpy")
    for column in ("backend", "device", "status", "max |diff|", "time s", "detail"):
        table.add_column(column)
    colours = {"ok": "green", "unavailable": "yellow", "wrong": "red", "error": "red"}
    for r in results:
        table.add_row(r.backend, r.device, f"[{colours[r.status]}]{r.status}[/]",
                      "" if math.isnan(r.max_error) else f"{r.max_error:.1e}",
                      f"{r.seconds:.2f}" if r.status in ("ok", "wrong") else "", escape(r.detail))
    if not as_json:
        console.print(table)
    failed = [r.backend for r in results if r.status in ("wrong", "error")]
    missing = [r.backend for r in results if r.backend in required and r.status != "ok"]
    if failed or missing:
        err_console.print(f"smoke failed: {', '.join(sorted(set(failed + missing)))}")
        raise typer.Exit(1)


@app.command("render")
def render_cmd(
    path: Annotated[Path, typer.Argument(help="A run file written by `grayscott run`.")],
    frame: Annotated[int, typer.Option(help="Frame for the PNG (-1: the last).")] = -1,
    png: Annotated[Path | None, typer.Option(help="PNG path (default: next to the file).")] = None,
    gif: Annotated[Path | None, typer.Option(help="GIF path (default: next to the file).")] = None,
    mp4: Annotated[Path | None, typer.Option(
        help="Also an MP4 (ffmpeg: the system's, or pip install 'grayscott[video]').")] = None,
    animate: Annotated[bool, typer.Option(help="Write the GIF animation.")] = True,
    max_frames: Annotated[int, typer.Option(help="Frames in the animation at most.")] = 100,
) -> None:
    """Draw a frame as PNG and the run as an animated GIF (and MP4)."""
    from grayscott.render import render

    if not path.exists():
        raise UsageError(f"{path} does not exist")
    written = render(path, frame=frame, png=png or path.with_suffix(".png"),
                     gif=(gif or path.with_suffix(".gif")) if animate else None, mp4=mp4,
                     max_frames=max_frames)
    for target in written:
        console.print(f"wrote {target}")


def main() -> NoReturn:
    """Entry point: our errors become one line and exit code 2, never a traceback."""
    run_app(app)


if __name__ == "__main__":
    main()
