"""What a hub's configuration needs for the progress service, as plain values: the managed
service, its role, the users' access to it, the labs' token scopes and where the labs post.
Pure (no JupyterHub import): the compose hub's jupyterhub_config.py uses it, and the tests
read it to keep k8s/ and hpc/ equal to it.
"""

from __future__ import annotations

import sys
from typing import Any

from . import PORT, SERVICE

#: the service's own token: who the students are (the hub's users, not its teachers) and
#: whether a user is a teacher (roles, groups)
SERVICE_SCOPES = ["list:users", "read:users", "read:roles:users"]
#: every user may open the service (a student sees her own row there)
USER_SCOPES = ["self", f"access:services!service={SERVICE}"]
#: a lab's JUPYTERHUB_API_TOKEN: JupyterHub's default for a server, and posting to the service
SERVER_TOKEN_SCOPES = ["users:activity!user", "access:servers!server",
                       f"access:services!service={SERVICE}"]


def service(data: str, python: str = sys.executable, pythonpath: str = "") -> dict[str, Any]:
    """The managed service (the hub starts it, restarts it if it dies, gives it its token);
    ``pythonpath``: where ``gslab_hub`` is, for a hub that does not have it on its own path
    (the Slurm hub runs from a checkout: compose/hub)."""
    environment = {"GSLAB_HUB_DATA": data} | ({"PYTHONPATH": pythonpath} if pythonpath else {})
    return {"name": SERVICE, "url": f"http://127.0.0.1:{PORT}", "display": True,
            "oauth_no_confirm": True, "command": [python, "-m", "gslab_hub.progress"],
            "environment": environment}


def roles() -> list[dict[str, Any]]:
    return [{"name": SERVICE, "services": [SERVICE], "scopes": SERVICE_SCOPES},
            {"name": "user", "scopes": USER_SCOPES}]


def lab_url(hub_host: str) -> str:
    """GSLAB_PROGRESS_URL for a lab that reaches the hub's container as ``hub_host``."""
    return f"http://{hub_host}:{PORT}/services/{SERVICE}/"
