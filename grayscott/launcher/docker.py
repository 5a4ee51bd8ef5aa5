"""Docker: ``docker run`` with the lab's conventions (label, user, read-only, GPUs)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from grayscott.launcher.runtime import LABEL, LOG_FILE_MB, LOG_FILES, ContainerSpec, Runtime

if TYPE_CHECKING:
    from grayscott.variants import Variant


class DockerRuntime(Runtime):
    name = "docker"
    program = "docker"
    runs_as_spec_user = True
    stores_images = True
    #: ``info --format`` that prints the engine's version (and fails if it is not usable)
    version_format = "{{.ServerVersion}}"

    def available(self) -> str | None:
        reason = super().available()
        if reason:
            return reason
        probe = subprocess.run([self.program, "info", "--format", self.version_format],
                               capture_output=True, text=True, check=False)
        if probe.returncode != 0:
            return (f"the {self.name} daemon does not answer ({probe.stderr.strip()[:120]}); "
                    "start it or check your permissions")
        return None

    def has_image(self, variant: Variant) -> bool:
        return self.image_size(variant.image) is not None

    def image_hint(self, variant: Variant) -> str:
        return f"image {variant.image} is not in {self.name}: make build-{variant.name}"

    def containers(self, all_: bool = False) -> list[list[str]]:
        result = subprocess.run([self.program, "ps", *(["-a"] if all_ else []), "--filter",
                                 f"label={LABEL}=1", "--format",
                                 "{{.Names}}\t{{.Image}}\t{{.Status}}\t{{.Ports}}"],
                                capture_output=True, text=True, check=False)
        return [line.split("\t") for line in result.stdout.splitlines() if line.strip()]

    def pull_commands(self, ref: str, image: str) -> list[list[str]]:
        return [[self.program, "pull", ref], [self.program, "tag", ref, image]]

    def save_command(self, image: str, tar: Path) -> list[str]:
        return [self.program, "save", "-o", str(tar), image]

    def load_command(self, tar: Path) -> list[str]:
        return [self.program, "load", "-q", "-i", str(tar)]

    def image_size(self, image: str) -> int | None:
        """Bytes of a local image, None if it is not there."""
        result = subprocess.run([self.program, "image", "inspect", "--format", "{{.Size}}", image],
                                capture_output=True, text=True, check=False)
        return int(result.stdout.strip()) if result.returncode == 0 else None

    def exec_in(self, name: str, args: list[str]) -> subprocess.CompletedProcess[str]:
        """Run a command inside a running container."""
        return subprocess.run([self.program, "exec", name, *args], capture_output=True,
                              text=True, check=False)

    def logs(self, name: str) -> str:
        result = subprocess.run([self.program, "logs", name], capture_output=True, text=True,
                                check=False)
        return result.stdout + result.stderr

    def running(self, name: str) -> bool:
        state = subprocess.run([self.program, "inspect", "--format", "{{.State.Running}}", name],
                               capture_output=True, text=True, check=False)
        return state.stdout.strip() == "true"

    def stop(self, name: str) -> None:
        subprocess.run([self.program, "rm", "--force", name], capture_output=True, check=False)

    def gpu_options(self) -> list[str]:
        return ["--gpus", "all"]

    def log_options(self) -> list[str]:
        """A bounded log: json-file (Docker's default driver, read by ``docker logs`` and
        log shippers as before) rotated at ``LOG_FILE_MB``, ``LOG_FILES`` files at most.
        Named explicitly: a daemon whose default is another driver would reject the
        size options, or keep no bound at all."""
        return ["--log-driver", "json-file", "--log-opt", f"max-size={LOG_FILE_MB}m",
                "--log-opt", f"max-file={LOG_FILES}"]

    def log_cap_bytes(self) -> int:
        """The most the log options let a container's log files take on the host."""
        return LOG_FILES * LOG_FILE_MB * 2**20

    def user_options(self, spec: ContainerSpec) -> list[str]:
        return ["--user", spec.user] if spec.user else []

    def network_options(self, spec: ContainerSpec) -> list[str]:
        """Each server port published on the host's loopback only."""
        return [option for host, container in spec.ports.items()
                for option in ("--publish", f"127.0.0.1:{host}:{container}")]

    def command(self, spec: ContainerSpec) -> list[str]:
        # A lab needs no privilege: no capabilities, and no setuid way to gain one. It matters
        # when gslab runs a container as root (a root caller's root-owned work directory):
        # root without capabilities writes only what root owns, as the caller would.
        cmd = [self.program, "run", "--label", f"{LABEL}=1", "--cap-drop", "ALL",
               "--security-opt", "no-new-privileges", *self.log_options()]
        if spec.remove:
            cmd.append("--rm")
        if spec.detach:
            cmd.append("--detach")
        if spec.name:
            cmd += ["--name", spec.name]
        cmd += self.user_options(spec)
        if spec.read_only:
            cmd.append("--read-only")
        for path in spec.tmpfs:
            cmd += ["--tmpfs", path]
        for m in spec.mounts:
            cmd += ["--volume", f"{m.source}:{m.target}{':ro' if m.read_only else ''}"]
        for key, value in spec.env.items():
            cmd += ["--env", f"{key}={value}"]
        for key in spec.secret_env:  # the value comes from the engine's environment
            cmd += ["--env", key]
        cmd += self.network_options(spec)
        if spec.workdir:
            cmd += ["--workdir", spec.workdir]
        if spec.gpu:
            cmd += self.gpu_options()
        if spec.exec_:
            cmd += ["--entrypoint", spec.args[0], spec.image, *spec.args[1:]]
        else:
            cmd += [spec.image, *spec.args]
        return cmd
