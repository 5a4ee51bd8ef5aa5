"""The lab notebooks: committed clean, solutions run, tutorials stop at their first gap, checks judge.

Notebooks run with nbclient in a fresh kernel (the venv's Python) under
``GRAYSCOTT_LAB_SIZE=tiny``, from a temporary directory (no reliance on relative paths).
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import numpy as np
import pytest

from grayscott import backends, hardware, model
from grayscott.labs import build, checks, gpu, size
from tests.conftest import REQUIRED, use_backend

# These tests use the GPU where there is one (the unit suite hides it from the others).
pytestmark = pytest.mark.gpu

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

LABS = Path(__file__).resolve().parents[1] / "labs"
SOLUTIONS = build.solution_notebooks(LABS)
TUTORIALS = [build.tutorial_path(p) for p in SOLUTIONS]
ALL_NOTEBOOKS = sorted(LABS.rglob("*.ipynb"))
#: Backends each notebook needs (beyond numpy), by day and file-name prefix: skipped without them.
NEEDS = {"cpu/4_": ("numba", "numba-parallel"), "cpu/5_": ("jax-3x3",), "cpu/6_": ("jax-3x3", "jax-generic"),
         "gpu/1_": ("jax-3x3",), "gpu/5_": ("jax-3x3",), "gpu/6_": ("numba",), "scale/2_": ("jax-3x3",)}
#: Notebooks that start MPI programs (mpiexec from the mpi extra, which `make test` installs).
MPI_NOTEBOOKS = ("scale/1_",)
#: What a solution's output must show when it ends with something else than a comparison.
EXPECTED_OUTPUT = {"scale/3_": ("measured here: numpy ",)}
#: What a notebook's prose claims about what it measures, as a pattern its output must match
#: (claims about speed are printed from the notebook's own timings instead, never asserted).
PROSE_CLAIMS = {
    # compile vs run: the first call's cost, from the chart's own timings
    "cpu/4_": (r"measured: the first call took [\d.]+ ms, \d+x a later call",),
    # and "XLA first copies every shifted slice out of the buffer": more loop fusions in place
    "cpu/6_": (r"measured: the first call took [\d.]+ ms, \d+x a later call",
               r"in place: [1-9]\d* more fusions"),
    # batch sizes and frames per call: the verdicts printed from the notebook's own timings
    "gpu/1_": (r"measured on \w+: a batch of 4 costs [\d.e+-]+ ms per grid and step",
               r"measured: per frame, fori_loop [\d.e+-]+ ms, scan [\d.e+-]+ ms: .*same frames: True"),
    # the gap between copying every step and the fused loop, taken apart from its own timings
    # (a part whose runs overlap is said to be not measurable, never read from two medians)
    "gpu/5_": (r"the copies +([\d.]+ ms/step|not measurable here)",
               r"the per-step calls +([\d.]+ ms/step|not measurable here)",
               r"the larger part here: the (copies|per-step calls)|neither part stands out"),
}
#: What a GPU-day notebook stops for at its first cell, when one of its backends cannot run:
#: NeedsGPU for the GPU-only libraries, NeedsLibrary for PyTorch (it runs on a CPU, if installed).
STOPS = {"gpu/2_": ("NeedsGPU", ("cupy", "cupy-fused")), "gpu/3_": ("NeedsLibrary", ("torch",)),
         "gpu/4_": ("NeedsGPU", ("cupynumeric",))}
TIME_LIMIT_S = 60


def _lookup(table: dict[str, tuple[str, ...]], path: Path) -> tuple[str, ...]:
    key = f"{path.parent.parent.name}/{path.name}"
    return next((v for k, v in table.items() if key.startswith(k)), ())


def needs(path: Path) -> tuple[str, ...]:
    return ("numpy", *_lookup(NEEDS, path))


def use_mpi() -> None:
    """MPI is part of the test extras: missing, it is a broken install, not a reason to skip."""
    from grayscott.labs import mpi

    try:
        mpi.require_mpi()
    except mpi.NeedsMPI as exc:
        pytest.fail(f"{exc} (`make test` installs the mpi extra)")


#: A comparison in a cell's printed output: a ratio such as "2.09x" or "x24.2" (grids such as
#: 64x96 have no decimal point), or the verdict of overlapping runs
COMPARISON = re.compile(r"\b\d+\.\d+x\b|\bx\d+\.\d+\b|no measurable difference")


def stop_expected(path: Path) -> tuple[str, str] | None:
    """For a notebook with a gate: (exception, message) it must stop with here, or None when
    it must run fully."""
    if not (gate := _lookup(STOPS, path)):
        return None
    stop, names = gate
    if stop == "NeedsGPU" and (reason := hardware.gpu_reason()) is not None:
        return stop, "and this machine has none"
    for name in names:
        reason = backends.get(name).unavailable_reason()
        if reason is not None:
            if name in REQUIRED:
                pytest.fail(f"required backend {name} is unavailable: {reason}")
            say = gpu.message if stop == "NeedsGPU" else gpu.library_message
            return stop, say(name, reason)
    return None


def assert_stopped(nb: object, failure: pytest.ExceptionInfo[Exception], expected: tuple[str, str]) -> None:
    """The notebook stopped in its first code cell with the expected exception, whose one line
    (no frames, not printed twice) says what is missing and why."""
    stop, message = expected
    assert failure.value.ename == stop, failure.value  # type: ignore[attr-defined]
    code = [c for c in nb.cells if c.cell_type == "code"]  # type: ignore[attr-defined]
    errors = [o for o in code[0].outputs if o.get("output_type") == "error"]
    assert errors, "did not stop at the first cell"
    assert all(c.outputs == [] for c in code[1:]), "cells after the gate ran"
    assert len(errors[0].traceback) == 1 and message in errors[0].traceback[0], errors[0].traceback
    assert not any(o.get("output_type") == "stream" for o in code[0].outputs), "said twice"


def execute(path: Path, nb: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> float:
    """Run ``nb`` (read from ``path``) in place; its cells get their outputs, errors included."""
    for name in needs(path):
        use_backend(name)
    if any(f"{path.parent.parent.name}/{path.name}".startswith(k) for k in MPI_NOTEBOOKS):
        use_mpi()
    monkeypatch.setenv("GRAYSCOTT_LAB_SIZE", "tiny")
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "numba-cache"))
    monkeypatch.setenv("MPLBACKEND", "agg")
    client = nbclient.NotebookClient(nb, timeout=TIME_LIMIT_S, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    start = time.perf_counter()
    try:
        client.execute()
    finally:
        elapsed = time.perf_counter() - start
        print(f"{path.relative_to(LABS)}: {elapsed:.1f} s")
    return elapsed


def test_the_six_cpu_notebooks_exist() -> None:
    names = [p.name for p in SOLUTIONS if p.parent.parent.name == "cpu"]
    assert names == ["1_Optimization.ipynb", "2_Numpy.ipynb", "3_Python_Implementation.ipynb",
                     "4_Numba_Implementation.ipynb", "5_JAX.ipynb", "6_JAX_Implementation.ipynb"]
    assert all(t.exists() for t in TUTORIALS)


def test_the_six_gpu_notebooks_exist() -> None:
    names = [p.name for p in SOLUTIONS if p.parent.parent.name == "gpu"]
    assert names == ["1_JAX_GPU.ipynb", "2_CuPy.ipynb", "3_PyTorch.ipynb", "4_cuPyNumeric.ipynb",
                     "5_Data_Residency.ipynb", "6_Numba_CUDA.ipynb"]
    for path in SOLUTIONS:  # a gated notebook checks for its GPU or library in its first code cell
        if gate := _lookup(STOPS, path):
            first = next(c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
            gate_call = "require_gpu(" if gate[0] == "NeedsGPU" else "require_library("
            assert first.source.startswith(("from grayscott.labs import require_", gate_call)), path
            assert gate_call in first.source.split("\n\n")[1], path


def test_the_three_scale_notebooks_exist() -> None:
    names = [p.name for p in SOLUTIONS if p.parent.parent.name == "scale"]
    assert names == ["1_MPI_Halo.ipynb", "2_JAX_Sharding.ipynb", "3_Speed_Ladder.ipynb"]


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=lambda p: str(p.relative_to(LABS)))
def test_notebook_committed_without_outputs(path: Path) -> None:
    raw = json.loads(path.read_text(encoding="utf-8"))
    for index, cell in enumerate(raw["cells"]):
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [], f"cell {index} has outputs: clear them before committing"
            assert cell["execution_count"] is None, f"cell {index} has an execution count"


@pytest.mark.parametrize("solution", SOLUTIONS, ids=lambda p: str(p.relative_to(LABS)))
def test_tutorial_is_the_generator_output(solution: Path) -> None:
    tutorial = build.tutorial_path(solution)
    assert tutorial.read_text(encoding="utf-8") == build.render_tutorial(solution), \
        f"{tutorial} is stale: run `make labs`"


@pytest.mark.parametrize("solution", SOLUTIONS, ids=lambda p: str(p.relative_to(LABS)))
def test_solution_notebook_runs(solution: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    nb = nbformat.read(solution, as_version=4)
    stop = stop_expected(solution)
    if stop is not None:  # no GPU (or library) here: the run stops at the first cell, clearly
        with pytest.raises(nbclient.exceptions.CellExecutionError) as failure:
            execute(solution, nb, tmp_path, monkeypatch)
        assert_stopped(nb, failure, stop)
        return
    elapsed = execute(solution, nb, tmp_path, monkeypatch)
    assert elapsed < TIME_LIMIT_S
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "correct (" in text, "no check cell reported a correct answer"
    assert "NOT YET" not in text
    for expected in _lookup(EXPECTED_OUTPUT, solution) or (": agree",):
        assert expected in text, f"{expected!r} is not in the output"
    for claim in _lookup(PROSE_CLAIMS, solution):
        assert re.search(claim, text), f"the prose's claim {claim!r} does not hold here:\n{text}"
    for cell in (c for c in nb.cells if c.cell_type == "code"):
        kinds = [o.output_type for o in cell.outputs]
        if cell.source.lstrip().startswith("checks.check_"):  # a pass prints; no bare True
            assert "execute_result" not in kinds, cell.source
        chart = any("image/png" in o.get("data", {}) for o in cell.outputs)
        # a printed comparison (a ratio, or "no measurable difference") stands on a chart of
        # repeats, never on one printed number (issue #23); compare_with_backend and
        # show(repeat(...)) print one whenever they run (a cell may skip them: gpu/6 without a GPU)
        said = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
        if found := COMPARISON.search(said):
            assert chart, f"a comparison without a chart of repeats: {found[0]!r} under:\n{cell.source}"


def test_a_wrong_answer_reads_as_one_line_in_the_notebook(tmp_path: Path) -> None:
    """In a real kernel: a wrong answer is one line (no frames of the checks package, not twice),
    a right one prints "correct" and leaves no ``True`` under the cell."""
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("from grayscott.labs import checks\n"
                                  "def interior(a):\n    return a[1:-1, 1:]"),
        nbformat.v4.new_code_cell("checks.check_interior_view(interior)"),
        nbformat.v4.new_code_cell("checks.check_interior_view(lambda a: a[1:-1, 1:-1])"),
    ])
    client = nbclient.NotebookClient(nb, timeout=TIME_LIMIT_S, kernel_name="python3",
                                     allow_errors=True,
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    wrong, right = nb.cells[1].outputs, nb.cells[2].outputs
    assert [o.output_type for o in wrong] == ["error"] and wrong[0].ename == "CheckFailed"
    assert len(wrong[0].traceback) == 1 and "NOT YET" in wrong[0].traceback[0]
    assert "grayscott/labs/checks" not in wrong[0].traceback[0]
    assert [o.output_type for o in right] == ["stream"] and "correct (" in right[0].text


def first_gap(nb: object) -> int:
    for index, cell in enumerate(nb.cells):  # type: ignore[attr-defined]
        if cell.cell_type == "code" and "raise NotImplementedError(\"exercise: " in cell.source:
            return index
    raise AssertionError("the tutorial has no gap")


@pytest.mark.parametrize("tutorial", TUTORIALS, ids=lambda p: str(p.relative_to(LABS)))
def test_tutorial_stops_at_its_first_gap(tutorial: Path, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    nb = nbformat.read(tutorial, as_version=4)
    gap = first_gap(nb)
    stop = stop_expected(tutorial)
    with pytest.raises(nbclient.exceptions.CellExecutionError) as failure:
        execute(tutorial, nb, tmp_path, monkeypatch)
    if stop is not None:
        assert_stopped(nb, failure, stop)
        return
    assert failure.value.ename == "NotImplementedError", failure.value
    assert "exercise: " in failure.value.evalue
    failed = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"
              and any(o.get("output_type") == "error" for o in c.outputs)]
    next_code = next(i for i in range(gap + 1, len(nb.cells)) if nb.cells[i].cell_type == "code")
    assert failed and failed[0] in (gap, next_code), \
        f"failed at cell {failed}, the first gap is cell {gap} (its check is cell {next_code})"


# --- the generator -------------------------------------------------------------------------

def test_strip_solutions_keeps_indentation_and_hint() -> None:
    source = ('def f(x):\n    ### BEGIN SOLUTION: return "x" doubled\n    return 2 * x\n'
              '    ### END SOLUTION\nprint(f(1))')
    out, gaps = build.strip_solutions(source)
    assert gaps == 1
    assert out == ('def f(x):\n    # YOUR CODE HERE\n'
                   '    raise NotImplementedError("exercise: return \\"x\\" doubled")\nprint(f(1))')
    compile(out, "cell", "exec")


@pytest.mark.parametrize("source", [
    "### BEGIN SOLUTION: a\nx = 1\n",                               # no END
    "x = 1\n### END SOLUTION\n",                                    # no BEGIN
    "### BEGIN SOLUTION\nx = 1\n### END SOLUTION\n",                # no hint
    "### BEGIN SOLUTION: a\n### BEGIN SOLUTION: b\n### END SOLUTION\n",
])
def test_strip_solutions_rejects_bad_markup(source: str) -> None:
    with pytest.raises(build.SolutionMarkupError):
        build.strip_solutions(source)


def test_build_check_mode(tmp_path: Path) -> None:
    solutions = tmp_path / "cpu" / "solutions"
    solutions.mkdir(parents=True)
    (solutions / "1_X.ipynb").write_bytes(SOLUTIONS[0].read_bytes())
    assert build.main(["--labs", str(tmp_path), "--check"]) == 1  # no tutorial yet
    assert build.main(["--labs", str(tmp_path)]) == 0
    assert build.main(["--labs", str(tmp_path), "--check"]) == 0
    assert "YOUR CODE HERE" in (tmp_path / "cpu" / "tutorial" / "1_X.ipynb").read_text()


# --- grid size ------------------------------------------------------------------------------

def test_grid_size_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GRAYSCOTT_LAB_SIZE", raising=False)
    assert size.grid_size() == (1080, 1920)
    assert size.by_size(tiny=1, small=2, full=3) == 3
    monkeypatch.setenv("GRAYSCOTT_LAB_SIZE", "tiny")
    assert size.grid_size() == (64, 96)
    assert size.lab_params().shape == (64, 96)
    assert size.by_size(tiny=1, small=2, full=3) == 1
    monkeypatch.setenv("GRAYSCOTT_LAB_SIZE", "Small")
    assert size.grid_size() == (270, 480)
    monkeypatch.setenv("GRAYSCOTT_LAB_SIZE", "huge")
    with pytest.raises(Exception, match="huge"):
        size.grid_size()


def test_the_gpu_day_on_a_cpu_takes_the_small_grid_unless_told(monkeypatch: pytest.MonkeyPatch,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(size, "_device_default", None)
    monkeypatch.delenv("GRAYSCOTT_LAB_SIZE", raising=False)
    assert size.size_for_device(on_gpu=False) == "small"
    assert size.grid_size() == (270, 480) and size.by_size(tiny=1, small=2, full=3) == 2
    assert "no GPU: the small grid (270x480)" in capsys.readouterr().out
    assert size.size_for_device(on_gpu=True) == "full" and size.grid_size() == (1080, 1920)
    assert capsys.readouterr().out == ""
    monkeypatch.setenv("GRAYSCOTT_LAB_SIZE", "full")  # a teacher who wants the school's grid
    assert size.size_for_device(on_gpu=False) == "full" and capsys.readouterr().out == ""


# --- the checks judge right and wrong answers ------------------------------------------------

def lap_right(a):  # type: ignore[no-untyped-def]
    return model.laplacian(a)


def lap_centre_minus_4(a):  # type: ignore[no-untyped-def]
    return model.laplacian(a) + 4.0 * a[1:-1, 1:-1]


def lap_writes_frame(a):  # type: ignore[no-untyped-def]
    a[0, :] = 0.0
    return model.laplacian(a)


def lap_float64(a):  # type: ignore[no-untyped-def]
    return model.laplacian(a.astype(np.float64))


def lap_padded(a):  # type: ignore[no-untyped-def]
    out = np.zeros_like(a)
    out[1:-1, 1:-1] = model.laplacian(a)
    return out


def lap_nan(a):  # type: ignore[no-untyped-def]
    out = model.laplacian(a)
    out[3, 4] = np.nan
    return out


def lap_forgot_centre(a):  # type: ignore[no-untyped-def]
    return model.laplacian(a) + 8.0 * a[1:-1, 1:-1]


def lap_five_point(a):  # type: ignore[no-untyped-def]
    """The course's own stencil, the other lab's: centre -4 and the four nearest."""
    return (a[:-2, 1:-1] + a[2:, 1:-1] + a[1:-1, :-2] + a[1:-1, 2:]) - 4.0 * a[1:-1, 1:-1]


def lap_nw_typed_as_n(a):  # type: ignore[no-untyped-def]
    """A slice that keeps the shape but points at the wrong neighbour."""
    return model.laplacian(a) - a[:-2, :-2] + a[:-2, 1:-1]


def lap_slice_one_short(a):  # type: ignore[no-untyped-def]
    return a[:-2, 1:-1] + a[2:, 1:] - 8.0 * a[1:-1, 1:-1]


def lap_float64_scalar(a):  # type: ignore[no-untyped-def]
    return model.laplacian(a) * np.float64(1.0)


@pytest.mark.parametrize(("fn", "message"), [
    (lap_centre_minus_4, "centre weight of -4 instead of -8"),
    (lap_forgot_centre, "centre weight of 0 instead of -8"),
    (lap_five_point, "that is the 5-point stencil"),
    (lap_nw_typed_as_n, "weights NW 0, N 2 where the model has NW 1, N 1"),
    (lap_slice_one_short, "slices do not all have the interior's shape"),
    (lap_writes_frame, "modified its input"),
    (lap_padded, "padded shape"),
    (lap_nan, r"NaN/inf values, the first at cell \(3, 4\)"),
])
def test_check_laplacian_rejects(fn, message: str, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(checks.CheckFailed, match=message):
        checks.check_laplacian(fn)
    assert "NOT YET" not in capsys.readouterr().out  # said once: in the exception
    assert checks.check_laplacian(fn, raise_on_failure=False) is False


def test_check_laplacian_accepts(capsys: pytest.CaptureFixture[str]) -> None:
    assert checks.check_laplacian(lap_right)
    assert "correct" in capsys.readouterr().out
    # float64 weights (a NumPy scalar, an array from a list of floats) promote the result:
    # the values are right, so the answer is (issue #23: it was refused for its dtype)
    assert checks.check_laplacian(lap_float64_scalar)
    assert checks.check_laplacian(lap_float64)


def step_right(u, v, du, dv, feed, kill, dt):  # type: ignore[no-untyped-def]
    u2, v2 = u.copy(), v.copy()
    u2[1:-1, 1:-1], v2[1:-1, 1:-1] = model.react(u[1:-1, 1:-1], v[1:-1, 1:-1], model.laplacian(u),
                                                 model.laplacian(v), du, dv, feed, kill, dt)
    return u2, v2


def step_no_feed(u, v, du, dv, feed, kill, dt):  # type: ignore[no-untyped-def]
    return step_right(u, v, du, dv, 0.0, kill, dt)


def step_whole_array(u, v, du, dv, feed, kill, dt):  # type: ignore[no-untyped-def]
    u2, v2 = step_right(u, v, du, dv, feed, kill, dt)
    v2[0, 0] = 0.5  # the frame
    return u2, v2


def step_interior_only(u, v, du, dv, feed, kill, dt):  # type: ignore[no-untyped-def]
    u2, v2 = step_right(u, v, du, dv, feed, kill, dt)
    return u2[1:-1, 1:-1], v2[1:-1, 1:-1]


def step_one_array(u, v, du, dv, feed, kill, dt):  # type: ignore[no-untyped-def]
    return step_right(u, v, du, dv, feed, kill, dt)[1]


def step_in_place(u, v, du, dv, feed, kill, dt):  # type: ignore[no-untyped-def]
    """Right values (NumPy evaluates the right-hand side first), but the caller's u and v
    are overwritten: the habit that breaks every loop version."""
    u[1:-1, 1:-1], v[1:-1, 1:-1] = model.react(u[1:-1, 1:-1], v[1:-1, 1:-1], model.laplacian(u),
                                               model.laplacian(v), du, dv, feed, kill, dt)
    return u, v


@pytest.mark.parametrize(("fn", "message"), [
    (step_no_feed, r"value at padded cell \(\d+, \d+\)"),
    (step_whole_array, "boundary frame of v"),
    (step_interior_only, "that is the interior"),
    (step_one_array, "expected a pair"),
    (step_in_place, r"modified its input u \(first at cell"),
])
def test_check_step_rejects(fn, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(checks.CheckFailed, match=message):
        checks.check_step(fn)


def test_check_step_accepts() -> None:
    assert checks.check_step(step_right)
    assert checks.check_step(step_right, steps=3)


def test_check_numba_step() -> None:
    use_backend("numba")
    import numba

    with pytest.raises(checks.CheckFailed, match="plain Python function"):
        checks.check_numba_step(step_right)
    serial = numba.njit(_numba_step)
    assert checks.check_numba_step(serial)
    with pytest.raises(checks.CheckFailed, match="parallel=True"):
        checks.check_numba_step(serial, parallel=True)
    wrong = numba.njit(_numba_step_wrong)
    with pytest.raises(checks.CheckFailed, match=r"modified its input u .*write the copies"):
        checks.check_numba_step(wrong)


def _numba_step(u, v, du, dv, feed, kill, dt):  # type: ignore[no-untyped-def]
    u2, v2 = u.copy(), v.copy()
    for i in range(1, u.shape[0] - 1):
        for j in range(1, u.shape[1] - 1):
            lu = (u[i - 1, j - 1] + u[i - 1, j] + u[i - 1, j + 1] + u[i, j - 1] - 8.0 * u[i, j]
                  + u[i, j + 1] + u[i + 1, j - 1] + u[i + 1, j] + u[i + 1, j + 1])
            lv = (v[i - 1, j - 1] + v[i - 1, j] + v[i - 1, j + 1] + v[i, j - 1] - 8.0 * v[i, j]
                  + v[i, j + 1] + v[i + 1, j - 1] + v[i + 1, j] + v[i + 1, j + 1])
            uvv = u[i, j] * v[i, j] * v[i, j]
            u2[i, j] = u[i, j] + dt * (du * lu - uvv + feed * (1.0 - u[i, j]))
            v2[i, j] = v[i, j] + dt * (dv * lv + uvv - (feed + kill) * v[i, j])
    return u2, v2


def _numba_step_wrong(u, v, du, dv, feed, kill, dt):  # type: ignore[no-untyped-def]
    u2, v2 = u.copy(), v.copy()
    for i in range(1, u.shape[0] - 1):
        for j in range(1, u.shape[1] - 1):  # updates in place: reads new neighbours
            u[i, j] = u[i, j] + dt * du * (u[i - 1, j] + u[i + 1, j] - 2.0 * u[i, j])
            u2[i, j] = u[i, j]
    return u2, v2


def test_notebook_1_checks(capsys: pytest.CaptureFixture[str]) -> None:
    import timeit
    import tracemalloc

    def time_ms(fn, *args, number=10):  # type: ignore[no-untyped-def]
        return 1e3 * timeit.timeit(lambda: fn(*args), number=number) / number

    def time_seconds(fn, *args, number=10):  # type: ignore[no-untyped-def]
        return timeit.timeit(lambda: fn(*args), number=number) / number

    def peak(fn, *args):  # type: ignore[no-untyped-def]
        tracemalloc.start()
        try:
            fn(*args)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    def current(fn, *args):  # type: ignore[no-untyped-def]
        tracemalloc.start()
        try:
            fn(*args)
            return tracemalloc.get_traced_memory()[0]  # after the call: the temporaries are gone
        finally:
            tracemalloc.stop()

    assert checks.check_time_ms(time_ms)
    with pytest.raises(checks.CheckFailed, match="seconds"):
        checks.check_time_ms(time_seconds)

    def time_total_ms(fn, *args, number=10):  # type: ignore[no-untyped-def]
        return 1e3 * timeit.timeit(lambda: fn(*args), number=number)  # forgot / number

    with pytest.raises(checks.CheckFailed, match="total of all 12 calls"):
        checks.check_time_ms(time_total_ms)
    assert checks.check_peak_bytes(peak)
    with pytest.raises(checks.CheckFailed, match="two live 8 MB arrays measured"):
        checks.check_peak_bytes(current)


def test_notebook_2_checks() -> None:
    def diffuse(x, d):  # type: ignore[no-untyped-def]
        out = x.copy()
        out[1:-1] = x[1:-1] + d * (x[:-2] - 2 * x[1:-1] + x[2:])
        return out

    def diffuse_in_place(x, d):  # type: ignore[no-untyped-def]
        x[1:-1] = x[1:-1] + d * (x[:-2] - 2 * x[1:-1] + x[2:])
        return x

    def diffuse_shifted(x, d):  # type: ignore[no-untyped-def]
        out = x.copy()
        out[1:-1] = x[1:-1] + d * (x[:-2] - 2 * x[1:-1] + x[1:-1])
        return out

    assert checks.check_diffuse_1d(diffuse)
    with pytest.raises(checks.CheckFailed, match="modified its input"):
        checks.check_diffuse_1d(diffuse_in_place)
    with pytest.raises(checks.CheckFailed, match=r"value at index \("):
        checks.check_diffuse_1d(diffuse_shifted)

    assert checks.check_interior_view(lambda a: a[1:-1, 1:-1])
    with pytest.raises(checks.CheckFailed, match="is a copy"):
        checks.check_interior_view(lambda a: a[1:-1, 1:-1].copy())
    with pytest.raises(checks.CheckFailed, match="shape"):
        checks.check_interior_view(lambda a: a[1:, 1:])

    from concurrent.futures import ThreadPoolExecutor

    def threaded(fn, args):  # type: ignore[no-untyped-def]
        with ThreadPoolExecutor(len(args)) as pool:
            return list(pool.map(fn, args))

    assert checks.check_threaded(threaded)
    with pytest.raises(checks.CheckFailed, match="calling thread"):
        checks.check_threaded(lambda fn, args: [fn(a) for a in args])
    with pytest.raises(checks.CheckFailed, match="argument order"):
        checks.check_threaded(lambda fn, args: threaded(fn, args)[::-1])


def test_jax_checks() -> None:
    use_backend("jax-3x3")
    import jax
    import jax.numpy as jnp
    from jax import lax
    from jax.scipy.signal import correlate2d

    def set_frame(a, value):  # type: ignore[no-untyped-def]
        a = a.at[0, :].set(value).at[-1, :].set(value)
        return a.at[:, 0].set(value).at[:, -1].set(value)

    def set_frame_mutating(a, value):  # type: ignore[no-untyped-def]
        a[0, :] = value
        return a

    assert checks.check_jax_set_frame(set_frame)
    with pytest.raises(checks.CheckFailed, match="immutable"):
        checks.check_jax_set_frame(set_frame_mutating)
    with pytest.raises(checks.CheckFailed, match=r"value at padded cell \(\d+, 0\)"):
        checks.check_jax_set_frame(lambda a, value: a.at[0, :].set(value).at[-1, :].set(value))

    def power_loop(x, n):  # type: ignore[no-untyped-def]
        r = jnp.ones_like(x)
        for _ in range(n):
            r = r * x
        return r

    assert checks.check_jax_power(jax.jit(power_loop, static_argnums=1))
    with pytest.raises(checks.CheckFailed, match="make n static"):
        checks.check_jax_power(jax.jit(power_loop))
    with pytest.raises(checks.CheckFailed, match="not jitted"):
        checks.check_jax_power(power_loop)
    with pytest.raises(checks.CheckFailed, match="never an array: static_argnums gives"):
        checks.check_jax_power(jax.jit(power_loop, static_argnums=0))  # the array made static

    coefficients = checks.CHECK_PARAMS.coefficients()

    def body(_, state):  # type: ignore[no-untyped-def]
        u, v = state
        un, vn = model.react(u[1:-1, 1:-1], v[1:-1, 1:-1], model.laplacian(u), model.laplacian(v),
                             *coefficients)
        return u.at[1:-1, 1:-1].set(un), v.at[1:-1, 1:-1].set(vn)

    def repeat(u, v, steps):  # type: ignore[no-untyped-def]
        return lax.fori_loop(0, steps, body, (u, v))

    def repeat_python(u, v, steps):  # type: ignore[no-untyped-def]
        for i in range(steps):
            u, v = body(i, (u, v))
        return u, v

    assert checks.check_jax_fori(repeat)
    with pytest.raises(checks.CheckFailed, match="fori_loop"):
        checks.check_jax_fori(repeat_python)
    with pytest.raises(checks.CheckFailed, match="after 5 steps"):
        checks.check_jax_advance(jax.jit(lambda u, v, n: repeat(u, v, n - 1)))
    assert checks.check_jax_advance(jax.jit(repeat))
    with pytest.raises(checks.CheckFailed, match="is not jitted"):
        checks.check_jax_advance(lambda u, v, n: tuple(np.asarray(a) for a in repeat(u, v, n)))

    assert checks.check_jax_vmap(jax.vmap(model.laplacian))
    with pytest.raises(checks.CheckFailed, match="one Laplacian per grid"):
        checks.check_jax_vmap(lambda stack: model.laplacian(stack[0]))

    assert checks.check_jax_laplacian(lambda a, w: correlate2d(a, w, mode="valid"), generic=True)
    assert checks.check_jax_laplacian(model.laplacian)
    with pytest.raises(checks.CheckFailed, match="5-point"):
        checks.check_jax_laplacian(lambda a, w: model.laplacian(a), generic=True)
    with pytest.raises(checks.CheckFailed, match="centre weight of -9"):
        checks.check_jax_laplacian(lambda a: model.laplacian(a) - a[1:-1, 1:-1])


# --- the GPU day's checks and GPU gate (judged on the CPU: NumPy, JAX and PyTorch arrays) --------

def test_without_a_gpu_the_gate_says_so_before_any_library(monkeypatch: pytest.MonkeyPatch) -> None:
    """A laptop with no GPU and no CuPy: "pip install cupy" would not help, so the stop says the
    machine has no GPU and where the notebook runs instead."""
    monkeypatch.setattr(hardware, "gpu_reason", lambda *a: "no NVIDIA GPU found")
    monkeypatch.setattr(backends.get("cupy"), "unavailable_reason",
                        classmethod(lambda cls: "CuPy is not installed (pip install 'grayscott[cupy]')"))
    with pytest.raises(gpu.NeedsGPU) as stop:
        gpu.require_gpu("cupy", "cupy-fused")
    line = str(stop.value)
    assert "CuPy, and this machine has none (no NVIDIA GPU found)" in line, line
    assert "--target gpu" in line and "hub's GPU profile" in line and "pip install" not in line, line
    assert "\n" not in line


def test_require_gpu_stops_with_a_clear_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hardware, "gpu_reason", lambda *a: None)  # a GPU, but no CuPy
    monkeypatch.setattr(backends.get("cupy"), "unavailable_reason", classmethod(lambda cls: "no GPU here"))
    with pytest.raises(gpu.NeedsGPU,
                       match="This notebook needs an NVIDIA GPU with CuPy: no GPU here") as stop:
        gpu.require_gpu("cupy")
    assert stop.value._render_traceback_() == [f"\x1b[1;31m{stop.value}\x1b[0m"]  # one line
    monkeypatch.setattr(backends.get("numpy"), "unavailable_reason", classmethod(lambda cls: None))
    gpu.require_gpu("numpy")  # available: returns quietly
    assert not issubclass(gpu.NeedsGPU, AssertionError)  # not a CheckFailed: a stop, not a wrong answer


def test_the_pytorch_notebook_stops_with_how_to_install_it_where_torch_is_missing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The cpu images and ``make lab``'s environment have no PyTorch: gpu/3 stops at its first
    cell with one line that says how to get it, instead of a ModuleNotFoundError deep in it.
    Here a ``torch`` that cannot be imported shadows the installed one, in the kernel."""
    shadow = tmp_path / "no-torch"
    (shadow / "torch").mkdir(parents=True)
    (shadow / "torch" / "__init__.py").write_text("raise ImportError(\"No module named 'torch'\")\n")
    paths = [str(shadow), os.environ.get("PYTHONPATH")]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in paths if p))
    path = next(p for p in SOLUTIONS if p.name == "3_PyTorch.ipynb")
    nb = nbformat.read(path, as_version=4)
    with pytest.raises(nbclient.exceptions.CellExecutionError) as failure:
        execute(path, nb, tmp_path, monkeypatch)
    assert_stopped(nb, failure, ("NeedsLibrary", "This notebook needs PyTorch: PyTorch is not installed"))
    assert "pip install torch --index-url" in failure.value.evalue  # type: ignore[attr-defined]


