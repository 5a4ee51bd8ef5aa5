"""``grayscott labs sync``: the sync on demand, and what the lab image's start script runs at
every start. Its defaults are the image's: the course's labs in $GRAYSCOTT_LABS (/opt/labs),
the student's in $GRAYSCOTT_WORKDIR/labs (/work/labs; under Apptainer the home directory is
bound there, so the same defaults hold)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from grayscott.console import stdout_console
from grayscott.errors import UsageError

labs = typer.Typer(help="The labs: bring your copy up to the course's version.",
                   no_args_is_help=True)


def _default_source() -> Path:
    return Path(os.environ.get("GRAYSCOTT_LABS", "/opt/labs"))


def _default_destination() -> Path:
    return Path(os.environ.get("GRAYSCOTT_WORKDIR", "/work")) / "labs"


@labs.command("sync")
def sync(
    source: Annotated[Path | None, typer.Option("--from", help=(
        "The course's labs: a folder, a .tar/.tar.gz/.tgz or a git checkout "
        "[default: $GRAYSCOTT_LABS, else /opt/labs]"), show_default=False)] = None,
    destination: Annotated[Path | None, typer.Option("--to", help=(
        "Your labs folder [default: $GRAYSCOTT_WORKDIR/labs, else /work/labs]"),
        show_default=False)] = None,
) -> None:
    """Bring your labs up to the course's version without losing any of your work: your
    changes are kept, the course's arrive beside them, SYNC-REPORT.md says what happened."""
    from grayscott.labs.sync import sync_labs

    source = source or _default_source()
    destination = destination or _default_destination()
    if destination.exists() and not destination.is_dir():
        raise UsageError(f"{destination} is not a folder: the labs are synced into a folder")
    try:
        report = sync_labs(source, destination)
    except ImportError as exc:  # notebooks to merge, and no nbformat: before any write
        raise UsageError(f"merging notebooks needs the lab extra ({exc.name} is missing): "
                         "pip install 'grayscott[lab]'") from None
    except OSError as exc:
        raise UsageError(f"the labs sync stopped: {exc} (what it had overwritten is in "
                         f"{destination}/.sync/backups)") from None
    console = stdout_console()
    console.print(report.summary(), highlight=False, soft_wrap=True)
    if report.changed and not report.first:
        console.print(f"what changed: {destination / 'SYNC-REPORT.md'}", highlight=False,
                      soft_wrap=True)
