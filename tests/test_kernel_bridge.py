"""The code-server lab extension's kernel bridge (images/code-server/extensions/gray-scott-lab/
extension/kernel_bridge.py), run here with this Python's ipykernel: its stdout carries only
the extension's JSON messages, even when a cell writes to file descriptor 1 itself (a C
library's printf, ``os.system``), which the kernel, a child of the bridge, inherits."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import IO, Any

from tests.utils import REPO

BRIDGE = REPO / "images/code-server/extensions/gray-scott-lab/extension/kernel_bridge.py"


def until_done(stdout: IO[str], cell: int) -> list[dict[str, Any]]:
    """The messages up to cell ``cell``'s "done"; each line must be one JSON message."""
    messages = []
    while line := stdout.readline():
        messages.append(json.loads(line))  # a stray line fails here
        if messages[-1] == {**messages[-1], "type": "done", "id": cell}:
            return messages
    raise AssertionError(f"the bridge ended before cell {cell} was done: {messages}")


def test_c_level_writes_stay_off_the_protocol() -> None:
    with subprocess.Popen([sys.executable, str(BRIDGE)], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                          cwd=REPO) as bridge:
        assert bridge.stdin is not None and bridge.stdout is not None
        try:
            assert json.loads(bridge.stdout.readline()) == {"type": "ready"}
            code = "import os\nos.system('echo from-fd-1')\nprint(6 * 7)"
            bridge.stdin.write(json.dumps({"op": "execute", "id": 1, "code": code}) + "\n")
            bridge.stdin.flush()
            first = until_done(bridge.stdout, 1)
            bridge.stdin.write(json.dumps({"op": "execute", "id": 2, "code": "1 / 0"}) + "\n")
            bridge.stdin.write(json.dumps({"op": "shutdown"}) + "\n")
            bridge.stdin.flush()
            second = until_done(bridge.stdout, 2)
            assert bridge.wait(timeout=60) == 0
        finally:
            bridge.kill()
    printed = "".join(m["output"]["text"] for m in first if m["type"] == "output")
    assert "42" in printed, first  # (ipykernel may also show the fd-1 line, when it sees it)
    assert first[-1]["status"] == "ok"
    errors = [m["output"]["ename"] for m in second if m["type"] == "output"]
    assert second[-1]["status"] in ("error", "aborted") and errors in ([], ["ZeroDivisionError"])
