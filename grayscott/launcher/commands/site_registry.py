"""``gslab registry up | down | status | user | client-config``: the site's own registry.

A site with no internet (or a cluster behind one) serves the lab's images and .sif files to
Docker, Podman and Apptainer from one server of its own (issue #27). The commands and the
client settings are built in ``launcher.render.site_registry``; this module checks what can
go wrong first (no engine, the port taken, no account), runs them, and says what to do next.
Passwords come from a file, ``$GSLAB_REGISTRY_PASSWORD`` or stdin, never the command line.
"""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from grayscott.errors import GrayScottError, UsageError
from grayscott.launcher import registry
from grayscott.launcher.app import app, console, err, run_output, show
from grayscott.launcher.commands.images import STORES, DryRunOption, StoreOption
from grayscott.launcher.render import site_registry as render
from grayscott.launcher.render.site_registry import SiteRegistry

group = typer.Typer(help="The site's own registry (TLS, accounts) for Docker, Podman, "
                         "Apptainer: up, down, status, user, client-config.",
                    no_args_is_help=True)
app.add_typer(group, name="registry")

#: Where the password comes from when no --password-file is given
PASSWORD_ENV = "GSLAB_REGISTRY_PASSWORD"
#: The image's build context, in a checkout of this project
CONTEXT = Path(__file__).resolve().parents[3] / "images" / "registry"

NameOption = Annotated[str, typer.Option("--name", help="Container name; its volumes are "
                                         "NAME-config and NAME-data.")]
ImageOption = Annotated[str, typer.Option("--image", help="The registry server's image.")]
PasswordOption = Annotated[Path | None, typer.Option(
    "--password-file", help=f"First line: the password (else ${PASSWORD_ENV}, else stdin).")]


def read_password(path: Path | None, who: str) -> str:
    """The password from ``path``, ``$GSLAB_REGISTRY_PASSWORD``, or stdin (a prompt on a
    terminal): never from the command line, where ``ps`` shows it to every user."""
    if path is not None:
        try:
            lines = path.read_text().splitlines()
        except OSError as error:
            raise UsageError(f"--password-file {path}: {error.strerror}") from None
        password = lines[0] if lines else ""
    elif os.environ.get(PASSWORD_ENV):
        password = os.environ[PASSWORD_ENV]
    elif sys.stdin.isatty():
        password = getpass.getpass(f"password for {who}: ")
    else:
        password = sys.stdin.readline().rstrip("\n")
    if not password:
        raise UsageError(f"no password for {who}: give --password-file, ${PASSWORD_ENV} or stdin")
    return password


def engine_program(runtime_name: str, dry_run: bool) -> str:
    engine = registry.pick(runtime_name, must_work=not dry_run, order=STORES,
                           say=lambda m: err.print(m, markup=False, highlight=False))
    return engine.program


def default_hosts() -> list[str]:
    """This machine's names and addresses, for the certificate: its host name first (what
    other machines use), then its address on the outgoing interface, then loopback."""
    hosts = [socket.gethostname(), socket.getfqdn()]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 1))  # no packet is sent: it only picks a route
            hosts.append(probe.getsockname()[0])
        except OSError:
            pass
    return list(dict.fromkeys([*hosts, "localhost", "127.0.0.1"]))


def port_taken(address: str, port: int) -> bool:
    with socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((address, port))
        except OSError:
            return True
    return False


def container_state(site: SiteRegistry) -> str | None:
    """running / exited / ... , or None when there is no such container."""
    result = subprocess.run([site.engine, "inspect", "--format", "{{.State.Status}}", site.name],
                            capture_output=True, text=True, check=False)
    return result.stdout.strip() if result.returncode == 0 else None


