"""Issue #22, attack 3 through the engines: while ``gslab run jupyter`` serves in the
foreground, its token is in no command line on the machine: not gslab's, not the engine
client's (``docker run``), not conmon's, not the container's processes (the host's too).
The scan itself is shown to catch a planted token in tests/test_gslab_argv.py."""

from __future__ import annotations

import os
import re
import signal
from pathlib import Path

import pytest

from tests.argv_scan import argv_holding
from tests.images.conftest import free_port
from tests.launcher.test_gslab_engines import SERVING
from tests.test_launcher_squatting import _await_line, _gslab, _stop


@pytest.mark.parametrize("runtime", SERVING)
def test_the_token_is_in_no_command_line_while_the_lab_serves(runtime: str,
                                                               workdir: Path) -> None:
    port = free_port()
    gslab = _gslab("run", "jupyter", "--runtime", runtime, "--port", str(port), "--workdir",
                   str(workdir), "--timeout", "120")
    try:
        ready = _await_line(gslab.stdout, "The lab is ready", timeout=180)
        token = re.search(r"\?token=([0-9a-f]{32,})", "".join(ready))
        assert token, ready
        found = argv_holding(token.group(1))
        engine_seen = argv_holding(f"127.0.0.1:{port}:")  # the engine client, in the scan
    finally:
        os.killpg(gslab.pid, signal.SIGTERM)
        _stop(gslab, 60)
    assert engine_seen, f"no {runtime} process published port {port}: nothing was scanned"
    assert found == [], found
