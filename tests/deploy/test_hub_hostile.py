"""A hostile student at the one-machine hub (issue #13), against a real hub on the Docker
engine: student A, with her own login or tokens, can neither reach student B's container
(each lab is alone on a network with the hub) nor read or run anything in B's server through
the hub; from inside her lab there is no Docker socket, no hub database, no hub API without a
token, no capability, no new privilege, a pids limit, a read-only root and a non-root user;
and the hub's secrets appear in no ``docker inspect``, log or image.

Run by ``make test-hub-hostile`` (not by ``make test-deploy``)."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
import requests

from grayscott.classroom.client import channels_url, execute, server_ready
from tests.deploy.conftest import COMPOSE, Hub, started_hub
from tests.utils import run, wait_for

COURSE = "hostile-course-password-2026"
ADMIN = "hostile-admin-password-of-more-than-32-chars"
PIDS_LIMIT = 1024  # jupyterhub_config.py's extra_host_config


@pytest.fixture(scope="module")
def class_hub(docker_engine: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    settings = {"GSLAB_HUB_AUTH": "shared", "GSLAB_HUB_SHARED_PASSWORD": COURSE,
                "GSLAB_HUB_ADMINS": "prof", "GSLAB_HUB_ADMIN_PASSWORD": ADMIN,
                "GSLAB_HUB_MEM_LIMIT": "512M", "GSLAB_HUB_CPU_LIMIT": "1"}
    with started_hub(tmp_path_factory.mktemp("hostile-hub"), settings) as hub:
        # Both students log in the way students do, then their servers start
        for user in ("alice", "bob"):
            assert hub.login(user, COURSE).get(f"{hub.url}/hub/api/user",
                                               timeout=30).status_code == 200
            assert hub.api("POST", f"/users/{user}/server").status_code in (201, 202)
        for user in ("alice", "bob"):
            wait_for(lambda u=user: server_ready(hub, u), 180,
                     f"{user}'s server\n{hub.logs()[-3000:]}", 0.2)
        yield hub


def lab(hub: Hub, user: str) -> str:
    return f"{hub.name}-{user}"


def inspect(container: str) -> dict[str, Any]:
    return cast(dict[str, Any], json.loads(run("docker", "inspect", container).stdout)[0])


def in_container(container: str, code: str) -> str:
    """Run Python in ``container`` as its own user (what a student's kernel could do)."""
    return run("docker", "exec", container, "python3", "-c", code).stdout


CONNECT = """
import socket, sys
s = socket.socket(); s.settimeout(3)
try:
    s.connect((sys.argv[1] if len(sys.argv) > 1 else {ip!r}, 8888))
    print("connected")
except OSError as exc:
    print("refused", type(exc).__name__)
"""


def env_of(container: str) -> dict[str, str]:
    return dict(e.split("=", 1) for e in inspect(container)["Config"]["Env"])


def test_a_lab_cannot_open_a_connection_to_another_lab(class_hub: Hub) -> None:
    hub = class_hub
    a, b = inspect(lab(hub, "alice")), inspect(lab(hub, "bob"))
    a_nets, b_nets = a["NetworkSettings"]["Networks"], b["NetworkSettings"]["Networks"]
    (b_ip,) = [net["IPAddress"] for net in b_nets.values()]
    # B's server listens there: the hub (on B's network) connects...
    assert "connected" in in_container(hub.name, CONNECT.format(ip=b_ip))
    # ...A cannot, not even a TCP connection
    printed = in_container(lab(hub, "alice"), CONNECT.format(ip=b_ip))
    assert printed.startswith("refused"), printed
    # because each is alone with the hub on a network of its own
    assert list(a_nets) == [f"{lab(hub, 'alice')}-net"]
    assert list(b_nets) == [f"{lab(hub, 'bob')}-net"]
    # the hub's API is still A's to reach (the lab reports to it)
    status = in_container(lab(hub, "alice"), (
        "import urllib.request\nprint(urllib.request.urlopen("
        "'http://hub:8081/hub/api/', timeout=10).status)"))
    assert status.strip() == "200"


def test_a_students_cookie_and_tokens_get_nothing_from_another_server(class_hub: Hub) -> None:
    hub = class_hub
    session = hub.login("alice", COURSE)
    # As a browser does: her lab page (the OAuth round trip gives her that server's cookie),
    # then its API works with that session...
    assert session.get(f"{hub.url}/user/alice/lab", timeout=60).status_code == 200
    own = session.get(f"{hub.url}/user/alice/api/contents", timeout=30)
    assert own.status_code == 200, own.text
    # ...but B's lab page does not let her in (the hub refuses the OAuth authorization)
    page = session.get(f"{hub.url}/user/bob/lab", timeout=60)
    print("alice at /user/bob/lab:", page.status_code, page.url,
          [(r.status_code, r.url) for r in page.history])
    assert page.status_code in (403, 404), (page.status_code, page.url)
    for path in ("contents", "kernels", "sessions"):
        response = session.get(f"{hub.url}/user/bob/api/{path}", timeout=30)
        assert response.status_code in (403, 404), (path, response.status_code, response.text)
    xsrf = session.cookies.get("_xsrf", path="/hub/") or ""
    started = session.post(f"{hub.url}/user/bob/api/kernels", json={}, timeout=30,
                           headers={"X-XSRFToken": xsrf})
    assert started.status_code in (403, 404), started.text

    # A's server's own token, and a token A makes for herself with her cookie
    server_token = env_of(lab(hub, "alice"))["JUPYTERHUB_API_TOKEN"]
    made = session.post(f"{hub.url}/hub/api/users/alice/tokens", json={"note": "mine"},
                        headers={"X-XSRFToken": xsrf}, timeout=30)
    assert made.status_code == 201, made.text
    for token in (server_token, made.json()["token"]):
        auth = {"Authorization": f"token {token}"}
        mine = requests.get(f"{hub.url}/user/alice/api/contents", headers=auth, timeout=30)
        assert mine.status_code == 200, mine.text  # the token is live...
        for path in ("contents", "kernels"):
            theirs = requests.get(f"{hub.url}/user/bob/api/{path}", headers=auth, timeout=30)
            assert theirs.status_code in (403, 404), (path, theirs.status_code, theirs.text)
        kernel = requests.post(f"{hub.url}/user/bob/api/kernels", headers=auth, json={},
                               timeout=30)
        assert kernel.status_code in (403, 404), kernel.text
        users = requests.get(f"{hub.url}/hub/api/users/bob", headers=auth, timeout=30)
        assert users.status_code in (403, 404)
    # B's server has started no kernel
    admin = {"Authorization": f"token {hub.token}"}
    assert requests.get(f"{hub.url}/user/bob/api/kernels", headers=admin,
                        timeout=30).json() == []


INSIDE = """
import json, os, stat, urllib.request, urllib.error
found = {}
sockets = []
for top in ("/run", "/var/run", "/tmp", "/work", "/home", "/srv", "/mnt", "/opt", "/"):
    for root, dirs, files in os.walk(top):
        if top == "/":
            dirs[:] = []  # the top level only; the rest is walked above
        for f in files:
            p = os.path.join(root, f)
            try:
                if stat.S_ISSOCK(os.lstat(p).st_mode) or "docker.sock" in f:
                    sockets.append(p)
            except OSError:
                pass
found["sockets"] = sorted(set(sockets))
found["hub_db"] = [p for p in ("/srv/jupyterhub/data", "/srv/jupyterhub/data/jupyterhub.sqlite")
                   if os.path.exists(p)]
found["mounts_hub"] = [line for line in open("/proc/self/mountinfo") if "jupyterhub" in line
                       or "-data" in line.split(" - ")[0]]
try:
    urllib.request.urlopen("http://hub:8081/hub/api/users", timeout=10)
    found["api"] = 200
except urllib.error.HTTPError as exc:
    found["api"] = exc.code
status = dict(line.split(":", 1) for line in open("/proc/self/status"))
for key in ("CapEff", "CapPrm", "CapBnd", "CapInh", "NoNewPrivs"):
    found[key] = status[key].strip()
for pids in ("/sys/fs/cgroup/pids.max", "/sys/fs/cgroup/pids/pids.max"):
    if os.path.exists(pids):
        found["pids_max"] = open(pids).read().strip()
try:
    open("/etc/hostile", "w").write("x")
    found["etc_writable"] = True
except OSError as exc:
    found["etc_writable"] = exc.strerror
found["uid"] = os.getuid()
found["euid"] = os.geteuid()
print(json.dumps(found))
"""


def test_inside_a_lab_no_socket_no_database_no_privileges(class_hub: Hub) -> None:
    hub = class_hub
    found = json.loads(in_container(lab(hub, "alice"), INSIDE))
    assert found["sockets"] == [], found
    assert found["hub_db"] == [] and found["mounts_hub"] == [], found
    assert found["api"] == 403, found  # the hub API wants a token
    for key in ("CapEff", "CapPrm", "CapBnd", "CapInh"):
        assert int(found[key], 16) == 0, (key, found)
    assert found["NoNewPrivs"] == "1"
    assert found["pids_max"] == str(PIDS_LIMIT)
    assert found["etc_writable"] == "Read-only file system"
    assert found["uid"] == found["euid"] == 1000
    mounts = inspect(lab(hub, "alice"))["Mounts"]
    assert [(m["Type"], m.get("Name"), m["Destination"]) for m in mounts] == [
        ("volume", f"{hub.name}-user-alice", "/work")]


def secrets_of(hub: Hub) -> dict[str, str]:
    values = dict(line.split("=", 1) for line in Path(hub.env["HUB_ENV_FILE"]).read_text().split())
    cookie = run("docker", "exec", hub.name, "cat",
                 "/srv/jupyterhub/data/jupyterhub_cookie_secret").stdout.strip()
    assert len(values["GSLAB_HUB_API_TOKEN"]) >= 32 and len(cookie) >= 32
    return {"GSLAB_HUB_API_TOKEN": values["GSLAB_HUB_API_TOKEN"], "cookie secret": cookie,
            "shared password": COURSE, "admin password": ADMIN}


def assert_none_in(text: str, secrets: dict[str, str], where: str) -> None:
    for name, value in secrets.items():
        assert value not in text, f"the {name} is in {where}"


def test_secrets_appear_in_no_inspect_log_or_image(class_hub: Hub) -> None:
    hub = class_hub
    secrets = secrets_of(hub)
    # A student's session: the lab page (OAuth, XSRF cookie), a kernel, a cell, a stop
    session = hub.login("alice", COURSE)
    assert session.get(f"{hub.url}/user/alice/lab", timeout=60).status_code == 200
    token = env_of(lab(hub, "alice"))["JUPYTERHUB_API_TOKEN"]
    kernel = requests.post(f"{hub.url}/user/alice/api/kernels", json={}, timeout=60,
                           headers={"Authorization": f"token {token}"})
    assert kernel.status_code == 201, kernel.text
    ws = channels_url(hub.url, "alice", kernel.json()["id"])
    assert "42" in asyncio.run(execute(ws, "print(6 * 7)", token=token))
    xsrf_cookies = [c.value for c in session.cookies if c.name == "_xsrf" and c.value]
    assert xsrf_cookies

    for user in ("alice", "bob"):
        container = lab(hub, user)
        config = inspect(container)
        # The lab's own JUPYTERHUB_API_TOKEN is in its environment by necessity (how the lab
        # proves itself to the hub; it is only that user's, and dies with the server).
        assert_none_in(json.dumps(config), secrets, f"docker inspect {container}")
        logs = run("docker", "logs", container)
        assert_none_in(logs.stdout + logs.stderr, secrets, f"{container}'s log")
        assert "Setting new xsrf cookie" not in logs.stderr, f"{container} logs XSRF cookies"
        assert "200 GET" in logs.stderr  # its log is not silenced: requests are still there
        for value in xsrf_cookies:
            assert value not in logs.stdout + logs.stderr
    for user in ("alice", "bob"):
        assert hub.api("DELETE", f"/users/{user}/server").status_code in (202, 204)
    wait_for(lambda: not any(hub.api("GET", f"/users/{u}").json()["servers"]
                             for u in ("alice", "bob")), 120, "the stops")

    hub_logs = hub.logs()
    assert f"Stopping container {lab(hub, 'alice')}" in hub_logs  # the log saw it all
    assert_none_in(hub_logs, secrets, "the hub's log")
    assert "Setting new xsrf cookie" not in hub_logs
    for value in xsrf_cookies:
        assert value not in hub_logs
    hub_config = inspect(hub.name)
    image = hub_config["Config"]["Image"]
    image_meta = run("docker", "image", "inspect", image).stdout + run(
        "docker", "history", "--no-trunc", image).stdout
    assert_none_in(image_meta, secrets, f"the image {image}'s config or history")
    # and in no file of the image (the root filesystem as built, the data volume aside)
    grep = run("docker", "run", "--rm", "--user", "0", "--entrypoint", "grep", image, "-rlF",
               "--exclude-dir=proc", "--exclude-dir=sys", "--exclude-dir=dev",
               "-e", secrets["GSLAB_HUB_API_TOKEN"], "-e", secrets["cookie secret"],
               "/srv", "/opt", "/etc", "/usr/local", "/tmp", check=False)
    assert grep.returncode == 1 and grep.stdout == "", grep.stdout + grep.stderr


def test_a_recreated_hub_joins_the_students_networks_again(class_hub: Hub) -> None:
    """`make hub` after a settings change recreates the hub container, which loses the
    networks it had joined; at its start it joins them again. A stop keeps the student's
    network (and the hub on it) for their next start, which uses it again."""
    hub = class_hub
    if not hub.api("GET", "/users/alice").json()["servers"]:  # stopped by the secrets test
        assert hub.api("POST", "/users/alice/server").status_code in (201, 202)
    wait_for(lambda: server_ready(hub, "alice"), 180, f"alice's server\n{hub.logs()[-3000:]}")
    run("docker", "compose", "--env-file", hub.env["HUB_ENV_FILE"], "-f",
        COMPOSE / "hub" / "compose.yaml", "up", "-d", "--force-recreate", "hub", env=hub.env)

    def routed() -> bool:
        try:
            return requests.get(f"{hub.url}/user/alice/api/status", timeout=10,
                                headers={"Authorization": f"token {hub.token}"}).status_code == 200
        except requests.RequestException:
            return False

    wait_for(routed, 120, f"alice's lab behind the recreated hub\n{hub.logs()[-3000:]}", 0.5)
    assert f"{lab(hub, 'alice')}-net" in inspect(hub.name)["NetworkSettings"]["Networks"]
    network = f"{lab(hub, 'alice')}-net"
    network_id = run("docker", "network", "inspect", "-f", "{{.Id}}", network).stdout.strip()
    assert hub.api("DELETE", "/users/alice/server").status_code in (202, 204)
    wait_for(lambda: not hub.api("GET", "/users/alice").json()["servers"], 120, "the stop")
    assert network in inspect(hub.name)["NetworkSettings"]["Networks"]
    assert hub.api("POST", "/users/alice/server").status_code in (201, 202)
    wait_for(lambda: server_ready(hub, "alice"), 180, f"alice's server\n{hub.logs()[-3000:]}")
    assert inspect(lab(hub, "alice"))["NetworkSettings"]["Networks"][network]["NetworkID"] == (
        network_id)
    wait_for(routed, 120, f"alice's lab on her network again\n{hub.logs()[-3000:]}", 0.5)


def test_the_env_file_never_reaches_the_hub_image_build(tmp_path: Path) -> None:
    """compose/hub/.dockerignore: a site's compose/hub/.env (API token, passwords) is not sent
    to the builder, so no COPY or RUN can put it in the image. Checked by exporting the build
    context that BuildKit gets, from a copy of compose/hub with a .env in it."""
    context = tmp_path / "hub"
    shutil.copytree(COMPOSE / "hub", context)
    (context / ".env").write_text("GSLAB_HUB_API_TOKEN=must-not-travel\n")
    out = tmp_path / "context"
    built = subprocess.run(["docker", "build", "-q", "-f", "-", "--output",
                            f"type=local,dest={out}", str(context)], input="FROM scratch\nCOPY . /\n",
                           capture_output=True, text=True, timeout=300, check=False)
    assert built.returncode == 0, built.stderr
    sent = sorted(p.name for p in out.iterdir())
    assert ".env" not in sent
    assert sent == sorted(["Dockerfile", "gslab-egress", "gslab-hub-admin", "gslab_hub",
                           "jupyterhub_config.py", "requirements.lock.txt"])
    # the hub's package, its subpackages (progress/) included: Python sources only
    package = [p for p in (out / "gslab_hub").rglob("*") if p.is_file()]
    assert all(p.suffix == ".py" for p in package), package
    assert (out / "gslab_hub" / "progress" / "__main__.py") in package
