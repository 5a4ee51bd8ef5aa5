"""``gslab`` without images: dry runs of every runtime, its errors, doctor, the local runtime."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
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
    ("singularity", ["singularity run --containall", "--env JUPYTER_PORT=9999",
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


@pytest.mark.parametrize("runtime, options", [
    ("docker", ["--log-driver json-file", "--log-opt max-size=10m", "--log-opt max-file=3"]),
    ("podman", ["--log-driver k8s-file", "--log-opt max-size=10m"]),
])
@pytest.mark.parametrize("command", [
    ["run", "jupyter", "--detach"], ["run", "code-server"], ["run", "light", "--", "run"]],
    ids=["detached-jupyter", "code-server", "batch"])
def test_every_container_gets_a_bounded_log(runtime: str, options: list[str],
                                            command: list[str], tmp_path: Path) -> None:
    """Issue #22, attack 4: a student writing to her server's stdout must not grow a file on
    the host without limit; every container gslab starts carries the engine's log cap."""
    result = gslab(*command[:2], "--runtime", runtime, "--workdir", str(tmp_path), "--dry-run",
                   *command[2:])
    assert result.returncode == 0, result.stderr
    for option in options:
        assert option in result.stdout, result.stdout


def test_smoke_and_helper_containers_get_a_bounded_log() -> None:
    """Not only ``gslab run``: smoke, the version probe (imagetools) and the image tests all
    go through Runtime.command, which holds the cap."""
    from grayscott.launcher.docker import DockerRuntime
    from grayscott.launcher.podman import PodmanRuntime
    from grayscott.launcher.runtime import ContainerSpec

    spec = ContainerSpec("img", ["grayscott", "smoke", "--json"], exec_=True)
    for runtime in (DockerRuntime(), PodmanRuntime()):
        words = runtime.command(spec)
        assert "--log-opt" in words and words[words.index("--log-opt") + 1] == "max-size=10m"


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
    assert "grayscott.imagetools label cpu-jupyter" in built.stdout
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
    assert "no usable engine here holds gray-scott-lab:gpu-light" in local.stderr
    for runtime, program in (("podman", "podman"), ("auto", "docker")):
        pulled = gslab("pull", "cpu-jupyter", "--registry", "ghcr.io/school", "--runtime",
                       runtime, "--dry-run")
        assert pulled.returncode == 0, pulled.stderr
        assert f"{program} pull ghcr.io/school/gray-scott-lab:cpu-jupyter" in pulled.stdout
        assert (f"{program} tag ghcr.io/school/gray-scott-lab:cpu-jupyter "
                "gray-scott-lab:cpu-jupyter") in pulled.stdout
    # with no engine (the unit suite sees none), auto says so and shows Docker's commands
    assert "auto: none usable here (docker: docker is not installed; podman: podman is not " \
        "installed); showing docker's command" in " ".join(pulled.stderr.split())


