"""One interface for every way of running a lab image (Docker, Podman, Apptainer, ...).

A ``ContainerSpec`` says what to run, independent of the engine; each runtime module turns it
into the exact engine command line (what ``--dry-run`` prints) and runs it. Everything that
differs between engines is a method or attribute of ``Runtime`` (is the image there, how to
get it, which flavours it serves, detached servers, ps/logs/stop, pull/save/load, GPU
options), so the command line never asks which engine it holds: a new runtime is one module
plus one line in ``grayscott.launcher.registry``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from grayscott.errors import GrayScottError, UsageError

if TYPE_CHECKING:
    from grayscott.variants import Variant

#: Label on everything gslab starts, so that ps/logs/stop find only ours.
LABEL = "org.grayscott.lab"

#: The host-side log of every container gslab starts is bounded: a student who writes to her
#: server's stdout (``/proc/1/fd/1`` from a terminal) would otherwise grow a file on the
#: host's disk without limit, past her own /work cap. One log file holds at most
#: ``LOG_FILE_MB``; engines that rotate keep ``LOG_FILES`` of them (docker.py, podman.py).
LOG_FILE_MB = 10
LOG_FILES = 3


@dataclass
class Mount:
    source: Path
    target: str
    read_only: bool = False


@dataclass
class ContainerSpec:
    """What to run, in engine-neutral terms."""

    image: str
    args: list[str] = field(default_factory=list)
    #: True: run ``args`` as the command instead of the image's entrypoint (``exec``).
    exec_: bool = False
    user: str | None = None  # "uid:gid"
    read_only: bool = False
    tmpfs: list[str] = field(default_factory=list)
    mounts: list[Mount] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    #: Like ``env``, but never on the command line (``ps`` shows command lines to every user
    #: of a shared machine): the engine reads them from its own environment.
    secret_env: dict[str, str] = field(default_factory=dict)
    ports: dict[int, int] = field(default_factory=dict)  # host -> container
    workdir: str | None = None
    name: str | None = None
    gpu: bool = False
    detach: bool = False
    remove: bool = True


class EngineMissing(GrayScottError):
    """The engine's program is not installed or not usable."""


class Runtime(ABC):
    """A container engine. ``command`` builds the command line; ``run`` executes it."""

    name: str
    program: str
    #: True where the container runs as ``ContainerSpec.user`` (Docker, Podman); Apptainer and
    #: the local runtime always run as the caller.
    runs_as_spec_user: bool = False
    #: False for the local runtime: it runs this Python environment, not an image.
    runs_images: bool = True
    #: True for engines with an image store and a daemon-like life of their containers
    #: (Docker, Podman): detached servers, ps/logs/stop, pull/tag/save/load.
    stores_images: bool = False

    def has_image(self, variant: Variant) -> bool:
        """Whether this runtime can run ``variant`` now (its image is built or loaded)."""
        return True

    def image_hint(self, variant: Variant) -> str:
        """One line: the variant's image is missing here, and how to get it."""
        return f"{variant.name} is not available to {self.name}"

    def runs_as_root(self, spec: ContainerSpec) -> bool:
        """Whether the server of ``spec`` runs as root, and so gets its flavour's ``root_args``
        (Jupyter refuses root unless told): where the container runs as the spec's user,
        when that user is root (a root caller's root-owned work directory)."""
        return self.runs_as_spec_user and (spec.user or "").startswith("0:")

    def flavour_reason(self, flavour: str) -> str | None:
        """None when this runtime can serve ``flavour`` here, else what to install."""
        return None

    def image_size(self, image: str) -> int | None:
        """Bytes of an image in this runtime's store, None if it is not there (or no store)."""
        return None

    def containers(self, all_: bool = False) -> list[list[str]]:
        """gslab's containers: [name, image, status, ports] each (running only, or all)."""
        return []

    def logs(self, name: str) -> str:
        raise UsageError(f"{self.name} keeps no containers: nothing to show")

    def running(self, name: str) -> bool:
        """Whether gslab's detached container ``name`` still runs (engines that keep them)."""
        return False

    def server_processes(self, process: subprocess.Popen[bytes]) -> Callable[[], set[int]] | None:
        """The processes of the server ``process`` (what gslab started) runs, where they are
        this machine's and gslab's to see, so that a listener on the lab's port can be told
        to be the lab's; None where they are the engine's (the port's UID is then checked)."""
        return None

    def stop(self, name: str) -> None:
        raise UsageError(f"{self.name} keeps no containers: nothing to stop")

    def pull_commands(self, ref: str, image: str) -> list[list[str]]:
        """Commands that fetch ``ref`` from a registry and name it ``image`` locally."""
        raise UsageError(f"{self.name} cannot pull images: use docker or podman (for Apptainer: "
                         "gslab sif --from registry)")

    def save_command(self, image: str, tar: Path) -> list[str]:
        raise UsageError(f"{self.name} has no images to save: use docker or podman")

    def load_command(self, tar: Path) -> list[str]:
        raise UsageError(f"{self.name} cannot load image archives: use docker or podman")

    @property
    def shares_host_network(self) -> bool:
        """True where the container uses the host's network: no port mapping, so a server
        must listen on the host port itself."""
        return False

    def available(self) -> str | None:
        """None when usable, else why not (one line, with the fix)."""
        if shutil.which(self.program) is None:
            return f"{self.program} is not installed"
        return None

    def image_for(self, variant: Variant) -> str:
        """The reference this runtime runs a variant's image by (a tag, or a .sif path)."""
        return variant.image

    @abstractmethod
    def command(self, spec: ContainerSpec) -> list[str]:
        """The exact command line that runs ``spec``."""

    def secret_environment(self, spec: ContainerSpec) -> dict[str, str]:
        """The variables that carry ``spec.secret_env`` to the engine's process (the command
        names them, e.g. ``--env JUPYTER_TOKEN``, without their values)."""
        return dict(spec.secret_env)

    def process_env(self, spec: ContainerSpec) -> dict[str, str] | None:
        """The environment to start the engine with: ours plus the secrets, or None (ours)."""
        extra = self.secret_environment(spec)
        return {**os.environ, **extra} if extra else None

    def run(self, spec: ContainerSpec, *, timeout: float | None = None,
            check: bool = False) -> subprocess.CompletedProcess[str]:
        reason = self.available()
        if reason:
            raise EngineMissing(f"{self.name}: {reason}")
        return subprocess.run(self.command(spec), capture_output=True, text=True,
                              timeout=timeout, check=check, env=self.process_env(spec))
