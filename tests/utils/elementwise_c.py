"""A CPU stand-in for ``cupy.ElementwiseKernel``, so that the C a student writes for the GPU
day (labs/gpu/2_CuPy) is compiled and run here, where there is no GPU.

CuPy turns ``ElementwiseKernel(in_params, out_params, body)`` into a CUDA loop in which each
thread declares the inputs of its element under their names, runs ``body``, and stores the
outputs. This does the same as a C loop compiled by the machine's gcc and called through
ctypes on contiguous float32 NumPy arrays: same names, same body, same types (``T`` is the
arrays' element type). What it does not test is CuPy's own code generation and the device.
"""

from __future__ import annotations

import ctypes
import hashlib
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from grayscott.native import compiler


def _names(params: str) -> list[str]:
    """``"T u, T v"`` -> ``["u", "v"]`` (only the ``T name`` form the lab uses)."""
    names = []
    for param in params.split(","):
        kind, name = param.split()
        if kind != "T":
            raise ValueError(f"only 'T name' parameters are simulated, not {param.strip()!r}")
        names.append(name)
    return names


class ElementwiseC:
    """``ElementwiseC(in_params, out_params, body)(*inputs) -> outputs``, float32 on the CPU."""

    def __init__(self, in_params: str, out_params: str, body: str) -> None:
        self.inputs, self.outputs = _names(in_params), _names(out_params)
        self.body = body
        self._kernels: dict[tuple[bool, ...], Any] = {}

    def _source(self, is_array: tuple[bool, ...]) -> str:
        inputs = list(zip(self.inputs, is_array, strict=True))
        args = [f"const T* {n}_p" if arr else f"T {n}" for n, arr in inputs]
        args += [f"T* {n}_p" for n in self.outputs]
        loads = "".join(f"const T {n} = {n}_p[i];" for n, arr in inputs if arr)
        declares = "".join(f"T {n};" for n in self.outputs)
        stores = "".join(f"{n}_p[i] = {n};" for n in self.outputs)
        return (f"typedef float T;\nvoid kernel(long n, {', '.join(args)}) {{\n"
                f"  for (long i = 0; i < n; i++) {{ {loads} {declares}\n{self.body}\n {stores} }}\n}}\n")

    def _kernel(self, is_array: tuple[bool, ...]) -> Any:
        if is_array not in self._kernels:
            source = self._source(is_array)
            cc = compiler()
            if cc is None:
                raise RuntimeError("no C compiler to simulate the ElementwiseKernel")
            folder = Path(tempfile.mkdtemp(prefix="elementwise-c-"))
            digest = hashlib.sha256(source.encode()).hexdigest()[:12]
            c_file, library = folder / f"{digest}.c", folder / f"{digest}.so"
            c_file.write_text(source)
            done = subprocess.run([cc, "-O1", "-shared", "-fPIC", "-o", str(library), str(c_file)],
                                  capture_output=True, text=True, check=False)
            if done.returncode != 0:
                # what CuPy would raise too: a compile error, with the compiler's first error
                first = next((line for line in done.stderr.splitlines() if "error" in line), done.stderr)
                raise RuntimeError(f"the kernel does not compile: {first.strip()}")
            self._kernels[is_array] = ctypes.CDLL(str(library)).kernel
        return self._kernels[is_array]

    def __call__(self, *inputs: Any) -> tuple[np.ndarray, ...]:
        is_array = tuple(isinstance(a, np.ndarray) for a in inputs)
        shape = next(a.shape for a in inputs if isinstance(a, np.ndarray))
        arrays = [np.ascontiguousarray(a, dtype=np.float32) if arr else None
                  for a, arr in zip(inputs, is_array, strict=True)]
        outputs = [np.empty(shape, dtype=np.float32) for _ in self.outputs]
        pointer = ctypes.POINTER(ctypes.c_float)
        args: list[Any] = [ctypes.c_long(int(np.prod(shape)))]
        for a, value in zip(arrays, inputs, strict=True):
            args.append(a.ctypes.data_as(pointer) if a is not None else ctypes.c_float(float(value)))
        args += [out.ctypes.data_as(pointer) for out in outputs]
        self._kernel(is_array)(*args)
        return tuple(outputs)
