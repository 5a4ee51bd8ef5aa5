"""JupyterHub for a satellite site on one machine: DockerSpawner starts one lab container per
user from the local images, configurable-http-proxy (started by the hub) serves everything on
one port, users' work lives in one Docker volume each, idle servers are stopped.

Every site setting comes from the environment (compose/hub/.env, see compose/README.md), so
this file is the same everywhere:

GSLAB_HUB_AUTH          native (default): users sign up, a teacher approves them;
                        shared: one course password (GSLAB_HUB_SHARED_PASSWORD), teachers
                        GSLAB_HUB_ADMINS log in with GSLAB_HUB_ADMIN_PASSWORD
GSLAB_HUB_GPU           auto (default), yes, no: offer the GPU image in the spawn form
GSLAB_HUB_CPU_IMAGE / GSLAB_HUB_GPU_IMAGE, GSLAB_HUB_MEM_LIMIT, GSLAB_HUB_CPU_LIMIT,
GSLAB_HUB_GPU_MEM_LIMIT, GSLAB_HUB_GPU_CPU_LIMIT, GSLAB_HUB_GPUS (all, or ids "0,1")
GSLAB_HUB_DISK_LIMIT    2G (default): each student's /work is a file system of that size (a
                        loop device, see gslab_hub/disks.py); none: plain volumes, no cap
GSLAB_HUB_IMAGE         the hub's own image (its helper containers attach the disks)
GSLAB_HUB_CULL_TIMEOUT  seconds of inactivity before a server is stopped (3600), checked
GSLAB_HUB_CULL_EVERY    every 300 seconds
GSLAB_HUB_API_TOKEN     token of the `gslab-admin` service (gslab-hub-admin, the tests)
GSLAB_HUB_NAME          gslab-hub: the Docker network shared by the hub and the labs, and
                        the prefix of the labs' containers and volumes
GSLAB_HUB_CONNECT_IP    how lab containers reach the hub (hub: its name on that network)
GSLAB_HUB_LAB_SUBNETS   10.213.0.0/16: each lab gets a /28 of it, a network of its own that
                        only the hub joins (shared: every lab on the hub's network)
GSLAB_HUB_LAB_EGRESS    none (default): a lab reaches its hub and nothing else (no host
                        service, no LAN, no metadata, no internet); internet: the internet
                        too, never the host nor private/link-local ranges (host firewall
                        rules, see gslab_hub/network.py; the labs' own networks only, not `shared`)
GSLAB_HUB_TLS           auto (default): HTTPS with the site's certificate when
                        /srv/jupyterhub/tls/{cert,key}.pem are there (HUB_TLS_DIR), else
                        with a self-signed one the hub makes once (its data volume), except
                        on loopback (GSLAB_HUB_BIND 127.0.0.1: plain HTTP); off: plain HTTP
                        wherever bound, for a TLS-terminating proxy in front (gslab_hub/tls.py)
GSLAB_HUB_LOG_SIZE, GSLAB_HUB_LOG_FILES   10m x 3: each container's log on the host (the
                        labs', the hub's): what a student printing without end can fill

Each default is written once, in gslab_hub/settings.py (DEFAULTS): a setting left unset or
empty gets it. The spawner's settings are GslabSpawner's configurable traits, set here.
"""

import json
import logging
import os
import sys
from pathlib import Path

import docker
from gslab_hub.auth import TeacherPasswordAuthenticator
from gslab_hub.logs import LAB_LOGGING, HideXsrfCookies
from gslab_hub.network import install_egress_rules, reconnect_hub
from gslab_hub.progress import config as progress
from gslab_hub.roles import TEACHER_SCOPES, TEACHERS, admin_names_held
from gslab_hub.settings import (
    LAB_PIDS_LIMIT,
    bounded_log,
    gpu_available,
    profiles_from_env,
    spawner_settings,
    whole_number,
)
from gslab_hub.spawner import GslabSpawner
from gslab_hub.swarm import GslabSwarmSpawner
from gslab_hub.tls import names_for, self_signed, tls_mode

