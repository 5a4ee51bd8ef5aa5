"""``numpy-generic``: NumPy slices for any 3x3 stencil weights."""

from __future__ import annotations

from grayscott.backends.base import register
from grayscott.backends.numpy_slices import NumpyBackend


@register
class NumpyGenericBackend(NumpyBackend):
    name = "numpy-generic"
    summary = "NumPy, a weighted sum of nine shifted slices (any 3x3 stencil)"
    generic_stencil = True
