"""Apptainer: how HPC clusters run the lab images (``.sif`` files, no daemon, no root).

Apptainer always runs as the calling user on a read-only image, shares the host's network
(no port mapping: a server listens on its own port) and binds what it is told. ``--containall``
gives the container its own /tmp, home and environment, like the OCI engines do.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from grayscott.errors import UsageError
from grayscott.launcher.runtime import ContainerSpec, Runtime

if TYPE_CHECKING:
    from grayscott.variants import Variant


class ApptainerRuntime(Runtime):
    name = "apptainer"
    program = "apptainer"

    @property
    def shares_host_network(self) -> bool:
        return True

    def available(self) -> str | None:
        reason = super().available()
        if reason:
            return reason
        probe = subprocess.run([self.program, "--version"], capture_output=True, text=True,
                               check=False)
        if probe.returncode != 0:
            return f"{self.program} does not run: {probe.stderr.strip()[:160]}"
        return None

    @staticmethod
    def sif_path(variant_name: str) -> Path:
        """Where ``make sif-NAME`` / ``gslab sif NAME`` put the image (GSLAB_SIF_DIR)."""
        directory = Path(os.environ.get("GSLAB_SIF_DIR", "build/sif")).resolve()
        return directory / f"gray-scott-lab_{variant_name}.sif"

    def image_for(self, variant: Variant) -> str:
        return str(self.sif_path(variant.name))

    def has_image(self, variant: Variant) -> bool:
        return self.sif_path(variant.name).is_file()

    def image_hint(self, variant: Variant) -> str:
        return f"{self.sif_path(variant.name)} is missing: make sif-{variant.name}"

    def secret_environment(self, spec: ContainerSpec) -> dict[str, str]:
        """Apptainer sets ``NAME`` in the container from ``APPTAINERENV_NAME`` (kept even
        with ``--containall``): nothing on the command line."""
        return {f"APPTAINERENV_{key}": value for key, value in spec.secret_env.items()}

    def command(self, spec: ContainerSpec) -> list[str]:
        if spec.detach:
            raise UsageError("apptainer: detached runs are not supported here; run in a terminal "
                             "multiplexer or a batch job")
        if any(host != container for host, container in spec.ports.items()):
            raise UsageError("apptainer shares the host network: the server listens on its own "
                             "port, choose it with the image's port setting instead")
        cmd = [self.program, "exec" if spec.exec_ else "run", "--containall"]
        for m in spec.mounts:
            cmd += ["--bind", f"{m.source}:{m.target}{':ro' if m.read_only else ''}"]
        for key, value in spec.env.items():
            cmd += ["--env", f"{key}={value}"]
        cmd += ["--pwd", spec.workdir or "/work"]
        if spec.gpu:
            cmd.append("--nv")
        return [*cmd, spec.image, *spec.args]
