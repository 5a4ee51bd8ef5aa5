"""A port squatter for the tests of issue #22, attack 5: a real HTTP listener that answers 200
to everything and records what it was sent (so a test can assert a token never reached it).

``Squatter`` runs in a thread of the test's process; ``SQUATTER_PROGRAM`` is the same in a
process of its own (run as another user), which prints each request it sees."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager

SQUATTER_PROGRAM = """
import http.server, sys
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        print(self.requestline, dict(self.headers), flush=True)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"status": "alive"}')
    do_POST = do_GET
    def log_message(self, *args):
        pass
server = http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
print("listening", flush=True)
server.serve_forever()
"""


class Squatter:
    """What the squatter saw: one line per request (request line and headers)."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def text(self) -> str:
        return "\n".join(self.seen)


@contextmanager
def squatting(port: int) -> Iterator[Squatter]:
    """Bind 127.0.0.1:``port`` now (raises if it is taken) and answer 200 to every request."""
    record = Squatter()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            record.seen.append(f"{self.requestline} {dict(self.headers)}")
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"status": "alive"}')

        do_POST = do_GET

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield record
    finally:
        server.shutdown()
        server.server_close()
