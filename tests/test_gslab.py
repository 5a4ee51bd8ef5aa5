"""``gslab`` without images: dry runs of every runtime, its errors, doctor, the local runtime."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from grayscott import hardware


def gslab(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "grayscott.launcher", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300, env=env, check=False)


def one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.mark.parametrize("runtime, expected", [
    ("docker", ["JUPYTER_TOKEN=", "docker run", "--publish 127.0.0.1:9999:8888",
                "--env JUPYTER_TOKEN ", "gray-scott-lab:cpu-jupyter"]),
    ("podman", ["podman run", "--publish 127.0.0.1:9999:8888", "gray-scott-lab:cpu-jupyter"]),
    ("apptainer", ["apptainer run --containall", "--env JUPYTER_PORT=9999",
                   "gray-scott-lab_cpu-jupyter.sif"]),
    ("local", ["-m jupyterlab", "--port=9999", "JUPYTER_TOKEN="]),
])
def test_dry_run_prints_the_engine_command(runtime: str, expected: list[str], tmp_path: Path) -> None:
    result = gslab("run", "jupyter", "--runtime", runtime, "--port", "9999", "--workdir",
                   str(tmp_path), "--dry-run")
    assert result.returncode == 0, result.stderr
    for fragment in expected:
        assert fragment in result.stdout
    if runtime != "local":
        assert f"{tmp_path}:/work" in result.stdout


@pytest.mark.parametrize("runtime, expected", [
    ("docker", "--env GRAYSCOTT_LAB_SIZE=small"),
    ("apptainer", "--env GRAYSCOTT_LAB_SIZE=small"),
    ("local", "GRAYSCOTT_LAB_SIZE=small"),
])
def test_env_option_reaches_the_engine_command(runtime: str, expected: str,
                                               tmp_path: Path) -> None:
    result = gslab("run", "jupyter", "--runtime", runtime, "--port", "9999", "--workdir",
                   str(tmp_path), "-e", "GRAYSCOTT_LAB_SIZE=small", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert expected in result.stdout
    assert "JUPYTER_TOKEN=" in result.stdout  # the launcher's own token is still there


def test_dry_run_of_a_batch_run_on_the_gpu_image() -> None:
    result = gslab("run", "light", "--target", "gpu", "--runtime", "docker", "--dry-run", "--",
                   "run", "-b", "cupy-fused", "-n", "10")
    assert result.returncode == 0, result.stderr
    assert "gray-scott-lab:gpu-light run -b cupy-fused -n 10" in result.stdout


def test_gpu_target_without_a_gpu_is_a_clear_error() -> None:
    if hardware.gpu_reason(13) is None:
        pytest.skip("this machine has a usable GPU")
    one_line_error(gslab("run", "jupyter", "--target", "gpu"), "target gpu", "--allow-cpu")


def test_port_in_use(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        one_line_error(gslab("run", "jupyter", "--port", str(port), "--runtime", "local"),
                       f"port {port} is in use")


def test_missing_engine(tmp_path: Path) -> None:
    if shutil.which("apptainer"):
        pytest.skip("apptainer is installed here")
    one_line_error(gslab("run", "light", "--runtime", "apptainer"), "apptainer", "not installed")


@pytest.mark.parametrize("args, fragment", [
    (["run", "notebook"], "unknown flavour"),
    (["run", "light", "--runtime", "kubernetes-ish"], "unknown runtime"),
    (["run", "light", "--workdir", "/no/such/dir"], "does not exist"),
    (["run", "light", "--target", "tpu"], "unknown image variant"),
    (["run", "jupyter", "-e", "GRAYSCOTT_LAB_SIZE"], "is not KEY=VALUE"),
    (["run", "jupyter", "-e", "=small"], "is not KEY=VALUE"),
    (["run", "jupyter", "-e", "JUPYTER_TOKEN=abc"], "set by gslab itself"),
])
def test_bad_input(args: list[str], fragment: str) -> None:
    one_line_error(gslab(*args), fragment)


def test_local_runtime_runs_the_cli(tmp_path: Path) -> None:
    result = gslab("run", "light", "--runtime", "local", "--workdir", str(tmp_path), "--",
                   "smoke", "--json", "-b", "numpy")
    assert result.returncode == 0, result.stderr
    assert '"status": "ok"' in result.stdout


def test_doctor_and_images() -> None:
    doctor = gslab("doctor")
    assert doctor.returncode == 0, doctor.stderr
    for check in ("runtime docker", "runtime apptainer", "runtime local", "NVIDIA GPU", "disk"):
        assert check in doctor.stdout
    listing = gslab("images")
    assert listing.returncode == 0 and "cpu-jupyter" in listing.stdout and "gpu-light" in listing.stdout


def test_build_and_bundle_dry_runs(tmp_path: Path) -> None:
    built = gslab("build", "cpu-jupyter", "--dry-run")
    assert built.returncode == 0, built.stderr
    assert "docker buildx bake" in built.stdout and "--load cpu-jupyter" in built.stdout
    assert "grayscott.variants label cpu-jupyter" in built.stdout
    bundled = gslab("bundle", "cpu-light", "gpu-light", "-o", str(tmp_path), "--dry-run")
    assert bundled.returncode == 0, bundled.stderr
    assert f"save -o {tmp_path}/gpu-light.tar gray-scott-lab:gpu-light" in bundled.stdout
    one_line_error(gslab("load", str(tmp_path)), "no .tar")


def test_sif_and_pull_dry_runs(tmp_path: Path) -> None:
    """The commands gslab sif / pull would run (the real sif build runs in CI through
    Apptainer: make sif-cpu-light is gslab sif, and the Apptainer image tests use its .sif)."""
    local = gslab("sif", "gpu-light", "-o", str(tmp_path), "--dry-run")
    assert local.returncode == 0, local.stderr
    tar = f"{tmp_path}/.gpu-light.tar"
    assert f"save -o {tar} gray-scott-lab:gpu-light" in local.stdout
    assert (f"apptainer build --force {tmp_path}/gray-scott-lab_gpu-light.sif "
            f"docker-archive://{tar}") in local.stdout
    remote = gslab("sif", "cpu-light", "--from", "registry", "--registry", "ghcr.io/school/",
                   "-o", str(tmp_path), "--dry-run")
    assert "docker://ghcr.io/school/gray-scott-lab:cpu-light" in remote.stdout
    pulled = gslab("pull", "cpu-jupyter", "--registry", "ghcr.io/school", "--dry-run")
    assert pulled.returncode == 0, pulled.stderr
    assert "pull ghcr.io/school/gray-scott-lab:cpu-jupyter" in pulled.stdout
    assert "tag ghcr.io/school/gray-scott-lab:cpu-jupyter gray-scott-lab:cpu-jupyter" \
        in pulled.stdout


@pytest.mark.parametrize("args, fragment", [
    (["pull", "cpu-light"], "no registry"),
    (["sif", "cpu-light", "--from", "ftp"], "--from 'ftp'"),
    (["sif", "cpu-quantum", "--dry-run"], "unknown image variant"),
])
def test_sif_and_pull_bad_input(args: list[str], fragment: str) -> None:
    env_registry = os.environ.pop("GSLAB_REGISTRY", None)
    try:
        one_line_error(gslab(*args), fragment)
    finally:
        if env_registry is not None:
            os.environ["GSLAB_REGISTRY"] = env_registry


def _as_ordinary_user(monkeypatch: pytest.MonkeyPatch, uid: int = 1234, gid: int = 4321) -> None:
    """This process seen as another caller (a non-root one: gslab's rootless-Podman path)."""
    for name, value in (("geteuid", uid), ("getuid", uid), ("getgid", gid)):
        monkeypatch.setattr(os, name, lambda value=value: value)


def _dry_run_in_process(*args: str) -> str:
    from typer.testing import CliRunner

    from grayscott.launcher.cli import app

    flavour, *rest = args
    result = CliRunner().invoke(app, ["run", flavour, "--runtime", "podman", "--dry-run", *rest])
    assert result.exit_code == 0, result.output
    return result.output


def test_rootless_podman_batch_run_keeps_the_callers_ids(monkeypatch: pytest.MonkeyPatch,
                                                          tmp_path: Path) -> None:
    _as_ordinary_user(monkeypatch)
    words = _dry_run_in_process("light", "--workdir", str(tmp_path), "--", "run", "-n", "2").split()
    assert words[:2] == ["podman", "run"]
    user = words.index("--user")
    assert words[user + 1] == "1234:4321"  # keep-id maps only these two onto themselves
    assert "--userns=keep-id" in words and words[words.index("--group-add") + 1] == "100"
    assert words[words.index("--network") + 1] == "host"
    assert "--publish" not in words
    assert words[-3:] == ["run", "-n", "2"]


@pytest.mark.parametrize("flavour, port_env", [
    ("jupyter", "JUPYTER_PORT=9999"), ("code-server", "CODE_SERVER_PORT=9999")])
def test_rootless_podman_server_listens_on_the_host_port(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, flavour: str, port_env: str) -> None:
    _as_ordinary_user(monkeypatch)
    words = _dry_run_in_process(flavour, "--port", "9999", "--workdir", str(tmp_path)).split()
    assert words[words.index("--network") + 1] == "host" and "--publish" not in words
    assert port_env in words  # no port mapping: the server itself listens on 9999


def test_rootful_podman_publishes_and_runs_as_the_image_group(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from grayscott.launcher.podman import PodmanRuntime
    from grayscott.launcher.runtime import ContainerSpec

    _as_ordinary_user(monkeypatch, uid=0, gid=0)
    words = PodmanRuntime().command(ContainerSpec("img", user="1000:100", ports={9999: 8888}))
    assert "--userns=keep-id" not in words and "--network" not in words
    assert words[words.index("--user") + 1] == "1000:100"
    assert words[words.index("--publish") + 1] == "127.0.0.1:9999:8888"


def test_rootless_podman_refuses_a_port_mapping(monkeypatch: pytest.MonkeyPatch) -> None:
    from grayscott.errors import UsageError
    from grayscott.launcher.podman import PodmanRuntime
    from grayscott.launcher.runtime import ContainerSpec

    _as_ordinary_user(monkeypatch)
    with pytest.raises(UsageError, match="host network"):
        PodmanRuntime().command(ContainerSpec("img", ports={9999: 8888}))


@pytest.mark.parametrize("runtime, variable", [
    ("docker", "JUPYTER_TOKEN"), ("podman", "JUPYTER_TOKEN"),
    ("apptainer", "APPTAINERENV_JUPYTER_TOKEN"), ("local", "JUPYTER_TOKEN")])
def test_the_token_never_appears_in_the_command_line(runtime: str, variable: str,
                                                    tmp_path: Path) -> None:
    """``ps`` shows every user the command lines of a shared login node: the token travels
    in the engine's environment, which the dry run prints as a leading assignment."""
    import shlex

    result = gslab("run", "jupyter", "--runtime", runtime, "--port", "9999", "--workdir",
                   str(tmp_path), "--dry-run")
    assert result.returncode == 0, result.stderr
    words = shlex.split(result.stdout)
    assert words[0].startswith(f"{variable}=")
    token = words[0].split("=", 1)[1]
    assert len(token) >= 32 and not any(token in word for word in words[1:])


def test_local_runtime_serves_jupyterlab_with_its_token(tmp_path: Path) -> None:
    """The no-engine fallback for real: JupyterLab from this environment answers with the
    printed token (403 without), and Ctrl-C stops it."""
    import re
    import signal
    import time
    import urllib.error
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "COLUMNS": "200"}
    proc = subprocess.Popen([sys.executable, "-m", "grayscott.launcher", "run", "jupyter",
                             "--runtime", "local", "--port", str(port), "--workdir", str(tmp_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        assert proc.stdout is not None
        deadline, output = time.monotonic() + 120, ""
        while "The lab is ready" not in output:
            line = proc.stdout.readline()
            assert line or proc.poll() is None, output
            assert time.monotonic() < deadline, output
            output += line
        match = re.search(r"http://127\.0\.0\.1:(\d+)/lab\?token=(\w+)", output)
        assert match and int(match.group(1)) == port, output
        api = f"http://127.0.0.1:{port}/api/contents"
        with urllib.request.urlopen(f"{api}?token={match.group(2)}", timeout=10) as response:
            assert response.status == 200
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(api, timeout=10)
        assert refused.value.code == 403
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
    with socket.socket() as s, pytest.raises(ConnectionRefusedError):  # the server is gone
        s.connect(("127.0.0.1", port))
