#!/usr/bin/env python3
"""HEALTHCHECK of the lab's servers: exit 0 when the server of this container answers HTTP.

Which server: JupyterLab when ``JUPYTER_PORT`` is set (the jupyter image; started by a hub,
on the port and prefix of ``JUPYTERHUB_SERVICE_URL``), else code-server's ``/healthz`` on
``CODE_SERVER_PORT``. Any answer below 500 counts: a 403 is a server asking for its token,
alive and well. Standard library only, since the image has no curl.
"""

import http.client
import os
import sys
from urllib.parse import urlsplit


def target() -> tuple[int, str]:
    if os.environ.get("JUPYTER_PORT"):
        hub_url = os.environ.get("JUPYTERHUB_SERVICE_URL")
        if hub_url:
            parts = urlsplit(hub_url)
            return parts.port or 8888, parts.path.rstrip("/") + "/api"
        return int(os.environ["JUPYTER_PORT"]), "/api"
    return int(os.environ.get("CODE_SERVER_PORT", "8080")), "/healthz"


def main() -> int:
    port, path = target()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=4)
    try:
        connection.request("GET", path)
        status = connection.getresponse().status
    except OSError as exc:
        print(f"unhealthy: 127.0.0.1:{port}{path}: {exc}")
        return 1
    print(f"127.0.0.1:{port}{path}: HTTP {status}")
    return 0 if status < 500 else 1


if __name__ == "__main__":
    sys.exit(main())
