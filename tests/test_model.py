"""The model definition against the school's specification, written out independently here."""

from __future__ import annotations

import numpy as np
import pytest

from grayscott import backends, model
from grayscott.errors import UsageError


def spec_step(u: np.ndarray, v: np.ndarray, du=0.1, dv=0.05, f=0.014, k=0.054, dt=1.0):
    """One step of the specification in float64, cell by cell (slow, obvious, independent)."""
    un, vn = u.copy(), v.copy()
    for i in range(1, u.shape[0] - 1):
        for j in range(1, u.shape[1] - 1):
            lu = u[i - 1:i + 2, j - 1:j + 2].sum() - 9 * u[i, j]
            lv = v[i - 1:i + 2, j - 1:j + 2].sum() - 9 * v[i, j]
            uvv = u[i, j] * v[i, j] * v[i, j]
            un[i, j] = u[i, j] + dt * (du * lu - uvv + f * (1 - u[i, j]))
            vn[i, j] = v[i, j] + dt * (dv * lv + uvv - (f + k) * v[i, j])
    return un, vn


def test_defaults_are_the_schools() -> None:
    p = model.Params()
    assert (p.rows, p.cols, p.dtype) == (1080, 1920, "float32")
    assert (p.du, p.dv, p.feed, p.kill, p.dt) == (0.1, 0.05, 0.014, 0.054, 1.0)
    assert p.padded_shape == (1082, 1922)
    assert p.bytes_per_step == 16 * 1080 * 1920


def test_initial_state_layout() -> None:
    p = model.Params(rows=64, cols=96)
    u, v = model.initial_state(p)
    assert u.shape == v.shape == (66, 98) and u.dtype == v.dtype == np.float32
    # seed rows [7*64/16-4, 8*64/16-4) = [24, 28), cols [7*96/16, 8*96/16) = [42, 48), interior
    seeded = np.zeros((64, 96), dtype=bool)
    seeded[24:28, 42:48] = True
    assert np.all(v[1:-1, 1:-1][seeded] == 1) and np.all(u[1:-1, 1:-1][seeded] == 0)
    assert np.all(v[1:-1, 1:-1][~seeded] == 0) and np.all(u[1:-1, 1:-1][~seeded] == 1)
    assert model.check_boundary(u, v) is None


def test_seeded_noise_is_reproducible_and_bounded() -> None:
    p = model.Params(rows=32, cols=40)
    a = model.initial_state(p, noise=0.3, seed=7)
    b = model.initial_state(p, noise=0.3, seed=7)
    c = model.initial_state(p, noise=0.3, seed=8)
    assert np.array_equal(a[0], b[0]) and not np.array_equal(a[0], c[0])
    assert a[1].min() >= 0 and a[1].max() <= 1
    assert model.check_boundary(*a) is None


def test_numpy_reference_matches_the_specification() -> None:
    p = model.Params(rows=12, cols=17, dtype="float64")
    u, v = model.initial_state(p, noise=0.4, seed=3)
    ref = backends.create("numpy", p)
    ref.load(u, v)
    for _ in range(5):
        u, v = spec_step(u, v)
    ref.advance(5)
    ru, rv = ref.fetch_state()
    assert np.max(np.abs(ru - u)) < 1e-13 and np.max(np.abs(rv - v)) < 1e-13


@pytest.mark.parametrize("rows, cols", [(2, 10), (10, 2), (0, 0)])
def test_grid_too_small(rows: int, cols: int) -> None:
    with pytest.raises(UsageError, match="too small"):
        model.Params(rows=rows, cols=cols)


def test_unknown_dtype() -> None:
    with pytest.raises(UsageError, match="dtype"):
        model.Params(dtype="float16")


def test_check_boundary_sees_a_broken_frame() -> None:
    u, v = model.initial_state(model.Params(rows=8, cols=8))
    v[0, 3] = 0.5
    assert "v" in (model.check_boundary(u, v) or "")
