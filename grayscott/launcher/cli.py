"""``gslab``: start the lab's images with whatever runtime this machine has.

Attendees never type an engine command: ``gslab run jupyter`` picks Docker, then Podman,
then Apptainer, then the local environment; prints a URL to click (with its token or
password), waits until it answers, and stops the container on Ctrl-C. ``--dry-run`` prints
the exact engine command instead of running it.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from grayscott import hardware, variants
from grayscott.errors import GrayScottError, UsageError
from grayscott.launcher.apptainer import ApptainerRuntime
from grayscott.launcher.docker import DockerRuntime
from grayscott.launcher.local import LocalRuntime
from grayscott.launcher.podman import PodmanRuntime
from grayscott.launcher.runtime import LABEL, ContainerSpec, Mount, Runtime

app = typer.Typer(name="gslab", no_args_is_help=True, add_completion=False,
                  pretty_exceptions_enable=False,
                  context_settings={"help_option_names": ["-h", "--help"]},
                  help="Gray-Scott Lab launcher: run the lab images on Docker, Podman, "
                       "Apptainer or locally, without typing an engine command.")
# Wide tables when not on a terminal (CI logs, pipes), unless COLUMNS says otherwise.
_WIDTH = None if sys.stdout.isatty() or "COLUMNS" in os.environ else 160
console = Console(width=_WIDTH)
err = Console(stderr=True, width=_WIDTH)

#: ``--runtime auto`` takes the first usable one
AUTO_ORDER = ("docker", "podman", "apptainer", "local")
RUNTIMES: dict[str, type[Runtime]] = {"docker": DockerRuntime, "podman": PodmanRuntime,
                                      "apptainer": ApptainerRuntime, "local": LocalRuntime}
FLAVOURS = ("jupyter", "code-server", "light")
#: CUDA 13 wheels need at least this driver
MIN_DRIVER_CUDA = 13


def pick_runtime(name: str, *, must_work: bool = True,
                 order: tuple[str, ...] = AUTO_ORDER) -> Runtime:
    """The runtime called ``name`` if usable, or for ``auto`` the first usable one of ``order``.

    ``must_work=False`` (dry runs) never refuses: a named runtime is taken as asked, and
    ``auto`` says on stderr which one a real run would take and why, or, when none is usable
    here, shows the first one's command. A dry run must work on a machine with no engine (a
    teacher preparing a class on a laptop)."""
    if name == "auto":
        skipped: list[str] = []
        for candidate in order:
            runtime = RUNTIMES[candidate]()
            reason = runtime.available()
            if reason is None:
                if not must_work:
                    why = f" ({'; '.join(skipped)})" if skipped else ""
                    err.print(f"auto: {candidate}{escape(why)}", highlight=False)
                return runtime
            skipped.append(f"{candidate}: {reason}")
        if must_work:
            raise UsageError(f"no usable runtime among {', '.join(order)}: "
                             + "; ".join(skipped))
        err.print(f"auto: none usable here ({escape('; '.join(skipped))}); showing "
                  f"{order[0]}'s command", highlight=False)
        return RUNTIMES[order[0]]()
    if name not in RUNTIMES:
        raise UsageError(f"unknown runtime {name!r}; choose auto, {', '.join(RUNTIMES)}")
    runtime = RUNTIMES[name]()
    reason = runtime.available() if must_work else None
    if reason:
        raise UsageError(f"runtime {name} is not usable: {reason}")
    return runtime


def port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def check_gpu(target: str, allow_cpu: bool, dry_run: bool = False) -> bool:
    """Whether to ask the runtime for GPUs; a gpu target without a usable GPU is an error.

    A dry run shows the GPU command anyway (a teacher preparing the GPU day on a laptop
    needs it), with a note that this machine could not run it."""
    if target != "gpu":
        return False
    reason = hardware.gpu_reason(min_cuda_major=MIN_DRIVER_CUDA)
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
LAUNCHER_ENV = ("JUPYTER_TOKEN", "JUPYTER_PORT", "PASSWORD", "CODE_SERVER_PORT")


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


def wait_http(url: str, timeout: float, is_running: object = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5):  # our own localhost URL
                return
        except urllib.error.HTTPError as exc:
            if exc.code < 500:
                return
        except OSError:
            pass
        if callable(is_running) and not is_running():
            raise GrayScottError("the server stopped before answering; see its output above")
        time.sleep(0.5)
    raise GrayScottError(f"{url} did not answer in {timeout:.0f} s")


@app.command()
def run(
    flavour: Annotated[str, typer.Argument(help="jupyter, code-server or light.")],
    args: Annotated[list[str] | None, typer.Argument(
        help="For light: the grayscott command line (after --).")] = None,
    target: Annotated[str, typer.Option(help="cpu or gpu image.")] = "cpu",
    runtime_name: Annotated[str, typer.Option("--runtime", "-r", help=(
        "auto (" + " > ".join(AUTO_ORDER) + "), docker, podman, apptainer or local."))] = "auto",
    workdir: Annotated[Path, typer.Option(help="Directory mounted as /work.")] = Path("."),
    port: Annotated[int | None, typer.Option(help="Port on this machine (default: the "
                                             "image's, 8888 or 8080).")] = None,
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
    if flavour != "light":
        port = port or variant.port or 8888
        if not dry_run and not port_free(port):
            raise UsageError(f"port {port} is in use on this machine; choose another with --port")
    gpu = check_gpu(target, allow_cpu, dry_run)
    runtime = pick_runtime(runtime_name, must_work=not dry_run)
    if isinstance(runtime, LocalRuntime):
        reason = None if dry_run else runtime.flavour_reason(flavour)
        if reason:
            raise UsageError(reason)
    elif isinstance(runtime, ApptainerRuntime):
        if not runtime.sif_path(variant.name).is_file() and not dry_run:
            raise UsageError(f"{runtime.sif_path(variant.name)} is missing: make sif-{variant.name}")
    elif not dry_run and isinstance(runtime, DockerRuntime) \
            and runtime.image_size(variant.image) is None:
        raise UsageError(f"image {variant.image} is not in {runtime.name}: make build-{variant.name}"
                         + (" (then make podman-load)" if runtime.name == "podman" else ""))

    spec = ContainerSpec(runtime.image_for(variant.name), list(args or []), gpu=gpu,
                         mounts=[Mount(workdir, "/work")], workdir="/work", detach=detach,
                         name=f"gslab-{variant.name}-{secrets.token_hex(3)}")
    spec.env.update(extra_env)
    if isinstance(runtime, LocalRuntime):
        spec.workdir = str(workdir)
    spec.user = container_user(workdir, must_write=flavour != "light" and not dry_run)
    if flavour == "jupyter" and runtime.runs_as_spec_user and spec.user.startswith("0:"):
        spec.args.append("--ServerApp.allow_root=True")
    url = None
    if port is not None:
        secret = secrets.token_hex(24)
        container_port = port if runtime.shares_host_network else (variant.port or 8888)
        spec.ports = {port: container_port}
        if flavour == "jupyter":
            spec.secret_env["JUPYTER_TOKEN"] = secret
            spec.env["JUPYTER_PORT"] = str(container_port)
            url = f"http://127.0.0.1:{port}/lab?token={secret}"
            health = f"http://127.0.0.1:{port}/api"
        else:
            spec.secret_env["PASSWORD"] = secret
            spec.env["CODE_SERVER_PORT"] = str(container_port)
            url = f"http://127.0.0.1:{port}/  (password: {secret})"
            health = f"http://127.0.0.1:{port}/healthz"
    command = runtime.command(spec)
    if isinstance(runtime, LocalRuntime) and spec.env:
        command = ["env", *(f"{k}={v}" for k, v in spec.env.items()), *command]
    if dry_run:  # the secrets as the engine gets them: in its environment, not its arguments
        assignments = [f"{k}={v}" for k, v in runtime.secret_environment(spec).items()]
        console.print(" ".join(_quote(c) for c in [*assignments, *command]), markup=False,
                      highlight=False, soft_wrap=True)
        return
    err.print(f"[bold]{variant.name}[/] on {runtime.name}", highlight=False)
    if flavour == "light":
        sys.exit(_batch(command, runtime, spec))
    _serve(command, runtime, spec, url or "", health, detach, timeout)


def _quote(word: str) -> str:
    import shlex

    return shlex.quote(word)


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


def _serve(command: list[str], runtime: Runtime, spec: ContainerSpec, url: str, health: str,
           detach: bool, timeout: float) -> None:
    background = detach and isinstance(runtime, DockerRuntime)
    if background:
        started = subprocess.run(command, capture_output=True, text=True, check=False,
                                 env=runtime.process_env(spec))
        if started.returncode != 0:
            raise GrayScottError(f"{runtime.name} could not start it: {started.stderr.strip()}")
        wait_http(health, timeout)
        console.print(f"\nThe lab is ready: [bold]{escape(url)}[/]\n", highlight=False,
                      soft_wrap=True)
        console.print(f"running as {spec.name}: gslab logs {spec.name}, "
                      f"gslab stop {spec.name}", highlight=False)
        return
    with _sigterm_as_ctrl_c():
        process = _start(command, runtime, spec)
        try:
            wait_http(health, timeout, lambda: process.poll() is None)
            console.print(f"\nThe lab is ready: [bold]{escape(url)}[/]\n", highlight=False,
                          soft_wrap=True)
            console.print("Ctrl-C stops it.")
            process.wait()
        except KeyboardInterrupt:
            err.print("stopping ...")
        finally:
            if process.poll() is None:
                signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C: no traceback
                if isinstance(runtime, DockerRuntime) and spec.name:
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
        pairs = [(v, r) for r in (RUNTIMES[n]() for n in ("docker", "podman", "apptainer"))
                 if r.available() is None for v in variants.variants()
                 if not v.internal and _has_image(r, v)]
        if not pairs:
            raise UsageError("no built image on any usable runtime: make build-cpu-light")
    else:
        variant = variants.get(variant_name or "cpu-light")
        runtime = pick_runtime(runtime_name)
        if not _has_image(runtime, variant):
            raise UsageError(f"{variant.name} is not available to {runtime.name}")
        pairs = [(variant, runtime)]
    gpu_here = hardware.gpu_reason(MIN_DRIVER_CUDA) is None
    table = Table("image", "runtime", "backend", "device", "status", "time s", "detail")
    failed = False
    for variant, runtime in pairs:
        spec = ContainerSpec(runtime.image_for(variant.name), ["grayscott", "smoke", "--json"],
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


def _has_image(runtime: Runtime, variant: variants.Variant) -> bool:
    if isinstance(runtime, ApptainerRuntime):
        return runtime.sif_path(variant.name).is_file()
    if isinstance(runtime, DockerRuntime):
        return runtime.image_size(variant.image) is not None
    return True


def _show(command: list[str]) -> None:
    console.print(" ".join(_quote(c) for c in command), markup=False, highlight=False,
                  soft_wrap=True)


def _run_checked(command: list[str], what: str) -> None:
    if subprocess.run(command, check=False).returncode != 0:
        raise GrayScottError(f"{what} failed: {' '.join(command[:3])} ...")


@app.command()
def build(
    names: Annotated[list[str] | None, typer.Argument(
        metavar="[VARIANT]...", help="e.g. cpu-jupyter (default: every variant).")] = None,
    pip_cert: Annotated[Path | None, typer.Option(help="CA bundle of a TLS-intercepting proxy "
                                                  "(a build secret, never stored).")] = None,
    dry_run: Annotated[bool, typer.Option(help="Print the commands, run nothing.")] = False,
) -> None:
    """Build image variants with docker buildx bake (parents first), then label them."""
    chosen = [variants.get(n).name for n in names] if names else \
        [v.name for v in variants.variants() if not v.internal]
    cert = pip_cert or next((p for p in (Path("/etc/ssl/certs/ca-certificates.crt"),)
                             if p.is_file()), None)
    if cert is not None and not cert.is_file():
        raise UsageError(f"--pip-cert {cert} does not exist")
    bake_file = Path(os.environ.get("TMPDIR", "/tmp")) / f"gslab-bake-{os.getpid()}.json"
    bake = ["docker", "buildx", "bake", "-f", str(bake_file), "--load", *chosen]
    label = [sys.executable, "-m", "grayscott.variants", "label", *chosen]
    if dry_run:
        console.print(f"# {bake_file}: python -m grayscott.variants bake {cert or ''}")
        _show(bake)
        _show(label)
        return
    if DockerRuntime().available():
        raise UsageError(f"building needs Docker with buildx: {DockerRuntime().available()}")
    bake_file.write_text(json.dumps(variants.bake_definition(str(cert) if cert else None)))
    try:
        _run_checked(bake, "the build")
        _run_checked(label, "labelling")
    finally:
        bake_file.unlink(missing_ok=True)


def _registry_ref(variant: variants.Variant, registry: str | None) -> str:
    """``REGISTRY/gray-scott-lab:NAME``; the registry from --registry or GSLAB_REGISTRY."""
    registry = registry or os.environ.get("GSLAB_REGISTRY")
    if not registry:
        raise UsageError("no registry: pass --registry (e.g. ghcr.io/my-school) or set "
                         "GSLAB_REGISTRY")
    return f"{registry.rstrip('/')}/{variant.image}"


@app.command()
def pull(
    names: Annotated[list[str], typer.Argument(metavar="VARIANT...", help="e.g. cpu-jupyter.")],
    registry: Annotated[str | None, typer.Option(help="Where the school publishes the images "
                                                 "(default: $GSLAB_REGISTRY).")] = None,
    runtime_name: Annotated[str, typer.Option("--runtime", "-r", help="docker or podman.")
                            ] = "auto",
    dry_run: Annotated[bool, typer.Option(help="Print the commands, run nothing.")] = False,
) -> None:
    """Pull published images and tag them with the local names gslab runs."""
    chosen = [variants.get(n) for n in names]
    refs = [_registry_ref(v, registry) for v in chosen]
    engine = pick_runtime(runtime_name, must_work=not dry_run, order=("docker", "podman"))
    if not isinstance(engine, DockerRuntime):
        raise UsageError("pull needs Docker or Podman; for Apptainer use gslab sif --registry")
    for variant, ref in zip(chosen, refs, strict=True):
        commands = [[engine.program, "pull", ref], [engine.program, "tag", ref, variant.image]]
        for command in commands:
            if dry_run:
                _show(command)
            else:
                _run_checked(command, f"{engine.name} {command[1]}")
        if not dry_run:
            console.print(f"{engine.name}: {variant.image} (from {ref})")


@app.command()
def sif(
    names: Annotated[list[str], typer.Argument(metavar="VARIANT...", help="e.g. cpu-light.")],
    source: Annotated[str, typer.Option("--from", help=(
        "auto (the first engine holding the image), docker, podman, or registry."))] = "auto",
    registry: Annotated[str | None, typer.Option(help="With --from registry: where the images "
                                                 "are published (default: $GSLAB_REGISTRY).")
                        ] = None,
    output_dir: Annotated[Path | None, typer.Option("--output-dir", "-o", help=(
        "Folder for the .sif files (default: $GSLAB_SIF_DIR or build/sif, where gslab run "
        "--runtime apptainer looks)."))] = None,
    dry_run: Annotated[bool, typer.Option(help="Print the commands, run nothing.")] = False,
) -> None:
    """Apptainer images (.sif) from the local engine's images or from a registry."""
    if source not in ("auto", "docker", "podman", "registry"):
        raise UsageError(f"--from {source!r}: choose auto, docker, podman or registry")
    chosen = [variants.get(n) for n in names]
    apptainer = ApptainerRuntime()
    if not dry_run and (reason := apptainer.available()):
        raise UsageError(f"building a .sif needs Apptainer: {reason}")
    if output_dir is not None:
        os.environ["GSLAB_SIF_DIR"] = str(output_dir)
    for variant in chosen:
        out = apptainer.sif_path(variant.name)
        if source == "registry":
            steps = [[apptainer.program, "build", "--force", str(out),
                      f"docker://{_registry_ref(variant, registry)}"]]
        else:
            engine = _engine_holding(variant, source, dry_run)
            tar = out.with_name(f".{variant.name}.tar")
            steps = [[engine.program, "save", "-o", str(tar), variant.image],
                     [apptainer.program, "build", "--force", str(out), f"docker-archive://{tar}"]]
        if dry_run:
            for command in steps:
                _show(command)
            continue
        out.parent.mkdir(parents=True, exist_ok=True)
        err.print(f"building {out.name} ...")
        try:
            for command in steps:
                _run_checked(command, f"{command[0]} {command[1]}")
        finally:
            if source != "registry":
                tar.unlink(missing_ok=True)
        console.print(f"wrote {out} ({out.stat().st_size / 1e9:.2f} GB): "
                      f"gslab run {variant.flavour} --runtime apptainer --target {variant.target}")