def test_check_device_step() -> None:
    assert checks.check_device_step(step_right, np.asarray)
    with pytest.raises(checks.CheckFailed, match="value at padded cell"):
        checks.check_device_step(step_no_feed, np.asarray)
    with pytest.raises(checks.CheckFailed, match="expected a pair"):
        checks.check_device_step(step_one_array, np.asarray)
    use_backend("torch")
    import torch

    def torch_step(u, v, *c):  # type: ignore[no-untyped-def]
        u2, v2 = u.clone(), v.clone()
        u2[1:-1, 1:-1], v2[1:-1, 1:-1] = model.react(u[1:-1, 1:-1], v[1:-1, 1:-1], model.laplacian(u),
                                                     model.laplacian(v), *c)
        return u2, v2

    assert checks.check_device_step(torch_step, torch.tensor)
    with pytest.raises(checks.CheckFailed, match="keep the state on the device"):
        checks.check_device_step(lambda u, v, *c: tuple(a.numpy() for a in torch_step(u, v, *c)),
                                 torch.tensor)


def test_check_torch_laplacian() -> None:
    use_backend("torch")
    import torch
    import torch.nn.functional as F

    weight = torch.tensor(model.STENCIL_9, dtype=torch.float32).reshape(1, 1, 3, 3)
    assert checks.check_torch_laplacian(lambda a: F.conv2d(a[None, None], weight)[0, 0])
    assert checks.check_torch_laplacian(model.laplacian)
    with pytest.raises(checks.CheckFailed, match="batch and channel axes"):
        checks.check_torch_laplacian(lambda a: F.conv2d(a[None, None], weight))
    with pytest.raises(checks.CheckFailed, match=r"expected a torch\.Tensor"):
        checks.check_torch_laplacian(lambda a: model.laplacian(a.numpy()))
    with pytest.raises(checks.CheckFailed, match="centre weight of -4"):
        checks.check_torch_laplacian(lambda a: model.laplacian(a) + 4.0 * a[1:-1, 1:-1])