def test_auto_dry_run_says_which_runtime_and_why(tmp_path: Path) -> None:
    """A machine with no engine (as the unit suite sees this one): auto would take local."""
    result = gslab("run", "jupyter", "--workdir", str(tmp_path), "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "-m jupyterlab" in result.stdout
    note = " ".join(result.stderr.split())
    assert note.startswith("auto: local (docker: docker is not installed; podman: podman is "
                           "not installed; apptainer: apptainer is not installed; singularity: "
                           "singularity is not installed)"), note


@pytest.mark.parametrize("runtime, gpu_option", [
    ("docker", "--gpus all"), ("podman", "--device nvidia.com/gpu=all"), ("apptainer", "--nv"),
    ("singularity", "--nv")])
def test_gpu_dry_run_without_a_gpu_shows_the_gpu_command(runtime: str, gpu_option: str,
                                                         tmp_path: Path) -> None:
    """A teacher preparing the GPU day on a laptop: the command the GPU machine will run,
    and a note that this one cannot (a real run refuses)."""
    result = gslab("run", "jupyter", "--target", "gpu", "--runtime", runtime, "--workdir",
                   str(tmp_path), "--dry-run")
    assert result.returncode == 0, result.stderr
    assert gpu_option in result.stdout and "gpu-jupyter" in result.stdout
    assert "no NVIDIA GPU found" in result.stderr and "a real run refuses" in result.stderr
    on_cpu = gslab("run", "jupyter", "--target", "gpu", "--runtime", runtime, "--workdir",
                   str(tmp_path), "--allow-cpu", "--dry-run")
    assert on_cpu.returncode == 0 and gpu_option not in on_cpu.stdout
    one_line_error(gslab("run", "jupyter", "--target", "gpu", "--runtime", runtime,
                         "--workdir", str(tmp_path)), "target gpu")


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
    ("apptainer", "APPTAINERENV_JUPYTER_TOKEN"), ("singularity", "SINGULARITYENV_JUPYTER_TOKEN"),
    ("local", "JUPYTER_TOKEN")])
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


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_local_runtime_serves_jupyterlab_with_its_token(stop: signal.Signals,
                                                        tmp_path: Path) -> None:
    """The no-engine fallback for real: JupyterLab from this environment answers with the
    printed token (403 without); Ctrl-C or SIGTERM stops it and its server within seconds,
    with standard input closed as in CI (Jupyter's own Ctrl-C prompt must not swallow it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "COLUMNS": "200"}
    # Ctrl-C as a terminal's job gets it: a test run started in the background (`make test &`,
    # nohup) would otherwise hand SIGINT down ignored, and gslab would never see it
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    proc = subprocess.Popen([sys.executable, "-m", "grayscott.launcher", "run", "jupyter",
                             "--runtime", "local", "--port", str(port), "--workdir", str(tmp_path)],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env)
    signal.signal(signal.SIGINT, previous)
    try:
        output = _read_until(proc, "The lab is ready", timeout=120)
        match = re.search(r"http://127\.0\.0\.1:(\d+)/lab\?token=(\w+)", output)
        assert match and int(match.group(1)) == port, output
        api = f"http://127.0.0.1:{port}/api/contents"
        with urllib.request.urlopen(f"{api}?token={match.group(2)}", timeout=10) as response:
            assert response.status == 200
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(api, timeout=10)
        assert refused.value.code == 403
    except BaseException:  # report this failure, not a timeout while cleaning up
        proc.kill()
        proc.wait()
        raise
    proc.send_signal(stop)
    try:
        rest, _ = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        try:  # a server left behind would hold the pipe open: never wait on it for ever
            rest, _ = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            rest = "(its server still holds the output open)"
        pytest.fail(f"gslab did not stop within 20 s of {stop.name}:\n{output}{rest}")
    assert "stopping" in rest, rest
    with socket.socket() as s, pytest.raises(ConnectionRefusedError):  # the server is gone
        s.connect(("127.0.0.1", port))


def _read_until(proc: subprocess.Popen[str], marker: str, timeout: float) -> str:
    """What ``proc`` printed up to the line holding ``marker`` (fails on exit or timeout)."""
    assert proc.stdout is not None
    deadline, output = time.monotonic() + timeout, ""
    while marker not in output:
        line = proc.stdout.readline()
        assert line or proc.poll() is None, f"exited {proc.returncode}:\n{output}"
        assert time.monotonic() < deadline, f"no {marker!r} in {timeout} s:\n{output}"
        output += line
    return output


def test_a_batch_run_stopped_by_sigterm_keeps_its_frames(tmp_path: Path) -> None:
    """SIGTERM to gslab (a scheduler's stop) reaches grayscott as Ctrl-C: the HDF5 file is
    closed, readable, with the frames done."""
    import h5py

    out = tmp_path / "run.h5"
    proc = subprocess.Popen([sys.executable, "-m", "grayscott.launcher", "run", "light",
                             "--runtime", "local", "--workdir", str(tmp_path), "--", "run",
                             "-b", "numpy", "-r", "200", "-c", "300", "-n", "100000", "-s", "5",
                             # stopped after a few frames: its 22 GiB estimate must not stop it
                             # on a machine with less disk free (the size check has its tests)
                             "--force-size", "-o", str(out)],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "COLUMNS": "200"})
    try:
        deadline = time.monotonic() + 120
        # frames are on disk: blocks really written (chunks are allocated ahead, sparse)
        while not (out.exists() and out.stat().st_blocks * 512 > 2 * 200 * 300 * 4):
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.2)
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    proc.send_signal(signal.SIGTERM)
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130, output
    with h5py.File(out) as f:
        assert f.attrs["completed"] == False  # noqa: E712 - a NumPy bool
        assert 1 <= f["matrix"].shape[0] < 100000, output


@pytest.mark.parametrize("owner, user", [(None, "own"), (12345, "12345:100")])
def test_the_container_runs_as_the_work_directorys_owner(owner: int | None, user: str,
                                                         tmp_path: Path) -> None:
    """The student can save in /work whoever starts the lab: the caller's UID, or for root
    the folder's owner (root itself on a root-owned checkout, with no capabilities, and
    Jupyter told that root is intended)."""
    if owner is not None:
        if os.geteuid() != 0:
            pytest.skip("chown needs root")
        os.chown(tmp_path, owner, 100)
    if user == "own":
        user = "0:0" if os.geteuid() == 0 else f"{os.getuid()}:100"
    result = gslab("run", "jupyter", "--runtime", "docker", "--workdir", str(tmp_path),
                   "--dry-run")
    assert result.returncode == 0, result.stderr
    words = result.stdout.split()
    assert words[words.index("--user") + 1] == user
    assert words[words.index("--cap-drop") + 1] == "ALL"
    assert words[words.index("--security-opt") + 1] == "no-new-privileges"
    assert ("--ServerApp.allow_root=True" in words) == user.startswith("0:")


def test_a_work_directory_nobody_can_save_in_is_refused_first(tmp_path: Path) -> None:
    """Before any engine starts: one line that names the folder and the fix."""
    tmp_path.chmod(0o555)
    try:
        one_line_error(gslab("run", "jupyter", "--workdir", str(tmp_path)), "not writable",
                       str(tmp_path), "--workdir")
    finally:
        tmp_path.chmod(0o755)


def test_an_ordinary_caller_cannot_serve_from_a_folder_of_roots() -> None:
    """As a real ordinary UID (a forked child that dropped root): the check is the OS's."""
    if os.geteuid() != 0:
        pytest.skip("dropping to another UID needs root")
    from grayscott.errors import UsageError
    from grayscott.launcher.commands.run import container_user

    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports through the pipe
        message = "no error"
        try:
            os.setgid(65534)
            os.setuid(65534)
            container_user(Path("/"), must_write=True)
        except UsageError as exc:
            message = str(exc)
        finally:
            os.write(write, message.encode())
            os._exit(0)
    os.close(write)
    _, status = os.waitpid(child, 0)
    message = os.read(read, 4096).decode()
    os.close(read)
    assert status == 0 and "work directory / is not writable by you (uid 65534)" in message