def _engine_holding(variant: variants.Variant, source: str, dry_run: bool) -> DockerRuntime:
    """The Docker or Podman engine to export ``variant`` from (checked unless dry run)."""
    candidates = [DockerRuntime(), PodmanRuntime()] if source == "auto" else \
        [RUNTIMES[source]()]
    for engine in candidates:
        if isinstance(engine, DockerRuntime) and engine.available() is None \
                and engine.image_size(variant.image) is not None:
            return engine
    if dry_run:
        first = candidates[0]
        assert isinstance(first, DockerRuntime)
        err.print(f"note: no usable engine here holds {variant.image}; showing "
                  f"{first.name}'s command", highlight=False)
        return first
    where = "Docker or Podman" if source == "auto" else source
    raise UsageError(f"{variant.image} is not in {where}: gslab build {variant.name}, or "
                     "gslab sif --from registry")


BUNDLE_README = """# Gray-Scott Lab images for offline use

Made by `gslab bundle` on {date}. Copy this folder to the machine that has no network, then:

    gslab load .                       # Docker or Podman: loads every .tar here
    docker load -i cpu-jupyter.tar     # or by hand, one image
    podman load -i cpu-jupyter.tar
    apptainer run gray-scott-lab_cpu-light.sif smoke   # the .sif files need no loading

Then `gslab run jupyter` (or `docker run -p 8888:8888 gray-scott-lab:cpu-jupyter`).

| image | file | size |
|---|---|---:|
{rows}
"""


