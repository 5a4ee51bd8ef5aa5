"""Every backend agrees with the NumPy reference.

Tolerance: ``model.tolerance`` (2e-4 absolute for float32, values in [0, 1]); measured
differences are around 1e-6 on CPU backends after 200 steps.
"""

from __future__ import annotations

import numpy as np
import pytest

from grayscott import backends, model
from grayscott.errors import BackendUnavailable, UsageError
from tests.conftest import use_backend

# These tests use the GPU where there is one (the unit suite hides it from the others).
pytestmark = pytest.mark.gpu

ALL = backends.names()
GENERIC = [n for n in ALL if backends.get(n).generic_stencil]
SPECIALISED = [n for n in ALL if not backends.get(n).generic_stencil]


def reference(params: model.Params, u0: np.ndarray, v0: np.ndarray, steps: int, name: str = "numpy"):
    ref = backends.create(name, params)
    ref.load(u0, v0)
    ref.advance(steps)
    return ref.fetch_state()


def assert_agrees(name: str, params: model.Params, noise: float, steps: int = 200,
                  ref_name: str = "numpy") -> None:
    u0, v0 = model.initial_state(params, noise=noise, seed=42)
    ref_u, ref_v = reference(params, u0, v0, steps, ref_name)
    assert np.abs(ref_v - v0).max() > 0.05, "the reference must have evolved"
    b = backends.create(name, params)
    b.load(u0, v0)
    b.advance(steps // 2)
    b.advance(steps - steps // 2)  # two calls: state must carry over between them
    u, v = b.fetch_state()
    assert u.shape == v.shape == params.padded_shape
    assert u.dtype == v.dtype == params.np_dtype
    assert model.check_boundary(u, v) is None
    tol = model.tolerance(params.dtype)
    assert np.abs(u - ref_u).max() <= tol, f"u differs by {np.abs(u - ref_u).max():.2e}"
    assert np.abs(v - ref_v).max() <= tol, f"v differs by {np.abs(v - ref_v).max():.2e}"
    fetched = b.fetch_v()
    assert fetched.shape == params.shape
    assert np.array_equal(fetched, v[1:-1, 1:-1])


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("shape", [(64, 96), (256, 256)])
@pytest.mark.parametrize("noise", [0.0, 0.3], ids=["default-state", "seeded-random"])
def test_agrees_with_numpy(name: str, shape: tuple[int, int], noise: float) -> None:
    use_backend(name)
    assert_agrees(name, model.Params(rows=shape[0], cols=shape[1]), noise)


@pytest.mark.parametrize("name", GENERIC)
def test_generic_backends_with_the_5_point_stencil(name: str) -> None:
    use_backend(name)
    params = model.Params(rows=48, cols=80, stencil=model.STENCIL_5)
    assert_agrees(name, params, noise=0.3, ref_name="numpy-generic")
    # and the 5-point run really differs from the 9-point one
    u0, v0 = model.initial_state(params, noise=0.3, seed=42)
    _, v9 = reference(model.Params(rows=48, cols=80), u0, v0, 200)
    _, v5 = reference(params, u0, v0, 200, "numpy-generic")
    assert np.abs(v9 - v5).max() > 1e-3


@pytest.mark.parametrize("name", ALL)
def test_float64(name: str) -> None:
    use_backend(name)
    assert_agrees(name, model.Params(rows=40, cols=56, dtype="float64"), noise=0.3, steps=100)


@pytest.mark.parametrize("name", SPECIALISED)
def test_specialised_backends_refuse_other_stencils(name: str) -> None:
    with pytest.raises(UsageError, match="9-point"):
        backends.get(name)(model.Params(rows=8, cols=8, stencil=model.STENCIL_5))


@pytest.mark.parametrize("name", ["jax-3x3", "jax-generic"])
def test_jax_compiles_once_per_shape(name: str) -> None:
    use_backend(name)
    b = backends.create(name, model.Params(rows=32, cols=48))
    b.load(*model.initial_state(b.params))
    for steps in (1, 7, 32, 5):
        b.advance(steps)
    b.synchronize()
    assert b.compilations == 1  # type: ignore[attr-defined]


def test_unknown_backend_lists_the_known_ones() -> None:
    with pytest.raises(UsageError, match="numpy-generic"):
        backends.get("fortran")


def test_unavailable_backend_says_why() -> None:
    missing = {n: r for n, r in backends.available().items() if r}
    if not missing:
        pytest.skip("every backend is available on this machine")
    name, reason = next(iter(missing.items()))
    with pytest.raises(BackendUnavailable, match=name):
        backends.create(name, model.Params(rows=8, cols=8))
    assert reason and len(reason.splitlines()) == 1


@pytest.mark.parametrize(("rows", "cols", "steps", "bands"), [
    (64, 96, 37, 4),    # steps not a multiple of the depth: a shorter last pass
    (5, 7, 20, 4),      # fewer rows than the depth: bands overlap the whole grid
    (3, 40, 9, 8),      # more bands asked than rows
    (97, 33, 16, 1),    # one band
])
def test_temporal_blocking_is_the_plain_loop_bit_for_bit(rows: int, cols: int, steps: int,
                                                         bands: int) -> None:
    """numba-blocked computes every cell with the plain loop's row update, only in another
    order: any difference means a ring row was read before it was written or after it was
    overwritten, at a band edge or at the grid's frame."""
    use_backend("numba-blocked")
    from grayscott.backends._bands import band_edges

    params = model.Params(rows=rows, cols=cols)
    u0, v0 = model.initial_state(params, noise=0.3, seed=7)
    plain_u, plain_v = reference(params, u0, v0, steps, "numba")
    blocked = backends.create("numba-blocked", params)
    blocked.load(u0, v0)
    blocked._bands = band_edges(rows, bands)
    shape = (len(blocked._bands) - 1, *blocked._ring_u.shape[1:])
    blocked._ring_u = np.full(shape, model.U_BOUNDARY, dtype=np.float32)
    blocked._ring_v = np.full(shape, model.V_BOUNDARY, dtype=np.float32)
    blocked.advance(steps)
    u, v = blocked.fetch_state()
    assert np.array_equal(u, plain_u) and np.array_equal(v, plain_v)


def test_band_edges_cover_the_interior_once() -> None:
    from grayscott.backends._bands import band_edges

    for rows, bands in [(1080, 4), (7, 3), (3, 8), (10, 1)]:
        edges = band_edges(rows, bands)
        assert edges[0] == 1 and edges[-1] == rows + 1
        assert np.all(np.diff(edges) >= 1) and len(edges) - 1 == min(bands, rows)


def test_numba_loops_are_numpy_bit_for_bit() -> None:
    """The model has no float literal that would widen Numba's float32 math to double, and the
    loops sum the nine terms in the slices' order: same operations, same rounding."""
    for name in ("numba", "numba-parallel", "numba-blocked"):
        use_backend(name)
        params = model.Params(rows=40, cols=56)
        u0, v0 = model.initial_state(params, noise=0.3, seed=3)
        ref = reference(params, u0, v0, 50)
        got = reference(params, u0, v0, 50, name)
        assert np.array_equal(got[0], ref[0]) and np.array_equal(got[1], ref[1]), name


def _peak_host_bytes(name: str, steps: int) -> int:
    """Peak of new host (NumPy, Python) allocations while ``advance(steps)`` runs, warmed up."""
    import tracemalloc

    params = model.Params(rows=256, cols=256)
    backend = backends.create(name, params)
    backend.load(*model.initial_state(params))
    backend.advance(2 * steps)  # compile and settle
    tracemalloc.start()
    try:
        backend.advance(steps)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("name", ["numba", "numba-parallel", "numba-blocked"])
def test_compiled_backends_allocate_nothing_per_step(name: str) -> None:
    """The compiled loops work in the buffers allocated by ``load``: 40 steps of a 256 x 256
    grid allocate less than one grid's worth (262 kB), where NumPy's slices allocate a dozen
    temporaries per step (the control: the measurement does see allocations)."""
    use_backend(name)
    grid_bytes = 256 * 256 * 4
    assert _peak_host_bytes("numpy", 40) > 4 * grid_bytes
    assert _peak_host_bytes(name, 40) < grid_bytes // 4
