"""A check cell's report to the teacher's page (grayscott/labs/progress.py), against a real
local HTTP server: what is sent, with which token, and that nothing waits for it."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, ClassVar

import pytest

from grayscott import model
from grayscott.labs import checks, progress


class Recorder(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[str, str, dict[str, Any]]]] = []

    def do_POST(self) -> None:  # http.server's name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.received.append((self.path, self.headers["Authorization"], body))
        self.send_response(201)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def service(monkeypatch: pytest.MonkeyPatch) -> Any:
    server = HTTPServer(("127.0.0.1", 0), Recorder)
    Recorder.received = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv(progress.URL_ENV, f"http://127.0.0.1:{server.server_port}/services/progress/")
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "lab-token")
    monkeypatch.setenv("JPY_SESSION_NAME", "/work/labs/cpu/tutorial/3_Python_Implementation.ipynb")
    yield Recorder.received
    server.shutdown()


def test_the_notebook_is_the_day_and_its_name() -> None:
    assert progress.notebook_name("/work/labs/cpu/tutorial/3_Stencil.ipynb") == "cpu/3_Stencil"
    assert progress.notebook_name("labs/gpu/solutions/2_CuPy.ipynb") == "gpu/2_CuPy"
    assert progress.notebook_name("") == ""


def test_a_check_posts_its_verdict_with_the_labs_token(service: list[Any]) -> None:
    five_point = lambda a: model.laplacian_weighted(a, model.STENCIL_5)  # noqa: E731
    assert checks.check_laplacian(five_point, raise_on_failure=False) is False
    assert checks.check_laplacian(model.laplacian)
    assert progress.flush(5)
    (path, auth, wrong), (_, _, right) = service
    assert path == "/services/progress/api/results" and auth == "token lab-token"
    assert (wrong["notebook"], wrong["check"], wrong["passed"]) == (
        "cpu/3_Python_Implementation", "check_laplacian", False)
    assert "5-point" in wrong["message"] or "stencil" in wrong["message"]
    assert right["passed"] is True and "user" not in right  # the service asks the hub who


def test_outside_a_hub_nothing_is_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(progress.URL_ENV, raising=False)
    assert progress.report("check_x", True, "") is False


def test_an_unreachable_service_does_not_hold_the_cell(monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    # a port nobody listens on, and an address that never answers (TEST-NET-1)
    for url in ("http://127.0.0.1:9/services/progress/", "http://192.0.2.1:9/services/progress/"):
        monkeypatch.setenv(progress.URL_ENV, url)
        monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "lab-token")
        started = time.monotonic()
        assert checks.check_laplacian(model.laplacian)
        assert time.monotonic() - started < 1.0
        assert "check_laplacian: correct" in capsys.readouterr().out