@app.command()
def bundle(
    names: Annotated[list[str], typer.Argument(metavar="VARIANT...", help="e.g. cpu-jupyter.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder to write.")] = Path(
        "gslab-bundle"),
    dry_run: Annotated[bool, typer.Option(help="Print the commands, run nothing.")] = False,
) -> None:
    """Save images as .tar (and .sif when built) with a README, for a site without network."""
    chosen = [variants.get(n) for n in names]
    engine = next(iter(_engines()), None)
    if engine is None and not dry_run:
        raise UsageError("bundling needs Docker or Podman holding the images")
    program = engine.program if engine else "docker"
    rows = []
    if not dry_run:
        output.mkdir(parents=True, exist_ok=True)
    for v in chosen:
        if engine is not None and engine.image_size(v.image) is None and not dry_run:
            raise UsageError(f"{v.image} is not in {engine.name}: gslab build {v.name}")
        tar = output / f"{v.name}.tar"
        command = [program, "save", "-o", str(tar), v.image]
        if dry_run:
            _show(command)
            continue
        err.print(f"saving {v.image} ...")
        _run_checked(command, f"saving {v.image}")
        rows.append(f"| {v.image} | {tar.name} | {tar.stat().st_size / 1e9:.2f} GB |")
        sif = ApptainerRuntime.sif_path(v.name)
        if sif.is_file():
            shutil.copy2(sif, output / sif.name)
            rows.append(f"| {v.image} (Apptainer) | {sif.name} | {sif.stat().st_size / 1e9:.2f} GB |")
    if not dry_run:
        from datetime import date

        (output / "README.md").write_text(BUNDLE_README.format(date=date.today(),
                                                               rows="\n".join(rows)))
        console.print(f"wrote {output}/ ({len(rows)} files + README.md)")


