"""A run larger than the machine is refused before it starts, with the numbers (issue #30).

Real limits: the machine's own memory, a real tmpfs of 8 MiB (mounted here when the tests
run as root). The cgroup limit of a container is tested in tests/images/light; here only the
cgroup files' formats are read from a folder laid out as the kernel lays them out (v2 cannot
be seen on a v1 host, and the reverse).
"""

from __future__ import annotations

import tracemalloc

import pytest

from grayscott import backends, model

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
