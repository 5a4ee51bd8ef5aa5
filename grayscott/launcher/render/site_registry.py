"""The site registry's engine commands and its clients' settings, as text (issue #27).

``gslab registry`` and ``gslab push`` run what these functions return, and print it under
``--dry-run``; keeping them pure lets the unit suite check every command line without an
engine. The server is images/registry (Debian's Distribution behind nginx, which holds TLS
and the accounts); its state lives in two named volumes, ``NAME-config`` (certificate, CA,
accounts) and ``NAME-data`` (the images), so ``down`` and ``up`` keep both.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path

from grayscott.launcher.runtime import LABEL

#: The image ``gslab registry up`` builds from images/registry when the engine lacks it
IMAGE = "gray-scott-lab-registry:latest"
#: Where nginx listens in the container (TLS); the host port is ``SiteRegistry.port``
CONTAINER_PORT = 5443
#: The media types Apptainer's ``oras://`` pulls look for (what ``apptainer push`` writes)
SIF_LAYER_TYPE = "application/vnd.sylabs.sif.layer.v1.sif"
SIF_CONFIG_TYPE = "application/vnd.sylabs.sif.config.v1+json"
#: Images go to PROJECT/gray-scott-lab:TAG, their .sif files to PROJECT/gray-scott-lab-sif:NAME
SIF_SUFFIX = "-sif"


@dataclass
class SiteRegistry:
    """One registry server: its container, volumes, image and where clients reach it."""

    engine: str = "docker"
    name: str = "gslab-registry"
    image: str = IMAGE
    port: int = 5443
    address: str = "0.0.0.0"
    #: DNS names and addresses the certificate is made for; the first is what clients use
    hosts: list[str] = field(default_factory=lambda: ["localhost"])

    @property
    def config_volume(self) -> str:
        return f"{self.name}-config"

    @property
    def data_volume(self) -> str:
        return f"{self.name}-data"

    @property
    def endpoint(self) -> str:
        """``HOST:PORT`` as clients write it (IPv6 addresses in brackets)."""
        host = self.hosts[0]
        if ":" in host:
            host = f"[{host}]"
        return f"{host}:{self.port}"

    def tool(self, *args: str, stdin: bool = False, site: dict[str, Path] | None = None,
             config_read_only: bool = False) -> list[str]:
        """A one-off ``gslab-registry ARGS`` in the image, on the configuration volume
        (``site``: the site's certificate files, mounted read-only under /site)."""
        mounts = ["--volume", f"{self.config_volume}:/conf{':ro' if config_read_only else ''}"]
        for target, source in (site or {}).items():
            mounts += ["--volume", f"{source.resolve()}:/site/{target}:ro"]
        return [self.engine, "run", "--rm", *(["--interactive"] if stdin else []),
                "--network", "none", *mounts, self.image, *args]

    def build(self, context: Path) -> list[str]:
        return [self.engine, "build", "--quiet", "--tag", self.image, str(context)]

    def init(self, site: dict[str, Path] | None = None) -> list[str]:
        return self.tool("init", *self.hosts, site=site)

    def user(self, account: str, role: str) -> list[str]:
        """Adds or changes an account; the password goes to the command's stdin."""
        return self.tool("user", account, role, stdin=True)

    def ca(self) -> list[str]:
        return self.tool("ca", config_read_only=True)

    def run(self) -> list[str]:
        """The server: no capabilities, no privilege to gain, restarted with the engine."""
        return [self.engine, "run", "--detach", "--name", self.name,
                "--label", f"{LABEL}.registry=1", "--restart", "unless-stopped",
                "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
                "--volume", f"{self.config_volume}:/conf:ro",
                "--volume", f"{self.data_volume}:/var/lib/docker-registry",
                "--publish", f"{self.address}:{self.port}:{CONTAINER_PORT}", self.image]

    def reload(self) -> list[str]:
        return [self.engine, "exec", self.name, "gslab-registry", "reload"]

    def remove(self, volumes: bool = False) -> list[list[str]]:
        commands = [[self.engine, "rm", "--force", self.name]]
        if volumes:
            commands.append([self.engine, "volume", "rm", "--force", self.config_volume,
                             self.data_volume])
        return commands

    def oras_push(self, ref: str, sif: Path, account: str, ca_file: Path | None,
                  local_oras: bool) -> list[str]:
        """``oras push`` of one .sif as Apptainer's artifact (password on stdin). Without an
        ``oras`` on this machine it runs from the registry image (Debian's oras), on the
        host's network so that HOST:PORT means the same as here."""
        config = "/dev/null:" + SIF_CONFIG_TYPE
        layer = f"{sif.name}:{SIF_LAYER_TYPE}"
        options = ["--config", config, "--username", account, "--password-stdin",
                   *(["--ca-file", str(ca_file.resolve()) if local_oras else "/ca.crt"]
                     if ca_file else [])]
        if local_oras:
            return ["oras", "push", *options, ref, layer]
        mounts = ["--volume", f"{sif.resolve().parent}:/sif:ro", "--workdir", "/sif"]
        if ca_file:
            mounts += ["--volume", f"{ca_file.resolve()}:/ca.crt:ro"]
        return [self.engine, "run", "--rm", "--interactive", "--network", "host", *mounts,
                "--entrypoint", "oras", self.image, "push", *options, ref, layer]


def is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def sif_ref(registry: str, variant_name: str, image_repository: str) -> str:
    """Where a variant's .sif goes: beside its image, in ``REPOSITORY-sif:VARIANT``."""
    return f"{registry.rstrip('/')}/{image_repository}{SIF_SUFFIX}:{variant_name}"


CLIENT_CONFIG = """\
# Clients of the registry at {endpoint} (a CA made by gslab registry up, or the site's).
# The CA certificate: {ca}   (copy it to each client machine)

## Docker (the daemon reads it at each pull; no restart)
sudo mkdir -p /etc/docker/certs.d/{endpoint}
sudo cp {ca} /etc/docker/certs.d/{endpoint}/ca.crt
docker login {endpoint}                  # asks the password; or --password-stdin
docker pull {endpoint}/PROJECT/gray-scott-lab:cpu-light

## Podman (root: /etc/containers/certs.d; rootless users: ~/.config/containers/certs.d)
sudo mkdir -p /etc/containers/certs.d/{endpoint}
sudo cp {ca} /etc/containers/certs.d/{endpoint}/ca.crt
podman login {endpoint}
podman pull {endpoint}/PROJECT/gray-scott-lab:cpu-light
# (registries.conf is not needed for TLS; never set insecure = true for this registry)

## Apptainer (trusts the system's CA bundle; it has no per-registry CA setting)
sudo cp {ca} /usr/local/share/ca-certificates/{ca_name}.crt && sudo update-ca-certificates
#   (RHEL-like: /etc/pki/ca-trust/source/anchors/ + update-ca-trust; one user only:
#    export SSL_CERT_FILE=a bundle holding the system's CAs and this one)
apptainer registry login --username USER docker://{endpoint}
apptainer registry login --username USER oras://{endpoint}
apptainer pull docker://{endpoint}/PROJECT/gray-scott-lab:cpu-light
apptainer pull oras://{endpoint}/PROJECT/gray-scott-lab-sif:cpu-light
#   --no-https is for plain-HTTP registries only: this one speaks TLS, keep verification on

## oras
oras pull --ca-file {ca} --username USER {endpoint}/PROJECT/gray-scott-lab-sif:cpu-light

## gslab
gslab pull cpu-light --registry {endpoint}/PROJECT
gslab sif cpu-light --from registry --registry {endpoint}/PROJECT
"""


def client_config(endpoint: str, ca: Path) -> str:
    """Every runtime's client-side settings for the registry at ``endpoint``, as commands."""
    return CLIENT_CONFIG.format(endpoint=endpoint, ca=ca,
                                ca_name=f"gslab-registry-{endpoint.replace(':', '-')}")


def apply_paths(endpoint: str, root: Path = Path("/")) -> list[Path]:
    """Where ``client-config --apply`` puts the CA on this machine: Docker's and Podman's
    per-registry folders and the system bundle's source folder (update-ca-certificates)."""
    name = f"gslab-registry-{endpoint.replace(':', '-')}.crt"
    return [root / "etc/docker/certs.d" / endpoint / "ca.crt",
            root / "etc/containers/certs.d" / endpoint / "ca.crt",
            root / "usr/local/share/ca-certificates" / name]
