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

#: The default when ``GRAYSCOTT_LAB_SIZE`` is unset, once a notebook said where it runs
#: (``size_for_device``); None: ``DEFAULT_SIZE``.
_device_default: str | None = None


def size_name() -> str:
    """The current size setting (``tiny``, ``small`` or ``full``), from ``GRAYSCOTT_LAB_SIZE``.

    Unknown values are an error rather than a silent fallback: a typo in CI would otherwise
    run the full grid and time out far from the cause.
    """
    name = os.environ.get(ENV_VAR, "").strip().lower() or _device_default or DEFAULT_SIZE
    if name not in SIZES:
        raise UsageError(f"{ENV_VAR}={name!r} is not one of {', '.join(SIZES)}")
    return name


def size_for_device(on_gpu: bool) -> str:
    """The GPU day's notebooks, before they ask for the grid: the school's full grid on a GPU,
    the small one on a CPU (no GPU found) unless ``GRAYSCOTT_LAB_SIZE`` says otherwise.

    At full size on a CPU, one of their cells sits silent for 1.5-2.5 minutes; its timings
    then say nothing about a GPU anyway. Prints the choice when it is this fallback, and
    returns the size in force."""
    global _device_default
    _device_default = DEFAULT_SIZE if on_gpu else "small"
    name = size_name()
    if not on_gpu and not os.environ.get(ENV_VAR, "").strip():
        rows, cols = SIZES[name]
        print(f"no GPU: the {name} grid ({rows}x{cols}) on the CPU, so that each cell takes "
              f"seconds ({ENV_VAR}=full for the school's grid)")
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

