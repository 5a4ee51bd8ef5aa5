"""The site registry on the real engines (issue #27): ``make test-registry``, as root.

One registry for the session, started by ``gslab registry up`` under unique names (container,
volumes, image tag, a free port), reached at this machine's non-loopback address, so that
Docker verifies its certificate (Docker skips verification for loopback registries). The CA
goes where ``gslab registry client-config`` says, for this endpoint only, and is removed at
the end with the registry, its volumes and every pulled copy. Apptainer runs in a container
of its own from the helper image (scripts/apptainer), on the host's network, with the CA in
its system bundle, as an ordinary user.

``GSLAB_REGISTRY_IMAGES`` (default cpu-light,cpu-jupyter) names the images pushed, each with
its .sif from ``$GSLAB_SIF_DIR`` (default build/sif: ``make sif-cpu-light sif-cpu-jupyter``,
under the Apptainer shim as .ci/run does). ``GSLAB_REGISTRY_SIF_FROM`` (default cpu-light)
names the images that ``gslab sif --from registry`` converts through Apptainer's docker://
(the slow path: cpu-jupyter's is measured, not run in CI: benchmarks/registry-*.json).
``GSLAB_REGISTRY_BENCH=FILE`` writes the push and pull times and sizes there.
"""

from __future__ import annotations

import json
import os
import platform
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

from grayscott.launcher.apptainer import ApptainerRuntime
from grayscott.launcher.commands.site_registry import default_hosts
from grayscott.launcher.render import site_registry as render
from grayscott.launcher.render.site_registry import is_address
from tests.argv_scan import argv_holding
from tests.utils import REPO, free_port, run

GSLAB = [str(Path(sys.executable).with_name("gslab"))]
APPTAINER_IMAGE = "gslab-apptainer"
PROJECT = "lab"


def _listed(setting: str, default: str) -> list[str]:
    return [n.strip() for n in os.environ.get(setting, default).split(",") if n.strip()]


def images() -> list[str]:
    return _listed("GSLAB_REGISTRY_IMAGES", "cpu-light,cpu-jupyter")


def sifs_from_registry() -> list[str]:
    return _listed("GSLAB_REGISTRY_SIF_FROM", "cpu-light")


#: Where the .sif files pushed are (read only: the tests write theirs elsewhere)
SIF_DIR = Path(os.environ.get("GSLAB_SIF_DIR") or REPO / "build" / "sif")


