"""A check cell's verdict, sent to the hub's progress service so that the teacher sees the class.

On a JupyterHub whose labs are given ``GSLAB_PROGRESS_URL`` (the hub's ``progress`` service,
compose/hub/gslab_hub/progress), every check's verdict (pass, or the one-line mistake it
names) is posted there with the lab's own ``JUPYTERHUB_API_TOKEN``: the service asks the hub
whose token it is, so the body carries no name to forge. The notebook comes from the kernel's
``JPY_SESSION_NAME`` (Jupyter Server sets it to the notebook's path).

Fire-and-forget: the post runs in a daemon thread with a short timeout and every failure is
silent, so outside a hub (a laptop, ``gslab run``, Apptainer batch) or with the service down
the cell prints its verdict as before, at once. The check runs in the student's kernel, so a
student can send herself a pass: the teacher's page is for helping a class, not grading it.
"""

from __future__ import annotations

import json
import os
import threading
import urllib.request
from pathlib import PurePosixPath

#: the service's base URL, set by the hub for each lab (absent elsewhere: nothing is sent)
URL_ENV = "GSLAB_PROGRESS_URL"
#: seconds a post may take before it is given up (it never holds the cell up: own thread)
TIMEOUT = 3.0


def notebook_name(session_name: str | None = None) -> str:
    """``cpu/3_Stencil`` from the kernel's notebook path (``.../labs/cpu/solutions/3_Stencil.ipynb``
    or ``labs/cpu/tutorial/...``): the day and the notebook, whichever copy the student runs."""
    raw = session_name if session_name is not None else os.environ.get("JPY_SESSION_NAME", "")
    if not raw:
        return ""
    path = PurePosixPath(raw)
    parts = [p for p in path.with_suffix("").parts if p not in ("tutorial", "solutions")]
    return "/".join(parts[-2:])


def _post(url: str, token: str, body: dict[str, object]) -> None:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), method="POST",
        headers={"Authorization": f"token {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            response.read()
    except Exception:
        pass


def report(check: str, passed: bool, message: str) -> threading.Thread | None:
    """Send one verdict in the background; the thread (for tests to join), or None when this
    lab has no progress service to report to."""
    base, token = os.environ.get(URL_ENV, ""), os.environ.get("JUPYTERHUB_API_TOKEN", "")
    if not base or not token:
        return None
    body = {"notebook": notebook_name(), "check": check, "passed": passed, "message": message}
    thread = threading.Thread(target=_post, args=(base.rstrip("/") + "/api/results", token, body),
                              name="gslab-progress", daemon=True)
    thread.start()
    return thread
