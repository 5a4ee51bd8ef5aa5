"""hpc/gray-scott-light.sbatch on a real Slurm cluster, submitted by an ordinary user."""

from __future__ import annotations

import re
import time
from pathlib import Path

import h5py
import pytest

from tests.slurm.conftest import NODE, STUDENT_UID, Cluster, Job

SMALL = ("--rows", "64", "--cols", "96", "--frames", "5", "--steps", "10")


def log_text(job: Job) -> str:
    return job.log.read_text()


@pytest.mark.parametrize("cpus", [1, 2])
def test_run_writes_the_users_hdf5_with_threads_from_cpus_per_task(cluster: Cluster,
                                                                   cpus: int) -> None:
    job = cluster.sbatch("gray-scott-light.sbatch", "run", *SMALL, "--output", "/work/out.h5",
                         options=f"-c {cpus} --mem=1G", label=f"run-c{cpus}")
    assert cluster.wait(job) == ("COMPLETED", "0:0"), log_text(job)
    log = log_text(job)
    assert f"cpu-light on {NODE}, {cpus} threads" in log
    # the backend auto chose, with the threads it ran on
    match = re.search(r"5/5 frames x 10 steps of 64x96 on (\S+) \(cpu \((\d+) threads?\)\)", log)
    assert match, log
    assert match[1].startswith("numba") and int(match[2]) == cpus
    assert "Tini is not running as PID 1" not in log
    output = job.host_dir / "out.h5"
    assert output.stat().st_uid == STUDENT_UID
    with h5py.File(output, "r") as f:
        assert f.attrs["completed"]
        assert f["matrix"].shape == (5, 64, 96)


def test_bench_and_smoke_complete(cluster: Cluster) -> None:
    bench = cluster.sbatch("gray-scott-light.sbatch", "bench", "-b", "numpy", "--rows", "64",
                           "--cols", "96", "--min-seconds", "0.2", "--repeat", "1",
                           "--output-dir", "/work/bench", label="bench")
    smoke = cluster.sbatch("gray-scott-light.sbatch", "smoke", "-b", "numpy,numba",
                           label="smoke")
    assert cluster.wait(bench) == ("COMPLETED", "0:0"), log_text(bench)
    assert cluster.wait(smoke) == ("COMPLETED", "0:0"), log_text(smoke)
    reports = sorted(p.suffix for p in (bench.host_dir / "bench").iterdir())
    assert reports == [".json", ".md"]
    assert all(p.stat().st_uid == STUDENT_UID for p in (bench.host_dir / "bench").iterdir())
    assert re.search(r"numba\s.*ok", log_text(smoke)), log_text(smoke)


@pytest.mark.parametrize(("env", "args", "error"), [
    ("GSLAB_SIF_DIR=/nonexistent", (), "error: GSLAB_SIF_DIR=/nonexistent is not a directory"),
    ("GSLAB_SIF_DIR=/tmp", (), "error: /tmp/gray-scott-lab_cpu-light.sif is missing"),
    ("", ("run", "--rows", "-5"), "error: grid -5x1920 is too small"),
    ("", ("run", "--no-such-option"), "No such option"),
], ids=["no-sif-dir", "no-sif", "bad-grid", "bad-option"])
def test_a_job_that_cannot_run_fails_with_one_line(cluster: Cluster, env: str,
                                                   args: tuple[str, ...], error: str) -> None:
    job = cluster.sbatch("gray-scott-light.sbatch", *args, env=env, label="fails")
    state, code = cluster.wait(job)
    log = log_text(job)
    assert state == "FAILED" and code == "2:0", (state, code, log)
    assert error in log
    assert "Traceback" not in log


def test_scancel_leaves_a_readable_file_with_the_frames_done(cluster: Cluster) -> None:
    frames = 2000
    job = cluster.sbatch("gray-scott-light.sbatch", "run", "-b", "numpy", "--rows", "256",
                         "--cols", "384", "--frames", str(frames), "--steps", "50",
                         "--output", "/work/cut.h5", label="scancel")
    output = job.host_dir / "cut.h5"
    # the writer records its progress in the file about every second: cancel after some frames
    deadline = time.monotonic() + 180
    while progress(output) < 2:
        assert time.monotonic() < deadline, log_text(job)
        time.sleep(0.5)
    cluster.scancel(job)
    state, _ = cluster.wait(job)
    assert state.startswith("CANCELLED")
    # Slurm records CANCELLED when it signals the job; the run's last words (its frames closed,
    # then one line) can reach the log a moment later
    pattern = r"interrupted: /work/cut.h5 holds the (\d+) frames finished"
    deadline = time.monotonic() + 60
    while not re.search(pattern, log := log_text(job)) and time.monotonic() < deadline:
        time.sleep(0.5)
    match = re.search(pattern, log)
    assert match, log
    done = int(match[1])
    with h5py.File(output, "r") as f:
        assert not f.attrs["completed"]
        assert f.attrs["frames_written"] == done
        assert 2 <= f["matrix"].shape[0] == done < frames


def progress(path: Path) -> int:
    """frames_written of an HDF5 file being written (0 while it cannot be read yet)."""
    try:
        with h5py.File(path, "r", locking=False) as f:
            return int(f.attrs.get("frames_written", 0))
    except (OSError, KeyError):
        return 0
