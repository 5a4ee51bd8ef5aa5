"""``torch``: PyTorch tensor slices on the CPU or a CUDA device."""

from __future__ import annotations

from typing import Any

import numpy as np

from grayscott.backends._slices import SlicesBackend
from grayscott.backends.base import register


@register
class TorchBackend(SlicesBackend):
    name = "torch"
    summary = "PyTorch tensor slices, on CUDA when a GPU is there, else on the CPU"
    libraries = ("torch",)

    @classmethod
    def unavailable_reason(cls) -> str | None:
        try:
            import torch  # noqa: F401
        except ImportError:
            return ("PyTorch is not installed here (without a GPU, its CPU wheel is enough: pip install "
                    "torch --index-url https://download.pytorch.org/whl/cpu)")
        return None

    def __init__(self, params: Any, device: str | None = None) -> None:
        super().__init__(params, device)
        import torch

        self.torch = torch
        if device in (None, "auto"):
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self._device = torch.device(device)
        if self._device.type == "cuda" and self._device.index is None and torch.cuda.is_available():
            self._device = torch.device("cuda", torch.cuda.current_device())
        if self._device.type == "cuda" and not torch.cuda.is_available():
            from grayscott.errors import BackendUnavailable

            raise BackendUnavailable("backend torch: device cuda asked for, but PyTorch sees no GPU")
        self._dtype = getattr(torch, params.dtype)

    def to_device(self, a: np.ndarray) -> Any:
        return self.torch.tensor(a, dtype=self._dtype, device=self._device)

    def to_host(self, a: Any) -> np.ndarray:
        return np.array(a.detach().cpu().numpy(), copy=True)

    @property
    def on_host(self) -> bool:
        return bool(self._device.type == "cpu")

    def device_free_bytes(self) -> int | None:
        if self._device.type != "cuda":
            return None
        free, _ = self.torch.cuda.mem_get_info(self._device)
        return int(free)

    def synchronize(self) -> None:
        if self._device.type == "cuda":
            self.torch.cuda.synchronize(self._device)

    @property
    def device(self) -> str:
        if self._device.type == "cuda":
            return f"{self._device} {self.torch.cuda.get_device_name(self._device)}"
        return "cpu"