@dataclass
class Site:
    """The running registry and what the tests need to reach it."""

    name: str
    image: str
    #: the lab images' repository in this session (GRAYSCOTT_VARIANTS): tags of our own on the
    #: source images, so that a rebuild of gray-scott-lab:* by another run changes nothing here
    repository: str
    endpoint: str
    ca: Path
    passwords: dict[str, Path]
    env: dict[str, str]
    #: what the push and pull tests measured (seconds, bytes), for GSLAB_REGISTRY_BENCH
    bench: dict[str, object] = field(default_factory=dict)

    @property
    def where(self) -> str:
        return f"{self.endpoint}/{PROJECT}"

    def gslab(self, *args: str, check: bool = True, input_text: str | None = None,
              env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return run(*GSLAB, *args, env={**self.env, **(env_extra or {})}, check=check,
                   input_text=input_text)

    def engine(self, program: str, *args: str, check: bool = True,
               input_text: str | None = None) -> subprocess.CompletedProcess[str]:
        return run(program, *args, env=self.env, check=check, input_text=input_text)

    def ref(self, variant: str) -> str:
        return f"{self.where}/{self.repository}:{variant}"

    def password(self, account: str) -> str:
        return self.passwords[account].read_text().strip()


def _endpoint_host() -> str:
    for host in default_hosts():
        if is_address(host) and not host.startswith("127."):
            return host
    pytest.skip("this machine has no non-loopback address to serve the registry on")


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    if os.geteuid() != 0:
        pytest.skip("the registry tests install its CA under /etc: run them as root")
    if shutil.which("docker") is None:
        pytest.fail("docker is not installed: bash scripts/setup-engines.sh")
    tmp = tmp_path_factory.mktemp("registry")
    tmp.chmod(0o755)
    suffix = f"{os.getpid()}"
    name, image = f"gslab-regtest-{suffix}", f"gslab-regtest-registry:{suffix}"
    endpoint = f"{_endpoint_host()}:{free_port()}"
    passwords = {}
    for account in ("alice", "bob"):  # alice pushes, bob only pulls
        passwords[account] = tmp / f"{account}.password"
        passwords[account].write_text(secrets.token_urlsafe(18) + "\n")
        passwords[account].chmod(0o600)
    repository = f"gslab-regtest-{suffix}"
    table = tmp / "variants.toml"
    table.write_text((REPO / "grayscott" / "data" / "variants.toml").read_text().replace(
        'repository = "gray-scott-lab"', f'repository = "{repository}"'))
    env = {"DOCKER_CONFIG": str(tmp / "docker"), "REGISTRY_AUTH_FILE": str(tmp / "auth.json"),
           "GSLAB_SIF_DIR": str(SIF_DIR), "GRAYSCOTT_VARIANTS": str(table)}
    the = Site(name, image, repository, endpoint, tmp / "ca.crt", passwords, env)
    common = ["--name", name, "--image", image, "--runtime", "docker"]
    host, port = endpoint.rsplit(":", 1)
    installed = render.apply_paths(endpoint)
    try:
        started = time.monotonic()
        the.gslab("registry", "up", *common, "--port", port, "--host", host,
                  "--host", "localhost", "--pusher", "alice",
                  "--password-file", str(passwords["alice"]))
        the.bench["registry_up_s"] = round(time.monotonic() - started, 1)
        the.gslab("registry", "user", "bob", "--role", "pull", "--password-file",
                  str(passwords["bob"]), *common)
        # Docker's and Podman's certs.d for this endpoint, and the system bundle (for the
        # host's own tools): what a site's administrator runs on each client machine
        the.gslab("registry", "client-config", *common, "--endpoint", endpoint,
                  "--ca-out", str(the.ca), "--apply")
        yield the
    finally:
        bench_file = os.environ.get("GSLAB_REGISTRY_BENCH")
        if bench_file and the.bench:
            _write_bench(Path(bench_file), the.bench, image)
        run(*GSLAB, "registry", "down", "--volumes", "--name", name, "--runtime", "docker",
            check=False)
        run("docker", "rmi", image, check=False)
        ours = run("docker", "image", "ls", "--format", "{{.Repository}}:{{.Tag}}", repository,
                   check=False).stdout.split()
        if ours:
            run("docker", "rmi", *ours, check=False)  # our tags only: the images stay
        for target in installed[:2]:  # the folders of this endpoint (Docker, Podman)
            shutil.rmtree(target.parent, ignore_errors=True)
        if installed[2].exists():  # the system bundle without it again: a certificate taken
            installed[2].unlink()  # out of /usr/local/share leaves its links without --fresh
            run("update-ca-certificates", "--fresh", check=False)


@dataclass
class Pushed:
    """What gslab push sent: {reference: manifest digest}, and each source image's ID and
    labels as they were when pushed (another build may retag the source meanwhile)."""

    digests: dict[str, str]
    ids: dict[str, str]
    labels: dict[str, dict[str, str]]
    #: processes whose command line held a password while gslab pushed (must stay empty)
    argv_hits: list[str] = field(default_factory=list)


@pytest.fixture(scope="session")
def pushed(site: Site) -> Pushed:
    """Every image of GSLAB_REGISTRY_IMAGES and its .sif, pushed by gslab push as alice."""
    os.environ["GSLAB_SIF_DIR"] = str(SIF_DIR)
    for variant in images():
        if not (sif := ApptainerRuntime.sif_path(variant)).is_file():
            pytest.fail(f"{sif} is missing: make sif-{variant} (PATH=scripts/apptainer:$PATH)")
    the = Pushed({}, {}, {})
    for variant in images():
        source = json.loads(run("docker", "image", "inspect", f"gray-scott-lab:{variant}").stdout)
        the.ids[variant], the.labels[variant] = source[0]["Id"], source[0]["Config"]["Labels"]
        for tag in source[0]["RepoTags"]:  # cpu-light and its dated, versioned tag
            if tag.startswith(f"gray-scott-lab:{variant}"):
                run("docker", "tag", the.ids[variant], f"{site.repository}:{tag.split(':')[1]}")
        started = time.monotonic()
        # every process's command line scanned for the password while the push runs
        with subprocess.Popen([*GSLAB, "push", variant, "--registry", site.where, "--username",
                               "alice", "--password-file", str(site.passwords["alice"]),
                               "--ca-file", str(site.ca), "--runtime", "docker",
                               "--registry-image", site.image, "--sif"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env={**os.environ, **site.env}) as push:
            while push.poll() is None:
                the.argv_hits += argv_holding(site.password("alice"))
                time.sleep(0.1)
            out, errors = push.communicate()
        assert push.returncode == 0, out + errors
        site.bench[f"push_{variant}_s"] = round(time.monotonic() - started, 1)
        for line in out.splitlines():
            words = line.split()
            if len(words) == 3 and words[0] in ("docker:", "oras:"):
                the.digests[words[1]] = words[2]
    site.bench["registry_volume_bytes"] = _volume_bytes(site)
    return the


def _volume_bytes(site: Site) -> int:
    du = run("docker", "run", "--rm", "--network", "none", "-v",
             f"{site.name}-data:/data:ro", "--entrypoint", "du", site.image, "-sb", "/data")
    return int(du.stdout.split()[0])


@dataclass
class Box:
    """Apptainer in a container of its own (helper image), on the host's network."""

    name: str
    workdir: Path

    def apptainer(self, *args: str, input_text: str | None = None,
                  check: bool = True) -> subprocess.CompletedProcess[str]:
        return run("docker", "exec", "-i", "-u", "12345:100", "-e", "HOME=/home/student",
                   "-w", str(self.workdir), self.name, "apptainer", *args,
                   input_text=input_text, check=check)


@pytest.fixture(scope="session")
def box(site: Site) -> Iterator[Box]:
    if run("docker", "image", "inspect", APPTAINER_IMAGE, check=False).returncode != 0:
        run("docker", "build", "-q", "-t", APPTAINER_IMAGE, REPO / "scripts" / "apptainer")
    # not under pytest's own folder: that is root's alone (0700), and the user pulls as student
    workdir = Path(tempfile.mkdtemp(prefix="gslab-regtest-", dir="/tmp"))
    workdir.chmod(0o777)
    name = f"gslab-regtest-apptainer-{os.getpid()}"
    flags = run("bash", REPO / "scripts" / "apptainer" / "container-flags.sh").stdout.split()
    run("docker", "run", "-d", "--name", name, "--network", "host", *flags,
        "-v", "/tmp:/tmp", "-v", f"{site.ca}:/usr/local/share/ca-certificates/gslab-test.crt:ro",
        APPTAINER_IMAGE)
    try:
        run("docker", "exec", name, "chmod", "666", "/dev/fuse")
        # what client-config tells a site to do for Apptainer: the CA in the system bundle
        run("docker", "exec", name, "update-ca-certificates")
        yield Box(name, workdir)
    finally:
        run("docker", "rm", "-f", name, check=False)
        shutil.rmtree(workdir, ignore_errors=True)


def _write_bench(path: Path, bench: dict[str, object], image: str) -> None:
    def version(*command: str) -> str:
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        return (result.stdout or result.stderr).strip().splitlines()[0] if result.stdout or \
            result.stderr else "?"

    record = {
        "what": "gslab push / pull through the site registry (issue #27): TLS + accounts, "
                "one run of make test-registry",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "note": "2-core VM, loopback to the host's own address; one run"},
        "versions": {"docker": version("docker", "version", "--format", "{{.Server.Version}}"),
                     "podman": version("podman", "--version"),
                     "distribution": version("docker", "run", "--rm", "--entrypoint",
                                             "docker-registry", image, "--version"),
                     "oras": version("docker", "run", "--rm", "--entrypoint", "oras",
                                     image, "version"),
                     "apptainer": version("docker", "run", "--rm", APPTAINER_IMAGE,
                                          "apptainer", "--version")},
        "results": bench,
    }
    path.write_text(json.dumps(record, indent=2) + "\n")