def _wait_serving(site: SiteRegistry, timeout: float = 30.0) -> None:
    """Until the TLS port answers a handshake, or the container stopped (its last log line)."""
    host = "127.0.0.1" if site.address in ("0.0.0.0", "::") else site.address
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # only "is it up": clients verify, see client-config
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if container_state(site) not in ("running", "created"):
            logs = subprocess.run([site.engine, "logs", "--tail", "3", site.name],
                                  capture_output=True, text=True, check=False)
            last = (logs.stderr + logs.stdout).strip().splitlines() or ["(no log)"]
            raise GrayScottError(f"the registry stopped: {last[-1]}")
        try:
            with socket.create_connection((host, site.port), timeout=2) as raw, \
                    context.wrap_socket(raw, server_hostname=site.hosts[0]):
                return
        except OSError:
            time.sleep(0.5)
    raise GrayScottError(f"the registry did not answer on port {site.port} within {timeout:.0f} s")


def _accounts(site: SiteRegistry) -> list[str]:
    return run_output(site.tool("accounts", config_read_only=True), "listing accounts").split("\n")


@group.command("up")
def up(
    name: NameOption = "gslab-registry",
    port: Annotated[int, typer.Option(help="Host port (TLS).")] = 5443,
    address: Annotated[str, typer.Option(help="Host address to publish on.")] = "0.0.0.0",
    hosts: Annotated[list[str] | None, typer.Option(
        "--host", help="Name or address clients use (repeatable; the first is printed); "
                       "default: this machine's names and addresses.")] = None,
    cert: Annotated[Path | None, typer.Option(help="The site's certificate (PEM) instead of "
                                              "a generated CA; with --key.")] = None,
    key: Annotated[Path | None, typer.Option(help="The site certificate's private key.")] = None,
    ca: Annotated[Path | None, typer.Option(help="The CA of --cert, for client-config.")] = None,
    pusher: Annotated[str | None, typer.Option(help="A first account (may push), when the "
                                               "registry has none yet.")] = None,
    password_file: PasswordOption = None,
    image: ImageOption = render.IMAGE,
    runtime_name: StoreOption = "auto",
    dry_run: DryRunOption = False,
) -> None:
    """Start the registry (building its image, a certificate and a first account if needed)."""
    if (cert is None) != (key is None):
        raise UsageError("--cert and --key go together (the site's certificate and its key)")
    for given in (cert, key, ca):
        if given is not None and not given.is_file():
            raise UsageError(f"{given} does not exist")
    if not 1 <= port <= 65535:
        raise UsageError(f"--port {port}: not a port number")
    site = SiteRegistry(engine_program(runtime_name, dry_run), name, image, port, address,
                        hosts or default_hosts())
    files = {"server.crt": cert, "server.key": key, "ca.crt": ca}
    mounted = {k: v for k, v in files.items() if v is not None} or None
    if dry_run:
        show(site.build(CONTEXT))
        show(site.init(mounted))
        if pusher:
            show(site.user(pusher, "push"))
        show(site.run())
        return
    state = container_state(site)
    if state == "running":
        console.print(f"{name} is already up: https://{site.endpoint}")
        return
    if state is not None:  # stopped: a fresh container on the same volumes
        run_output(site.remove()[0], f"removing the stopped {name}")
    if port_taken(address, port):
        raise UsageError(f"port {port} on {address} is in use: choose another with --port")
    if subprocess.run([site.engine, "image", "inspect", image], capture_output=True,
                      check=False).returncode != 0:
        if not (CONTEXT / "Dockerfile").is_file():
            raise UsageError(f"no image {image} and no images/registry to build it from: "
                             "run gslab from a checkout of the project, or load the image")
        err.print(f"building {image} ...")
        run_output(site.build(CONTEXT), f"building {image}")
    console.print(run_output(site.init(mounted), "making the certificate").strip(), markup=False)
    if pusher:
        _set_account(site, pusher, "push", read_password(password_file, pusher))
    elif not any(line.strip() for line in _accounts(site)):
        raise UsageError("the registry has no account yet: gslab registry up --pusher NAME "
                         "(password from --password-file, $" + PASSWORD_ENV + " or stdin)")
    run_output(site.run(), f"starting {name}")
    _wait_serving(site)
    console.print(f"{name}: https://{site.endpoint} (certificate for {', '.join(site.hosts)})\n"
                  f"next: gslab registry client-config --name {name}")


def _set_account(site: SiteRegistry, account: str, role: str, password: str) -> None:
    console.print(run_output(site.user(account, role), f"setting account {account}",
                       stdin=password + "\n").strip(), markup=False)


