"""The teacher's view (issue #24): check cells report to the hub's progress service, through a
real hub, real labs and the real proxy.

A student's wrong then right Laplacian (grayscott.labs' own check, in a kernel started for a
notebook of the labs) shows on the class grid of a teacher's browser session, with the
mistake the cell printed; a student's token cannot write under another name nor read the
class; with the service unreachable the cell prints its verdict at once; the results survive
``docker restart`` of the hub.
"""

from __future__ import annotations

import asyncio
from typing import Any

import requests

from grayscott.classroom.client import channels_url, execute
from tests.deploy.conftest import Hub
from tests.utils import run, wait_for

PROGRESS = "/services/progress"
NOTEBOOK = "labs/cpu/tutorial/3_Python_Implementation.ipynb"

WRONG_THEN_RIGHT = """
from grayscott import model
from grayscott.labs import checks
five_point = lambda a: model.laplacian_weighted(a, model.STENCIL_5)
checks.check_laplacian(five_point, raise_on_failure=False)
checks.check_laplacian(model.laplacian)
"""


def notebook_kernel(hub: Hub, user: str) -> str:
    """A kernel started as JupyterLab starts one for a notebook (a session with its path):
    its channels URL."""
    response = requests.post(f"{hub.url}/user/{user}/api/sessions", timeout=60,
                             headers={"Authorization": f"token {hub.token}"},
                             json={"path": NOTEBOOK, "type": "notebook",
                                   "name": NOTEBOOK.rsplit("/", 1)[1], "kernel": {"name": "python3"}})
    assert response.status_code == 201, response.text
    return channels_url(hub.url, user, response.json()["kernel"]["id"])


def cell(hub: Hub, ws_url: str, code: str) -> str:
    return asyncio.run(execute(ws_url, code, token=hub.token, timeout=120))


def grid(session: requests.Session, hub: Hub) -> dict[str, Any]:
    response = session.get(f"{hub.url}{PROGRESS}/api/class", timeout=30)
    assert response.status_code == 200, (response.status_code, response.text[:300])
    return response.json()


def test_a_check_cell_reaches_the_teachers_grid(hub: Hub) -> None:
    student, other, teacher = "pupil-ana", "pupil-ben", "prof-progress"
    hub.spawn(student)
    assert hub.api("POST", f"/users/{other}").status_code == 201
    teacher_session = hub.login(teacher, hub.make_teacher(teacher))
    ws_url = notebook_kernel(hub, student)

    printed = cell(hub, ws_url, WRONG_THEN_RIGHT)
    mistake_line = next(line for line in printed.splitlines() if "NOT YET" in line)
    mistake = mistake_line.split("NOT YET - ", 1)[1]
    assert "check_laplacian: correct" in printed

    # the teacher's grid shows both, the latest (passed) in the cell, the mistake in the history
    # (the class list is the hub's users, which the service asks again every 10 s)
    def shown() -> bool:
        seen = grid(teacher_session, hub)
        return bool(seen["cells"].get(student)) and other in seen["students"]
    wait_for(shown, 20, "the student's verdicts on the teacher's grid", 0.2)
    seen = grid(teacher_session, hub)
    exercise = "cpu/3_Python_Implementation check_laplacian"
    assert list(seen["cells"][student]) == [exercise], seen["cells"][student]
    assert exercise in seen["exercises"]
    assert seen["cells"][student][exercise]["passed"] is True
    assert seen["cells"][student][exercise]["tries"] == 2
    assert other in seen["students"] and seen["cells"][other] == {}  # not tried
    assert teacher not in seen["students"]
    history = teacher_session.get(f"{hub.url}{PROGRESS}/api/history/{student}", timeout=30).json()
    assert (history[0]["passed"], history[0]["message"]) == (False, mistake)
    page = teacher_session.get(f"{hub.url}{PROGRESS}/", timeout=30)
    assert page.status_code == 200 and 'data-role="teacher"' in page.text
    csv = teacher_session.get(f"{hub.url}{PROGRESS}/api/export.csv", timeout=30)
    assert csv.status_code == 200 and mistake.split(",")[0] in csv.text

    # a student's token: no writing under another's name, no class grid
    forged = cell(hub, ws_url, f"""
import json, os, urllib.request
body = json.dumps({{"user": "{other}", "check": "check_forged", "passed": True, "message": ""}})
req = urllib.request.Request(os.environ["GSLAB_PROGRESS_URL"] + "api/results", data=body.encode(),
    headers={{"Authorization": "token " + os.environ["JUPYTERHUB_API_TOKEN"]}}, method="POST")
print(json.load(urllib.request.urlopen(req, timeout=10))["user"])
try:
    urllib.request.urlopen(urllib.request.Request(os.environ["GSLAB_PROGRESS_URL"] + "api/class",
        headers={{"Authorization": "token " + os.environ["JUPYTERHUB_API_TOKEN"]}}), timeout=10)
    print("class: open")
except urllib.error.HTTPError as exc:
    print("class:", exc.code)
""")
    assert forged.split() == [student, "class:", "403"], forged
    assert grid(teacher_session, hub)["cells"][other] == {}

    # the service unreachable (an address nobody answers): the verdict prints at once
    slow = cell(hub, ws_url, """
import os, time
os.environ["GSLAB_PROGRESS_URL"] = "http://10.255.255.1:9/services/progress/"
from grayscott import model
from grayscott.labs import checks
started = time.monotonic()
checks.check_laplacian(model.laplacian)
print(f"took {time.monotonic() - started:.3f}")
""")
    assert "check_laplacian: correct" in slow
    assert float(slow.split("took ")[1]) < 1.0, slow

    # kept across a restart of the hub's container (the service's SQLite in the data volume)
    run("docker", "restart", hub.name, timeout=120)
    wait_for(lambda: _answers(teacher_session, hub), 120, "the progress service after a restart", 1)
    after = grid(teacher_session, hub)
    assert after["cells"][student][exercise]["tries"] == 2


def _answers(session: requests.Session, hub: Hub) -> bool:
    try:
        return session.get(f"{hub.url}{PROGRESS}/api/class", timeout=5).status_code == 200
    except requests.RequestException:
        return False

