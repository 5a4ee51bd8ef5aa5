"""Is the server on the printed port ours, and up? (issue #22, attack 5: port squatting)

On a shared machine another user can bind the port gslab is about to print. Jupyter used to
move to the next free port (``port_retries``, 50 by default) while the old check took any
HTTP answer on the printed port as "ready": the squatter's. The student then opened the
squatter's page with her token in the URL. Now:

- the servers never move (``port_retries = 0`` in the image and on the local command line;
  code-server has no retries): a taken port makes them exit;
- where the server listens on the host port itself (the local runtime, rootless Podman on the
  host network), every listening socket on that port must be ours before anything is sent to
  it: our UID (``/proc/net/tcp``, ``tcp6``) and, where gslab knows the server's processes,
  one of their sockets. A stranger there is refused at once, and the token never leaves us;
- where an engine publishes the port (Docker, rootful Podman), the engine binds it itself
  when it starts the container and fails when it is taken: once the container runs, whatever
  answers there is the container. Nothing is sent before (``docker run`` in the foreground
  takes a second to get there, while a squatter already answers);
- ready means the server's own API answered 200 to a request that proves the secret (sent in
  a header, never in a URL a listener could log), while its process still runs.
"""

from __future__ import annotations

import http.client
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from grayscott.errors import GrayScottError

#: /proc/net/tcp's state of a listening socket
LISTEN = "0A"


class PortTaken(GrayScottError):
    """Another program listens on the port the lab was to use."""


@dataclass(frozen=True)
class Listener:
    """A listening TCP socket of this machine (this network namespace)."""

    address: str  # hex, as /proc/net/tcp writes it
    uid: int
    inode: int


def listeners(port: int, proc_net: Path = Path("/proc/net")) -> list[Listener]:
    """Every socket listening on ``port``, IPv4 and IPv6, any address, any user."""
    found = []
    for table in ("tcp", "tcp6"):
        try:
            rows = (proc_net / table).read_text().splitlines()[1:]
        except FileNotFoundError:  # a kernel without IPv6
            continue
        for row in rows:
            fields = row.split()
            address, _, hex_port = fields[1].rpartition(":")
            if fields[3] == LISTEN and int(hex_port, 16) == port:
                found.append(Listener(address, int(fields[7]), int(fields[9])))
    return found


def process_tree(root: int) -> set[int]:
    """``root`` and all its descendants now (code-server's listener is a child process)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # the process ended meanwhile
            continue
        parent = int(text.rpartition(")")[2].split()[1])  # after "(comm)": state, ppid
        children.setdefault(parent, []).append(int(stat.parent.name))
    tree, todo = set(), [root]
    while todo:
        pid = todo.pop()
        if pid not in tree:
            tree.add(pid)
            todo.extend(children.get(pid, []))
    return tree


def socket_inodes(pids: set[int]) -> set[int]:
    """The inodes of the sockets these processes hold open."""
    inodes = set()
    for pid in pids:
        try:
            fds = list(Path(f"/proc/{pid}/fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(int(target[8:-1]))
    return inodes


def stranger_among(found: list[Listener],
                   server_pids: Callable[[], set[int]] | None) -> str | None:
    """Who, not us, is among the listeners ``found``; None when none is or only we are.

    Our UID is required of every listener; with ``server_pids`` (the processes of the
    server gslab started) each listener must also be one of their sockets, so that even a
    program of the same user that got there first is not taken for the lab."""
    others = [entry for entry in found if entry.uid != os.getuid()]
    if others:
        return f"uid {others[0].uid}"
    if found and server_pids is not None:
        ours = socket_inodes(server_pids())
        if any(entry.inode not in ours for entry in found):
            return "another program of yours"
    return None


@dataclass(frozen=True)
class Probe:
    """The request that says the server is up: GET ``path`` with ``headers`` answers 200."""

    path: str
    headers: dict[str, str] = field(default_factory=dict)


def _answers(port: int, probe: Probe) -> bool:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", probe.path, headers=probe.headers)
        response = connection.getresponse()
        response.read()
        return response.status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        connection.close()


def wait_ready(port: int, probe: Probe, timeout: float, *,
               is_running: Callable[[], bool] | None = None, check_owner: bool = False,
               server_pids: Callable[[], set[int]] | None = None,
               engine_holds_port: Callable[[], bool] | None = None) -> None:
    """Return once our server on ``port`` answers ``probe`` with 200.

    ``check_owner``: the server listens on the host port itself (no engine holds it), so
    the listeners are checked before each request; a stranger raises ``PortTaken`` without
    a single byte sent to it. ``engine_holds_port``: for a published port, True once the
    engine has bound it (its container runs); nothing is sent before. ``is_running``: False
    once the server (or container) ended."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        # One look at the listeners decides both: a stranger, or ours alone (two looks let a
        # squatter bind in between and receive the secret: seen on a clean CI-like run).
        # Once our server holds 127.0.0.1:port, no other socket can bind it.
        found = listeners(port) if check_owner else []
        who = stranger_among(found, server_pids) if check_owner else None
        if who is not None:
            raise PortTaken(f"port {port} is taken by {who}: the lab was not started and its "
                            "secret was not sent there; choose another with --port")
        ours = bool(found) if check_owner else (
            engine_holds_port is None or engine_holds_port())
        up = ours and _answers(port, probe)
        if is_running is not None and not is_running():
            raise GrayScottError(f"the server stopped before answering on port {port}; "
                                 "see its output above")
        if up:
            return
        time.sleep(0.5)
    raise GrayScottError(f"the server on port {port} did not answer in {timeout:.0f} s")
