"""Shared fixtures: which backends must run here, and how to run the real CLI.

``GRAYSCOTT_REQUIRE_BACKENDS`` (comma list, set by .ci/run and on the GPU machine) turns
"backend unavailable" from a skip into a failure, so CI cannot silently test less.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from grayscott import backends

REQUIRED = {n.strip() for n in os.environ.get("GRAYSCOTT_REQUIRE_BACKENDS", "").split(",") if n.strip()}


def use_backend(name: str) -> None:
    """Skip the test when ``name`` cannot run here, or fail if it is required."""
    reason = backends.get(name).unavailable_reason()
    if reason is None:
        return
    if name in REQUIRED:
        pytest.fail(f"required backend {name} is unavailable: {reason}")
    pytest.skip(f"{name}: {reason}")


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run the real ``grayscott`` command (``python -m grayscott``) and capture its output."""
    env = {**os.environ, "COLUMNS": "200", "PYTHONUNBUFFERED": "1"}
    return subprocess.run([sys.executable, "-m", "grayscott", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=timeout, env=env, check=False)


def pytest_report_header() -> list[str]:
    lines = []
    for name, reason in backends.available().items():
        lines.append(f"backend {name}: {'available' if reason is None else reason}")
    return lines
