"""The local runtime: no container engine, the lab from this Python environment.

It is the fallback of ``gslab run`` when no engine is installed (and what ``make lab`` does).
What it starts for each flavour is the variant table's ``local_command`` (``light``: the
grayscott CLI; ``jupyter``: JupyterLab from this environment; ``code-server``: a code-server
on the PATH); a flavour the table gives none is refused by name, never run as another. There
is no image and no ``/work``: the work directory is the one mounted there in the spec, and
the environment is set with ``env``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from importlib import util
from typing import TYPE_CHECKING

from grayscott import variants
from grayscott.errors import UsageError
from grayscott.launcher.readiness import process_tree
from grayscott.launcher.runtime import ContainerSpec, Runtime

if TYPE_CHECKING:
    from grayscott.variants import Variant

#: what ``local_fix`` says when the table gives a flavour none
INSTALL_FIX = "use a container engine, or install it"


def _refusal(flavour: str) -> str:
    return (f"the local runtime cannot run {flavour}: the variant table gives it no "
            "local_command; use a container runtime (--runtime docker, podman, apptainer)")


def _needed(command: tuple[str, ...]) -> tuple[str, bool]:
    """What ``command`` runs (a module of this environment, or a program) and whether it is
    here."""
    if command[:2] == ("{python}", "-m"):
        return command[2], util.find_spec(command[2]) is not None
    return command[0], shutil.which(command[0]) is not None


class LocalRuntime(Runtime):
    name = "local"
    program = sys.executable
    runs_images = False

    @property
    def shares_host_network(self) -> bool:
        return True

    def available(self) -> str | None:
        return None

    def runs_as_root(self, spec: ContainerSpec) -> bool:
        """The server is gslab's own child: root when gslab is (a container, a CI machine)."""
        return os.geteuid() == 0

    def server_processes(self, process: subprocess.Popen[bytes]) -> Callable[[], set[int]]:
        """The server is gslab's child (code-server: with children of its own)."""
        return lambda: process_tree(process.pid)

    def flavour_reason(self, flavour: str) -> str | None:
        variant = next(v for v in variants.variants() if v.flavour == flavour)
        if not variant.local_command:
            return _refusal(flavour)
        needed, here = _needed(variant.local_command)
        if here:
            return None
        return f"{needed} is not installed here: {variant.local_fix or INSTALL_FIX}"

    def image_for(self, variant: Variant) -> str:
        return variant.name  # there is no image: the variant names its local command

    def _workdir(self, spec: ContainerSpec) -> str:
        """The host folder behind the spec's working directory (``/work`` in a container)."""
        for mount in spec.mounts:
            if mount.target == spec.workdir:
                return str(mount.source)
        return spec.workdir or "."

    def command(self, spec: ContainerSpec) -> list[str]:
        env = ["env", *(f"{k}={v}" for k, v in spec.env.items())] if spec.env else []
        return [*env, *self._program(spec)]

    def _program(self, spec: ContainerSpec) -> list[str]:
        """The table's ``local_command`` of the spec's variant, its placeholders filled."""
        variant = variants.get(spec.image)
        if not variant.local_command:
            raise UsageError(_refusal(variant.flavour))
        port = next(iter(spec.ports.values()), variant.server.port if variant.server else 0)
        fill = {"python": sys.executable, "port": port, "workdir": self._workdir(spec)}
        words: list[str] = []
        for word in variant.local_command:
            words += spec.args if word == "{args}" else [word.format(**fill)]
        return words
