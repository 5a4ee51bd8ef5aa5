"""Podman: Docker's command line, GPUs through CDI, and the user's own UID kept when rootless."""

from __future__ import annotations

import os

from grayscott.launcher.docker import DockerRuntime
from grayscott.launcher.runtime import ContainerSpec


class PodmanRuntime(DockerRuntime):
    name = "podman"
    program = "podman"
    version_format = "{{.Version.Version}}"

    def gpu_options(self) -> list[str]:
        return ["--device", "nvidia.com/gpu=all"]

    def user_options(self, spec: ContainerSpec) -> list[str]:
        options = super().user_options(spec)
        if os.geteuid() != 0:  # rootless: map the caller's UID so bind mounts stay theirs
            options = ["--userns=keep-id", *options]
        return options
