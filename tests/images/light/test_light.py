"""The light image: its entrypoint is the grayscott CLI (batch jobs, ``apptainer run``).

Child images keep ``gslab-light`` (their own entrypoints serve), so these tests call it by
name; only the default-command test is the light flavour's own.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import h5py
import pytest

from grayscott import variants
from grayscott.launcher.runtime import Mount, Runtime
from tests.images.conftest import Container


@pytest.mark.own_flavour
def test_default_command_is_the_smoke_test(container: Container, variant: variants.Variant) -> None:
    result = container.run(env={"COLUMNS": "200"})
    assert "grayscott smoke" in result.stdout
    assert " numpy " in result.stdout and " ok " in result.stdout


def test_batch_run_writes_hdf5_to_the_mounted_workdir(container: Container, workdir: Path) -> None:
    container.run("gslab-light", "run", "-b", "numba-parallel", "-r", "64", "-c", "96", "-n", "3", "-s", "10",
                  "-o", "/work/out.h5", exec_=True, user="12345:100", read_only=True,
                  mounts=(Mount(workdir, "/work"),))
    out = workdir / "out.h5"
    assert out.stat().st_uid == 12345
    with h5py.File(out) as f:
        assert f["matrix"].shape == (3, 64, 96)
        assert bool(f.attrs["completed"]) and f.attrs["backend"] == "numba-parallel"
        assert f["matrix"][-1].max() > 0.1


def test_bad_input_is_one_line_and_exit_2(container: Container) -> None:
    result = container.run("gslab-light", "run", "-b", "fortran", exec_=True, expect_rc=2)
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "unknown backend" in errors[0]
    assert "Traceback" not in result.stderr


@pytest.mark.runtimes("docker", "podman")
def test_a_run_larger_than_the_containers_memory_limit_is_refused(
        container: Container, runtime: Runtime, variant: variants.Variant, workdir: Path) -> None:
    """The cgroup limit of the container (as a hub's mem_limit or a Slurm job's allocation
    sets one), not the machine's memory, is what a run may use: a run of about 1 GiB in 256
    MiB is refused before it allocates (one line, exit 2, no file), one that fits still runs.
    (Before, NumPy allocated until the kernel killed the container: exit 137, no message.)"""
    del container  # the fixture checks the image is there
    limited = [runtime.program, "run", "--rm", "--memory", "256m", "--memory-swap", "256m",
               "--user", "12345:100", "--volume", f"{workdir}:/work",
               "--entrypoint", "gslab-light", runtime.image_for(variant), "run", "-b", "numpy"]
    big = subprocess.run([*limited, "-r", "4000", "-c", "4000", "-n", "1", "-s", "1",
                          "-o", "/work/big.h5"], capture_output=True, text=True, timeout=300,
                         check=False)
    assert big.returncode == 2, (big.returncode, big.stdout, big.stderr)
    errors = [line for line in big.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in big.stderr, big.stderr
    assert "the cgroup's memory limit of 256.0 MiB" in errors[0], errors[0]
    assert "smaller grid" in errors[0] and "--force-size" in errors[0], errors[0]
    assert not (workdir / "big.h5").exists()
    small = subprocess.run([*limited, "-r", "256", "-c", "256", "-n", "4", "-s", "2",
                            "-o", "/work/small.h5"], capture_output=True, text=True,
                           timeout=300, check=False)
    assert small.returncode == 0, small.stderr
    with h5py.File(workdir / "small.h5") as f:
        assert f["matrix"].shape == (4, 256, 256) and bool(f.attrs["completed"])


def test_mpi_halo_exchange_on_two_ranks(container: Container) -> None:
    """labs/scale's MPI runtime in the image (the mpich wheel's mpiexec, mpi4py): two ranks
    started and talking, on a read-only root filesystem as an arbitrary UID."""
    result = container.run(
        "mpiexec", "-n", "2", "python", "-c",
        "from mpi4py import MPI; c = MPI.COMM_WORLD; "
        "print('ranks', c.size, 'sum', c.allreduce(c.rank + 1))",
        exec_=True, user="12345:100", read_only=True)
    assert result.stdout.count("ranks 2 sum 3") == 2, result.stdout