@app.command()
def load(
    folder: Annotated[Path, typer.Argument(help="A folder written by gslab bundle.")],
    runtime_name: Annotated[str, typer.Option("--runtime", "-r", help="docker or podman "
                                              "(default: every usable one).")] = "auto",
) -> None:
    """Load a bundle's images into Docker and/or Podman."""
    tars = sorted(folder.glob("*.tar"))
    if not tars:
        raise UsageError(f"{folder} holds no .tar images (made by gslab bundle?)")
    engines = _engines() if runtime_name == "auto" else [pick_runtime(runtime_name)]
    if not engines or not all(isinstance(e, DockerRuntime) for e in engines):
        raise UsageError("loading needs Docker or Podman")
    for engine in engines:
        for tar in tars:
            _run_checked([engine.program, "load", "-q", "-i", str(tar)], f"{engine.name} load")
            console.print(f"{engine.name}: loaded {tar.name}")


k8s = typer.Typer(help="The lab on Kubernetes: a single-user Pod + Service + PVC, or a Job.",
                  no_args_is_help=True)
app.add_typer(k8s, name="k8s")


def _manifests(variant_name: str, name: str | None, args: list[str] | None) -> str:
    from grayscott.launcher import kubernetes

    return kubernetes.to_yaml(kubernetes.render(variants.get(variant_name), name, args=args))


