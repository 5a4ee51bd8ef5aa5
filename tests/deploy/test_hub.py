"""The one-machine hub for real: JupyterHub + DockerSpawner + configurable-http-proxy in the hub
container on the local Docker engine, the cpu-jupyter image spawned for a user, code run in
its kernel through the proxy, the server stopped; teachers and students through the native
authenticator's accounts. The time from spawn request to a ready server is written to
build/hub-spawn.json."""

from __future__ import annotations

import asyncio
import datetime
import json
import platform
import time

import requests

from grayscott.classroom.client import execute, open_kernel, server_ready
from tests.deploy.conftest import BUILD, CPU_JUPYTER, Hub, runs_the_class
from tests.utils import run, wait_for

RUN_CODE = """
import subprocess, h5py
r = subprocess.run(["grayscott", "run", "-b", "numpy", "-r", "48", "-c", "64", "-n", "4",
                    "-s", "8", "-o", "/work/hub-run.h5", "--force"], capture_output=True, text=True)
print("rc", r.returncode, r.stderr[-400:])
with h5py.File("/work/hub-run.h5") as f:
    print("shape", f["matrix"].shape, "backend", f.attrs["backend"])
import os; print("uid", os.getuid(), "gid", os.getgid())
"""


def run_lab_code(hub: Hub, user: str) -> None:
    """RUN_CODE in a new kernel of ``user``'s server: a short grayscott run into their
    volume, read back, as the image's user."""
    _, ws_url = open_kernel(hub, user)
    printed = asyncio.run(execute(ws_url, RUN_CODE, token=hub.token))
    assert "rc 0" in printed, printed
    assert "shape (4, 48, 64) backend numpy" in printed, printed
    assert "uid 1000 gid 100" in printed, printed


def test_spawn_run_code_through_the_proxy_and_stop(hub: Hub) -> None:
    user = "student1"  # plain: container and volume names escape other characters
    ready = hub.spawn(user)
    asked = time.monotonic()
    status = requests.get(f"{hub.url}/user/{user}/api/status", timeout=30,
                          headers={"Authorization": f"token {hub.token}"})
    through_proxy = ready + time.monotonic() - asked
    assert status.status_code == 200, status.text
    BUILD.mkdir(exist_ok=True)
    record = {"image": CPU_JUPYTER, "spawn_to_ready_s": round(ready, 2),
              "spawn_to_first_200_through_proxy_s": round(through_proxy, 2),
              "host": platform.node(), "date": datetime.datetime.now().isoformat(timespec="seconds")}
    (BUILD / "hub-spawn.json").write_text(json.dumps(record, indent=2) + "\n")
    print(f"\nhub spawn: ready {ready:.2f} s after the request, "
          f"first 200 through the proxy at {through_proxy:.2f} s -> build/hub-spawn.json")

    # Without credentials the proxy sends the browser to the hub's login
    anonymous = requests.get(f"{hub.url}/user/{user}/api/status", timeout=30,
                             allow_redirects=False)
    assert anonymous.status_code in (302, 403)

    # The container keeps the image contract and the site's limits
    container = f"{hub.name}-{user}"
    inspect = json.loads(run("docker", "inspect", container).stdout)[0]
    host = inspect["HostConfig"]
    assert inspect["Config"]["Image"] == CPU_JUPYTER
    assert inspect["Config"]["User"] == "1000:100"
    assert host["ReadonlyRootfs"] is True
    assert "/tmp" in host["Tmpfs"]
    assert host["Memory"] == 4 * 1024**3
    assert host["NanoCpus"] == 0 and host["CpuQuota"] == 2 * host["CpuPeriod"]
    assert not host.get("DeviceRequests")  # no GPU offered here
    mounts = {m["Destination"]: m for m in inspect["Mounts"]}
    assert mounts["/work"]["Name"] == f"{hub.name}-user-{user}"

    # Code in a kernel through the proxy: a short grayscott run into the user's volume
    run_lab_code(hub, user)

    # Stop: the container goes, the work stays in the user's volume
    assert hub.api("DELETE", f"/users/{user}/server").status_code in (202, 204)
    wait_for(lambda: not hub.api("GET", f"/users/{user}").json()["servers"], 120, "stop")
    wait_for(lambda: run("docker", "inspect", container, check=False).returncode != 0, 60,
             "container removed")
    listing = run("docker", "run", "--rm", "--entrypoint", "ls", "-v",
                  f"{hub.name}-user-{user}:/work", CPU_JUPYTER, "/work").stdout.split()
    assert "hub-run.h5" in listing and "labs" in listing


