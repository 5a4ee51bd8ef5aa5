"""Issue #22, attack 5 through Docker and rootful Podman: the engine publishes the port, so it
binds it itself; a squatter who takes the port after gslab's free-port check makes the engine
fail, and gslab says so in one line, with the port, and sends the squatter nothing. (The
local runtime and rootless Podman, where the server binds the port itself, are tested in
tests/test_launcher_squatting.py and test_rootless_podman.py.)"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.launcher.test_gslab_engines import SERVING
from tests.test_launcher_squatting import _gslab, squatted_after_the_check
from tests.utils import free_port


@pytest.mark.parametrize("runtime", SERVING)
@pytest.mark.parametrize("detach", [True, False], ids=["detached", "foreground"])
def test_a_port_squatted_after_the_check_fails_the_engine_in_one_line(
        runtime: str, detach: bool, workdir: Path) -> None:
    port = free_port()
    gslab = _gslab("run", "jupyter", "--runtime", runtime, "--port", str(port), "--workdir",
                   str(workdir), "--timeout", "60", *(["--detach"] if detach else []))
    out, err, squatter = squatted_after_the_check(gslab, runtime, port)
    assert "The lab is ready" not in out and squatter.seen == [], (out, err, squatter.seen)
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert gslab.returncode == 2 and len(errors) == 1, (out, err)
    assert f"port {port}" in errors[0] and "Traceback" not in err, err
    left = subprocess.run([runtime, "ps", "-a", "-q", "--filter", f"publish={port}"],
                          capture_output=True, text=True, check=False)
    assert left.stdout.strip() == "", f"a container was left on port {port}"