@k8s.command("render")
def k8s_render(
    variant_name: Annotated[str, typer.Argument(metavar="VARIANT", help="e.g. gpu-jupyter.")],
    args: Annotated[list[str] | None, typer.Argument(help="For light: the grayscott command "
                                                      "line of the Job (after --).")] = None,
    name: Annotated[str | None, typer.Option(help="Name of the objects.")] = None,
) -> None:
    """Print the manifests as YAML (kubectl apply -f - takes them)."""
    sys.stdout.write(_manifests(variant_name, name, args))


@k8s.command("apply")
def k8s_apply(
    variant_name: Annotated[str, typer.Argument(metavar="VARIANT")],
    args: Annotated[list[str] | None, typer.Argument()] = None,
    name: Annotated[str | None, typer.Option()] = None,
    dry_run: Annotated[bool, typer.Option(help="Print the kubectl command and the YAML.")] = False,
) -> None:
    """Create the lab (or Job) on the current kubectl context."""
    text = _manifests(variant_name, name, args)
    if dry_run:
        console.print("kubectl apply -f -", markup=False)
        sys.stdout.write(text)
        return
    if shutil.which("kubectl") is None:
        raise UsageError("kubectl is not installed; gslab k8s render prints the manifests")
    if subprocess.run(["kubectl", "apply", "-f", "-"], input=text, text=True,
                      check=False).returncode != 0:
        raise GrayScottError("kubectl apply failed")


