"""GPU and driver detection, which backends use to say why they cannot run."""

from __future__ import annotations

import pytest

from grayscott import hardware


def test_machine_info_describes_this_machine() -> None:
    info = hardware.machine_info()
    assert info["cpus"] >= 1 and info["cpu"] and info["python"]
    driver = hardware.cuda_driver()
    assert info["gpus"] == (list(driver.gpus) if driver else [])


def test_no_driver_is_a_clear_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hardware, "cuda_driver", lambda: None)
    assert "no NVIDIA GPU" in (hardware.gpu_reason() or "")


def test_old_driver_is_named_with_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    # A CUDA 12.4 driver (no such machine here): a CUDA 13 library must say so.
    driver = hardware.CudaDriver(version=12040, gpus=("Tesla T4",))
    monkeypatch.setattr(hardware, "cuda_driver", lambda: driver)
    reason = hardware.gpu_reason(min_cuda_major=13) or ""
    assert "CUDA 12.4" in reason and "CUDA 13" in reason and "580" in reason
    assert hardware.gpu_reason(min_cuda_major=12) is None