def test_a_new_runtime_is_one_class_and_one_registry_line(monkeypatch: pytest.MonkeyPatch,
                                                          tmp_path: Path) -> None:
    """The launcher asks runtimes, never tests which one it holds: a runtime it has never
    seen, registered here, is listed by doctor, runs a batch job, prints its dry run, and
    says plainly what it cannot do."""
    from typer.testing import CliRunner

    from grayscott.launcher import registry
    from grayscott.launcher.cli import app
    from grayscott.launcher.runtime import ContainerSpec, Runtime

    record = tmp_path / "argv"
    engine = tmp_path / "fake-engine"
    engine.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {record}\n')
    engine.chmod(0o755)

    class FakeRuntime(Runtime):
        name = "fake"
        program = str(engine)

        def command(self, spec: ContainerSpec) -> list[str]:
            return [self.program, "--as", spec.user or "-", spec.image, *spec.args]

    monkeypatch.setitem(registry.RUNTIMES, "fake", FakeRuntime)
    runner = CliRunner()
    doctor = runner.invoke(app, ["doctor"])
    assert "runtime fake" in doctor.output
    ran = runner.invoke(app, ["run", "light", "--runtime", "fake", "--workdir", str(tmp_path),
                              "--", "run", "-n", "2"])
    assert ran.exit_code == 0, ran.output
    assert record.read_text().split() == ["--as", f"{os.getuid()}:100" if os.geteuid() else
                                          "0:0", "gray-scott-lab:cpu-light", "run", "-n", "2"]
    dry = runner.invoke(app, ["run", "jupyter", "--runtime", "fake", "--port", "9999",
                              "--workdir", str(tmp_path), "--dry-run"])
    assert dry.exit_code == 0 and f"{engine} --as" in dry.output and "cpu-jupyter" in dry.output
    pulled = runner.invoke(app, ["pull", "cpu-light", "--runtime", "fake", "--registry", "r"])
    assert pulled.exit_code != 0 and "fake cannot pull images" in str(pulled.exception)
