"""Issue #22, attack 3, the local runtime: while ``gslab run jupyter --runtime local`` serves,
its token is in no command line of this machine (the engines' runs are in tests/launcher)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from tests.argv_scan import argv_holding, serving_jupyter
from tests.utils import free_port


def test_the_scan_finds_a_token_put_on_a_command_line() -> None:
    """The scan can fail: a process given a token as an argument is found."""
    planted = "0123abcd" * 6
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)", planted]) as child:
        try:
            # until the child has exec'd (before, its command line is still this process's)
            deadline = time.monotonic() + 10
            while not (found := argv_holding(planted)) and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            child.kill()
    assert len(found) == 1 and found[0].startswith(f"{child.pid}: ")


def test_the_local_labs_token_is_in_no_command_line(tmp_path: Path) -> None:
    with serving_jupyter("local", free_port(), tmp_path, timeout=90) as token:
        found = argv_holding(token)
    assert found == [], found
