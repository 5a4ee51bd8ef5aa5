"""The one interface every backend implements, and the registry that names them.

A backend owns the model state on its device for the whole run: ``load`` puts the initial
padded (u, v) there once, ``advance`` runs n steps without touching the host, and
``fetch_v`` brings back only the interior of V (once per frame). Backends import their
library lazily, so listing them costs nothing and a missing library is a message, not a
crash.
"""

from __future__ import annotations

import importlib
import math
from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np

from grayscott.errors import BackendUnavailable, UsageError
from grayscott.model import Params

#: A backend's buffers besides its grids (coefficients, band edges, array headers): a few kB.
SMALL_OBJECTS = 64 * 1024


class Backend(ABC):
    """Allocate state, advance n steps, fetch V: the protocol the runner, bench and smoke use."""

    #: Registered name (``grayscott run --backend NAME``).
    name: ClassVar[str]
    #: One line for ``grayscott backends``.
    summary: ClassVar[str]
    #: Python distribution(s) whose versions go into output attributes.
    libraries: ClassVar[tuple[str, ...]] = ()
    #: True when the backend accepts any 3x3 weights, not only the school's stencil.
    generic_stencil: ClassVar[bool] = False
    #: True when it can only run on an NVIDIA GPU.
    needs_gpu: ClassVar[bool] = False
    #: True for a yardstick that is not one of ours (``c-openmp``): bench labels its row.
    reference: ClassVar[bool] = False
    #: Padded grids the backend holds at its peak, in a step (u and v included, temporaries
    #: and second buffers too): what ``state_bytes`` counts unless a backend overrides it.
    state_arrays: ClassVar[float] = 4

    def __init__(self, params: Params, device: str | None = None) -> None:
        if not params.is_default_stencil and not self.generic_stencil:
            raise UsageError(
                f"backend {self.name} implements only the school's 9-point stencil; "
                "use a generic backend (numpy-generic, jax-generic, cupy-fused) for other weights"
            )
        self.params = params
        self.requested_device = device

    @classmethod
    def unavailable_reason(cls) -> str | None:
        """None when the backend can run here, else why not and how to fix it (one line)."""
        return None

    @abstractmethod
    def load(self, u: np.ndarray, v: np.ndarray) -> None:
        """Copy the padded initial state to the device (once per run)."""

    @abstractmethod
    def advance(self, steps: int) -> None:
        """Run ``steps`` time steps on the device; may return before the device is done."""

    @abstractmethod
    def fetch_v(self) -> np.ndarray:
        """A host copy of the interior of V, shape (rows, cols); waits for the device."""

    @abstractmethod
    def fetch_state(self) -> tuple[np.ndarray, np.ndarray]:
        """Host copies of the padded (u, v), for tests and checks."""

    def state_bytes(self) -> int:
        """Memory the backend allocates for a run, before it does (``grayscott.capacity``
        refuses a run that does not fit): ``state_arrays`` padded grids by default."""
        rows, cols = self.params.padded_shape
        grids = math.ceil(self.state_arrays * rows * cols * self.params.np_dtype.itemsize)
        return grids + SMALL_OBJECTS

    @property
    def on_host(self) -> bool:
        """Whether ``state_bytes`` is host memory (False: a GPU's)."""
        return not self.needs_gpu

    def device_free_bytes(self) -> int | None:
        """Free memory of the device the state goes to, where its library says so cheaply;
        None for host backends and where it cannot."""
        return None

    def synchronize(self) -> None:  # noqa: B027 - host backends have nothing to wait for
        """Wait until queued device work is done (timing needs it)."""

    @property
    def device(self) -> str:
        """Where the state lives, in words ("cpu", "cuda:0 NVIDIA H100 ...")."""
        return "cpu"

    def describe(self) -> dict[str, Any]:
        """Backend, device and library versions, for HDF5 attributes and benchmark files."""
        return {"backend": self.name, "device": self.device,
                "versions": library_versions(("numpy", *self.libraries))}


def library_versions(names: tuple[str, ...]) -> dict[str, str]:
    """Installed versions of the given distributions (absent ones are skipped)."""
    from importlib import metadata

    versions: dict[str, str] = {}
    for dist in names:
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return versions


_REGISTRY: dict[str, type[Backend]] = {}

#: Modules that register backends, in the order ``grayscott backends`` lists them.
BACKEND_MODULES = (
    "numpy_slices", "numpy_generic",
    "numba_serial", "numba_parallel", "numba_blocked",
    "c_openmp", "c_blocked",
    "jax_generic", "jax_3x3",
    "cupy_slices", "cupy_fused",
    "cupynumeric_slices",
    "torch_slices",
)


class HostPairs(Backend):
    """State in two pairs of host arrays: a compiled step reads (u, v) and writes (u2, v2);
    ``_swap`` after an odd number of steps. The frames are copied into both pairs and never
    written. Shared by the Numba loops and the C loop."""

    u: np.ndarray
    v: np.ndarray
    u2: np.ndarray
    v2: np.ndarray
    state_arrays = 4  # the two pairs, nothing per step (tests/test_capacity.py measures)

    def _load_pairs(self, u: np.ndarray, v: np.ndarray) -> None:
        dtype = self.params.np_dtype
        self.u, self.v = np.array(u, dtype=dtype), np.array(v, dtype=dtype)
        self.u2, self.v2 = self.u.copy(), self.v.copy()  # frames included: never written

    def _swap(self) -> None:
        self.u, self.u2 = self.u2, self.u
        self.v, self.v2 = self.v2, self.v

    def fetch_v(self) -> np.ndarray:
        return self.v[1:-1, 1:-1].copy()

    def fetch_state(self) -> tuple[np.ndarray, np.ndarray]:
        return self.u.copy(), self.v.copy()


def register(cls: type[Backend]) -> type[Backend]:
    """Class decorator: make the backend known under ``cls.name``."""
    if cls.name in _REGISTRY:
        raise RuntimeError(f"backend {cls.name} registered twice")
    _REGISTRY[cls.name] = cls
    return cls


def _load_all() -> None:
    for module in BACKEND_MODULES:
        importlib.import_module(f"grayscott.backends.{module}")


def names() -> list[str]:
    """Every registered backend name, available here or not."""
    _load_all()
    return list(_REGISTRY)


def get(name: str) -> type[Backend]:
    """The backend class for ``name``; a UsageError listing the known names otherwise."""
    _load_all()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UsageError(f"unknown backend {name!r}; known backends: {', '.join(_REGISTRY)}") from None


def create(name: str, params: Params, device: str | None = None) -> Backend:
    """An instance of ``name`` ready for ``load``, or BackendUnavailable saying why not."""
    cls = get(name)
    reason = cls.unavailable_reason()
    if reason is not None:
        raise BackendUnavailable(f"backend {name} is not available: {reason}")
    return cls(params, device)


def available() -> dict[str, str | None]:
    """Each backend name with None (usable) or the reason it is not."""
    return {name: cls.unavailable_reason() for name, cls in ((n, get(n)) for n in names())}
