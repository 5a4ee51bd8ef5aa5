"""One interface for every way of running a lab image (Docker, Podman, Apptainer, ...).

A ``ContainerSpec`` says what to run, independent of the engine; each runtime module turns it
into the exact engine command line (what ``--dry-run`` prints) and runs it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path

from grayscott.errors import GrayScottError

#: Label on everything gslab starts, so that ps/logs/stop find only ours.
LABEL = "org.grayscott.lab"


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

    def image_for(self, variant_name: str) -> str:
        """The reference this runtime runs a variant's image by (a tag, or a .sif path)."""
        from grayscott.variants import get

        return get(variant_name).image

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
