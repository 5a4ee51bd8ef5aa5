"""``jax-generic``: the Laplacian as a 2-D correlation with any 3x3 weights."""

from __future__ import annotations

from typing import Any

from grayscott.backends._jax_loop import JaxLoopBackend
from grayscott.backends.base import register


@register
class JaxGenericBackend(JaxLoopBackend):
    name = "jax-generic"
    summary = "JAX jit, the stencil as a generic 2-D correlation (any 3x3 weights)"
    generic_stencil = True
    state_arrays = 6  # and the correlation's two outputs (measured on the CPU: 6.1 grids)

    def laplacian(self, a: Any) -> Any:
        import jax.numpy as jnp
        from jax.scipy.signal import correlate2d

        weights = jnp.asarray(self.params.stencil, dtype=a.dtype)
        return correlate2d(a, weights, mode="valid")
