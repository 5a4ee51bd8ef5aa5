"""JAX Gray-Scott: the steps between two frames inside one jitted ``lax.fori_loop``.

The state buffers are donated to each call, so XLA reuses them (a run holds two copies of the
state: the one read and the one written, swapped each step), and the step count is a traced
argument, so a grid shape compiles once whatever the steps per frame (``compilations`` counts
the traces, which the tests and the benchmark show). Each step writes a new padded array rather
than updating the interior in place: see ``_advance_fn``.
"""

from __future__ import annotations

import os
from abc import abstractmethod
from typing import Any

import numpy as np

from grayscott import model
from grayscott.backends.base import Backend


class JaxLoopBackend(Backend):
    libraries = ("jax", "jaxlib", "jax-cuda13-plugin", "jax-cuda12-plugin")
    #: The state read and the state written (measured on the CPU: 4.1 grids at the peak).
    state_arrays = 4

    @classmethod
    def unavailable_reason(cls) -> str | None:
        try:
            import jax  # noqa: F401
        except ImportError:
            return "JAX is not installed (pip install 'grayscott[jax]')"
        return None

    def __init__(self, params: model.Params, device: str | None = None) -> None:
        super().__init__(params, device)
        # JAX grabs 75% of GPU memory at start unless told otherwise: leave room for the
        # other libraries a lab loads in the same process.
        os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
        import jax

        if params.dtype == "float64":
            jax.config.update("jax_enable_x64", True)
        platform = {"gpu": "gpu", "cuda": "gpu", "cpu": "cpu"}.get(device or "")
        try:
            self._device = jax.devices(platform)[0] if platform else jax.devices()[0]
        except RuntimeError as exc:
            from grayscott.errors import BackendUnavailable

            raise BackendUnavailable(f"backend {self.name}: JAX has no {device} device ({exc})") from None
        self.compilations = 0
        self._advance = jax.jit(self._advance_fn, donate_argnums=(0, 1))

    @abstractmethod
    def laplacian(self, a: Any) -> Any:
        """Laplacian of the interior of padded ``a`` (traced by JAX)."""

    def _advance_fn(self, u: Any, v: Any, steps: Any) -> tuple[Any, Any]:
        import jax.numpy as jnp
        from jax import lax

        self.compilations += 1  # runs only while JAX traces
        coefficients = self.params.coefficients()

        def step(_: Any, state: tuple[Any, Any]) -> tuple[Any, Any]:
            u, v = state
            u_new, v_new = model.react(u[1:-1, 1:-1], v[1:-1, 1:-1],
                                       self.laplacian(u), self.laplacian(v), *coefficients)
            # A new padded array, not ``u.at[1:-1, 1:-1].set(u_new)``: that update happens in
            # place, in the buffer the neighbours are still read from, so XLA first copies each
            # shifted slice out (16 extra passes over memory per step for the nine-term
            # Laplacian: 2.5-3x slower on a CPU). Padding writes a fresh buffer in one fusion.
            return (jnp.pad(u_new, 1, constant_values=model.U_BOUNDARY),
                    jnp.pad(v_new, 1, constant_values=model.V_BOUNDARY))

        return lax.fori_loop(0, steps, step, (u, v))

    def load(self, u: np.ndarray, v: np.ndarray) -> None:
        import jax

        dtype = self.params.np_dtype
        self.u = jax.device_put(np.asarray(u, dtype=dtype), self._device)
        self.v = jax.device_put(np.asarray(v, dtype=dtype), self._device)

    def advance(self, steps: int) -> None:
        self.u, self.v = self._advance(self.u, self.v, steps)

    def fetch_v(self) -> np.ndarray:
        return np.asarray(self.v[1:-1, 1:-1])

    def fetch_state(self) -> tuple[np.ndarray, np.ndarray]:
        return np.array(self.u), np.array(self.v)

    def synchronize(self) -> None:
        self.v.block_until_ready()

    @property
    def on_host(self) -> bool:
        return bool(self._device.platform == "cpu")

    def device_free_bytes(self) -> int | None:
        """What XLA's allocator may still hand out on a GPU (None where it keeps no stats)."""
        stats = self._device.memory_stats() or {}
        if "bytes_limit" not in stats:
            return None
        return int(stats["bytes_limit"]) - int(stats.get("bytes_in_use", 0))

    @property
    def device(self) -> str:
        kind = getattr(self._device, "device_kind", "")
        return f"{self._device.platform}:{self._device.id} {kind}".strip()