@group.command("user")
def user(
    account: Annotated[str, typer.Argument(metavar="NAME", help="The account.")],
    role: Annotated[str, typer.Option(help="push (may also pull) or pull.")] = "pull",
    password_file: PasswordOption = None,
    name: NameOption = "gslab-registry",
    image: ImageOption = render.IMAGE,
    runtime_name: StoreOption = "auto",
    dry_run: DryRunOption = False,
) -> None:
    """Add an account, or change its password or role (a running registry takes it at once)."""
    if role not in ("push", "pull"):
        raise UsageError(f"--role {role}: push or pull")
    site = SiteRegistry(engine_program(runtime_name, dry_run), name, image)
    if dry_run:
        show(site.user(account, role))
        show(site.reload())
        return
    _set_account(site, account, role, read_password(password_file, account))
    if container_state(site) == "running":
        run_output(site.reload(), f"reloading {name}")


@group.command("down")
def down(
    name: NameOption = "gslab-registry",
    volumes: Annotated[bool, typer.Option(help="Also delete its volumes: every image, the "
                                          "certificate and the accounts.")] = False,
    runtime_name: StoreOption = "auto",
    dry_run: DryRunOption = False,
) -> None:
    """Stop and remove the registry's container (its volumes stay unless --volumes)."""
    site = SiteRegistry(engine_program(runtime_name, dry_run), name)
    for command in site.remove(volumes):
        if dry_run:
            show(command)
        else:
            run_output(command, f"removing {name}")
    if not dry_run:
        console.print(f"{name}: removed" + (" with its volumes" if volumes else
                                            f" (volumes {site.config_volume}, "
                                            f"{site.data_volume} kept)"))


@group.command("status")
def status(
    name: NameOption = "gslab-registry",
    image: ImageOption = render.IMAGE,
    runtime_name: StoreOption = "auto",
) -> None:
    """Whether the registry runs, where, and its accounts."""
    site = SiteRegistry(engine_program(runtime_name, False), name, image)
    state = container_state(site)
    if state is None:
        raise UsageError(f"no registry {name}: gslab registry up --name {name}")
    ports = run_output([site.engine, "port", name], "reading its ports").strip() or "-"
    console.print(f"{name}: {state}; published {ports}", markup=False)
    for line in filter(None, _accounts(site)):
        console.print(f"  account {line}", markup=False)


@group.command("client-config")
def client_config(
    endpoint: Annotated[str | None, typer.Option(
        "--endpoint", help="HOST:PORT clients use (default: the running registry's first "
                           "certificate name and its port).")] = None,
    ca_out: Annotated[Path, typer.Option(help="Where to write the CA certificate.")] = Path(
        "gslab-registry-ca.crt"),
    apply: Annotated[bool, typer.Option(help="Install the CA for Docker, Podman and the "
                                        "system bundle (Apptainer) on this machine (root).")
                     ] = False,
    name: NameOption = "gslab-registry",
    image: ImageOption = render.IMAGE,
    runtime_name: StoreOption = "auto",
) -> None:
    """Print each runtime's client settings (and write the CA they need)."""
    site = SiteRegistry(engine_program(runtime_name, False), name, image)
    if endpoint is None:
        if container_state(site) is None:
            raise UsageError(f"no registry {name} here: pass --endpoint HOST:PORT")
        host = run_output(site.tool("names", config_read_only=True), "reading the certificate"
                    ).split()[0]
        published = run_output([site.engine, "port", name], "reading its ports").split(":")[-1]
        endpoint = f"{host}:{published.strip()}"
    ca_out.write_text(run_output(site.ca(), "reading the CA certificate"))
    console.print(render.client_config(endpoint, ca_out.resolve()), markup=False,
                  highlight=False, soft_wrap=True)
    if apply:
        if os.geteuid() != 0:
            raise UsageError("--apply writes under /etc: run it as root")
        for target in render.apply_paths(endpoint):
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(ca_out, target)
            console.print(f"# wrote {target}", markup=False)
        if shutil.which("update-ca-certificates"):
            run_output(["update-ca-certificates"], "update-ca-certificates")
