"""What a run needs (memory, disk) against what this process may use, checked before it starts.

A grid larger than memory used to end in NumPy's allocation traceback, and a run larger than
its disk computed for minutes before the disk stopped it. Both are known before anything is
allocated or written: the backend says which arrays it holds (``Backend.state_bytes``), the
output is frames x rows x cols x itemsize, and the kernel says what is available.

Memory available is the smaller of the machine's ``MemAvailable`` and the room left under
the tightest memory limit of this process's cgroup and its ancestors (a container's
``--memory``, a Slurm job's allocation, a hub's ``mem_limit``). Disk available is what
``statvfs`` gives an unprivileged user where the output goes; a quota below that is not
visible (the run then stops at the quota as before, its frames kept).

Both estimates can be wrong in one direction: memory the kernel would free (caches it counts
as used, swap) and a file system that compresses. ``--force-size`` runs anyway.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from grayscott.errors import TooLarge
from grayscott.model import Params

if TYPE_CHECKING:
    from grayscott.backends.base import Backend

#: Beyond this a cgroup v1 limit means "none" (the kernel writes 2**63 rounded to a page).
UNLIMITED = 2**62
#: The file's own structure besides the frames: superblock, attributes (machine, versions),
#: the chunk index (measured: 96 KiB for 1000 frames of 32 x 32).
METADATA_BYTES = 2**20
#: HDF5 puts each chunk on a page boundary (``h5io.FrameFile`` asks it to, for O_DIRECT).
PAGE = 4096
#: Frames on the host at once while a run writes: the one fetched, ``FrameWriter``'s queue
#: of 4, the one its thread writes and its O_DIRECT staging copy.
FRAMES_IN_FLIGHT = 7
#: The option that runs anyway, named in every refusal.
OVERRIDE = "--force-size"


@dataclass(frozen=True)
class Room:
    """Bytes available, and which limit gave that number (for the message)."""

    bytes: int
    what: str


def human(n: float) -> str:
    """Bytes in binary units with one decimal: 8.0 MiB, 37.3 GiB (NumPy's own way)."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    raise AssertionError("unreachable")


def meminfo_available(meminfo: Path = Path("/proc/meminfo")) -> int | None:
    """The kernel's estimate of memory a new program can use without swapping."""
    try:
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _read_int(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    if text == "max":
        return None
    try:
        value = int(text)
    except ValueError:
        return None
    return None if value >= UNLIMITED else value


def _stat(path: Path, key: str) -> int:
    """One counter of a cgroup's ``memory.stat`` (0 when absent)."""
    try:
        for line in path.read_text().splitlines():
            name, _, value = line.partition(" ")
            if name == key:
                return int(value)
    except (OSError, ValueError):
        pass
    return 0


def _own_cgroups(proc_cgroup: Path) -> tuple[str | None, str | None]:
    """This process's cgroup path in the v1 memory hierarchy and in the v2 one."""
    v1 = v2 = None
    try:
        lines = proc_cgroup.read_text().splitlines()
    except OSError:
        return None, None
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        if controllers == "":
            v2 = path
        elif "memory" in controllers.split(","):
            v1 = path
    return v1, v2


def _ancestors(root: Path, path: str) -> list[Path]:
    """The folders of ``path`` under ``root`` and of its parents, up to ``root``. In a
    container the hierarchy's root is its own cgroup (a v1 host's path does not exist
    there): the folders that exist are the ones that count."""
    parts = [p for p in path.split("/") if p]
    folders = [root.joinpath(*parts[:depth]) for depth in range(len(parts), -1, -1)]
    return [f for f in folders if f.is_dir()]


def cgroup_room(proc_cgroup: Path = Path("/proc/self/cgroup"),
                root: Path = Path("/sys/fs/cgroup")) -> Room | None:
    """Room left under the tightest cgroup memory limit over this process (v1 or v2), or
    None where no limit is set. In use counts what the kernel cannot drop: usage less the
    inactive page cache (the working set, as Kubernetes and ``docker stats`` count it)."""
    v1, v2 = _own_cgroups(proc_cgroup)
    if v1 is not None and (root / "memory").is_dir():
        names = ("memory.limit_in_bytes", "memory.usage_in_bytes", "total_inactive_file")
        folders = _ancestors(root / "memory", v1)
    elif v2 is not None and (root / "cgroup.controllers").exists():
        names = ("memory.max", "memory.current", "inactive_file")
        folders = _ancestors(root, v2)
    else:
        return None
    best: Room | None = None
    for folder in folders:
        limit = _read_int(folder / names[0])
        if limit is None:
            continue
        used = (_read_int(folder / names[1]) or 0) - _stat(folder / "memory.stat", names[2])
        room = Room(max(limit - max(used, 0), 0),
                    f"the cgroup's memory limit of {human(limit)}, {human(max(used, 0))} in use")
        if best is None or room.bytes < best.bytes:
            best = room
    return best


def memory_available() -> Room:
    """Host memory this process may still use: MemAvailable or its cgroup's room, the
    smaller (a machine without /proc: no limit known)."""
    available = meminfo_available()
    machine = Room(available if available is not None else UNLIMITED,
                   "MemAvailable in /proc/meminfo" if available is not None else "unknown")
    limited = cgroup_room()
    return limited if limited is not None and limited.bytes < machine.bytes else machine


def disk_free(folder: Path) -> int:
    """Bytes an unprivileged writer may still put in ``folder``'s file system."""
    size = os.statvfs(folder)
    return size.f_bavail * size.f_frsize


def output_bytes(params: Params, frames: int) -> int:
    """The HDF5 file of a run: every frame, each chunk padded to start on a 4 kB page
    (``FrameFile``'s alignment, for O_DIRECT), and the metadata."""
    frame = params.rows * params.cols * params.np_dtype.itemsize
    return frames * (frame + -frame % PAGE) + METADATA_BYTES


def school_run_bytes() -> int:
    """The school's full run: 1000 frames of the default grid (8.3 GB)."""
    return output_bytes(Params(), 1000)


def host_bytes(backend: Backend, frames_in_flight: int) -> int:
    """Host memory of a run on ``backend``: its state where that is host memory, the initial
    state (two padded grids, while it is loaded) or the frames on their way to the file,
    whichever is larger."""
    params = backend.params
    rows, cols = params.padded_shape
    initial = 2 * rows * cols * params.np_dtype.itemsize
    frames = frames_in_flight * params.rows * params.cols * params.np_dtype.itemsize
    return (backend.state_bytes() if backend.on_host else 0) + max(initial, frames)


def _grid(params: Params) -> str:
    return f"{params.rows}x{params.cols} {params.dtype}"


def check_memory(backend: Backend, frames_in_flight: int = FRAMES_IN_FLIGHT) -> None:
    """Refuse a run whose arrays do not fit in the memory this process may use (host, and
    the device's where its library says cheaply)."""
    params = backend.params
    need = host_bytes(backend, frames_in_flight)
    room = memory_available()
    way_out = (f"choose a smaller grid (-r/-c), or pass {OVERRIDE} if the estimate is wrong "
               "(caches the kernel would drop, swap)")
    if need > room.bytes:
        raise TooLarge(f"a {_grid(params)} run on {backend.name} needs {human(need)} of memory, "
                       f"and {human(room.bytes)} is available ({room.what}): {way_out}")
    if backend.on_host:
        return
    free = backend.device_free_bytes()
    if free is not None and backend.state_bytes() > free:
        raise TooLarge(f"a {_grid(params)} run on {backend.name} needs "
                       f"{human(backend.state_bytes())} of memory on {backend.device}, which "
                       f"has {human(free)} free: {way_out}")


def check_disk(params: Params, frames: int, output: Path, *, replaced: int = 0,
               option: str = "-o") -> None:
    """Refuse a run whose file does not fit where it goes; ``replaced``: bytes of the file it
    overwrites, given back first."""
    folder = output.parent if str(output.parent) else Path(".")
    need = output_bytes(params, frames)
    free = disk_free(folder) + replaced
    if need > free:
        raise TooLarge(
            f"{frames} frames of {_grid(params)} need {human(need)} on disk, and "
            f"{folder.resolve()} has {human(free)} free: write fewer frames (-n), a smaller "
            f"grid (-r/-c) or to another folder ({option}), or pass {OVERRIDE} if the "
            "estimate is wrong (a file system that compresses)")


def check_run(backend: Backend, frames: int, output: Path, *, overwrite: bool) -> None:
    """Both checks of ``grayscott run``: memory first (the likelier mistake), then disk."""
    check_memory(backend)
    replaced = 0
    if overwrite and output.is_file():
        replaced = output.stat().st_blocks * 512
    check_disk(backend.params, frames, output, replaced=replaced)


def disk_warning(workdir: Path) -> str | None:
    """One line for ``gslab run`` when the work directory cannot hold the school's full run
    (the lab starts anyway: smaller runs fit, and grayscott refuses the ones that do not)."""
    try:
        free = disk_free(workdir)
    except OSError:
        return None
    need = school_run_bytes()
    if free >= need:
        return None
    return (f"{workdir} has {human(free)} free, and the school's full run writes "
            f"{human(need)}: delete old runs, or choose another --workdir (grayscott run "
            "refuses a run that does not fit)")