def test_jax_gpu_day_checks() -> None:
    use_backend("jax-3x3")
    from functools import partial

    import jax
    from jax import lax

    du, dv, _, _, dt = checks.CHECK_PARAMS.coefficients()

    def advance(u, v, feed, kill, steps):  # type: ignore[no-untyped-def]
        def body(_, s):  # type: ignore[no-untyped-def]
            u, v = s
            un, vn = model.react(u[1:-1, 1:-1], v[1:-1, 1:-1], model.laplacian(u), model.laplacian(v),
                                 du, dv, feed, kill, dt)
            return u.at[1:-1, 1:-1].set(un), v.at[1:-1, 1:-1].set(vn)
        return lax.fori_loop(0, steps, body, (u, v))

    assert checks.check_jax_batch(jax.vmap(advance, in_axes=(0, 0, 0, 0, None)))
    same = jax.vmap(lambda u, v, f, k, n: advance(u, v, 0.014, 0.054, n), in_axes=(0, 0, 0, 0, None))
    with pytest.raises(checks.CheckFailed, match="every grid of the batch is the same"):
        checks.check_jax_batch(same)

    @partial(jax.jit, static_argnums=(2,))
    def run_frames(u, v, frames, per_frame):  # type: ignore[no-untyped-def]
        def one(s, _):  # type: ignore[no-untyped-def]
            u, v = advance(*s, 0.014, 0.054, per_frame)
            return (u, v), v[1:-1, 1:-1]
        (u, v), vs = lax.scan(one, (u, v), length=frames)
        return u, v, vs

    assert checks.check_jax_scan_frames(run_frames)
    with pytest.raises(checks.CheckFailed, match="one interior of V per frame"):
        checks.check_jax_scan_frames(lambda u, v, f, n: (*run_frames(u, v, f, n)[:2],
                                                         run_frames(u, v, f, n)[0]))
    with pytest.raises(checks.CheckFailed, match="expected a triple"):
        checks.check_jax_scan_frames(lambda u, v, f, n: run_frames(u, v, f, n)[:2])

    def host_frames(u, v, frames, per_frame):  # type: ignore[no-untyped-def]
        return np.asarray(run_frames(u, v, frames, per_frame)[2])

    import jax.numpy as jnp

    assert checks.check_host_frames(host_frames, jnp.asarray)
    with pytest.raises(checks.CheckFailed, match="NumPy array on the host"):
        checks.check_host_frames(lambda *a: run_frames(*a)[2], jnp.asarray)
    with pytest.raises(checks.CheckFailed, match=r"frame 0: value at"):
        checks.check_host_frames(lambda u, v, f, n: host_frames(u, v, f, n + 1), jnp.asarray)


