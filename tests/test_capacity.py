"""A run larger than the machine is refused before it starts, with the numbers (issue #30).

Real limits: the machine's own memory, a real tmpfs of 8 MiB (mounted here when the tests
run as root). The cgroup limit of a container is tested in tests/images/light; here only the
cgroup files' formats are read from a folder laid out as the kernel lays them out (v2 cannot
be seen on a v1 host, and the reverse).
"""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest

from grayscott import backends, capacity, model

#: Backends whose arrays are NumPy's, so that tracemalloc sees every byte they allocate.
HOST_NUMPY_BACKENDS = ("numpy", "numpy-generic", "numba", "numba-parallel", "numba-blocked",
                       "c-openmp", "c-blocked")


@pytest.mark.parametrize("name", HOST_NUMPY_BACKENDS)
def test_each_backends_memory_estimate_covers_what_it_allocates(name: str) -> None:
    """The bytes a backend says it needs (state and extra buffers) against the peak that
    loading it and running steps really allocate, within 25 %: an estimate that is too low
    lets a run die half-way, one too high refuses runs that fit."""
    from tests.conftest import use_backend

    use_backend(name)
    params = model.Params(rows=300, cols=400)
    u0, v0 = model.initial_state(params)
    warm = backends.create(name, params)  # compiles outside the measurement
    warm.load(u0, v0)
    warm.advance(2)
    del warm
    backend = backends.create(name, params)
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        backend.load(u0, v0)
        backend.advance(9)
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    estimate = backend.state_bytes()
    assert peak <= estimate <= 1.25 * peak, (name, peak, estimate)


def test_memory_available_is_at_most_what_the_kernel_says() -> None:
    meminfo = Path("/proc/meminfo").read_text()
    available_kib = next(int(line.split()[1]) for line in meminfo.splitlines()
                         if line.startswith("MemAvailable:"))
    room = capacity.memory_available()
    assert 0 < room.bytes <= available_kib * 1024 * 1.05  # moves a little between the reads
    assert room.what


def _cgroup_v2(tmp_path: Path, levels: dict[str, tuple[str, int, int]]) -> tuple[Path, Path]:
    """A cgroup v2 tree: {path: (memory.max, memory.current, inactive_file)}."""
    root = tmp_path / "sys-fs-cgroup"
    for rel, (limit, current, inactive) in levels.items():
        folder = root / rel.strip("/") if rel != "/" else root
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "memory.max").write_text(f"{limit}\n")
        (folder / "memory.current").write_text(f"{current}\n")
        (folder / "memory.stat").write_text(f"anon 1\nfile 2\ninactive_file {inactive}\n")
    (root / "cgroup.controllers").write_text("cpu memory pids\n")
    self_cgroup = tmp_path / "self-cgroup"
    self_cgroup.write_text(f"0::{max(levels, key=len)}\n")
    return self_cgroup, root


def test_cgroup_v2_the_tightest_ancestor_counts(tmp_path: Path) -> None:
    """A Slurm job's limit sits on the job's cgroup, above the step and task the process is in."""
    mib = 2**20
    self_cgroup, root = _cgroup_v2(tmp_path, {
        "/": ("max", 900 * mib, 0),
        "/slurm/job_7": (str(512 * mib), 300 * mib, 100 * mib),
        "/slurm/job_7/step_0": ("max", 250 * mib, 0),
        "/slurm/job_7/step_0/task_0": ("max", 200 * mib, 0)})
    room = capacity.cgroup_room(self_cgroup, root)
    assert room is not None
    assert room.bytes == (512 - (300 - 100)) * mib  # page cache it may drop is not in use
    assert "512.0 MiB" in room.what and "cgroup" in room.what


def test_cgroup_v2_without_a_limit(tmp_path: Path) -> None:
    self_cgroup, root = _cgroup_v2(tmp_path, {"/": ("max", 1, 0), "/user": ("max", 1, 0)})
    assert capacity.cgroup_room(self_cgroup, root) is None


def test_cgroup_v1_a_containers_own_view(tmp_path: Path) -> None:
    """Docker on a v1 host: /proc/self/cgroup names the host's path, the container sees its
    own cgroup mounted as the root of the memory hierarchy."""
    mib = 2**20
    root = tmp_path / "sys-fs-cgroup"
    memory = root / "memory"
    memory.mkdir(parents=True)
    (memory / "memory.limit_in_bytes").write_text(f"{256 * mib}\n")
    (memory / "memory.usage_in_bytes").write_text(f"{60 * mib}\n")
    (memory / "memory.stat").write_text(f"cache 1\ntotal_inactive_file {10 * mib}\n")
    self_cgroup = tmp_path / "self-cgroup"
    self_cgroup.write_text("12:pids:/docker/abc\n4:memory:/docker/abc\n0::/system.slice\n")
    room = capacity.cgroup_room(self_cgroup, root)
    assert room is not None and room.bytes == (256 - 50) * mib
    assert "256.0 MiB" in room.what


def test_cgroup_v1_unlimited(tmp_path: Path) -> None:
    memory = tmp_path / "memory"
    memory.mkdir()
    (memory / "memory.limit_in_bytes").write_text("9223372036854771712\n")
    (memory / "memory.usage_in_bytes").write_text("100\n")
    self_cgroup = tmp_path / "self-cgroup"
    self_cgroup.write_text("4:memory:/\n")
    assert capacity.cgroup_room(self_cgroup, tmp_path) is None
