"""The cluster hub of hpc/hub on the real cluster: JupyterHub + batchspawner's SlurmSpawner
(through wrapspawner's profiles) submits the cpu-jupyter .sif as the user's Slurm job, the
lab answers through the hub's proxy, and stopping the server cancels the job. The GPU
profile is rendered and handed to Slurm's ``sbatch --test-only``, not run (no GPU here).

The hub serves HTTPS with a throwaway CA's certificate (cluster.sh hub makes them on the
node; these tests trust that CA only), refuses plain HTTP for PAM logins, and no secret of a
hub job or an sbatch Jupyter job shows on the node's command lines while they start."""

from __future__ import annotations

import contextlib
import http.cookiejar
import json
import re
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.slurm.conftest import (
    CLUSTER,
    NODE,
    RECORD_REQUESTS,
    REPO,
    SIF_DIR,
    TEACHER,
    Cluster,
    Hub,
    as_node,
)
from tests.slurm.test_jupyter import JUPYTER, OPTIONS, wait_for_server


def job_of(cluster: Cluster) -> str:
    """The student's hub job: 'ID STATE NODE', or '' when there is none."""
    return cluster.run("squeue -h -u student -n gray-scott-hub -o '%i %T %N'").stdout.strip()


def spawn(hub: Hub, answers: tuple[int, ...] = (201, 202), lands: str | None = NODE) -> None:
    """Ask for the student's CPU server (the hub submits its job); ``answers``: the hub's
    statuses the test expects; ``lands``: the node the job will land on, which can take jobs
    first (None: wherever Slurm puts it)."""
    if lands:
        Cluster().wait_node_takes_jobs(lands)
    status, _ = hub.request("POST", "/hub/api/users/student")
    assert status in (201, 409)
    status, answer = hub.request("POST", "/hub/api/users/student/server", {"profile": "cpu"})
    assert status in answers, answer


def wait_ready(cluster: Cluster, hub: Hub) -> None:
    deadline = time.monotonic() + 300
    while True:
        _, user = hub.request("GET", "/hub/api/users/student")
        server = user["servers"].get("", {})
        if server.get("ready"):
            return
        assert server.get("pending") == "spawn", (user, cluster.run(
            "tail -n 30 /var/log/slurm/hub.log", root=True).stdout)
        assert time.monotonic() < deadline, "the server did not start in 300 s"
        time.sleep(1)


def stop(cluster: Cluster, hub: Hub) -> None:
    """Stop the student's server and wait until its job has left the queue."""
    status, _ = hub.request("DELETE", "/hub/api/users/student/server")
    assert status in (202, 204)
    deadline = time.monotonic() + 120
    while job_of(cluster):
        assert time.monotonic() < deadline, job_of(cluster)
        time.sleep(1)


def test_spawn_through_the_hub_runs_the_lab_as_the_user_and_stop_cancels_it(
        cluster: Cluster, hub: Hub) -> None:
    spawn(hub)
    wait_ready(cluster, hub)
    job_id, state, node = job_of(cluster).split()
    assert (state, node) == ("RUNNING", NODE)
    processes = cluster.run("ps -u student -o args=", on=NODE).stdout
    assert "jupyterhub-singleuser" in processes

    # the student's browser: PAM login, then the lab through the hub's OAuth; the cookies
    # that log in (the hub's, the lab's jupyterhub-user-student) are Secure. (The lab's own
    # _xsrf is not: the image's Jupyter sets it, and it opens nothing by itself.)
    opener, jar = browser(hub, set_password(cluster))
    with opener.open(hub.base + "/user/student/api/status", timeout=60) as lab_status:
        assert lab_status.status == 200 and "started" in json.loads(lab_status.read())
    logins = {(cookie.name, cookie.path): cookie.secure for cookie in jar
              if cookie.name.startswith("jupyterhub-")}
    assert {name for name, _ in logins} == {"jupyterhub-hub-login", "jupyterhub-session-id",
                                            "jupyterhub-user-student"}, logins
    assert all(logins.values()), logins

    status, token = hub.request("POST", "/hub/api/users/student/tokens", {"expires_in": 600})
    assert status in (200, 201), token
    lab = "/user/student/api/status"
    status, answer = hub.request("GET", lab, token=token["token"])
    assert status == 200 and "started" in answer, answer
    no_token = urllib.request.Request(hub.base + lab)
    with pytest.raises(urllib.error.HTTPError) as refused:
        hub.opener().open(no_token, timeout=30)
    assert refused.value.code in (302, 403)

    stop(cluster, hub)
    accounting = cluster.run(f"sacct -n -X -P -j {job_id} -o State").stdout.strip()
    assert accounting.startswith("CANCELLED"), accounting
    assert "jupyterhub-singleuser" not in cluster.run("ps -u student -o args=", on=NODE).stdout