def test_check_run_to_file() -> None:
    from grayscott.h5io import FrameWriter

    def overlapped(b, path, frames, per_frame):  # type: ignore[no-untyped-def]
        writer = FrameWriter(path, b.params, frames, {}, force=True)
        for _ in range(frames):
            b.advance(per_frame)
            writer.put(b.fetch_v())
        writer.close({})

    def unclosed(b, path, frames, per_frame):  # type: ignore[no-untyped-def]
        writer = FrameWriter(path, b.params, frames, {}, force=True)
        b.advance(per_frame)
        writer.put(b.fetch_v())
        writer.close({})  # one frame only

    assert checks.check_run_to_file(overlapped)
    with pytest.raises(checks.CheckFailed, match=r"frames of shape \(1, 12, 17\)"):
        checks.check_run_to_file(unclosed)
    with pytest.raises(checks.CheckFailed, match="no file was written"):
        checks.check_run_to_file(lambda *a: None)


def solution_blocks(source: str) -> list[tuple[str, list[str]]]:
    """(hint, answer lines) of each solution block in a cell."""
    blocks: list[tuple[str, list[str]]] = []
    for line in source.split("\n"):
        if begin := build.BEGIN.match(line):
            blocks.append((begin["hint"] or "", []))
        elif build.END.match(line):
            blocks.append(("", []))  # closed: later lines belong to no block
        elif blocks and blocks[-1][0]:
            blocks[-1][1].append(line)
    return [b for b in blocks if b[0]]


