"""labs/scale: the MPI program and its runner, the halo and sharding checks, the school's numbers.

The MPI program under test is the one the notebook writes (its ``%%writefile halo.py`` cell),
run on real ranks by the mpiexec of the ``mpi`` extra; the wrong answers are that program with
one line changed. The JAX sharding checks run in a subprocess, because the 4 host devices they
need must be asked for before JAX starts and this pytest process may have started it already.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from grayscott import backends, model, school
from grayscott.labs import checks, mpi
from tests.conftest import use_backend
from tests.test_labs import LABS, use_mpi

# These tests use the GPU where there is one (the unit suite hides it from the others).
pytestmark = pytest.mark.gpu

nbformat = pytest.importorskip("nbformat")

SCALE = LABS / "scale"
ROOT = Path(__file__).resolve().parents[1]


def program(notebook: Path) -> str:
    """halo.py as the notebook's %%writefile cell writes it."""
    nb = nbformat.read(notebook, as_version=4)
    cell = next(c for c in nb.cells if c.cell_type == "code" and c.source.startswith("%%writefile halo.py"))
    return cell.source.split("\n", 1)[1] + "\n"


@pytest.fixture
def solution_program(tmp_path: Path) -> Path:
    use_mpi()
    path = tmp_path / "halo.py"
    path.write_text(program(SCALE / "solutions" / "1_MPI_Halo.ipynb"))
    return path


def variant(path: Path, old: str, new: str) -> Path:
    text = path.read_text()
    assert old in text, f"{old!r} is not in the program any more: update this test"
    wrong = path.with_name("wrong.py")
    wrong.write_text(text.replace(old, new))
    return wrong


def test_halo_program_on_3_ranks_agrees_with_numpy(solution_program: Path) -> None:
    rows, cols, steps = 31, 40, 60  # 31 rows: strips of 11, 10 and 10
    out = solution_program.with_name("halo.npz")
    printed = mpi.mpirun(solution_program, "--rows", rows, "--cols", cols, "--steps", steps, "--out", out,
                         ranks=3, quiet=True)
    assert "rank 0: rows 0..10 (11)" in printed and "rank 2: rows 21..30 (10)" in printed, printed
    run = np.load(out)
    params = model.Params(rows=rows, cols=cols)
    ref = backends.create("numpy", params)
    ref.load(*model.initial_state(params))
    ref.advance(steps)
    ref_u, ref_v = ref.fetch_state()
    assert int(run["ranks"]) == 3
    assert run["u"].shape == ref_u.shape
    assert np.abs(run["u"] - ref_u).max() <= model.tolerance("float32")
    assert np.abs(run["v"] - ref_v).max() <= model.tolerance("float32")
    assert float(np.abs(ref_v).max()) > 0.1  # the pattern is there, not an all-zero agreement


