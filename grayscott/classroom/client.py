"""The hub and kernel client: the requests a browser (or the hub's admin service) makes.

One copy for the class simulator and the deployment tests (tests/deploy), so what a student
does at the hub is written once:

- as the admin service: the REST API with the hub's token (``Hub.api``), a user's server
  ready (``server_ready``), a kernel in it (``open_kernel``);
- as a browser: the login form (``_xsrf`` from the page's cookie, the session cookie kept),
  the Start button and the spawn page's progress event stream, the lab page through the hub's
  OAuth redirects, a kernel started with the server's cookie + X-XSRFToken, the stop button;
- a lab cell over the kernel's channels websocket (``execute_request`` -> status idle).
"""

from __future__ import annotations

import asyncio
import datetime
import json
import socket
import time
import uuid
from dataclasses import dataclass
from typing import Any

import requests
from tornado import httpclient, websocket


def free_port() -> int:
    """A TCP port nobody listens on now (the OS picks it): for a hub or a lab of one's own."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Hub:
    """A running hub, driven over HTTP: its name (the container's), URL and admin token."""

    name: str
    url: str
    token: str
    verify: str | bool = True  # requests' TLS check: a CA file for a hub with its own certificate
    timeout: float = 30.0  # per REST API request

    def api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """The hub's REST API as the gslab-admin service (an admin)."""
        return requests.request(method, f"{self.url}/hub/api{path}", timeout=self.timeout,
                                verify=self.verify,
                                headers={"Authorization": f"token {self.token}"}, **kwargs)

    def login(self, username: str, password: str, timeout: float = 30) -> requests.Session:
        """A browser's session after the login form (whether it got in or not)."""
        session = requests.Session()
        session.trust_env = False  # REQUESTS_CA_BUNDLE would override verify
        session.verify = self.verify
        login_form(session, self.url, username, password, timeout)
        return session


def server_ready(hub: Hub, user: str) -> bool:
    """Whether the hub lists ``user``'s default server as ready."""
    model = hub.api("GET", f"/users/{user}").json()
    return bool(model["servers"].get("", {}).get("ready"))


def channels_url(hub_url: str, user: str, kernel_id: str, session_id: str = "") -> str:
    """The kernel's channels websocket through the hub's proxy."""
    url = f"ws://{hub_url.split('://', 1)[1]}/user/{user}/api/kernels/{kernel_id}/channels"
    return f"{url}?session_id={session_id}" if session_id else url


def open_kernel(hub: Hub, user: str) -> tuple[str, str]:
    """A kernel in ``user``'s running server, through the proxy, with the admin token:
    (kernel id, channels URL)."""
    kernel = requests.post(f"{hub.url}/user/{user}/api/kernels", timeout=60, json={},
                           headers={"Authorization": f"token {hub.token}"})
    assert kernel.status_code == 201, kernel.text
    kid = kernel.json()["id"]
    return kid, channels_url(hub.url, user, kid)


# --- as a browser ----------------------------------------------------------------------

def cookie(session: requests.Session, name: str, path: str) -> str:
    """The value of cookie ``name`` the browser would send under ``path`` (longest path)."""
    best = ("", "")
    for c in session.cookies:
        if c.name == name and path.startswith(c.path) and len(c.path) >= len(best[0]):
            best = (c.path, c.value or "")
    return best[1]


def cookie_header(session: requests.Session, path: str) -> str:
    """The Cookie header the browser would send under ``path``."""
    return "; ".join(f"{c.name}={c.value}" for c in session.cookies if path.startswith(c.path))


def login_form(session: requests.Session, hub_url: str, username: str, password: str,
               timeout: float) -> requests.Response:
    """The login page, then its form posted with the page's ``_xsrf``; the hub's answer
    (302 when it let the user in)."""
    session.get(f"{hub_url}/hub/login", timeout=timeout)
    return session.post(f"{hub_url}/hub/login", timeout=timeout, allow_redirects=False,
                        data={"username": username, "password": password,
                              "_xsrf": cookie(session, "_xsrf", "/hub/")})


def spawn_from_browser(session: requests.Session, hub_url: str, user: str,
                       timeout: float) -> None:
    """The Start button (no options form without a GPU), then the spawn page's progress
    event stream until it says ready; raises with the hub's answer otherwise."""
    r = session.get(f"{hub_url}/hub/spawn/{user}", timeout=timeout)
    if r.status_code != 200:
        raise RuntimeError(f"spawn page answered {r.status_code}")
    if f"/user/{user}/" in r.url:  # already running: the hub sent the browser on
        return
    xsrf = cookie(session, "_xsrf", "/hub/")
    url = f"{hub_url}/hub/api/users/{user}/server/progress?_xsrf={xsrf}"
    with session.get(url, stream=True, timeout=timeout) as events:
        if events.status_code != 200:
            raise RuntimeError(f"progress stream answered {events.status_code}")
        for raw in events.iter_lines():
            line = raw.decode()
            if not line.startswith("data:"):
                continue
            event = json.loads(line[5:])
            if event.get("failed"):
                raise RuntimeError(f"spawn failed: {event.get('message')}")
            if event.get("ready"):
                return
    raise RuntimeError("the progress stream ended before ready")


def open_lab_page(session: requests.Session, hub_url: str, user: str, timeout: float) -> None:
    """``/user/<name>/lab`` through the hub's OAuth redirects (the server's own cookie)."""
    lab = session.get(f"{hub_url}/user/{user}/lab", timeout=timeout)
    if lab.status_code != 200 or "JupyterLab" not in lab.text:
        raise RuntimeError(f"the lab page answered {lab.status_code}")


def start_kernel_from_browser(session: requests.Session, hub_url: str, user: str,
                              timeout: float) -> str:
    """A python3 kernel through ``/user/<name>/api/kernels`` (cookie + X-XSRFToken); its id."""
    r = session.post(f"{hub_url}/user/{user}/api/kernels", json={"name": "python3"},
                     timeout=timeout,
                     headers={"X-XSRFToken": cookie(session, "_xsrf", f"/user/{user}/")})
    if r.status_code != 201:
        raise RuntimeError(f"starting a kernel answered {r.status_code}")
    return str(r.json()["id"])


def stop_from_browser(session: requests.Session, hub_url: str, user: str,
                      timeout: float) -> None:
    """The home page's stop button, then wait until the hub lists no server."""
    deadline = time.monotonic() + timeout
    r = session.delete(f"{hub_url}/hub/api/users/{user}/server", timeout=timeout,
                       headers={"X-XSRFToken": cookie(session, "_xsrf", "/hub/")})
    if r.status_code not in (202, 204):
        raise RuntimeError(f"stop answered {r.status_code}")
    while time.monotonic() < deadline:
        model = session.get(f"{hub_url}/hub/api/users/{user}", timeout=timeout).json()
        if not model.get("servers"):
            return
        time.sleep(0.2)
    raise RuntimeError(f"not stopped within {timeout} s")


# --- a cell in a kernel ------------------------------------------------------------------

def execute_request(code: str) -> tuple[str, str]:
    """(msg_id, message): a Jupyter ``execute_request`` for the kernel's channels websocket."""
    msg_id = uuid.uuid4().hex
    return msg_id, json.dumps({
        "header": {"msg_id": msg_id, "msg_type": "execute_request", "username": "student",
                   "session": uuid.uuid4().hex, "version": "5.3",
                   "date": datetime.datetime.now(datetime.UTC).isoformat()},
        "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
        "content": {"code": code, "silent": False, "store_history": False,
                    "user_expressions": {}, "allow_stdin": False, "stop_on_error": True},
    })


async def connect(ws_url: str, *, token: str = "", cookies: str = "",
                  timeout: float = 300) -> websocket.WebSocketClientConnection:
    """The kernel's channels websocket, with the admin token or a browser's cookies."""
    headers = {"Authorization": f"token {token}"} if token else {"Cookie": cookies}
    return await websocket.websocket_connect(httpclient.HTTPRequest(
        ws_url, headers=headers, connect_timeout=timeout, request_timeout=timeout))


async def execute(ws_url: str, code: str, *, token: str = "", cookies: str = "",
                  timeout: float = 300) -> str:
    """One cell over the kernel's channels websocket; what it printed. A cell that fails, a
    websocket that closes and a silence over ``timeout`` s raise (RuntimeError, TimeoutError)."""
    conn = await connect(ws_url, token=token, cookies=cookies, timeout=timeout)
    msg_id, message = execute_request(code)
    await conn.write_message(message)
    output: list[str] = []
    try:
        while True:
            raw = await asyncio.wait_for(conn.read_message(), timeout)
            if raw is None:
                raise RuntimeError("the kernel's websocket closed")
            reply = json.loads(raw)
            if reply.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = reply["msg_type"], reply["content"]
            if kind == "stream":
                output.append(content["text"])
            elif kind == "error":
                raise RuntimeError(f"the cell failed: {content['ename']}: {content['evalue']}")
            elif kind == "status" and content["execution_state"] == "idle":
                return "".join(output)
    finally:
        conn.close()
