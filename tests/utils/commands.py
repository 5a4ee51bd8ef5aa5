"""Commands and polls with deadlines, so that a broken engine or hub fails a test instead of
hanging CI."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def run(*args: str | Path, env: dict[str, str] | None = None, check: bool = True,
        timeout: float = 600, cwd: Path = REPO,
        input_text: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run a command; with ``check`` its failure fails the test with all it printed.
    ``input_text`` is its standard input (a secret goes there, never into the arguments)."""
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True, cwd=cwd,
                            env={**os.environ, **(env or {})}, timeout=timeout, check=False,
                            input=input_text)
    if check:
        assert result.returncode == 0, (
            f"{' '.join(map(str, args))} exited {result.returncode}:\n"
            f"{result.stdout}\n{result.stderr}")
    return result


def wait_for(predicate: Callable[..., object], timeout: float, what: str, interval: float = 0.25) -> None:
    """Poll ``predicate()`` until it is true; a deadline only so a broken hub cannot hang CI."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"{what}: not within {timeout} s")
