"""Issue #22, attack 3: no secret in any process's command line.

Every user of a shared machine reads every command line (``ps``, ``/proc/*/cmdline``); a
token there opens its owner's lab. ``argv_holding`` scans them all, the engines', the
containers' (their processes are the host's) and gslab's own."""

from __future__ import annotations

from pathlib import Path


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
