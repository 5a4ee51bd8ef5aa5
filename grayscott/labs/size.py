"""The lab grid for ``GRAYSCOTT_LAB_SIZE`` (tiny for CI, small, full for students)."""

from __future__ import annotations

import os
from typing import TypeVar

from grayscott.errors import UsageError
from grayscott.model import Params

#: Interior grid (rows, cols) for each value of ``GRAYSCOTT_LAB_SIZE``.
SIZES: dict[str, tuple[int, int]] = {
    "tiny": (64, 96),       # CI: every notebook in seconds
    "small": (270, 480),    # a quick pass, a quarter of the school's grid in each direction
    "full": (1080, 1920),   # the school's grid: what the timings are about
}
DEFAULT_SIZE = "full"
ENV_VAR = "GRAYSCOTT_LAB_SIZE"

T = TypeVar("T")


def size_name() -> str:
    """The current size setting (``tiny``, ``small`` or ``full``), from ``GRAYSCOTT_LAB_SIZE``.

    Unknown values are an error rather than a silent fallback: a typo in CI would otherwise
    run the full grid and time out far from the cause.
    """
    name = os.environ.get(ENV_VAR, "").strip().lower() or DEFAULT_SIZE
    if name not in SIZES:
        raise UsageError(f"{ENV_VAR}={name!r} is not one of {', '.join(SIZES)}")
    return name


def grid_size() -> tuple[int, int]:
    """Interior (rows, cols) of the lab grid for the current size setting."""
    return SIZES[size_name()]


def lab_params(**overrides: object) -> Params:
    """The model's ``Params`` on the lab grid (constants from ``grayscott.model``, not copied)."""
    rows, cols = grid_size()
    fields: dict[str, object] = {"rows": rows, "cols": cols, **overrides}
    return Params(**fields)  # type: ignore[arg-type]


def by_size(*, tiny: T, small: T, full: T) -> T:
    """Pick a value (a step count, a repeat count) for the current size setting.

    Step counts cannot simply scale with the grid: compiled code is timed after a warm-up
    and needs enough steps to dominate it, while pure-Python loops need far fewer. Each
    notebook says what it wants for each size.
    """
    return {"tiny": tiny, "small": small, "full": full}[size_name()]

