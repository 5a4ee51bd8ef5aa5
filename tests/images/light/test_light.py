"""The light image: its entrypoint is the grayscott CLI (batch jobs, ``apptainer run``).

Child images keep ``gslab-light`` (their own entrypoints serve), so these tests call it by
name; only the default-command test is the light flavour's own.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import pytest

from grayscott import variants
from grayscott.launcher.runtime import Mount
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


def test_mpi_halo_exchange_on_two_ranks(container: Container) -> None:
    """labs/scale's MPI runtime in the image (the mpich wheel's mpiexec, mpi4py): two ranks
    started and talking, on a read-only root filesystem as an arbitrary UID."""
    result = container.run(
        "mpiexec", "-n", "2", "python", "-c",
        "from mpi4py import MPI; c = MPI.COMM_WORLD; "
        "print('ranks', c.size, 'sum', c.allreduce(c.rank + 1))",
        exec_=True, user="12345:100", read_only=True)
    assert result.stdout.count("ranks 2 sum 3") == 2, result.stdout
