"""The C kernels compiled at run time: found compiler, cache, and clean refusals without one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from grayscott import model, native
from grayscott.errors import BackendUnavailable
from tests.conftest import run_cli, use_backend


def test_folded_coefficients_are_the_models_update() -> None:
    """c-blocked's five constants expand ``model.react`` with lap = box - 9 x centre."""
    from grayscott.backends.c_blocked import folded_coefficients

    params = model.Params(du=0.13, dv=0.07, feed=0.02, kill=0.06, dt=0.9, dtype="float64")
    au, bu, cu, av, bv, dt = folded_coefficients(params)
    rng = np.random.default_rng(0)
    u, v, box_u, box_v = rng.uniform(0.0, 1.0, (4, 1000)) * np.array([[1], [1], [9], [9]])
    want_u, want_v = model.react(u, v, box_u - 9 * u, box_v - 9 * v, *params.coefficients())
    assert np.allclose(au * u + bu * box_u - dt * u * v * v + cu, want_u, rtol=0, atol=1e-14)
    assert np.allclose(av * v + bv * box_v + dt * u * v * v, want_v, rtol=0, atol=1e-14)


def test_compiled_once_then_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    use_backend("c-blocked")
    monkeypatch.setenv("GRAYSCOTT_CACHE", str(tmp_path))
    native.load.cache_clear()
    try:
        native.load("c_loop.c", ("REAL=float",))
        built = sorted((tmp_path / "native").glob("c_loop-*.so"))
        assert len(built) == 1
        mtime = built[0].stat().st_mtime_ns
        native.load.cache_clear()
        native.load("c_loop.c", ("REAL=float",))
        assert sorted((tmp_path / "native").glob("*.so")) == built
        assert built[0].stat().st_mtime_ns == mtime
    finally:
        native.load.cache_clear()


def test_no_compiler_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("CC", raising=False)
    reason = native.unavailable_reason()
    assert reason is not None and "C compiler" in reason and "\n" not in reason


def test_failing_compiler_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "badcc"
    fake.write_text("#!/bin/sh\necho 'badcc: error: no such target' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("CC", str(fake))
    monkeypatch.setenv("GRAYSCOTT_CACHE", str(tmp_path / "cache"))
    native.load.cache_clear()
    try:
        with pytest.raises(BackendUnavailable, match="no such target"):
            native.load("c_loop.c", ("REAL=float",))
    finally:
        native.load.cache_clear()


def test_bench_without_compiler_lists_the_c_rows_as_unavailable(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """``grayscott bench`` with no compiler on the PATH: the C rows say why, numpy still runs."""
    import sys

    monkeypatch.setenv("PATH", str(Path(sys.executable).parent))
    monkeypatch.delenv("CC", raising=False)
    done = run_cli("bench", "-b", "numpy,c-openmp", "--rows", "32", "--cols", "32",
                   "--min-seconds", "0.05", "--repeat", "1", "--no-save")
    assert done.returncode == 0, done.stderr
    assert "c-openmp (reference) | unavailable: no C compiler" in done.stdout
    assert "| numpy | cpu |" in done.stdout


def _c_blocked_run(params: model.Params, u0: np.ndarray, v0: np.ndarray, steps: int, *,
                   bands: int, depth: int, defines: tuple[str, ...] = ()) -> tuple[np.ndarray, ...]:
    from grayscott.backends.c_blocked import CBlockedBackend

    cls = type("CBlockedVariant", (CBlockedBackend,), {"defines": defines, "depth": depth})
    b = cls(params)
    b.load(u0, v0)
    b.set_bands(bands)
    b.advance(steps // 3)
    b.advance(steps - steps // 3)
    return b.fetch_state()


@pytest.mark.parametrize(("rows", "cols", "steps", "bands", "depth"), [
    (64, 96, 37, 4, 8),   # steps not a multiple of the depth: a shorter last pass
    (5, 7, 20, 4, 8),     # fewer rows than the depth, a partial vector in every row
    (3, 40, 9, 8, 3),     # more bands asked than rows
    (97, 33, 16, 1, 16),  # one band, a deep pass
])
def test_c_blocked_bands_and_depth_change_nothing(rows: int, cols: int, steps: int, bands: int,
                                                  depth: int) -> None:
    """Every cell is computed by the same vector arithmetic whatever the bands and depth, so
    the results are bit for bit those of one band stepping once per pass (depth 1): any
    difference is a ring row read before it was written or after it was overwritten."""
    use_backend("c-blocked")
    params = model.Params(rows=rows, cols=cols)
    u0, v0 = model.initial_state(params, noise=0.3, seed=7)
    plain = _c_blocked_run(params, u0, v0, steps, bands=1, depth=1)
    blocked = _c_blocked_run(params, u0, v0, steps, bands=bands, depth=depth)
    assert np.array_equal(plain[0], blocked[0]) and np.array_equal(plain[1], blocked[1])
    assert model.check_boundary(*blocked) is None


@pytest.mark.parametrize("dtype", model.DTYPES)
def test_c_blocked_two_pass_fallback_agrees(dtype: str) -> None:
    """The row for compilers without vector shuffles (gcc < 12) computes the same model."""
    use_backend("c-blocked")
    params = model.Params(rows=37, cols=53, dtype=dtype)
    u0, v0 = model.initial_state(params, noise=0.3, seed=5)
    fast = _c_blocked_run(params, u0, v0, 100, bands=3, depth=8)
    fallback = _c_blocked_run(params, u0, v0, 100, bands=3, depth=8, defines=("GS_TWO_PASS",))
    tol = model.tolerance(dtype)
    assert np.abs(fast[0] - fallback[0]).max() <= tol
    assert np.abs(fast[1] - fallback[1]).max() <= tol


@pytest.mark.parametrize("dtype", model.DTYPES)
def test_c_blocked_zmm_path_is_the_ymm_path_bit_for_bit(dtype: str) -> None:
    """The AVX-512 row (64-byte vectors, GS_WIDE: GCC splits it in ymm halves on AVX2, so it
    is tested here too) shifts by other shuffles but adds the same numbers in the same order."""
    use_backend("c-blocked")
    params = model.Params(rows=30, cols=53, dtype=dtype)
    u0, v0 = model.initial_state(params, noise=0.3, seed=9)
    narrow = _c_blocked_run(params, u0, v0, 50, bands=3, depth=8, defines=("GS_NARROW",))
    wide = _c_blocked_run(params, u0, v0, 50, bands=3, depth=8, defines=("GS_WIDE",))
    assert np.array_equal(narrow[0], wide[0]) and np.array_equal(narrow[1], wide[1])
