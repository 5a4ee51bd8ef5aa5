"""The root of ``gslab``: the Typer app, its consoles and the helpers every command shares.

The commands live in ``grayscott.launcher.commands`` (one module per group: run, images,
status, k8s) and register themselves on ``app``; ``grayscott.launcher.cli`` imports them all.
"""

from __future__ import annotations

import shlex
import socket
import subprocess
from pathlib import Path

import typer

from grayscott import variants
from grayscott.console import stderr_console, stdout_console
from grayscott.errors import GrayScottError

app = typer.Typer(name="gslab", no_args_is_help=True, add_completion=False,
                  pretty_exceptions_enable=False,
                  context_settings={"help_option_names": ["-h", "--help"]},
                  help="Gray-Scott Lab launcher: run the lab images on Docker, Podman, "
                       "Apptainer or locally, without typing an engine command.")
console = stdout_console()
err = stderr_console()

#: What ``gslab run`` starts: the flavours of the variant table's public images.
FLAVOURS = tuple(dict.fromkeys(v.flavour for v in variants.variants() if not v.internal))
#: The CUDA major version (and driver) the gpu images' wheels need, from the variant table
MIN_CUDA, MIN_DRIVER = variants.gpu_minimum()


def show(command: list[str], env: dict[str, str] | None = None) -> None:
    """Print a command as a shell would take it, with leading ``NAME=value`` assignments."""
    words = [*(f"{k}={v}" for k, v in (env or {}).items()), *command]
    console.print(" ".join(shlex.quote(w) for w in words), markup=False, highlight=False,
                  soft_wrap=True)


def run_checked(command: list[str], what: str) -> None:
    if subprocess.run(command, check=False).returncode != 0:
        raise GrayScottError(f"{what} failed: {' '.join(command[:3])} ...")


def run_output(command: list[str], what: str, stdin: str | None = None,
               cwd: Path | None = None) -> str:
    """Run an engine command quietly; its standard output, or its error's last line as ours
    (``run_checked`` is for commands whose progress the user watches)."""
    result = subprocess.run(command, input=stdin, capture_output=True, text=True, check=False,
                            cwd=cwd)
    if result.returncode != 0:
        lines = (result.stderr or result.stdout).strip().splitlines() or ["(no output)"]
        raise GrayScottError(f"{what} failed: {lines[-1]}")
    return result.stdout


def port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True
