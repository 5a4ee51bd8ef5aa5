"""A run larger than the machine is refused before it starts, with the numbers (issue #30).

Real limits: the machine's own memory, a real tmpfs of 8 MiB (mounted here when the tests
run as root). The cgroup limit of a container is tested in tests/images/light; here only the
cgroup files' formats are read from a folder laid out as the kernel lays them out (v2 cannot
be seen on a v1 host, and the reverse).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import h5py
import pytest

from grayscott import backends, capacity, model
from tests.conftest import run_cli

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


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    return errors[0]


@pytest.fixture
def small_tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A real file system of 8 MiB, unmounted afterwards."""
    folder = tmp_path / "small"
    folder.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root; a stand-in for a small file system would "
                    "not test what statvfs says about a real one")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(folder)],
                             capture_output=True, text=True, check=False)
    if mounted.returncode != 0:
        pytest.skip(f"mount -t tmpfs refused here: {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def used_bytes(folder: Path) -> int:
    size = os.statvfs(folder)
    return (size.f_blocks - size.f_bfree) * size.f_frsize


def test_a_grid_far_larger_than_memory_is_refused_before_any_allocation(tmp_path: Path) -> None:
    """The issue's own example: a numpy _ArrayMemoryError traceback before."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "grayscott", "run", "-b", "numpy", "-r", "100000", "-c", "100000",
         "-n", "1", "-s", "1", "-o", "x.h5"], cwd=tmp_path, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, env={**os.environ, "COLUMNS": "200"})
    stdout, stderr = proc.communicate(timeout=120)
    line = one_error_line(subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr))
    assert "memory" in line and "GiB" in line, line
    assert "MemAvailable" in line or "cgroup" in line, line  # which limit it was
    assert "smaller grid" in line and "--force-size" in line, line
    assert not (tmp_path / "x.h5").exists()


def test_bench_refuses_such_a_grid_too(tmp_path: Path) -> None:
    line = one_error_line(run_cli("bench", "-b", "numpy", "-r", "100000", "-c", "100000",
                                  "--no-save", cwd=tmp_path))
    assert "memory" in line and "--force-size" in line, line


def test_a_run_larger_than_a_small_tmpfs_is_refused_before_any_write(small_tmpfs: Path) -> None:
    out = small_tmpfs / "x.h5"
    before = used_bytes(small_tmpfs)
    line = one_error_line(run_cli("run", "-b", "numpy", "-r", "256", "-c", "256", "-n", "64",
                                  "-s", "1", "-o", str(out)))
    assert not out.exists(), line
    assert used_bytes(small_tmpfs) == before
    # both numbers: the frames' 16 MiB and the file's metadata, the file system's 8 MiB
    assert "need 17.0 MiB on disk" in line and "8.0 MiB free" in line, line
    assert str(small_tmpfs) in line, line
    for way_out in ("fewer frames (-n)", "smaller grid", "another folder (-o)"):
        assert way_out in line, line


def test_bench_full_refuses_a_scratch_folder_too_small(small_tmpfs: Path, tmp_path: Path) -> None:
    line = one_error_line(run_cli("bench-full", "-b", "numpy", "-r", "256", "-c", "256",
                                  "-n", "64", "-s", "1", "--scratch", str(small_tmpfs),
                                  "--no-save", cwd=tmp_path))
    assert "8.0 MiB free" in line and "--scratch" in line, line


def test_a_run_that_fits_still_runs_and_writes_its_file(small_tmpfs: Path) -> None:
    out = small_tmpfs / "fits.h5"
    params = model.Params(rows=256, cols=256)
    result = run_cli("run", "-b", "numpy", "-r", "256", "-c", "256", "-n", "16", "-s", "2",
                     "-o", str(out))
    assert result.returncode == 0, result.stderr
    with h5py.File(out, "r") as f:
        assert f["matrix"].shape == (16, 256, 256) and bool(f.attrs["completed"])
    # the estimate is not below what the file really takes
    assert out.stat().st_blocks * 512 <= capacity.output_bytes(params, 16)


def test_force_size_lets_a_run_past_the_disk_estimate(small_tmpfs: Path) -> None:
    """The override named in the message: the run starts, and the full disk then stops it
    as before (one line, the frames done kept)."""
    out = small_tmpfs / "forced.h5"
    result = run_cli("run", "-b", "numpy", "-r", "256", "-c", "256", "-n", "64", "-s", "1",
                     "-o", str(out), "--force-size")
    line = one_error_line(result)
    assert line.startswith(f"error: no space left for {out}"), line
    with h5py.File(out, "r") as f:
        assert 0 < f.attrs["frames_written"] < 64


def test_overwriting_counts_the_old_files_room(small_tmpfs: Path) -> None:
    """--force on an existing run: its blocks come back, so a run of its size fits again."""
    out = small_tmpfs / "again.h5"
    args = ("run", "-b", "numpy", "-r", "256", "-c", "256", "-n", "20", "-s", "1", "-o", str(out))
    assert run_cli(*args).returncode == 0
    second = run_cli(*args, "--force")
    assert second.returncode == 0, second.stderr


def test_gslab_run_warns_of_a_nearly_full_work_directory(small_tmpfs: Path) -> None:
    """Before a server starts: one warning line with the numbers (the lab still starts)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "grayscott.launcher", "run", "jupyter", "--runtime", "local",
         "--port", str(port), "--workdir", str(small_tmpfs)], stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "COLUMNS": "200"})
    output = ""
    try:
        assert proc.stdout is not None
        while "The lab is ready" not in output:
            line = proc.stdout.readline()
            assert line, f"exited {proc.poll()}:\n{output}"
            output += line
    finally:
        proc.terminate()
        proc.communicate(timeout=30)
    warnings = [line for line in output.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1, output
    assert str(small_tmpfs) in warnings[0] and "8.0 MiB free" in warnings[0], warnings[0]
    assert "GiB" in warnings[0], warnings[0]  # the school's run, for scale
    assert output.index(warnings[0]) < output.index("The lab is ready")
