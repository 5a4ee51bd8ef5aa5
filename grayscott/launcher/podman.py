"""Podman: Docker's command line, GPUs through CDI, and what rootless Podman needs.

Rootless (any caller but root), as on a cluster login node where Podman is the only engine:

- ``--userns=keep-id`` and the caller's own UID *and* GID, so that files written into the
  bind-mounted work directory belong to the caller afterwards (the image's group 100 stays a
  supplementary group; as the primary group it would land on the host as a subordinate GID).
- The host's network. Rootless networking needs slirp4netns or pasta and a /dev/net/tun the
  user may open, which login nodes often lack; the host's network needs neither. A server then
  listens on the host port itself (``shares_host_network``: gslab sets the server's port), on
  every interface as under Apptainer, behind its token or password (the images bind 0.0.0.0
  and Jupyter refuses a second ``--ip``).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from grayscott.errors import UsageError
from grayscott.launcher.docker import DockerRuntime
from grayscott.launcher.runtime import LOG_FILE_MB, ContainerSpec

if TYPE_CHECKING:
    from grayscott.variants import Variant

#: The image's group (jovyan's), kept as a supplementary group when rootless.
IMAGE_GROUP = "100"


def rootless() -> bool:
    return os.geteuid() != 0


class PodmanRuntime(DockerRuntime):
    name = "podman"
    program = "podman"
    version_format = "{{.Version.Version}}"

    @property
    def shares_host_network(self) -> bool:
        return rootless()

    def image_hint(self, variant: Variant) -> str:
        return super().image_hint(variant) + " (then make podman-load)"

    def gpu_options(self) -> list[str]:
        return ["--device", "nvidia.com/gpu=all"]

    def log_options(self) -> list[str]:
        """Podman 4's k8s-file driver (its default here; rootless Podman on a systemd login
        node may default to journald, which ``max-size`` does not apply to) with conmon's
        size cap: past ``LOG_FILE_MB`` conmon starts the file afresh, so one file of that
        size at most. k8s-file keeps the log in the caller's own container storage (their
        home when rootless) and ``podman logs`` reads it; journald's bound is the site's
        journal settings, which gslab can neither see nor set."""
        return ["--log-driver", "k8s-file", "--log-opt", f"max-size={LOG_FILE_MB}m"]

    def log_cap_bytes(self) -> int:
        return LOG_FILE_MB * 2**20

    def user_options(self, spec: ContainerSpec) -> list[str]:
        if not rootless():
            return super().user_options(spec)
        options = ["--userns=keep-id"]
        if spec.user:  # keep-id maps only the caller's own UID and GID onto themselves
            uid = spec.user.split(":")[0]
            options += ["--user", f"{uid}:{os.getgid()}", "--group-add", IMAGE_GROUP]
        return options

    def network_options(self, spec: ContainerSpec) -> list[str]:
        if not rootless():
            return super().network_options(spec)
        if any(host != container for host, container in spec.ports.items()):
            raise UsageError("rootless podman shares the host network: the server must listen "
                             "on the host port itself (same port on both sides)")
        return ["--network", "host"]
