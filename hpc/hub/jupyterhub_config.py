"""JupyterHub for a Slurm cluster: the Gray-Scott Lab on a compute node, one job per server.

Run on the login node (it needs Slurm's commands and the cluster's munge key), as root (the
jobs are submitted as each user with ``sudo -E -u USER sbatch``)::

    GSLAB_SIF_DIR=/shared/sif jupyterhub -f hpc/hub/jupyterhub_config.py

Users log in with their cluster account (PAM), choose CPU or GPU, and the hub submits
batch_script.sh.j2 for them; stopping the server cancels the job. Settings (environment):
GSLAB_SIF_DIR (where the .sif files are; required), GSLAB_HUB_PARTITION and
GSLAB_HUB_GPU_PARTITION, GSLAB_HUB_CPUS, GSLAB_HUB_MEMORY, GSLAB_HUB_RUNTIME,
GSLAB_HUB_CONNECT_IP (the address compute nodes reach the hub at; default: this host's name),
GSLAB_HUB_SERVICE_TOKEN (an admin token for automation, e.g. tests; none by default),
GSLAB_HUB_TEACHERS (cluster accounts, comma-separated: the group ``teachers``, who see the
class on the progress page), GSLAB_HUB_DATA (the progress service's SQLite; default: the
hub's working directory).

The teacher's view: the labs' check cells report to the hub's ``progress`` service (the
compose hub's, compose/hub/gslab_hub/progress, run from this checkout), which listens on port
10102 of this host: the compute nodes must reach it there, as they reach the hub's API.

HTTPS: GSLAB_HUB_SSL_CERT and GSLAB_HUB_SSL_KEY (PEM files; the hub then listens on
https://0.0.0.0:8000, or GSLAB_HUB_URL=https://...). Users type their cluster password into
the login page, so the hub refuses to start with PAM on plain HTTP on any address but
loopback, unless GSLAB_HUB_ALLOW_HTTP=yes says that a TLS-terminating proxy sits in front
(see hub_tls.py).
"""

from __future__ import annotations

import json
import os
import socket
import sys
from pathlib import Path
from typing import NoReturn

sys.path.insert(0, str(Path(__file__).resolve().parent))
# the compose hub's package (its progress service), in the same checkout
sys.path.insert(1, str(Path(__file__).resolve().parents[2] / "compose" / "hub"))
from gslab_hub.progress import config as progress
from gslab_slurm import profiles
from hub_tls import TlsRefused, is_pam, tls_settings

c = get_config()  # type: ignore[name-defined]  # noqa: F821 - JupyterHub's config loader


def refuse(message: str) -> NoReturn:
    """A setting the hub cannot start with: one line, exit 2 (before JupyterHub logs anything)."""
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


sif_dir = os.environ.get("GSLAB_SIF_DIR", "")
if not sif_dir or not Path(sif_dir).is_dir():
    refuse(f"GSLAB_SIF_DIR={sif_dir!r} is not a directory of .sif files (see hpc/README.md)")

c.JupyterHub.spawner_class = "wrapspawner.ProfilesSpawner"
c.ProfilesSpawner.profiles = profiles(
    sif_dir, cpus=int(os.environ.get("GSLAB_HUB_CPUS", "2")),
    memory=os.environ.get("GSLAB_HUB_MEMORY", "4G"),
    runtime=os.environ.get("GSLAB_HUB_RUNTIME", "02:00:00"),
    partition=os.environ.get("GSLAB_HUB_PARTITION", ""),
    gpu_partition=os.environ.get("GSLAB_HUB_GPU_PARTITION", ""))
# a job may wait in the queue: give it time, and look at it every few seconds
c.Spawner.start_timeout = 300
c.Spawner.http_timeout = 120

# the hub's API must be reachable from the compute nodes (the job tells it its port)
c.JupyterHub.hub_ip = "0.0.0.0"
c.JupyterHub.hub_connect_ip = os.environ.get("GSLAB_HUB_CONNECT_IP", socket.gethostname())

# cluster accounts (PAM, JupyterHub's default); every account of the login node may log in
c.Authenticator.allow_all = True

#: what every lab's environment gets (wrapspawner's child spawners read Spawner.environment)
lab_environment: dict[str, str] = {}

# the login page takes cluster passwords: HTTPS, or an explicit word that something else
# does TLS (checked after the authenticator is chosen: a site may set another one above)
try:
    tls = tls_settings(os.environ, pam=is_pam(c.JupyterHub.get("authenticator_class", "pam")))
except TlsRefused as refused:
    refuse(str(refused))
c.JupyterHub.bind_url = tls.bind_url
if tls.cert:
    c.JupyterHub.ssl_cert, c.JupyterHub.ssl_key = tls.cert, tls.key
if tls.browser_sees_https:
    # every cookie Secure, not only those JupyterHub marks so by itself (its _xsrf is not):
    # the hub's, and the lab's (JupyterHub hands its cookie_options to the servers it spawns,
    # but wrapspawner's child spawner does not get them: said in the environment instead)
    c.JupyterHub.tornado_settings = {"cookie_options": {"secure": True}}
    lab_environment["JUPYTERHUB_COOKIE_OPTIONS"] = json.dumps({"secure": True})

# The teacher's view: the progress service, the labs' token scopes to post to it, where the
# labs post (this host, as the compute nodes reach it), the teachers' group
data = os.environ.get("GSLAB_HUB_DATA") or os.getcwd()
c.JupyterHub.services = [progress.service(data, pythonpath=str(Path(progress.__file__).parents[2]))]
c.JupyterHub.load_roles = progress.roles()
c.Spawner.server_token_scopes = progress.SERVER_TOKEN_SCOPES
lab_environment["GSLAB_PROGRESS_URL"] = progress.lab_url(c.JupyterHub.hub_connect_ip)
teachers = [t.strip() for t in os.environ.get("GSLAB_HUB_TEACHERS", "").split(",") if t.strip()]
c.JupyterHub.load_groups = {"teachers": {"users": teachers}}
c.Spawner.environment = lab_environment

token = os.environ.get("GSLAB_HUB_SERVICE_TOKEN")
if token:
    c.JupyterHub.services.append({"name": "gslab-admin", "api_token": token})
    c.JupyterHub.load_roles.append({"name": "gslab-admin", "scopes": ["admin:users", "admin:servers",
                                                                       "tokens", "read:users"],
                                    "services": ["gslab-admin"]})
