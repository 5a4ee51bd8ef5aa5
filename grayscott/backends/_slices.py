"""One time step for every library whose arrays slice like NumPy's.

NumPy, CuPy, cuPyNumeric and PyTorch all run this same code: the Laplacian with slices
(``model.laplacian`` or ``model.laplacian_weighted``), then ``model.react``, then the interior
written back in place. A backend only says how arrays go to its device and back.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

import numpy as np

from grayscott import model
from grayscott.backends.base import Backend


class SlicesBackend(Backend):
    """Array-at-a-time Gray-Scott: the course's slices baseline on any array library."""

    u: Any
    v: Any
    #: u and v, and the temporaries of a step: the two Laplacians, the two results and the
    #: partial sums between (measured on NumPy, 10 grids at the peak; tests/test_capacity.py).
    state_arrays = 10

    @abstractmethod
    def to_device(self, a: np.ndarray) -> Any:
        """A device array holding a copy of host array ``a``."""

    @abstractmethod
    def to_host(self, a: Any) -> np.ndarray:
        """A host copy of device array ``a`` that the device state never aliases."""

    def laplacian(self, a: Any) -> Any:
        if self.generic_stencil:
            return model.laplacian_weighted(a, self.params.stencil)
        return model.laplacian(a)

    def load(self, u: np.ndarray, v: np.ndarray) -> None:
        self.u, self.v = self.to_device(u), self.to_device(v)

    def advance(self, steps: int) -> None:
        u, v, coefficients = self.u, self.v, self.params.coefficients()
        for _ in range(steps):
            u_new, v_new = model.react(u[1:-1, 1:-1], v[1:-1, 1:-1],
                                       self.laplacian(u), self.laplacian(v), *coefficients)
            u[1:-1, 1:-1] = u_new
            v[1:-1, 1:-1] = v_new

    def fetch_v(self) -> np.ndarray:
        return self.to_host(self.v[1:-1, 1:-1])

    def fetch_state(self) -> tuple[np.ndarray, np.ndarray]:
        return self.to_host(self.u), self.to_host(self.v)