c = get_config()  # type: ignore[name-defined]  # noqa: F821 - provided by JupyterHub
env = os.environ
data = Path(env.get("GSLAB_HUB_DATA", "/srv/jupyterhub/data"))

# The hub, its database and cookie secret (in the hub's data volume)
c.JupyterHub.db_url = f"sqlite:///{data / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(data / "jupyterhub_cookie_secret")
c.ConfigurableHTTPProxy.pid_file = "/tmp/jupyterhub-proxy.pid"
c.JupyterHub.bind_url = f"http://:{env.get('GSLAB_HUB_PORT', '8000')}"
c.JupyterHub.hub_ip = "0.0.0.0"
# The proxy, which the hub starts in its own container, reaches the hub on loopback; the labs
# reach it as GSLAB_HUB_CONNECT_IP (`hub`, its alias on each student's network). Not `hub` for
# both: inside the hub's container that name resolves to its address on any network it joined,
# and a student's network goes with their lab. In a class of 40 stopping together the proxy's
# connections to the hub over such an address died with it: stop requests that the hub had
# answered never reached the students (measured: 40 DELETEs answered 204 in the hub's log,
# the students' requests still waiting 7 minutes later).
c.JupyterHub.hub_port = 8081
c.JupyterHub.hub_connect_ip = "127.0.0.1"
c.Spawner.hub_connect_url = f"http://{env.get('GSLAB_HUB_CONNECT_IP', 'hub')}:{c.JupyterHub.hub_port}"

# HTTPS unless bound to loopback or told otherwise by name (gslab_hub/tls.py), and then every
# cookie of the hub and the labs (JUPYTERHUB_COOKIE_OPTIONS) is Secure.
tls = Path(env.get("GSLAB_HUB_TLS_DIR", "/srv/jupyterhub/tls"))
try:
    mode = tls_mode(env, tls)
except ValueError as exc:
    sys.exit(f"error: {exc}")
if mode == "self-signed":
    dns, ips = names_for(env)
    cert, key, made = self_signed(data / "tls", dns, ips)
    if made:
        logging.getLogger("gslab").warning("made a self-signed certificate for %s (%s)",
                                           " ".join(dns + ips), cert)
    tls = cert.parent
if mode != "off":
    c.JupyterHub.ssl_cert = str(tls / "cert.pem")
    c.JupyterHub.ssl_key = str(tls / "key.pem")
    c.JupyterHub.bind_url = f"https://:{env.get('GSLAB_HUB_PORT', '8000')}"
    c.JupyterHub.tornado_settings = {"cookie_options": {"secure": True}}
elif env.get("GSLAB_HUB_BIND", "0.0.0.0").strip() not in ("127.0.0.1", "::1", "localhost"):
    logging.getLogger("gslab").warning(
        "serving plain HTTP on every address (GSLAB_HUB_TLS=off): passwords and cookies "
        "travel in clear unless a TLS proxy is in front of the hub")

# Who may log in
auth = env.get("GSLAB_HUB_AUTH", "native")
if auth == "native":
    c.JupyterHub.authenticator_class = "nativeauthenticator.NativeAuthenticator"
    c.NativeAuthenticator.open_signup = False  # a teacher approves each account
    c.NativeAuthenticator.minimum_password_length = 10
    c.NativeAuthenticator.check_common_password = True
    c.NativeAuthenticator.allowed_failed_logins = 5
    c.NativeAuthenticator.seconds_before_next_try = 300
    # Authenticating already requires an approved account: every approved user may log in.
    c.Authenticator.allow_all = True
