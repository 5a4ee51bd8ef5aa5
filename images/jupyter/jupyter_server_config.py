"""Jupyter Server settings of the lab's jupyter images (system-wide: /etc/jupyter).

code-server is opened from JupyterLab's launcher through jupyter-server-proxy, on a unix
socket: it is reachable only through Jupyter's own authentication (token or hub login), so
it needs no password of its own and no extra port.
"""

import os

c = get_config()  # type: ignore[name-defined]  # noqa: F821 - provided by Jupyter

c.ServerApp.root_dir = os.environ.get("GRAYSCOTT_WORKDIR", "/work")
c.ServerApp.terminals_enabled = True
c.ServerApp.open_browser = False

data = os.path.join(os.environ.get("CODE_SERVER_DATA", "/tmp/code-server"), "proxied")
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
