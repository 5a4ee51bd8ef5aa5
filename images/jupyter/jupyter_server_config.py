"""Jupyter Server settings of the lab's jupyter images (system-wide: /etc/jupyter).

code-server is opened from JupyterLab's launcher through jupyter-server-proxy, on a unix
socket: it is reachable only through Jupyter's own authentication (token or hub login), so
it needs no password of its own and no extra port.
"""

import json
import os
import shutil

c = get_config()  # type: ignore[name-defined]  # noqa: F821 - provided by Jupyter

c.ServerApp.root_dir = os.environ.get("GRAYSCOTT_WORKDIR", "/work")
# Behind a hub on HTTPS the hub hands its cookie options to the lab (JUPYTERHUB_COOKIE_OPTIONS,
# {"secure": true}); the login cookie follows them, and so does the lab's own XSRF cookie.
_hub_cookie_options = json.loads(os.environ.get("JUPYTERHUB_COOKIE_OPTIONS") or "{}")
if _hub_cookie_options:
    c.ServerApp.tornado_settings = {"xsrf_cookie_kwargs": _hub_cookie_options}
c.ServerApp.terminals_enabled = True
c.ServerApp.open_browser = False
# A taken port stops the server (issue #22, attack 5). By default Jupyter moves to the next
# free one, up to 50 times: on a shared node the user who holds the port then receives the
# URL the launcher or the hub prints for it, token included, while the lab is elsewhere.
c.ServerApp.port_retries = 0

data = os.path.join(os.environ.get("CODE_SERVER_DATA", "/tmp/code-server"), "proxied")
# the code-server layer's settings for the lab (start-code-server does the same), in place
# before the first window opens; a student's saved settings are kept
os.makedirs(os.path.join(data, "user", "User"), exist_ok=True)
if not os.path.exists(os.path.join(data, "user", "User", "settings.json")):
    shutil.copy("/opt/code-server/settings.json", os.path.join(data, "user", "User"))
c.ServerProxy.servers = {
    "code-server": {
        "command": [
            "code-server", "--auth", "none", "--socket", "{unix_socket}",
            "--disable-telemetry", "--disable-update-check", "--disable-workspace-trust",
            "--user-data-dir", f"{data}/user", "--config", f"{data}/config.yaml",
            "--extensions-dir", "/opt/code-server/extensions", c.ServerApp.root_dir,
        ],
        "unix_socket": True,
        "timeout": 60,
        "new_browser_tab": True,
        "launcher_entry": {"title": "VS Code", "icon_path": "/opt/code-server/vscode.svg"},
    },
}


def _exit_without_finalizing_after_a_stop() -> None:
    """Once the server has stopped cleanly (SIGTERM from `docker stop` or the hub, the
    shutdown button), leave at once instead of tearing the interpreter down.

    Measured in a hub lab (0.5 CPU): after "Kernel shutdown" the server spent ~3 s holding
    the GIL in Python's finalisation (freeing every module of JupyterLab and its extensions)
    with nothing left to do; 40 students stopping together on 2 cores queued behind it past
    Docker's 10 s grace and were killed. The kernels are shut down and the logs written by
    then; the exit status stays 0 as before. A server that fails before it ever stopped
    (bad settings) exits the usual way, with its own status."""
    import atexit
    import sys

    from jupyter_server.serverapp import ServerApp

    stop = ServerApp.stop
    stopped: list[ServerApp] = []

    def stop_and_remember(self: ServerApp, *args: object, **kwargs: object) -> None:
        stopped.append(self)
        stop(self, *args, **kwargs)  # type: ignore[arg-type]

    def leave() -> None:
        if stopped:
            stopped[0].log.info("Stopped: leaving without tearing the interpreter down")
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(0)

    ServerApp.stop = stop_and_remember  # type: ignore[method-assign]
    # atexit runs handlers last-registered first: this one, registered while the settings
    # load, runs after Jupyter's own.
    atexit.register(leave)


_exit_without_finalizing_after_a_stop()
