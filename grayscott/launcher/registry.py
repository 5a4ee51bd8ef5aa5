"""Every runtime gslab knows, by name: the one list the command line and the tests read.

Adding a runtime is its module (a ``Runtime`` subclass) plus one line in ``RUNTIMES``, where
its place is also its rank for ``--runtime auto``: every runtime can serve as auto's choice
(one that cannot run here says why and is passed over), so the order is the only choice left.
"""

from __future__ import annotations

from collections.abc import Callable

from grayscott.errors import UsageError
from grayscott.launcher.apptainer import ApptainerRuntime
from grayscott.launcher.docker import DockerRuntime
from grayscott.launcher.local import LocalRuntime
from grayscott.launcher.podman import PodmanRuntime
from grayscott.launcher.runtime import Runtime
from grayscott.launcher.singularity import SingularityRuntime

#: By name, in the order ``--runtime auto`` tries them: the engines that publish ports and keep
#: containers first, then the HPC ones, then this Python environment (no isolation, no image)
RUNTIMES: dict[str, type[Runtime]] = {
    "docker": DockerRuntime,
    "podman": PodmanRuntime,
    "apptainer": ApptainerRuntime,
    "singularity": SingularityRuntime,
    "local": LocalRuntime,
}
#: ``--runtime auto`` takes the first usable one, in ``RUNTIMES``' order
AUTO_ORDER = tuple(RUNTIMES)


def create(name: str) -> Runtime:
    if name not in RUNTIMES:
        raise UsageError(f"unknown runtime {name!r}; choose auto, {', '.join(RUNTIMES)}")
    return RUNTIMES[name]()


def pick(name: str, *, must_work: bool = True, order: tuple[str, ...] = AUTO_ORDER,
         say: Callable[[str], None] | None = None) -> Runtime:
    """The runtime called ``name`` if usable, or for ``auto`` the first usable one of ``order``.

    ``must_work=False`` (dry runs) never refuses: a named runtime is taken as asked, and
    ``auto`` tells ``say`` which one a real run would take and why, or, when none is usable
    here, shows the first one. A dry run must work on a machine with no engine (a teacher
    preparing a class on a laptop)."""
    if name != "auto":
        runtime = create(name)
        reason = runtime.available() if must_work else None
        if reason:
            raise UsageError(f"runtime {name} is not usable: {reason}")
        return runtime
    skipped: list[str] = []
    for candidate in order:
        runtime = create(candidate)
        reason = runtime.available()
        if reason is None:
            if not must_work and say:
                say(f"auto: {candidate}" + (f" ({'; '.join(skipped)})" if skipped else ""))
            return runtime
        skipped.append(f"{candidate}: {reason}")
    if must_work:
        raise UsageError(f"no usable runtime among {', '.join(order)}: " + "; ".join(skipped))
    if say:
        say(f"auto: none usable here ({'; '.join(skipped)}); showing {order[0]}'s command")
    return create(order[0])


def image_stores(usable_only: bool = True) -> list[Runtime]:
    """The runtimes with an image store (Docker, Podman), the usable ones by default."""
    found = [cls() for cls in RUNTIMES.values() if cls.stores_images]
    return [r for r in found if not usable_only or r.available() is None]
