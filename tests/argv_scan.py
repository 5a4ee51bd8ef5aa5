"""Issue #22, attack 3: no secret in any process's command line.

Every user of a shared machine reads every command line (``ps``, ``/proc/*/cmdline``); a
token there opens its owner's lab. ``argv_holding`` scans them all, the engines', the
containers' (their processes are the host's) and gslab's own."""

from __future__ import annotations

import os
import re
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.test_launcher_squatting import _await_line, _gslab, _stop


def argv_holding(secret: str) -> list[str]:
    """``pid: command line`` of every process on this machine whose argv holds ``secret``."""
    found = []
    needle = secret.encode()
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            argv = cmdline.read_bytes()
        except OSError:  # the process ended meanwhile
            continue
        if needle in argv:
            words = argv.replace(b"\0", b" ").decode(errors="replace")
            found.append(f"{cmdline.parent.name}: {words}")
    return found


@contextmanager
def serving_jupyter(runtime: str, port: int, workdir: Path, timeout: float) -> Iterator[str]:
    """``gslab run jupyter`` on ``runtime`` in the foreground, up to its URL: yields the token
    it printed (for a scan while it serves), then stops gslab as a terminal's Ctrl-C would
    (SIGTERM to its process group) and waits for it. ``timeout``: gslab's own wait for the
    server; the URL is awaited half as long again."""
    gslab = _gslab("run", "jupyter", "--runtime", runtime, "--port", str(port), "--workdir",
                   str(workdir), "--timeout", str(timeout))
    try:
        ready = _await_line(gslab.stdout, "The lab is ready", timeout=timeout * 1.5)
        token = re.search(r"\?token=([0-9a-f]{32,})", "".join(ready))
        assert token, ready
        yield token.group(1)
    finally:
        os.killpg(gslab.pid, signal.SIGTERM)
        _stop(gslab, 60)
