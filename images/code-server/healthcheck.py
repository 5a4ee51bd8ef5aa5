#!/usr/bin/env python3
"""HEALTHCHECK of the lab's servers: exit 0 when the server of this container answers HTTP.

Which server, its port variable and its health path come from the variant table
(``grayscott.variants``, the image's own copy): the topmost server layer whose port variable
is set in this container (the jupyter image inherits code-server's variables, so layers are
tried from the top down). A server started by a hub answers on the port and prefix of
``JUPYTERHUB_SERVICE_URL``. Any answer below 500 counts: a 403 is a server asking for its
token, alive and well. No curl in the image: the standard library's HTTP client does it.
"""

import http.client
import os
import sys
from urllib.parse import urlsplit

from grayscott import variants


def target() -> tuple[int, str]:
    """(port, path) of this container's server."""
    layers = [v.flavour for v in variants.variants() if v.target == "cpu"]
    servers = variants.servers()
    for flavour in reversed(layers):
        server = servers.get(flavour)
        if server is None or not os.environ.get(server.port_env):
            continue
        hub_url = os.environ.get("JUPYTERHUB_SERVICE_URL")
        if hub_url:
            parts = urlsplit(hub_url)
            return parts.port or server.port, parts.path.rstrip("/") + server.health
        return int(os.environ[server.port_env]), server.health
    raise SystemExit("unhealthy: no server port variable set ("
                     + ", ".join(s.port_env for s in servers.values()) + ")")


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
