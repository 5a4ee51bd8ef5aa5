"""What is running and what can run: ``gslab ps | logs | stop | doctor``."""

from __future__ import annotations

import shutil
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from grayscott import hardware, variants
from grayscott.errors import UsageError
from grayscott.launcher import registry
from grayscott.launcher.app import MIN_CUDA, MIN_DRIVER, app, console, port_free
from grayscott.launcher.runtime import Runtime


@app.command()
def ps() -> None:
    """The containers gslab started (Docker and Podman)."""
    table = Table("runtime", "name", "image", "status", "ports")
    for engine in registry.image_stores():
        for row in engine.containers():
            table.add_row(engine.name, *row)
    console.print(table)


def _owner(name: str) -> Runtime:
    for engine in registry.image_stores():
        if any(row[0] == name for row in engine.containers(all_=True)):
            return engine
    raise UsageError(f"no lab container named {name!r}; see gslab ps")


@app.command()
def logs(name: Annotated[str, typer.Argument(help="A name from gslab ps.")]) -> None:
    """What a lab container printed (the URL and its token are there)."""
    console.print(_owner(name).logs(name), markup=False, highlight=False)


@app.command()
def stop(name: Annotated[str, typer.Argument(help="A name from gslab ps.")]) -> None:
    """Stop and remove a lab container."""
    _owner(name).stop(name)
    console.print(f"stopped {name}")


@app.command()
def doctor() -> None:
    """What this machine can run: runtimes, GPU and driver, free ports, disk space."""
    table = Table("check", "status", "detail / fix")
    for name in registry.RUNTIMES:
        reason = registry.create(name).available()
        table.add_row(f"runtime {name}", "[green]ok[/]" if reason is None else "[yellow]no[/]",
                      escape(reason or ""))
    driver = hardware.cuda_driver()
    if driver is None:
        table.add_row("NVIDIA GPU", "[yellow]none[/]", "cpu images only (--target cpu)")
    else:
        fit = "gpu" if driver.version // 1000 >= MIN_CUDA else "cpu"
        fix = "" if fit == "gpu" else f"; update the driver to >= {MIN_DRIVER} for the gpu images"
        table.add_row("NVIDIA GPU", "[green]ok[/]", f"{', '.join(driver.gpus)}, CUDA "
                      f"{driver.cuda_version}: use --target {fit}{fix}")
    for port in dict.fromkeys(server.port for server in variants.servers().values()):
        free = port_free(port)
        table.add_row(f"port {port}", "[green]free[/]" if free else "[yellow]busy[/]",
                      "" if free else f"use --port for another one than {port}")
    free_gb = shutil.disk_usage(".").free / 1e9
    table.add_row("disk", "[green]ok[/]" if free_gb > 10 else "[yellow]low[/]",
                  f"{free_gb:.0f} GB free here (an image takes 1 to 9 GB)")
    console.print(table)