def test_teacher_added_by_make_hub_admin_logs_in_as_teacher(hub: Hub) -> None:
    password = hub.make_teacher("teacher-one")
    assert "teachers" in hub.api("GET", "/users/teacher-one").json()["groups"]

    session = hub.login("teacher-one", password)
    assert runs_the_class(session, hub)
    wrong = hub.login("teacher-one", "not-the-password")
    assert wrong.get(f"{hub.url}/hub/api/user", timeout=30).status_code == 403

    # Running it again keeps the password
    again = hub.script("admin", "teacher-one")
    assert "keeps the password" in again.stdout
    assert hub.login("teacher-one", password).get(
        f"{hub.url}/hub/api/user", timeout=30).status_code == 200


def test_admin_tool_rejects_bad_names_in_one_line(hub: Hub) -> None:
    result = hub.script("admin", "Not A Name", check=False)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("error: not a valid user name")
    assert "Traceback" not in result.stderr


def test_student_signs_up_and_waits_for_a_teachers_approval(hub: Hub) -> None:
    teacher_password = hub.make_teacher("teacher-two")
    student, password = "student-signup", "Gray-Scott-2026!"
    signup = requests.Session()
    signup.get(f"{hub.url}/hub/signup", timeout=30)
    response = signup.post(f"{hub.url}/hub/signup", timeout=30, data={
        "username": student, "signup_password": password,
        "signup_password_confirmation": password, "_xsrf": signup.cookies.get("_xsrf", "")})
    assert response.status_code == 200 and "has been sent to the admin" in response.text, response.text

    def logged_in() -> bool:
        session = hub.login(student, password)
        return session.get(f"{hub.url}/hub/api/user", timeout=30).status_code == 200

    assert not logged_in()  # not approved yet
    teacher = hub.login("teacher-two", teacher_password)
    approve = teacher.get(f"{hub.url}/hub/authorize/{student}", timeout=30)
    assert approve.status_code == 200
    assert logged_in()


def test_a_hub_restart_keeps_every_lab_and_its_kernel(hub: Hub) -> None:
    """``docker restart`` of the hub (a teacher changing a setting): the students' labs keep
    running, come back behind the proxy, and their kernels still hold their variables (the
    hub does not clean its servers up on the way down)."""
    user = "student2"
    hub.spawn(user)
    _, ws_url = open_kernel(hub, user)
    assert "set" in asyncio.run(execute(ws_url, "x = 41 + 1\nprint('set')", token=hub.token))

    run("docker", "restart", hub.name)

    def hub_answers() -> bool:
        try:
            return hub.api("GET", "/").status_code == 200
        except requests.RequestException:
            return False

    wait_for(hub_answers, 120, f"the hub after its restart\n{hub.logs()}")
    wait_for(lambda: server_ready(hub, user), 120, f"{user}'s server after the restart")

    def routed() -> bool:  # the proxy restarted with the hub: its route comes back
        return requests.get(f"{hub.url}/user/{user}/api/status", timeout=30,
                            headers={"Authorization": f"token {hub.token}"}).status_code == 200

    wait_for(routed, 120, f"{user}'s route through the proxy after the restart")
    assert "x is 42" in asyncio.run(execute(ws_url, "print('x is', x)", token=hub.token))
    assert hub.api("DELETE", f"/users/{user}/server").status_code in (202, 204)
    wait_for(lambda: not hub.api("GET", f"/users/{user}").json()["servers"], 120, "stop")