elif auth == "shared":
    # A teacher's name that a student already used with the course password stays hers (her
    # session, her lab under that name): refused, rather than made a teacher's.
    held = admin_names_held(data / "jupyterhub.sqlite", env.get("GSLAB_HUB_ADMINS", ""))
    if held:
        sys.exit(f"error: GSLAB_HUB_ADMINS names {', '.join(held)}, already used with the "
                 "course password (a student may hold it): delete that user and its volume "
                 "(hub admin page), or choose another teacher name")
    c.JupyterHub.authenticator_class = TeacherPasswordAuthenticator
    c.SharedPasswordAuthenticator.user_password = env["GSLAB_HUB_SHARED_PASSWORD"]
    c.SharedPasswordAuthenticator.admin_password = env.get("GSLAB_HUB_ADMIN_PASSWORD") or None
    teachers = {name.strip() for name in env.get("GSLAB_HUB_ADMINS", "").split(",")
                if name.strip()}
    c.TeacherPasswordAuthenticator.teachers = teachers
    c.Authenticator.allow_all = True
else:
    sys.exit(f"error: GSLAB_HUB_AUTH must be native or shared, not {auth!r}")

# What users get: the lab images, CPU always, GPU where the host has one
try:
    docker_info = docker.from_env().info()
except docker.errors.DockerException as exc:
    sys.exit(f"error: the hub cannot reach the Docker engine ({exc}); is the socket mounted?")
hub_name = env.get("GSLAB_HUB_NAME", "gslab-hub")
# Spawns and stops side by side (DockerSpawner's own default is one at a time), each
# student's /work a file system of its own size (kernel-enforced: a full disk is theirs),
# each lab on a network of its own that only the hub joins (a /28 of GSLAB_HUB_LAB_SUBNETS
# each; "shared" puts every lab on the hub's network, as before): every setting checked here.
try:
    c.GslabSpawner.profiles = profiles_from_env(
        env, gpu_available(env.get("GSLAB_HUB_GPU", ""), docker_info=docker_info))
    for trait, value in spawner_settings(env, hub_name).items():
        setattr(c.GslabSpawner, trait, value)
except ValueError as exc:
    sys.exit(f"error: {exc}")
c.JupyterHub.spawner_class = GslabSpawner
# A restart of the hub (a teacher changing a setting) keeps every student's lab running: the
# default would stop and delete them all on the way down. `make hub-down` stops them itself.
c.JupyterHub.cleanup_servers = False
c.DockerSpawner.network_name = hub_name
c.DockerSpawner.use_internal_ip = True
c.DockerSpawner.remove = True  # containers go; the user's volume stays
c.DockerSpawner.prefix = hub_name
c.DockerSpawner.name_template = "{prefix}-{username}"
c.DockerSpawner.volumes = {hub_name + "-user-{username}": "/work"}
c.DockerSpawner.default_url = "/lab"
c.DockerSpawner.pull_policy = "never"  # the site's images are built or loaded locally
# The image contract: UID 1000:100 (the image's user), read-only root filesystem, /tmp a tmpfs
c.DockerSpawner.extra_host_config = {
    "read_only": True,
    "tmpfs": {"/tmp": "exec,mode=1777"},
    "security_opt": ["no-new-privileges"],
    "cap_drop": ["ALL"],
    "pids_limit": LAB_PIDS_LIMIT,
    # what a student prints without end fills at most this much of the host's disk
    "log_config": bounded_log(env),
}

c.Spawner.start_timeout = 180
c.Spawner.http_timeout = 120

# The students' own networks: the hub joins them again, and for GSLAB_HUB_LAB_EGRESS=internet
# the host's firewall rules are in place before any lab starts.
spawner = env.get("GSLAB_HUB_SPAWNER", "docker")
if c.GslabSpawner.lab_subnets and spawner != "swarm":
    reconnect_hub(docker.from_env(), c.GslabSpawner.hub_container)
    if c.GslabSpawner.lab_egress == "internet":
        try:
            install_egress_rules(docker.from_env().api, c.GslabSpawner.disk_helper_image,
                                 c.GslabSpawner.hub_container, c.GslabSpawner.lab_subnets)
        except (RuntimeError, docker.errors.DockerException) as exc:
            sys.exit(f"error: {exc}")

