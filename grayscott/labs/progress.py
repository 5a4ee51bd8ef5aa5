"""A check cell's verdict, sent to the hub's progress service so that the teacher sees the class.

On a JupyterHub whose labs are given ``GSLAB_PROGRESS_URL`` (the hub's ``progress`` service,
compose/hub/gslab_hub/progress), every check's verdict (pass, or the one-line mistake it
names) is posted there with the lab's own ``JUPYTERHUB_API_TOKEN``: the service asks the hub
whose token it is, so the body carries no name to forge. The notebook comes from the kernel's
``JPY_SESSION_NAME`` (Jupyter Server sets it to the notebook's path).

Fire-and-forget: the posts leave from one daemon thread, in order, each with a short
timeout, and every failure is silent, so outside a hub (a laptop, ``gslab run``, Apptainer
batch) or with the service down the cell prints its verdict as before, at once. The check
runs in the student's kernel, so a student can send herself a pass: the teacher's page is for
helping a class, not grading it.
"""

from __future__ import annotations

import json
import os
import queue
import threading
import time
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
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # the hub's URL
            response.read()
    except Exception:  # a report must never disturb the lesson
        pass


#: verdicts waiting to be sent, in the order the cells gave them (one sender: a wrong answer
#: then its fix arrive in that order; threads of their own once raced, the fix first)
_outbox: queue.Queue[tuple[str, str, dict[str, object]]] = queue.Queue(maxsize=1000)
_sender: threading.Thread | None = None
_sender_lock = threading.Lock()


def _send_forever() -> None:
    while True:
        url, token, body = _outbox.get()
        try:
            _post(url, token, body)
        finally:
            _outbox.task_done()


def report(check: str, passed: bool, message: str) -> bool:
    """Queue one verdict for the background sender; False when this lab has no progress
    service to report to (or a dead service has let 1000 verdicts pile up)."""
    global _sender
    base, token = os.environ.get(URL_ENV, ""), os.environ.get("JUPYTERHUB_API_TOKEN", "")
    if not base or not token:
        return False
    body = {"notebook": notebook_name(), "check": check, "passed": passed, "message": message}
    with _sender_lock:
        if _sender is None or not _sender.is_alive():
            _sender = threading.Thread(target=_send_forever, name="gslab-progress", daemon=True)
            _sender.start()
    try:
        _outbox.put_nowait((base.rstrip("/") + "/api/results", token, body))
    except queue.Full:
        return False
    return True


def flush(timeout: float) -> bool:
    """Wait up to ``timeout`` s for the queued verdicts to be sent (or given up): whether
    none is left. A cell never calls it; the tests do."""
    deadline = time.monotonic() + timeout
    while _outbox.unfinished_tasks and time.monotonic() < deadline:
        time.sleep(0.01)
    return not _outbox.unfinished_tasks