@k8s.command("delete")
def k8s_delete(
    name: Annotated[str, typer.Argument(help="The name given to apply (gslab-VARIANT).")],
    dry_run: Annotated[bool, typer.Option()] = False,
) -> None:
    """Delete everything gslab created under that name (its work volume too)."""
    command = ["kubectl", "delete", "pod,service,job,secret,pvc", "-l",
               f"app.kubernetes.io/instance={name}"]
    if dry_run:
        _show(command)
        return
    if shutil.which("kubectl") is None:
        raise UsageError("kubectl is not installed")
    _run_checked(command, "kubectl delete")


def _engines() -> list[DockerRuntime]:
    return [r for r in (DockerRuntime(), PodmanRuntime()) if r.available() is None]


@app.command()
def ps() -> None:
    """The containers gslab started (Docker and Podman)."""
    table = Table("runtime", "name", "image", "status", "ports")
    for engine in _engines():
        out = subprocess.run([engine.program, "ps", "--filter", f"label={LABEL}=1", "--format",
                              "{{.Names}}\t{{.Image}}\t{{.Status}}\t{{.Ports}}"],
                             capture_output=True, text=True, check=False).stdout
        for line in out.splitlines():
            table.add_row(engine.name, *line.split("\t"))
    console.print(table)


def _owner(name: str) -> DockerRuntime:
    for engine in _engines():
        out = subprocess.run([engine.program, "ps", "-a", "--filter", f"label={LABEL}=1",
                              "--format", "{{.Names}}"], capture_output=True, text=True,
                             check=False).stdout.split()
        if name in out:
            return engine
    raise UsageError(f"no lab container named {name!r}; see gslab ps")


