"""C kernels compiled at run time: our own fused kernel and the C/OpenMP yardstick.

The sources live in ``grayscott/csrc/``; each is compiled once per (source, flags, compiler)
with ``-O3 -march=native`` (the machine it runs on, like Numba's JIT) and OpenMP, into a cache
directory (``$GRAYSCOTT_CACHE`` or ``~/.cache/grayscott/native``), then loaded with ctypes,
which releases the GIL during each call. Without a C compiler the callers say so in one line
(``unavailable_reason``) instead of failing; a compilation error is a ``BackendUnavailable``
with the compiler's first error line.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
import tempfile
from functools import cache
from pathlib import Path

from grayscott.errors import BackendUnavailable

SOURCES = Path(__file__).with_name("csrc")
#: ``-march=native``: the kernels run where they are compiled (AVX2 + FMA, or AVX-512).
#: GNU C (not ISO ``-std=c11``, which turns off FMA contraction: no vfmadd in the loop).
BASE_FLAGS = ("-O3", "-march=native", "-fPIC", "-shared", "-std=gnu11")
OPENMP_FLAG = "-fopenmp"


def compiler() -> str | None:
    """``$CC`` if set, else ``gcc`` or ``cc`` on the PATH; None when there is none."""
    for candidate in (os.environ.get("CC"), "gcc", "cc"):
        if candidate and shutil.which(candidate):
            return shutil.which(candidate)
    return None


@cache
def compiler_version() -> str:
    """The first line of ``cc --version`` (part of the cache key and of benchmark reports)."""
    cc = compiler()
    if cc is None:
        return ""
    done = subprocess.run([cc, "--version"], capture_output=True, text=True, check=False)
    return (done.stdout.splitlines() or [""])[0].strip()


def unavailable_reason() -> str | None:
    """None when a C compiler is here, else why the C kernels cannot run (one line)."""
    if compiler() is None:
        return "no C compiler (gcc or cc, or $CC) on the PATH to build the C kernel"
    return None


def cache_dir() -> Path:
    """``$GRAYSCOTT_CACHE/native`` or ``~/.cache/grayscott/native``; a per-user folder in the
    temporary directory where that cannot be created (a read-only home in a container)."""
    root = os.environ.get("GRAYSCOTT_CACHE") or Path.home() / ".cache" / "grayscott"
    folder = Path(root) / "native"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        folder = Path(tempfile.gettempdir()) / f"grayscott-native-{os.getuid()}"
        folder.mkdir(mode=0o700, exist_ok=True)
        st = folder.stat()  # a shared /tmp: never load libraries another user could place
        if st.st_uid != os.getuid() or st.st_mode & 0o022:
            raise BackendUnavailable(
                f"{folder} is not private to this user; set GRAYSCOTT_CACHE") from None
    return folder


def _compile(cc: str, source: Path, flags: tuple[str, ...], target: Path) -> str | None:
    """Build ``target``; None on success, else the compiler's first error line."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        partial = Path(tmp) / target.name
        done = subprocess.run([cc, *flags, str(source), "-o", str(partial), "-lm"],
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            lines = [ln for ln in done.stderr.splitlines() if "error" in ln] or \
                done.stderr.splitlines() or [f"exit status {done.returncode}"]
            return lines[0].strip()
        partial.replace(target)  # atomic: a concurrent process sees all or nothing
    return None


@cache
def load(source_name: str, defines: tuple[str, ...] = ()) -> tuple[ctypes.CDLL, bool]:
    """The compiled library of ``csrc/<source_name>`` and whether it has OpenMP threads.

    Tries ``-fopenmp`` first and falls back to a serial build when the compiler has no
    OpenMP (clang without libomp, for instance).
    """
    cc = compiler()
    if cc is None:
        raise BackendUnavailable(unavailable_reason() or "no C compiler")
    source = SOURCES / source_name
    text = source.read_bytes()
    version = compiler_version()
    error = ""
    for openmp in (True, False):
        flags = (*BASE_FLAGS, *(f"-D{d}" for d in defines), *((OPENMP_FLAG,) if openmp else ()))
        key = hashlib.sha256(repr((text, flags, cc, version)).encode()).hexdigest()[:16]
        target = cache_dir() / f"{source.stem}-{key}.so"
        if not target.exists():
            failed = _compile(cc, source, flags, target)
            if failed is not None:
                error = failed
                continue
        try:
            return ctypes.CDLL(str(target)), openmp
        except OSError as exc:  # built, but not loadable here (a symbol the loader lacks)
            error = str(exc).splitlines()[0]
    raise BackendUnavailable(f"building {source_name} with {cc} failed: {error}")


def default_threads() -> int:
    """``$OMP_NUM_THREADS`` if set, else the CPUs this process may run on."""
    value = os.environ.get("OMP_NUM_THREADS", "").split(",")[0]
    if value.isdigit() and int(value) > 0:
        return int(value)
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