def test_check_split_rows(solution_program: Path) -> None:
    assert checks.check_split_rows(mpi.load_script(solution_program).split_rows)
    with pytest.raises(checks.CheckFailed, match="rows are lost"):
        checks.check_split_rows(lambda r, s, k: (k * (r // s), (k + 1) * (r // s)))
    with pytest.raises(checks.CheckFailed, match=r"blocks of \[3, 3, 5\] rows"):
        checks.check_split_rows(lambda r, s, k: (k * (r // s), (k + 1) * (r // s) if k < s - 1 else r))
    message = r"split_rows\(12, 3, 1\) returned \(5, 8\): rank 1 must start at 4, where rank 0 stops"
    with pytest.raises(checks.CheckFailed, match=message):
        checks.check_split_rows(_skips_a_row)
    with pytest.raises(checks.CheckFailed, match="expected a pair of ints"):
        checks.check_split_rows(lambda r, s, k: r // s)


def _skips_a_row(rows: int, size: int, rank: int) -> tuple[int, int]:
    base = rows // size
    return rank * base + (rank > 0), (rank + 1) * base if rank < size - 1 else rows


def test_check_halo_exchange_accepts_the_solution(solution_program: Path) -> None:
    assert checks.check_halo_exchange(str(solution_program))
    assert checks.check_halo_exchange(str(solution_program), ranks=2)


@pytest.mark.parametrize(("old", "new", "message"), [
    ("comm.Sendrecv(a[1], dest=up", "comm.Sendrecv(a[-2], dest=up",
     r"rank 0's lower ghost row a\[-1\] holds rank 1's a\[3\], its last interior row; "
     r"it must hold rank 1's a\[1\], its first interior row"),
    ("comm.Sendrecv(a[-2], dest=down, recvbuf=a[0], source=up)", "pass",
     r"rank 1's upper ghost row a\[0\] is unchanged: nothing was received into it"),
    ("    comm.Sendrecv(a[-2], dest=down, recvbuf=a[0], source=up)",
     "    comm.Sendrecv(a[-2], dest=down, recvbuf=a[0], source=up)\n    a[0] = 7",
     r"rank 0's upper ghost row a\[0\] is the domain's boundary"),
    ("    comm.Sendrecv(a[-2], dest=down, recvbuf=a[0], source=up)",
     "    comm.Sendrecv(a[-2], dest=down, recvbuf=a[0], source=up)\n    a[1] = a[0]",
     "rank 0's interior rows changed"),
], ids=["sends-last-row-up", "one-sendrecv-only", "writes-the-boundary", "writes-the-interior"])
def test_check_halo_exchange_rejects(solution_program: Path, old: str, new: str, message: str,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    wrong = variant(solution_program, old, new)
    with pytest.raises(checks.CheckFailed, match=message):
        checks.check_halo_exchange(str(wrong))
    assert "NOT YET" not in capsys.readouterr().out  # said once: in the exception


def test_check_halo_exchange_names_a_deadlock_within_seconds(solution_program: Path) -> None:
    """Both receives before any send: every rank waits for a neighbour that waits too. The
    check says so within its timeout (it used to wait 120 s and then name no mistake)."""
    old = "    comm.Sendrecv(a[1], dest=up"
    wrong = variant(solution_program, old, "    comm.Recv(a[-1], source=down)\n"
                    "    comm.Recv(a[0], source=up)\n" + old)
    start = time.perf_counter()
    with pytest.raises(checks.CheckFailed, match="a deadlock, every rank blocked in a receive"):
        checks.check_halo_exchange(str(wrong), timeout=8)
    assert time.perf_counter() - start < 30


def test_unfilled_gap_surfaces_as_not_implemented(tmp_path: Path) -> None:
    use_mpi()
    path = tmp_path / "halo.py"
    path.write_text(program(SCALE / "tutorial" / "1_MPI_Halo.ipynb"))
    with pytest.raises(NotImplementedError, match=r"exercise: one comm\.Sendrecv per direction"):
        checks.check_halo_exchange(str(path))
    with pytest.raises(NotImplementedError, match="exercise: rows // size"):
        mpi.load_script(path).split_rows(10, 2, 0)


def test_mpirun_names_the_failing_rank_error(tmp_path: Path) -> None:
    use_mpi()
    script = tmp_path / "fails.py"
    script.write_text("from mpi4py import MPI\n"
                      "if MPI.COMM_WORLD.rank == 1:\n    1 / 0\n"
                      "MPI.COMM_WORLD.Barrier()\n")
    with pytest.raises(mpi.MPIRunFailed, match="a rank failed: ZeroDivisionError"):
        mpi.mpirun(script, ranks=2, quiet=True, timeout=60)


def test_mpirun_stops_a_deadlock_and_its_ranks(tmp_path: Path) -> None:
    use_mpi()
    script = tmp_path / "deadlock_probe.py"
    script.write_text("from mpi4py import MPI\ncomm = MPI.COMM_WORLD\ncomm.recv(source=1 - comm.rank)\n")
    with pytest.raises(mpi.MPIRunFailed, match="did not finish within 3 s: a deadlock"):
        mpi.mpirun(script, ranks=2, quiet=True, timeout=3)
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True).stdout
    assert str(script) not in ps, "ranks of the stopped run are still alive"


def test_load_script_reads_the_file_again(tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    path.write_text("VALUE = 1\n")
    assert mpi.load_script(path).VALUE == 1
    path.write_text("VALUE = 2\n")
    assert mpi.load_script(path).VALUE == 2
    with pytest.raises(FileNotFoundError, match="run the %%writefile cell"):
        mpi.load_script(tmp_path / "missing.py")


def test_jax_sharding_checks_on_4_host_devices() -> None:
    use_backend("jax-3x3")
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=4", "JAX_PLATFORMS": "cpu"}
    done = subprocess.run([sys.executable, str(ROOT / "tests" / "sharding_cases.py")], capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    outcomes = json.loads(done.stdout.strip().splitlines()[-1])
    assert outcomes.pop("devices") == 4
    expected = {
        "shard_rows": "correct",
        "shard_replicated": "replicated",
        "shard_columns": "split the rows",
        "halo_rows": "correct",
        "halo_swapped": "device 0: the row below holds [0. 0. 0.]..., expected device 1's first row",
        "halo_no_boundary": "device 0: the row above holds",
        "halo_no_halo": "expected 5 x 5",
        "advance": "correct",
        "advance_no_feed": "value at",
        "advance_gathered": "lives on 1 device",
        "advance_padded": "that is the padded shape",
    }
    assert outcomes.keys() == expected.keys()
    for case, fragment in expected.items():
        assert fragment in outcomes[case], f"{case}: {outcomes[case]}"


def test_check_school_seconds() -> None:
    run = school.school_run()

    def right(ms, rows, cols):  # type: ignore[no-untyped-def]
        return ms / 1e3 * run.steps * run.cells / (rows * cols)

    assert checks.check_school_seconds(right)
    with pytest.raises(checks.CheckFailed, match="milliseconds, not seconds"):
        checks.check_school_seconds(lambda ms, r, c: right(ms, r, c) * 1e3)
    with pytest.raises(checks.CheckFailed, match="times as many cells"):
        checks.check_school_seconds(lambda ms, r, c: ms / 1e3 * run.steps)
    with pytest.raises(checks.CheckFailed, match="the run has 1000 frames of 32 steps"):
        checks.check_school_seconds(lambda ms, r, c: right(ms, r, c) / run.steps_per_frame)
    with pytest.raises(checks.CheckFailed, match="expected a number"):
        checks.check_school_seconds(lambda ms, r, c: str(right(ms, r, c)))


def test_school_table_round_trip_and_readme() -> None:
    run = school.school_run()
    assert (run.rows, run.cols, run.steps) == (1080, 1920, 32_000)  # the 32 x 1000, 1920 x 1080
    assert {r.machine for r in school.results("gpu")} == {"NVIDIA A100"}
    for r in school.results():
        assert r.backend in backends.names()
        assert school.projected_seconds(r.ms_per_step(run), run.rows, run.cols) == pytest.approx(r.seconds)
    # 1 ms/step on a quarter of the cells: the school's grid would take 4 times as long
    quarter, full = school.projected_seconds(1.0, 540, 960), school.projected_seconds(1.0, 1080, 1920)
    assert quarter == pytest.approx(4 * full)
    readme = (ROOT / "README.md").read_text()
    assert school.to_markdown() in readme, "README's school table is stale: python -m grayscott.school"


def test_reference_run_is_the_model_and_stays_small() -> None:
    from grayscott.h5io import read_frames

    results = LABS / "results"
    frames, attrs = read_frames(results / "reference.h5")
    assert bool(attrs["completed"]) and int(attrs["frames_written"]) == frames.shape[0]
    params = model.Params(rows=int(attrs["rows"]), cols=int(attrs["cols"]))
    assert frames.shape[1:] == params.shape
    ref = backends.create("numpy", params)
    ref.load(*model.initial_state(params))
    for index in range(2):  # the first frames again, from the model as it is now
        ref.advance(int(attrs["steps_per_frame"]))
        assert np.abs(frames[index] - ref.fetch_v()).max() <= model.tolerance("float32"), index
    assert float(frames[-1].max()) > 0.1  # a pattern, not an empty grid
    for name in ("reference.h5", "reference.png", "reference.gif", "reference.mp4"):
        assert (results / name).stat().st_size < 8_000_000, f"{name} is too large to commit"