@app.command()
def logs(name: Annotated[str, typer.Argument(help="A name from gslab ps.")]) -> None:
    """What a lab container printed (the URL and its token are there)."""
    console.print(_owner(name).logs(name), markup=False, highlight=False)


@app.command()
def stop(name: Annotated[str, typer.Argument(help="A name from gslab ps.")]) -> None:
    """Stop and remove a lab container."""
    _owner(name).stop(name)
    console.print(f"stopped {name}")


@app.command()
def images() -> None:
    """The image variants, and which are available to each local runtime."""
    engines = _engines()
    table = Table("variant", "image", *(e.name for e in engines), "apptainer .sif", "what")
    for v in variants.variants():
        if v.internal:
            continue
        cells = []
        for engine in engines:
            size = engine.image_size(v.image)
            cells.append(f"{size / 1e9:.2f} GB" if size else "-")
        sif = ApptainerRuntime.sif_path(v.name)
        cells.append(f"{sif.stat().st_size / 1e9:.2f} GB" if sif.is_file() else "-")
        table.add_row(v.name, v.image, *cells, v.summary)
    console.print(table)


@app.command()
def doctor() -> None:
    """What this machine can run: runtimes, GPU and driver, free ports, disk space."""
    table = Table("check", "status", "detail / fix")
    for name, cls in RUNTIMES.items():
        reason = cls().available()
        table.add_row(f"runtime {name}", "[green]ok[/]" if reason is None else "[yellow]no[/]",
                      escape(reason or ""))
    driver = hardware.cuda_driver()
    if driver is None:
        table.add_row("NVIDIA GPU", "[yellow]none[/]", "cpu images only (--target cpu)")
    else:
        fit = "gpu" if driver.version // 1000 >= MIN_DRIVER_CUDA else "cpu"
        fix = "" if fit == "gpu" else "; update the driver to >= 580 for the gpu images"
        table.add_row("NVIDIA GPU", "[green]ok[/]", f"{', '.join(driver.gpus)}, CUDA "
                      f"{driver.cuda_version}: use --target {fit}{fix}")
    for port in (8888, 8080):
        free = port_free(port)
        table.add_row(f"port {port}", "[green]free[/]" if free else "[yellow]busy[/]",
                      "" if free else f"use --port for another one than {port}")
    free_gb = shutil.disk_usage(".").free / 1e9
    table.add_row("disk", "[green]ok[/]" if free_gb > 10 else "[yellow]low[/]",
                  f"{free_gb:.0f} GB free here (an image takes 1 to 9 GB)")
    console.print(table)


def main() -> None:
    """Entry point: errors are one line and exit code 2, never a traceback."""
    try:
        app()
    except GrayScottError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
