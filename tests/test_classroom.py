"""grayscott.classroom without a hub: the package stays light without it, the report's figures
and markdown, the client's pure parts (the execute_request, the cookie a browser sends, the
channels URL). The simulator and the client against a real hub: tests/deploy."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import requests

from grayscott.classroom import client, report

REPO = Path(__file__).resolve().parents[1]


def test_grayscott_and_the_launcher_import_no_hub_client() -> None:
    """The client needs the ``deploy`` extra (requests, tornado): ``import grayscott`` and
    ``gslab`` must not pull it in, or a student's light install could no longer start."""
    probe = ("import sys, grayscott, grayscott.cli, grayscott.launcher.cli\n"
             "print(sorted(m for m in sys.modules if m.split('.')[0] in ('requests', 'tornado')"
             " or m.startswith('grayscott.classroom')))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            check=True, cwd=REPO)
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("values", [[3.0], [1.0, 2.0], [5.0, 1.0, 4.0, 2.0, 3.0],
                                    [0.1 * i * i for i in range(40)]])
def test_quantiles_are_numpys_default(values: list[float]) -> None:
    for q in (0.0, 0.5, 0.95, 1.0):
        assert report.quantile(values, q) == pytest.approx(float(np.quantile(values, q)))


def test_summary_of_no_students_is_none_and_of_some_rounded() -> None:
    assert report.summary([]) is None
    assert report.summary([1.0, 2.0, 4.0]) == {"n": 3, "p50": 2.0, "p95": 3.8, "max": 4.0,
                                               "mean": 2.33}
    assert report.delta(None, 2.0) is None and report.delta(1.0, 3.456) == 2.46


def test_the_markdown_of_a_committed_class_report() -> None:
    """The N = 40 burst in benchmarks/, rendered again from its JSON: its title, failures and
    table rows as a site reads them."""
    recorded = json.loads((REPO / "benchmarks" / "hub-class-2026-12-01-n40-burst.json").read_text())
    text = report.markdown(recorded)
    assert text.startswith("# A class at the hub: 40 students, burst\n")
    assert f"**Failures: {recorded['failures']}** of 40." in text
    ready = recorded["spawn_to_ready_s"]
    assert f"| spawn request to ready | {ready['p50']} | {ready['p95']} | {ready['max']} |" in text
    assert "`python -m grayscott.classroom`" in text
    assert "One spawn alone (seconds after the request): created" in text


def test_an_execute_request_as_the_kernel_protocol_wants_it() -> None:
    msg_id, message = client.execute_request("print(6 * 7)")
    sent = json.loads(message)
    assert sent["header"]["msg_id"] == msg_id and sent["header"]["msg_type"] == "execute_request"
    assert sent["channel"] == "shell" and sent["content"]["code"] == "print(6 * 7)"
    assert sent["content"]["allow_stdin"] is False
    assert client.execute_request("x")[0] != msg_id


def test_the_cookie_a_browser_sends_is_the_longest_path_s() -> None:
    """The hub's and the lab server's ``_xsrf`` cookies differ by path: the lab's request must
    carry the lab's token."""
    session = requests.Session()
    session.cookies.set("_xsrf", "hub-token", path="/hub/")
    session.cookies.set("_xsrf", "lab-token", path="/user/ada/")
    session.cookies.set("jupyterhub-session-id", "sid", path="/")
    assert client.cookie(session, "_xsrf", "/hub/") == "hub-token"
    assert client.cookie(session, "_xsrf", "/user/ada/") == "lab-token"
    assert client.cookie(session, "_xsrf", "/user/bob/") == ""
    sent = client.cookie_header(session, "/user/ada/").split("; ")
    assert sorted(sent) == ["_xsrf=lab-token", "jupyterhub-session-id=sid"]


def test_the_channels_url_goes_through_the_proxy() -> None:
    assert client.channels_url("http://127.0.0.1:8000", "ada", "k1") == (
        "ws://127.0.0.1:8000/user/ada/api/kernels/k1/channels")
    assert client.channels_url("http://h:1", "ada", "k1", session_id="s").endswith(
        "/channels?session_id=s")


def test_free_ports_are_bindable() -> None:
    import socket

    port = client.free_port()
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))


def test_the_simulator_refuses_bad_input_in_one_line_exit_2() -> None:
    result = subprocess.run([sys.executable, "-m", "grayscott.classroom", "-n", "0"],
                            capture_output=True, text=True, check=False, cwd=REPO)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].endswith("-n must be between 1 and 200")