@pytest.mark.parametrize("solution", SOLUTIONS, ids=lambda p: str(p.relative_to(LABS)))
def test_hints_lead_without_typing_the_answer(solution: Path) -> None:
    """A tutorial's gap says what to do, not the code: no line of the answer (or the whole
    answer, spaces aside) appears in its hint."""
    def squeeze(text: str) -> str:
        return re.sub(r"\s+", "", text)

    for cell in nbformat.read(solution, as_version=4).cells:
        for hint, answer in solution_blocks(cell.source) if cell.cell_type == "code" else ():
            code = [squeeze(re.sub(r"^\s*(return\s+|[\w\s,.\[\]:-]+?=(?!=))", "", line.split("#")[0]))
                    for line in answer]  # the expression: no "return", no "name ="
            typed = [line for line in code if len(line) >= 14 and line in squeeze(hint)]
            assert not typed, f"the hint {hint!r} types the answer's line {typed[0]!r}"
            whole = "".join(code)
            assert whole not in squeeze(hint), f"the hint {hint!r} is the answer"


def _save_run(layout: str):  # type: ignore[no-untyped-def]
    """A save_run of notebook 3, right or with one typical mistake."""
    import h5py

    coefficients = checks.CHECK_PARAMS.coefficients()

    def save_run(path, u, v, frames, per_frame):  # type: ignore[no-untyped-def]
        rows, cols = u.shape[0] - 2, u.shape[1] - 2
        shape = (frames, rows + 2, cols + 2) if layout == "padded" else (frames, rows, cols)
        with h5py.File(path, "w") as f:
            matrix = f.create_dataset("frames" if layout == "name" else "matrix", shape=shape,
                                      dtype="float64" if layout == "float64" else "float32")
            if layout != "no-attribute":
                matrix.attrs["steps_per_frame"] = per_frame
            for k in range(frames):
                if layout == "before":
                    matrix[k] = v[1:-1, 1:-1]
                for _ in range(per_frame):
                    u, v = step_right(u, v, *coefficients)
                if layout == "padded":
                    matrix[k] = v
                elif layout not in ("before", "never"):
                    matrix[k] = v[1:-1, 1:-1]
    return save_run


@pytest.mark.parametrize(("layout", "message"), [
    ("padded", "that is the padded grid"),
    ("before", "frame 0 is the initial state"),
    ("never", "only zeros"),
    ("float64", "expected float32"),
    ("no-attribute", "the attribute steps_per_frame is None"),
    ("name", "no dataset 'matrix' (it has: ['frames'])"),
])
def test_check_save_run_names_the_mistake(layout: str, message: str) -> None:
    with pytest.raises(checks.CheckFailed, match=re.escape(message)):
        checks.check_save_run(_save_run(layout))


def test_check_save_run_accepts_the_school_layout() -> None:
    assert checks.check_save_run(_save_run("right"))