RENDER = """
import asyncio, json, sys
sys.path.insert(0, sys.argv[1])
from gslab_slurm import profiles
scripts = {}
for _, key, spawner_class, settings in profiles("/sif", cpus=1, memory="1G", runtime="00:05:00"):
    spawner = spawner_class(**settings, req_username="student", req_homedir="/home/student",
                            req_keepvars="PATH,JUPYTERHUB_API_TOKEN")
    subvars = spawner.get_req_subvars()
    scripts[key] = asyncio.run(spawner._get_batch_script(**subvars, cmd="jupyterhub-singleuser"))
print(json.dumps(scripts))
"""


def test_profiles_render_and_slurm_reads_the_gpu_request(cluster: Cluster) -> None:
    rendered = cluster.run(f"/opt/hub/bin/python -c '{RENDER}' {REPO}/hpc/hub").stdout
    scripts = json.loads(rendered)
    cpu, gpu = scripts["cpu"], scripts["gpu"]
    assert "--gpus" not in cpu and "--nv" not in cpu
    assert "apptainer run --containall --bind \"$HOME:/work\" --pwd /work  " \
           "/sif/gray-scott-lab_cpu-jupyter.sif \\\n    --ServerApp.port_retries=0 &\n" in cpu
    assert "#SBATCH --gpus=1\n" in gpu
    assert "--pwd /work --nv /sif/gray-scott-lab_gpu-jupyter.sif \\\n" in gpu
    node_dir, host_dir = cluster.folder("hub-render")
    for key, script in scripts.items():
        (host_dir / f"{key}.sh").write_text(script)
        syntax = cluster.run(f"bash -n {node_dir}/{key}.sh", check=False)
        assert syntax.returncode == 0, syntax.stderr
        lint = subprocess.run([str(Path(sys.executable).parent / "shellcheck"),
                               str(host_dir / f"{key}.sh")], capture_output=True, text=True,
                              timeout=60, check=False)
        assert lint.returncode == 0, lint.stdout
    # Slurm itself reads the requests: the cpu job fits this cluster, the gpu one asks for
    # a GPU this node does not have
    assert cluster.run(f"sbatch --test-only {node_dir}/cpu.sh", check=False).returncode == 0
    refused = cluster.run(f"sbatch --test-only {node_dir}/gpu.sh", check=False)
    assert refused.returncode != 0
    assert "Invalid generic resource (gres) specification" in refused.stderr, refused.stderr


def set_password(cluster: Cluster, user: str = "student") -> str:
    """A new password for ``user``'s cluster account (chpasswd reads it: not in an argv)."""
    password = secrets.token_hex(12)
    cluster.run("chpasswd", root=True, stdin=f"{user}:{password}\n")
    return password


