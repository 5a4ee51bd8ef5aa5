"""Issue #22, attack 5: another user binds the port gslab prints, before the lab does.

The squatters here are real listeners (a thread of this test, or a process of another user)
answering 200 to everything; the servers are real processes. The lab must refuse the port in
one line, never move to another one, and never send its token to the squatter."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from grayscott.errors import GrayScottError
from grayscott.launcher import readiness
from tests.squatter import SQUATTER_PROGRAM, Squatter, squatting
from tests.utils import free_port

TOKEN = "f00dcafe" * 6
PROBE = readiness.Probe("/api/status", {"Authorization": f"token {TOKEN}"})

#: A stand-in for the lab's server: answers 200 on /api/status only with the token header.
OUR_SERVER = """
import http.server, sys
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        ok = self.path == "/api/status" and self.headers.get("Authorization") == sys.argv[2]
        self.send_response(200 if ok else 403)
        self.end_headers()
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
"""


@contextmanager
def process(*argv: str, user: int | None = None) -> Iterator[subprocess.Popen[str]]:
    # this interpreter may sit where another user cannot go (/root/.pyenv): the system's
    # (the programs run as another user need the standard library only)
    python = sys.executable if user is None else shutil.which("python3", path="/usr/bin:/bin")
    assert python, "no system python3 for another user"
    child = subprocess.Popen([python, "-I", "-c", *argv], stdout=subprocess.PIPE, text=True,
                             user=user, group=user)
    try:
        yield child
    finally:
        child.kill()
        child.wait()


def wait_listening(port: int) -> None:
    deadline = time.monotonic() + 20
    while not readiness.listeners(port):
        assert time.monotonic() < deadline, f"nothing listens on {port}"
        time.sleep(0.1)


def test_listeners_reads_the_kernels_tables() -> None:
    port = free_port()
    assert readiness.listeners(port) == []
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))
        s.listen()
        found = readiness.listeners(port)
        inode = os.fstat(s.fileno()).st_ino
        assert inode in readiness.socket_inodes(readiness.process_tree(os.getpid()))
    assert [(entry.uid, entry.address) for entry in found] == [(os.getuid(), "0100007F")]
    assert found[0].inode == inode


def test_our_server_is_ready_with_the_token_in_a_header() -> None:
    port = free_port()
    with process(OUR_SERVER, str(port), f"token {TOKEN}") as server:
        readiness.wait_ready(port, PROBE, 20, is_running=lambda: server.poll() is None,
                             check_owner=True,
                             server_pids=lambda: readiness.process_tree(server.pid))


def test_a_wrong_secret_is_never_ready() -> None:
    port = free_port()
    with process(OUR_SERVER, str(port), "token something-else") as server:
        wait_listening(port)
        with pytest.raises(GrayScottError, match=f"port {port} did not answer in 2 s"):
            readiness.wait_ready(port, PROBE, 2, check_owner=True,
                                 server_pids=lambda: readiness.process_tree(server.pid))


def test_a_squatter_of_the_same_user_is_refused_and_sent_nothing() -> None:
    """The squatter is a thread of this test (same UID as the "lab"): only the check that the
    listening socket is one of the server's own processes' tells them apart."""
    port = free_port()
    taken = f"port {port} is taken by another program of yours"
    with (process("import time; time.sleep(60)") as server, squatting(port) as squatter,
          pytest.raises(readiness.PortTaken, match=taken)):
        readiness.wait_ready(port, PROBE, 20, is_running=lambda: server.poll() is None,
                             check_owner=True,
                             server_pids=lambda: readiness.process_tree(server.pid))
    assert squatter.seen == []


def test_another_users_squatter_is_refused_by_uid_and_sent_nothing() -> None:
    """Rootless Podman's case (the server's processes are the engine's, not ours): the UID of
    the listener alone tells a squatter, here a real process of another account."""
    if os.geteuid() != 0:
        pytest.skip("running a squatter as another user needs root")
    port = free_port()
    with process(SQUATTER_PROGRAM, str(port), user=65534) as squatter:
        assert squatter.stdout is not None and squatter.stdout.readline().strip() == "listening"
        with pytest.raises(readiness.PortTaken, match=f"port {port} is taken by uid 65534"):
            readiness.wait_ready(port, PROBE, 20, check_owner=True)
        squatter.send_signal(signal.SIGKILL)
        seen = squatter.communicate()[0]
    assert TOKEN not in seen and "GET" not in seen


def test_nothing_is_sent_to_a_published_port_before_the_engine_holds_it() -> None:
    """Docker or rootful Podman in the foreground: the engine binds the published port only
    when it starts the container, a second or so after gslab's check; a squatter there in
    the meantime is sent nothing (the engine then fails to bind, and gslab stops)."""
    port = free_port()
    with squatting(port) as squatter, pytest.raises(GrayScottError, match="did not answer"):
        readiness.wait_ready(port, PROBE, 2, engine_holds_port=lambda: False)
    assert squatter.seen == []


def test_without_the_owner_check_a_squatter_would_get_the_token() -> None:
    """What the owner check prevents, shown on the same squatter: where an engine does not
    hold the port, an unchecked readiness probe hands the secret over."""
    port = free_port()
    with squatting(port) as squatter:
        readiness.wait_ready(port, PROBE, 5, check_owner=False)
    assert TOKEN in squatter.text()


def test_a_server_that_ends_is_reported() -> None:
    port = free_port()
    with process("pass") as server:
        server.wait()
        with pytest.raises(GrayScottError, match="stopped before answering"):
            readiness.wait_ready(port, PROBE, 20, is_running=lambda: server.poll() is None,
                                 check_owner=True,
                                 server_pids=lambda: readiness.process_tree(server.pid))


def _gslab(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.Popen([sys.executable, "-m", "grayscott.launcher", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            start_new_session=True)


def _await_line(stream: object, fragment: str, timeout: float = 60) -> list[str]:
    """Lines of ``stream`` up to the first one holding ``fragment``."""
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = stream.readline()  # type: ignore[attr-defined]
        if not line:
            break
        lines.append(line)
        if fragment in line:
            return lines
    raise AssertionError(f"{fragment!r} never came:\n{''.join(lines)}")


def _stop(gslab: subprocess.Popen[str], timeout: float) -> tuple[str, str]:
    try:
        return gslab.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(gslab.pid, signal.SIGTERM)
        except ProcessLookupError:  # not a session of its own (run as another user)
            gslab.terminate()
        out, err = gslab.communicate(timeout=30)
        return "(still running: stopped by the test)\n" + out, err


def squatted_after_the_check(gslab: subprocess.Popen[str], runtime: str, port: int,
                             timeout: float = 120) -> tuple[str, str, Squatter]:
    """Once ``gslab run jupyter`` is past its free-port check (it names image and runtime),
    a squatter binds ``port`` while the lab starts; gslab is let end (stopped after
    ``timeout``): its stdout, its whole stderr, and what the squatter was sent."""
    try:
        early = _await_line(gslab.stderr, f"cpu-jupyter on {runtime}")
        with squatting(port) as squatter:
            out, err = _stop(gslab, timeout)
    finally:
        if gslab.poll() is None:
            gslab.kill()
    return out, "".join(early) + err, squatter


def test_local_jupyter_refuses_a_port_squatted_after_the_free_port_check(tmp_path: Path) -> None:
    """``gslab run jupyter --runtime local``: the squatter binds the port just after gslab's
    own free-port check, while JupyterLab starts. gslab must refuse in one line naming the
    port (exit 2), print no URL, send the squatter nothing, and leave no server elsewhere."""
    port = free_port()
    gslab = _gslab("run", "jupyter", "--runtime", "local", "--port", str(port), "--workdir",
                   str(tmp_path), "--timeout", "60")
    out, err, squatter = squatted_after_the_check(gslab, "local", port, 90)
    assert "The lab is ready" not in out, (out, err, squatter.seen)
    assert TOKEN not in squatter.text() and "token" not in squatter.text().lower(), squatter.seen
    assert squatter.seen == [], squatter.seen
    assert gslab.returncode == 2, (out, err)
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and f"port {port}" in errors[0] and "Traceback" not in err, err
    assert "trying another port" not in err, err  # Jupyter's words when it moves
