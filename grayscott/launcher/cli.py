"""``gslab``: start the lab's images with whatever runtime this machine has.

Attendees never type an engine command: ``gslab run jupyter`` picks Docker, then Podman,
then Apptainer, then the local environment; prints a URL to click (with its token or
password), waits until it answers, and stops the container on Ctrl-C. ``--dry-run`` prints
the exact engine command instead of running it.

This module is the entry point only: the app is ``launcher.app``, the commands are in
``launcher.commands`` (run, images, status, push, registry, k8s), the runtimes in ``launcher.registry``.
"""

from __future__ import annotations

from typing import NoReturn

from grayscott.console import one_line_errors, run_app

# The commands read the variant table as they are defined: a table that cannot be read
# (GRAYSCOTT_VARIANTS naming no file) is one line and exit 2 here too, never a traceback.
with one_line_errors():
    from grayscott.launcher.app import app

    # gslab --help lists the commands in the order they are imported
    # isort: off
    from grayscott.launcher.commands import run, status, images, push, site_registry, k8s
    # isort: on

__all__ = ["app", "images", "k8s", "main", "push", "run", "site_registry", "status"]


def main() -> NoReturn:
    """Entry point: errors are one line and their exit code (2), never a traceback."""
    run_app(app)


if __name__ == "__main__":
    main()
