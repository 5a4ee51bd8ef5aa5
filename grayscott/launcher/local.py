"""The local runtime: no container engine, the lab from this Python environment.

It is the fallback of ``gslab run`` when no engine is installed (and what ``make lab`` does):
``light`` runs the grayscott CLI, ``jupyter`` runs JupyterLab from this environment,
``code-server`` needs a code-server on the PATH. There is no image and no ``/work``: the
work directory is the one mounted there in the spec, and the environment is set with ``env``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from importlib import util
from typing import TYPE_CHECKING

from grayscott.launcher.readiness import process_tree
from grayscott.launcher.runtime import ContainerSpec, Runtime

if TYPE_CHECKING:
    from grayscott.variants import Variant


class LocalRuntime(Runtime):
    name = "local"
    program = sys.executable
    runs_images = False

    @property
    def shares_host_network(self) -> bool:
        return True

    def available(self) -> str | None:
        return None

    def server_processes(self, process: subprocess.Popen[bytes]) -> Callable[[], set[int]]:
        """The server is gslab's child (code-server: with children of its own)."""
        return lambda: process_tree(process.pid)

    def flavour_reason(self, flavour: str) -> str | None:
        if flavour == "jupyter" and util.find_spec("jupyterlab") is None:
            return "JupyterLab is not installed here: pip install 'grayscott[lab]' (or make lab)"
        if flavour == "code-server" and shutil.which("code-server") is None:
            return "code-server is not installed here: use a container engine, or install it"
        return None

    def image_for(self, variant: Variant) -> str:
        return variant.flavour  # there is no image

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
        flavour, workdir = spec.image, self._workdir(spec)
        if flavour == "light":
            return [sys.executable, "-m", "grayscott", *spec.args]
        port = next(iter(spec.ports.values()), 8888)
        if flavour == "jupyter":
            # as root (a container or a CI machine) Jupyter refuses to start without it
            root = ["--allow-root"] if os.geteuid() == 0 else []
            # port_retries=0: a taken port stops it instead of moving it to the next one,
            # away from the URL printed (issue #22, attack 5; the images set it too)
            return [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1",
                    f"--port={port}", "--ServerApp.port_retries=0",
                    f"--ServerApp.root_dir={workdir}", *root, *spec.args]
        return ["code-server", "--bind-addr", f"127.0.0.1:{port}", "--auth", "password",
                "--disable-telemetry", "--disable-update-check", *spec.args, workdir]
