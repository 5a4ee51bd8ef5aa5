"""What both command lines (``grayscott`` and ``gslab``) share: consoles sized for where they
print, and one way to end on an error (one line, the error's exit code, never a traceback)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import NoReturn

from rich.console import Console

from grayscott.errors import GrayScottError


def _width() -> int | None:
    """Wide tables when not on a terminal (CI logs, pipes), unless COLUMNS says otherwise."""
    return None if sys.stdout.isatty() or "COLUMNS" in os.environ else 160


def stdout_console() -> Console:
    return Console(width=_width())


def stderr_console() -> Console:
    return Console(stderr=True, width=_width())


@contextmanager
def one_line_errors() -> Iterator[None]:
    """Our errors inside become ``error: ...`` on one line and their exit code (2)."""
    try:
        yield
    except GrayScottError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)


def run_app(app: Callable[[], object]) -> NoReturn:
    """Run a Typer app as the entry point, with one-line errors. Typer's standalone mode
    already turns bad options into a usage message with exit 2."""
    with one_line_errors():
        app()
    sys.exit(0)


def run_script(main: Callable[[list[str]], int]) -> NoReturn:
    """``python -m`` entry of a small module command: its exit code, or our one-line error."""
    with one_line_errors():
        code = main(sys.argv[1:])
    sys.exit(code)
