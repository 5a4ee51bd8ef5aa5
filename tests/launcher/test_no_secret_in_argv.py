"""Issue #22, attack 3 through the engines: while ``gslab run jupyter`` serves in the
foreground, its token is in no command line on the machine: not gslab's, not the engine
client's (``docker run``), not conmon's, not the container's processes (the host's too).
The scan itself is shown to catch a planted token in tests/test_gslab_argv.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.argv_scan import argv_holding, serving_jupyter
from tests.launcher.test_gslab_engines import SERVING
from tests.utils import free_port


@pytest.mark.parametrize("runtime", SERVING)
def test_the_token_is_in_no_command_line_while_the_lab_serves(runtime: str,
                                                               workdir: Path) -> None:
    port = free_port()
    with serving_jupyter(runtime, port, workdir, timeout=120) as token:
        found = argv_holding(token)
        engine_seen = argv_holding(f"127.0.0.1:{port}:")  # the engine client, in the scan
    assert engine_seen, f"no {runtime} process published port {port}: nothing was scanned"
    assert found == [], found