# The same labs as services of a Docker Swarm (compose/hub/stack.yaml): the settings above
# apply; a service states the image contract itself (gslab_hub/swarm.py). A GPU on a
# swarm needs each node's generic resources configured: not offered there.
if spawner == "swarm":
    c.JupyterHub.spawner_class = GslabSwarmSpawner
    c.GslabSwarmSpawner.profiles = [p for p in c.GslabSpawner.profiles if not p.gpu]
    c.SwarmSpawner.pull_policy = "skip"  # the images are on the nodes (or in a registry)
    c.SwarmSpawner.extra_create_kwargs = {"labels": {"org.gray-scott-lab.hub": hub_name}}
    c.SwarmSpawner.volume_driver = env.get("GSLAB_HUB_VOLUME_DRIVER", "")
    # Not on a swarm (compose/README.md says so): the per-student disk (a loop device of this
    # machine) and the per-student network (services share the stack's overlay network).
    c.GslabSwarmSpawner.disk_limit = "none"
    c.GslabSwarmSpawner.lab_subnets = ""
elif spawner != "docker":
    sys.exit(f"error: GSLAB_HUB_SPAWNER must be docker or swarm, not {spawner!r}")

# Secrets stay out of logs: no XSRF cookie ids in the hub's log nor in the labs'. (Each lab's
# own JUPYTERHUB_API_TOKEN is necessarily in its container's environment: that is how the lab
# authenticates to the hub; it is scoped to that one user and ends with the server.)
logging.getLogger("tornado.application").addFilter(HideXsrfCookies())
c.Spawner.args = [f"--ServerApp.logging_config={json.dumps(LAB_LOGGING)}"]

# Stop servers nobody used for an hour; the gslab-admin service for gslab-hub-admin and tests
try:
    cull_timeout = whole_number(env, "GSLAB_HUB_CULL_TIMEOUT", minimum=0)
    cull_every = whole_number(env, "GSLAB_HUB_CULL_EVERY")
except ValueError as exc:
    sys.exit(f"error: {exc}")
c.JupyterHub.services = [
    {"name": "idle-culler",
     "command": [sys.executable, "-m", "jupyterhub_idle_culler", f"--timeout={cull_timeout}",
                 f"--cull-every={cull_every}"]},
]
c.JupyterHub.load_roles = [
    {"name": "idle-culler", "services": ["idle-culler"],
     "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"]},
]
# The teacher's view (gslab_hub/progress): every check cell's verdict, posted by the labs with
# their own token to the hub's container on their network, kept in the data volume.
c.JupyterHub.services.append(progress.service(str(data)))
c.JupyterHub.load_roles.extend(progress.roles())
c.Spawner.server_token_scopes = progress.SERVER_TOKEN_SCOPES
c.Spawner.environment = {"GSLAB_PROGRESS_URL": progress.lab_url(env.get("GSLAB_HUB_CONNECT_IP", "hub"))}
# Teachers keep the class (admin page, users, servers started and stopped, accounts approved)
# but never open a student's server in their browser: the role `teacher` of the group
# `teachers` (make hub-admin; in shared mode also the GSLAB_HUB_ADMINS names), no human is a
# JupyterHub admin (gslab_hub/roles.py says why). The admin role is the gslab-admin
# service's alone: listing its members makes that exact, so admins of an older hub are
# demoted at this start (make hub-admin makes them teachers).
teacher_role: dict[str, object] = {"name": "teacher", "scopes": TEACHER_SCOPES,
                                   "groups": [TEACHERS]}
if auth == "shared":
    teacher_role["users"] = sorted(teachers)
c.JupyterHub.load_groups = {TEACHERS: {}}
c.JupyterHub.load_roles.append(teacher_role)
admin_role: dict[str, object] = {"name": "admin", "users": [], "services": []}
if env.get("GSLAB_HUB_API_TOKEN"):
    c.JupyterHub.services.append({"name": "gslab-admin", "api_token": env["GSLAB_HUB_API_TOKEN"]})
    admin_role["services"] = ["gslab-admin"]
c.JupyterHub.load_roles.append(admin_role)