def browser(hub: Hub, password: str, user: str = "student",
            ) -> tuple[urllib.request.OpenerDirector, http.cookiejar.CookieJar]:
    """A browser logged in as ``user`` through the hub's login page (PAM): it follows
    redirects and keeps cookies."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=hub.tls),
                                         urllib.request.HTTPCookieProcessor(jar))
    opener.open(hub.base + "/hub/login", timeout=30).close()
    xsrf = next(cookie.value for cookie in jar if cookie.name == "_xsrf")
    form = urllib.parse.urlencode({"username": user, "password": password,
                                   "_xsrf": xsrf}).encode()
    with opener.open(hub.base + "/hub/login", data=form, timeout=30) as home:
        assert "/hub/login" not in home.url, home.url  # logged in: sent on, not back
    return opener, jar


def test_pam_login_over_https_sets_secure_cookies(cluster: Cluster, hub: Hub) -> None:
    """A cluster account logs in through the login page (PAM, over the hub's HTTPS): every
    cookie the hub sets carries ``Secure``, so a browser never sends it over plain HTTP."""
    password = set_password(cluster)
    jar = http.cookiejar.CookieJar()
    opener = hub.opener(urllib.request.HTTPCookieProcessor(jar))
    with opener.open(hub.base + "/hub/login", timeout=30) as page:
        set_cookies = page.headers.get_all("Set-Cookie") or []
    xsrf = next(cookie.value for cookie in jar if cookie.name == "_xsrf")
    form = urllib.parse.urlencode({"username": "student", "password": password,
                                   "_xsrf": xsrf}).encode()
    with pytest.raises(urllib.error.HTTPError) as login:  # a redirect: NoRedirect raises it
        opener.open(urllib.request.Request(hub.base + "/hub/login?next=/hub/home", data=form),
                    timeout=30)
    assert login.value.code == 302, login.value.read()
    set_cookies += login.value.headers.get_all("Set-Cookie") or []
    names = {cookie.split("=", 1)[0] for cookie in set_cookies}
    assert {"jupyterhub-hub-login", "jupyterhub-session-id"} <= names, set_cookies
    insecure = [cookie.split("=", 1)[0] for cookie in set_cookies
                if "secure" not in [a.strip().lower() for a in cookie.split(";")[1:]]]
    assert not insecure, set_cookies


def test_plain_http_with_pam_is_refused_at_start(cluster: Cluster) -> None:
    """The real hub, started as an admin would start it on a login node without a
    certificate: one line naming the fix, exit 2, nothing listening."""
    started = cluster.run(
        f"mkdir -p /tmp/hub-refused && cd /tmp/hub-refused && GSLAB_SIF_DIR={SIF_DIR} "
        f"GSLAB_HUB_URL=http://0.0.0.0:8100 timeout 60 /opt/hub/bin/jupyterhub "
        f"-f {REPO}/hpc/hub/jupyterhub_config.py", root=True, check=False)
    assert started.returncode == 2, started.stdout + started.stderr
    lines = started.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: the hub would take cluster "
                                                   "passwords (PAM) over plain HTTP"), lines
    assert "GSLAB_HUB_SSL_CERT" in lines[0] and "GSLAB_HUB_ALLOW_HTTP=yes" in lines[0]
    assert ":8100 " not in cluster.run("ss -Hltn", root=True).stdout + " "


#: Records every command line on the compute node (a fast loop over /proc/*/cmdline, as root) and
#: the secret-looking variables of every process it saw (/proc/PID/environ), until the file
#: named by its argument exists; then prints both as JSON.
SAMPLER = r"""
import json, os, re, sys, time
stop, secret_name = sys.argv[1], re.compile(r"TOKEN|SECRET|PASSWORD")
seen, argvs, secrets, loops, start = set(), set(), {}, 0, time.monotonic()
print("sampling", flush=True)
while not os.path.exists(stop):
    loops += 1
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read()
            if not cmdline or (pid, cmdline) in seen:
                continue
            seen.add((pid, cmdline))
            argvs.add(cmdline.rstrip(b"\0").replace(b"\0", b" ").decode(errors="replace"))
            with open(f"/proc/{pid}/environ", "rb") as f:
                environ = f.read().split(b"\0")
        except OSError:  # gone meanwhile
            continue
        for entry in environ:
            name, _, value = entry.decode(errors="replace").partition("=")
            if secret_name.search(name) and len(value) >= 16:
                secrets.setdefault(value, name)
print(json.dumps({"argvs": sorted(argvs), "secrets": secrets, "loops": loops,
                  "seconds": time.monotonic() - start}))
"""


def test_no_secret_of_a_hub_job_or_an_sbatch_lab_in_any_command_line(
        cluster: Cluster, hub: Hub) -> None:
    """Any user of a shared node reads every process's command line (ps): a hub job's
    JUPYTERHUB_API_TOKEN there opens the user's lab. Every argv on the node, sampled from
    before the spawn until both labs answer, holds none of the jobs' tokens."""
    stop_file = "/run/gslab-sampler.stop"
    cluster.run(f"rm -f {stop_file}", root=True, on=NODE)
    sampler = subprocess.Popen(["bash", str(CLUSTER), "root", *as_node(NODE), "python3", "-c", SAMPLER,
                                stop_file], stdout=subprocess.PIPE, text=True)
    assert sampler.stdout is not None and sampler.stdout.readline() == "sampling\n"
    job = None
    try:
        spawn(hub)
        job = cluster.sbatch(JUPYTER, options=OPTIONS, label="argv-sampler")
        wait_ready(cluster, hub)
        _, url_token = wait_for_server(cluster, job)
    finally:
        cluster.run(f"touch {stop_file}", root=True, on=NODE)
        sampled = json.loads(sampler.communicate(timeout=60)[0])
        if job:
            cluster.scancel(job)
        stop(cluster, hub)
    argvs, found = sampled["argvs"], sampled["secrets"]
    print(f"sampler: {sampled['loops']} passes over /proc in {sampled['seconds']:.0f} s, "
          f"{len(argvs)} command lines, {len(found)} secret values")
    # the samples cover what matters: the hub job's call to the hub, both labs' servers,
    # and the secrets of both jobs (the hub's token for the server, the sbatch lab's token)
    assert any(re.search(r"curl .*/hub/api/batchspawner", argv) for argv in argvs), argvs
    assert any("jupyterhub-singleuser" in argv for argv in argvs), argvs
    assert any("jupyter-lab" in argv or "jupyter lab" in argv for argv in argvs), argvs
    # (the container's own processes are not dumpable: their environ is closed even to root
    # without CAP_SYS_PTRACE; their tokens are those of the job scripts that started them)
    names = set(found.values())
    assert {"JUPYTERHUB_API_TOKEN", "APPTAINERENV_JUPYTER_TOKEN"} <= names, names
    assert url_token in found, "the sbatch lab's token was not among the sampled secrets"
    leaks = [f"{name} in: {argv.replace(value, '<' + name + '>')}"
             for value, name in found.items() for argv in argvs if value in argv]
    assert not leaks, "\n".join(leaks)


#: mallory, another user of the node, reads the new hub job's log (0644 in a 0755 home, as
#: by default) for the port it picked and binds that port first (IPv4), answering every
#: request with a 200 (what the hub's readiness check wants) and recording what it is sent,
#: until the file named by its argument exists; then prints that as JSON.
LOG_WATCHER = r"""
import glob, json, os, re, socket, sys, time
stop = sys.argv[1]
def logs():  # by name and mtime: a new cluster numbers its jobs from 1 again, same file names
    found = {}
    for path in glob.glob("/home/student/gray-scott-hub-*.log"):
        try:
            found[path] = os.stat(path).st_mtime_ns
        except OSError:
            pass
    return found
old = logs()
listener, received = None, []
print("watching", flush=True)
while listener is None and not os.path.exists(stop):
    for log, mtime in logs().items():
        if old.get(log) == mtime:
            continue
        found = re.search(r", port (\d+),", open(log).read())
        if not found:
            continue
        old[log] = mtime
        listener = socket.socket()
        try:
            listener.bind(("0.0.0.0", int(found[1])))
        except OSError as error:  # the job's server was first
            received.append(f"not bound {found[1]}: {error}")
            listener = None
            continue
        listener.listen(16)
        listener.settimeout(0.2)
        received.append(f"bound {found[1]}")
        break
    time.sleep(0.05)
""" + RECORD_REQUESTS


def test_a_squatted_hub_job_port_is_never_handed_to_the_hub(cluster: Cluster, hub: Hub) -> None:
    """mallory binds the port a hub job picked (read from its log) before its server does:
    the job must not tell the hub that port, so the proxy never sends the student's requests
    (their cookies) to mallory; the job fails instead, its log naming the port. (The hub
    itself only gives up at its start_timeout: batchspawner waits for a port without looking
    at the job; the test stops the spawn once the job has failed.)"""
    stop_file = "/tmp/hub-squatter.stop"
    cluster.run(f"rm -f {stop_file}", root=True, on=NODE)
    squatter = subprocess.Popen(["bash", str(CLUSTER), "root", *as_node(NODE),
                                 "runuser", "-u", "mallory", "--",
                                 "python3", "-c", LOG_WATCHER, stop_file],
                                stdout=subprocess.PIPE, text=True)
    assert squatter.stdout is not None and squatter.stdout.readline() == "watching\n"
    try:
        opener, _ = browser(hub, set_password(cluster))
        # pending (the hub waits for the job's port), or 500 when the hub saw the squatted
        # job end within the spawn request's own first seconds
        spawn(hub, answers=(201, 202, 500))
        deadline = time.monotonic() + 180
        while True:
            _, user = hub.request("GET", "/hub/api/users/student")
            server = user["servers"].get("", {})
            if server.get("ready"):  # the hub took the squatted port: the student goes there
                with contextlib.suppress(OSError):
                    opener.open(hub.base + "/user/student/lab", timeout=30).close()
                break
            if not server.get("pending") or "error: port" in newest_hub_log(cluster):
                break
            assert time.monotonic() < deadline, user
            time.sleep(1)
    finally:
        cluster.run(f"touch {stop_file}", root=True, on=NODE)
        out = squatter.communicate(timeout=30)[0]
        stop(cluster, hub)
    received = json.loads(out.splitlines()[-1])
    assert received and received[0].startswith("bound "), received
    port = received[0].split()[1]
    assert received == [f"bound {port}"], received  # no request at all: no cookie, no token
    assert not server.get("ready"), user
    log = newest_hub_log(cluster)
    errors = [line for line in log.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and f"port {port} " in errors[0], log
    hub_log = cluster.run("cat /var/log/slurm/hub.log", root=True).stdout
    assert f"started at {NODE}:{port}" not in hub_log


def newest_hub_log(cluster: Cluster) -> str:
    return cluster.run("cat $(ls -t gray-scott-hub-*.log | head -1)").stdout


# A check cell's verdict, as the lab's kernel sends it: from the compute node, inside the job's
# container, with the environment the hub gave the lab (its token, GSLAB_PROGRESS_URL), read
# from the server's own process. The kernel's websocket path is the compose hub's test
# (tests/deploy/test_hub_progress.py); here what is the cluster's: the job's container gets
# the variables, the compute node reaches the service on the login node, the hub runs it.
CHECK_FROM_THE_LAB = r"""
pid=$(pgrep -u student -f jupyterhub-singleuser | head -n 1)
[ -n "$pid" ] || { echo "no jupyterhub-singleuser of the student's"; exit 3; }
while IFS= read -r -d '' pair; do
    case $pair in
        GSLAB_PROGRESS_URL=* | JUPYTERHUB_API_TOKEN=*) export "APPTAINERENV_$pair" ;;
    esac
done < "/proc/$pid/environ"
[ -n "${APPTAINERENV_GSLAB_PROGRESS_URL:-}" ] || { echo "the lab has no GSLAB_PROGRESS_URL"; exit 4; }
apptainer exec --containall SIF python -c '
from grayscott import model
from grayscott.labs import checks, progress
checks.check_laplacian(lambda a: model.laplacian_weighted(a, model.STENCIL_5), raise_on_failure=False)
print("sent" if progress.flush(20) else "not sent")'
"""


def test_a_check_verdict_from_the_compute_node_reaches_the_teachers_page(
        cluster: Cluster, hub: Hub) -> None:
    spawn(hub)
    wait_ready(cluster, hub)
    try:
        sent = cluster.run(CHECK_FROM_THE_LAB.replace("SIF", str(SIF_DIR / "gray-scott-lab_cpu-jupyter.sif")),
                           timeout=180, on=NODE).stdout
        assert "check_laplacian: NOT YET" in sent and "sent" in sent.split(), sent

        teacher, _ = browser(hub, set_password(cluster, TEACHER), TEACHER)
        with teacher.open(hub.base + "/services/progress/api/class", timeout=60) as answer:
            grid = json.loads(answer.read())
        verdict = grid["cells"]["student"]["check_laplacian"]
        assert verdict["passed"] is False and "5-point" in verdict["message"], verdict
        assert TEACHER not in grid["students"]

        student, _ = browser(hub, set_password(cluster))
        with pytest.raises(urllib.error.HTTPError) as refused:
            student.open(hub.base + "/services/progress/api/class", timeout=60)
        assert refused.value.code == 403
    finally:
        stop(cluster, hub)
