"""hpc/gray-scott-mpi.sbatch: the labs' MPI halo exchange (labs/scale, halo.py as the solution
notebook writes it) on two Slurm tasks inside the container, by both launches the script offers,
checked against the single-process numpy model."""

from __future__ import annotations

import numpy as np
import pytest

from grayscott import backends, model
from tests.slurm.conftest import Cluster, Job
from tests.test_labs_scale import SCALE, program

ROWS, COLS, STEPS = 31, 40, 60  # 31 rows: strips of 16 and 15


@pytest.mark.parametrize("launch", ["srun", "mpiexec"])
def test_halo_exchange_on_two_tasks_agrees_with_numpy(cluster: Cluster, launch: str) -> None:
    halo = program(SCALE / "solutions" / "1_MPI_Halo.ipynb")
    job = cluster.sbatch("gray-scott-mpi.sbatch", "halo.py", "--rows", str(ROWS), "--cols",
                         str(COLS), "--steps", str(STEPS), "--out", "halo.npz",
                         options="--ntasks=2 -c 1 --mem-per-cpu=1G",
                         env=f"GSLAB_MPI_LAUNCH={launch}", label=f"mpi-{launch}",
                         files={"halo.py": halo})
    assert cluster.wait(job) == ("COMPLETED", "0:0"), job.log.read_text()
    log = job.log.read_text()
    assert f"2 MPI ranks ({launch})" in log and "ERROR" not in log, log
    assert_two_ranks_agree_with_numpy(job)


def assert_two_ranks_agree_with_numpy(job: Job) -> None:
    """The job's halo.py (ROWS x COLS, STEPS) ran on 2 ranks, each its strip, and its result
    is the single-process numpy model's."""
    log = job.log.read_text()
    assert "rank 0: rows 0..15 (16)" in log and "rank 1: rows 16..30 (15)" in log, log
    run = np.load(job.host_dir / "halo.npz")
    assert int(run["ranks"]) == 2
    params = model.Params(rows=ROWS, cols=COLS)
    ref = backends.create("numpy", params)
    ref.load(*model.initial_state(params))
    ref.advance(STEPS)
    ref_u, ref_v = ref.fetch_state()
    assert np.abs(run["u"] - ref_u).max() <= model.tolerance("float32")
    assert np.abs(run["v"] - ref_v).max() <= model.tolerance("float32")
    assert float(np.abs(ref_v).max()) > 0.1  # the pattern is there, not an all-zero agreement


def test_a_missing_program_is_one_line(cluster: Cluster) -> None:
    job = cluster.sbatch("gray-scott-mpi.sbatch", "nothere.py", options="--ntasks=2 -c 1",
                         label="mpi-missing")
    assert cluster.wait(job) == ("FAILED", "2:0")
    assert job.log.read_text().strip().startswith("error: nothere.py is not a file of ")
