"""``gslab run`` and ``gslab smoke``: start a lab image on a runtime, or prove its backends.

``run`` builds one engine-neutral ``ContainerSpec`` (image, work directory, user, ports,
token) and lets the runtime turn it into its command; it never asks which engine it holds.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from grayscott import capacity, hardware, variants
from grayscott.errors import GrayScottError, UsageError
from grayscott.launcher import registry
from grayscott.launcher.app import FLAVOURS, MIN_CUDA, app, console, err, port_free, show
from grayscott.launcher.readiness import Probe, wait_ready
from grayscott.launcher.runtime import ContainerSpec, Mount, Runtime


def check_gpu(target: str, allow_cpu: bool, dry_run: bool = False) -> bool:
    """Whether to ask the runtime for GPUs; a gpu target without a usable GPU is an error.

    A dry run shows the GPU command anyway (a teacher preparing the GPU day on a laptop
    needs it), with a note that this machine could not run it."""
    if target != "gpu":
        return False
    reason = hardware.gpu_reason(min_cuda_major=MIN_CUDA)
    if reason is None:
        return True
    if dry_run and not allow_cpu:
        err.print(f"note: {reason}: this machine cannot run it (a real run refuses; "
                  "--allow-cpu runs the gpu image on the CPU)", highlight=False)
        return True
    if allow_cpu:
        err.print(f"warning: {reason}; running the gpu image on the CPU (--allow-cpu)")
        return False
    raise UsageError(f"target gpu: {reason}; use --target cpu, or --allow-cpu")


def container_user(workdir: Path, *, must_write: bool) -> str:
    """``uid:gid`` to run the container as, so that the student can save in ``/work``.

    The caller's own UID (the images work with any UID; group 100 is theirs), or, when root
    calls (a cloud VM's login, CI), the work directory's owner: root itself for a root-owned
    checkout, which the image's own user could not write. Apptainer and rootless Podman run
    as the caller anyway. ``must_write``: a server whose student could save nothing is
    refused before it starts, with the fix."""
    if os.geteuid() != 0:
        if must_write and not os.access(workdir, os.W_OK | os.X_OK):
            raise UsageError(f"work directory {workdir} is not writable by you (uid "
                             f"{os.getuid()}): nothing could be saved there; choose one of yours "
                             "with --workdir")
        return f"{os.getuid()}:100"
    info = workdir.stat()
    if must_write and not info.st_mode & stat.S_IWUSR:
        raise UsageError(f"work directory {workdir} is not writable even by its owner: "
                         f"chmod u+w {workdir}, or choose another with --workdir")
    return f"{info.st_uid}:{100 if info.st_uid else 0}"


#: Set by ``gslab run`` itself: the URL it prints depends on them.
LAUNCHER_ENV = tuple(name for server in variants.servers().values()
                     for name in (server.secret_env, server.port_env))


#: each server flavour's default port, for the help of --port
SERVER_PORTS = ", ".join(f"{flavour} {server.port}"
                         for flavour, server in variants.servers().items())


def parse_env(pairs: list[str]) -> dict[str, str]:
    """``--env KEY=VALUE`` options as a dict: what a teacher passes to the notebooks (a
    smaller grid with ``GRAYSCOTT_LAB_SIZE``); the token and port stay the launcher's."""
    env: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.isidentifier():
            raise UsageError(f"--env {pair!r} is not KEY=VALUE")
        if key in LAUNCHER_ENV:
            raise UsageError(f"--env {key} is set by gslab itself (the URL it prints uses it)")
        env[key] = value
    return env


def _say(message: str) -> None:
    err.print(escape(message), highlight=False)


@app.command()
def run(
    flavour: Annotated[str, typer.Argument(help=", ".join(FLAVOURS) + ".")],
    args: Annotated[list[str] | None, typer.Argument(
        help="For light: the grayscott command line (after --).")] = None,
    target: Annotated[str, typer.Option(help="cpu or gpu image.")] = "cpu",
    runtime_name: Annotated[str, typer.Option("--runtime", "-r", help=(
        "auto (" + " > ".join(registry.AUTO_ORDER) + "), or one of them."))] = "auto",
    workdir: Annotated[Path, typer.Option(help="Directory mounted as /work.")] = Path("."),
    port: Annotated[int | None, typer.Option(help="Port on this machine (default: the "
                                             f"image's: {SERVER_PORTS}).")] = None,
    detach: Annotated[bool, typer.Option(help="Leave it running in the background.")] = False,
    allow_cpu: Annotated[bool, typer.Option(help="Run a gpu image without a GPU.")] = False,
    dry_run: Annotated[bool, typer.Option(help="Print the engine command, run nothing.")] = False,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the server.")] = 120,
    env: Annotated[list[str] | None, typer.Option("--env", "-e", help=(
        "KEY=VALUE for the container (repeatable), e.g. GRAYSCOTT_LAB_SIZE=small."))] = None,
) -> None:
    """Start a lab image: a URL to click for jupyter/code-server, a batch run for light."""
    if flavour not in FLAVOURS:
        raise UsageError(f"unknown flavour {flavour!r}; choose {', '.join(FLAVOURS)}")
    extra_env = parse_env(env or [])
    variant = variants.get(f"{target}-{flavour}")
    workdir = workdir.resolve()
    if not workdir.is_dir():
        raise UsageError(f"work directory {workdir} does not exist")
    server = variant.server
    if server is not None:
        port = port or server.port
        if not dry_run and not port_free(port):
            raise UsageError(f"port {port} is in use on this machine; choose another with --port")
    gpu = check_gpu(target, allow_cpu, dry_run)
    runtime = registry.pick(runtime_name, must_work=not dry_run, say=_say)
    if not dry_run:
        if reason := runtime.flavour_reason(flavour):
            raise UsageError(reason)
        if not runtime.has_image(variant):
            raise UsageError(runtime.image_hint(variant))

    spec = ContainerSpec(runtime.image_for(variant), list(args or []), gpu=gpu,
                         mounts=[Mount(workdir, "/work")], workdir="/work", detach=detach,
                         name=f"gslab-{variant.name}-{secrets.token_hex(3)}")
    spec.env.update(extra_env)
    spec.user = container_user(workdir, must_write=server is not None and not dry_run)
    if server is not None and runtime.runs_as_root(spec):
        spec.args += server.root_args
    url = ""
    probe = None
    if server is not None and port is not None:
        secret = secrets.token_hex(24)
        container_port = port if runtime.shares_host_network else server.port
        spec.ports = {port: container_port}
        spec.secret_env[server.secret_env] = secret
        spec.env[server.port_env] = str(container_port)
        url = server.url(port, secret)
        probe = Probe(server.ready, server.ready_headers(secret))
    command = runtime.command(spec)
    if dry_run:  # the secrets as the engine gets them: in its environment, not its arguments
        show(command, runtime.secret_environment(spec))
        return
    err.print(f"[bold]{variant.name}[/] on {runtime.name}", highlight=False)
    if server is not None and (warning := capacity.disk_warning(workdir)):
        _say(f"warning: {warning}")  # a lab on a nearly full disk starts, warned
    if server is None or probe is None or port is None:
        sys.exit(_batch(command, runtime, spec))
    _serve(command, runtime, spec, url, port, probe, timeout)


@contextmanager
def _sigterm_as_ctrl_c() -> Iterator[None]:
    """SIGTERM (a scheduler, systemd, ``kill``) stops gslab as Ctrl-C does: through its
    cleanup, so that no server or container outlives it."""
    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _start(command: list[str], runtime: Runtime, spec: ContainerSpec) -> subprocess.Popen[bytes]:
    """The engine (or local server) in its own session: Ctrl-C in the terminal reaches gslab
    only, and gslab stops the child its own way. (Jupyter given SIGINT asks "Shutdown this
    Jupyter server (y/[n])?" and carries on when nobody answers, as in CI.)"""
    return subprocess.Popen(command, env=runtime.process_env(spec), start_new_session=True)


def _wait_or_kill(process: subprocess.Popen[bytes], grace: float) -> int:
    try:
        return process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait()


def _batch(command: list[str], runtime: Runtime, spec: ContainerSpec) -> int:
    """A light run in the foreground; Ctrl-C or SIGTERM is handed on as SIGTERM (which the
    engines pass into the container, and which a background job cannot have ignored, unlike
    SIGINT), on which grayscott closes its HDF5 file with the frames done (exit 130)."""
    with _sigterm_as_ctrl_c():
        process = _start(command, runtime, spec)
        try:
            return process.wait()
        except KeyboardInterrupt:
            err.print("stopping: the output keeps the frames done ...")
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            process.terminate()
            return _wait_or_kill(process, 60)


def _ready(url: str) -> None:
    console.print(f"\nThe lab is ready: [bold]{escape(url)}[/]\n", highlight=False,
                  soft_wrap=True)


def _start_failure(runtime: Runtime, port: int, stderr: str) -> str:
    """One line for an engine that could not start the server (its own output is several,
    Podman's with systemd noise before the reason)."""
    if "address already in use" in stderr:
        return (f"port {port} is taken: {runtime.name} could not publish it (another program "
                "bound it after gslab's check); choose another with --port")
    lines = [line.strip() for line in stderr.splitlines()
             if line.strip() and not line.startswith(("Run '", "time="))]
    return f"{runtime.name} could not start it: {lines[-1] if lines else 'no reason given'}"


def _serve(command: list[str], runtime: Runtime, spec: ContainerSpec, url: str, port: int,
           probe: Probe, timeout: float) -> None:
    """Start the server, print its URL once it is up and ours (readiness.py: where it
    listens on the host port itself, a stranger on that port is refused before the token is
    sent anywhere), and stop it with gslab."""
    # where the server itself listens on the host port (no engine holds it), who listens
    # there is checked before anything is sent
    check_owner = runtime.shares_host_network
    # where the engine publishes the port, it is ours once the container runs (the engine
    # bound it then, or failed): nothing is sent to the port before
    def engine_holds_port() -> bool:
        return not runtime.stores_images or runtime.running(spec.name or "")

    if spec.detach and runtime.stores_images:  # the engine keeps it running
        started = subprocess.run(command, capture_output=True, text=True, check=False,
                                 env=runtime.process_env(spec))
        if started.returncode != 0:
            raise GrayScottError(_start_failure(runtime, port, started.stderr))
        try:
            wait_ready(port, probe, timeout, check_owner=check_owner,
                       is_running=lambda: runtime.running(spec.name or ""))
        except GrayScottError:
            runtime.stop(spec.name or "")  # no server left behind on a refused port
            raise
        _ready(url)
        console.print(f"running as {spec.name}: gslab logs {spec.name}, "
                      f"gslab stop {spec.name}", highlight=False)
        return
    with _sigterm_as_ctrl_c():
        process = _start(command, runtime, spec)
        try:
            wait_ready(port, probe, timeout, check_owner=check_owner,
                       is_running=lambda: process.poll() is None,
                       server_pids=runtime.server_processes(process),
                       engine_holds_port=engine_holds_port)
            _ready(url)
            console.print("Ctrl-C stops it.")
            process.wait()
        except KeyboardInterrupt:
            err.print("stopping ...")
        finally:
            if process.poll() is None:
                signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C: no traceback
                if runtime.stores_images and spec.name:
                    runtime.stop(spec.name)
                process.terminate()
                _wait_or_kill(process, 15)


@app.command()
def smoke(
    variant_name: Annotated[str | None, typer.Argument(
        metavar="[VARIANT]", help="e.g. cpu-light (default: cpu-light).")] = None,
    runtime_name: Annotated[str, typer.Option("--runtime", "-r")] = "auto",
    all_: Annotated[bool, typer.Option("--all", help="Every local image on every usable "
                                       "runtime.")] = False,
) -> None:
    """Prove an image's backends work where it runs: a table backend x status x time."""
    if all_:
        usable = [r for r in map(registry.create, registry.RUNTIMES)
                  if r.runs_images and r.available() is None]
        pairs = [(v, r) for r in usable for v in variants.variants()
                 if not v.internal and r.has_image(v)]
        if not pairs:
            raise UsageError("no built image on any usable runtime: make build-cpu-light")
    else:
        variant = variants.get(variant_name or "cpu-light")
        runtime = registry.pick(runtime_name)
        if not runtime.runs_images:
            raise UsageError(f"smoke tests an image, and {runtime.name} runs none: choose a "
                             "container runtime (grayscott smoke tests this environment)")
        if not runtime.has_image(variant):
            raise UsageError(runtime.image_hint(variant))
        pairs = [(variant, runtime)]
    gpu_here = hardware.gpu_reason(MIN_CUDA) is None
    table = Table("image", "runtime", "backend", "device", "status", "time s", "detail")
    failed = False
    for variant, runtime in pairs:
        spec = ContainerSpec(runtime.image_for(variant), ["grayscott", "smoke", "--json"],
                             exec_=True, read_only=True, tmpfs=["/tmp"],
                             gpu=gpu_here and variant.target == "gpu")
        result = runtime.run(spec, timeout=900)
        try:
            rows = json.loads(result.stdout)
        except json.JSONDecodeError:
            table.add_row(variant.name, runtime.name, "-", "-", "[red]error[/]", "",
                          escape(result.stderr.strip()[-200:]))
            failed = True
            continue
        for row in rows:
            required = row["backend"] in variant.require_backends
            gpu_only = required and not gpu_here and row["status"] == "unavailable" \
                and "GPU" in row["detail"]
            bad = row["status"] in ("wrong", "error") or (required and row["status"] != "ok"
                                                          and not gpu_only)
            failed |= bad
            colour = "green" if row["status"] == "ok" else ("red" if bad else "yellow")
            table.add_row(variant.name, runtime.name, row["backend"], row["device"],
                          f"[{colour}]{row['status']}[/]",
                          f"{row['seconds']:.2f}" if row["status"] == "ok" else "",
                          escape(row["detail"]))
    console.print(table)
    if failed:
        raise typer.Exit(1)
