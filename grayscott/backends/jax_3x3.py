"""``jax-3x3``: the nine stencil terms by hand, which XLA fuses into one kernel."""

from __future__ import annotations

from typing import Any

from grayscott import model
from grayscott.backends._jax_loop import JaxLoopBackend
from grayscott.backends.base import register


@register
class Jax3x3Backend(JaxLoopBackend):
    name = "jax-3x3"
    summary = "JAX jit, the nine terms by hand, fori_loop between frames, buffers donated"

    def laplacian(self, a: Any) -> Any:
        return model.laplacian(a)
