"""What an environment holds: Python, grayscott, each backend library, CUDA, Jupyter, code-server.

Run inside a built image (``python -m grayscott.versions``) it prints JSON; the image tooling
turns that into OCI labels and an immutable tag, so the labels say what is really inside.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import subprocess
from importlib import metadata
from pathlib import Path

from grayscott import __version__

#: label name -> distributions to look for (the first one installed wins)
DISTRIBUTIONS: dict[str, tuple[str, ...]] = {
    "numpy": ("numpy",),
    "h5py": ("h5py",),
    "numba": ("numba",),
    "jax": ("jax",),
    "jaxlib": ("jaxlib",),
    "jax-cuda-plugin": ("jax-cuda13-plugin", "jax-cuda12-plugin"),
    "torch": ("torch",),
    "cupy": ("cupy-cuda13x", "cupy-cuda12x"),
    "cupynumeric": ("nvidia-cupynumeric",),
    "legate": ("legate",),
    "cuda-runtime": ("nvidia-cuda-runtime", "nvidia-cuda-runtime-cu13", "nvidia-cuda-runtime-cu12"),
    "jupyterlab": ("jupyterlab",),
    "jupyterhub": ("jupyterhub",),
    "jupyter-server-proxy": ("jupyter-server-proxy",),
}


def _tool_version(program: str, *args: str) -> str | None:
    if shutil.which(program) is None:
        return None
    result = subprocess.run([program, *args], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        return None
    for line in result.stdout.splitlines():  # log lines may come first
        match = re.match(r"v?(\d+\.\d+\.\d+\S*)", line.strip())
        if match:
            return match.group(1)
    return None


def collect() -> dict[str, str]:
    """Versions found here, by label name (absent ones left out)."""
    found = {"python": platform.python_version(), "grayscott": __version__}
    for label, dists in DISTRIBUTIONS.items():
        for dist in dists:
            try:
                found[label] = metadata.version(dist)
                break
            except metadata.PackageNotFoundError:
                continue
    labs = Path(os.environ.get("GRAYSCOTT_LABS", "/nonexistent"))
    if labs.is_dir():  # the jupyter images' course: the version each labs sync reports
        from grayscott.labs.sync.tree import course_files, labs_version

        found["labs"] = labs_version(labs, course_files(labs))
    for label, program in (("code-server", "code-server"), ("node", "node")):
        version = _tool_version(program, "--version")
        if version:
            found[label] = version
    return found


if __name__ == "__main__":
    print(json.dumps(collect(), indent=1))
