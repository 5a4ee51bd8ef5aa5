"""Shared fixtures: a hermetic unit suite, which backends must run here, and how to run
the real CLI.

The unit suite (every test outside the ``ENGINE_SUITES`` folders: what ``make test`` runs) sees
no container engine, scheduler or GPU, so that a developer machine
where Docker, Podman, Apptainer or Slurm were installed earlier behaves like a fresh CI
machine (issue #12: a dry run passed here and failed there). A test that needs one sets it up
itself (a stand-in on PATH), or, for the GPU, carries the ``gpu`` marker.

``GRAYSCOTT_REQUIRE_BACKENDS`` (comma list, set by .ci/run and on the GPU machine) turns
"backend unavailable" from a skip into a failure, so CI cannot silently test less. A target's
name in it (``cpu``, ``gpu``) stands for that target's ``require_backends`` in the variant
table, so the list of what an image must run is written once.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from grayscott import backends, hardware, variants

#: Programs the unit suite must not find: container engines, Apptainer, Slurm, the GPU's tool.
HIDDEN_PROGRAMS = ("docker", "dockerd", "containerd", "podman", "apptainer", "singularity",
                   "sbatch", "srun", "salloc", "squeue", "sinfo", "scancel", "sacct",
                   "slurmctld", "slurmd", "nvidia-smi")
#: Suites that drive real engines on purpose (make test-images / test-launcher / test-deploy /
#: test-slurm / test-registry): collected only where the command line names them, so that a
#: bare ``pytest`` (``make pytest``) is the hermetic unit suite.
ENGINE_SUITES = ("images", "launcher", "deploy", "slurm", "registry")
TESTS = Path(__file__).resolve().parent
#: Where an engine's client would look for its daemon: nowhere.
NO_DAEMON = "unix:///nonexistent/gslab-unit-tests.sock"



def _named(config: pytest.Config, folder: Path) -> bool:
    """Whether a path on the command line is ``folder`` or something in it."""
    for arg in config.args:
        path = (config.invocation_params.dir / arg.split("::")[0]).resolve()
        if path == folder or folder in path.parents:
            return True
    return False


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """An engine suite is left out unless named: ``pytest tests/images`` runs it, ``pytest``
    and ``pytest tests`` do not."""
    if (collection_path.parent == TESTS and collection_path.name in ENGINE_SUITES
            and not _named(config, collection_path)):
        return True
    return None


def required_backends(spec: str) -> set[str]:
    """The backends a ``GRAYSCOTT_REQUIRE_BACKENDS`` value names, targets expanded."""
    targets = {v.target: v.require_backends for v in variants.variants()}
    names: set[str] = set()
    for item in filter(None, (n.strip() for n in spec.split(","))):
        names.update(targets.get(item, (item,)))
    return names


REQUIRED = required_backends(os.environ.get("GRAYSCOTT_REQUIRE_BACKENDS", ""))


def use_backend(name: str) -> None:
    """Skip the test when ``name`` cannot run here, or fail if it is required."""
    reason = backends.get(name).unavailable_reason()
    if reason is None:
        return
    if name in REQUIRED:
        pytest.fail(f"required backend {name} is unavailable: {reason}")
    pytest.skip(f"{name}: {reason}")


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run the real ``grayscott`` command (``python -m grayscott``) and capture its output."""
    env = {**os.environ, "COLUMNS": "200", "PYTHONUNBUFFERED": "1"}
    return subprocess.run([sys.executable, "-m", "grayscott", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=timeout, env=env, check=False)


def pytest_report_header() -> list[str]:
    lines = []
    for name, reason in backends.available().items():
        lines.append(f"backend {name}: {'available' if reason is None else reason}")
    return lines


def _path_without(programs: tuple[str, ...], path: str, links: Path) -> str:
    """``path`` with ``programs`` left out: a folder that holds one of them is replaced by a
    folder of links to everything else in it (as ../shared/tools/fresh-check.sh does)."""
    kept = []
    for index, folder in enumerate(p for p in path.split(os.pathsep) if p):
        directory = Path(folder)
        if not any((directory / name).exists() for name in programs):
            kept.append(folder)
            continue
        mirror = links / str(index)
        mirror.mkdir(parents=True, exist_ok=True)
        for entry in directory.iterdir():
            if entry.name not in programs and not (mirror / entry.name).exists():
                (mirror / entry.name).symlink_to(entry)
        kept.append(str(mirror))
    return os.pathsep.join(kept)


@pytest.fixture(scope="session")
def hermetic_path(tmp_path_factory: pytest.TempPathFactory) -> str:
    return _path_without(HIDDEN_PROGRAMS, os.environ.get("PATH", ""),
                         tmp_path_factory.mktemp("hermetic-path"))


@pytest.fixture(autouse=True)
def hermetic(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No engine, scheduler or GPU for a unit test (what every subprocess it starts inherits)."""
    if request.node.path.relative_to(TESTS).parts[0] in ENGINE_SUITES:
        yield
        return
    monkeypatch.setenv("PATH", request.getfixturevalue("hermetic_path"))
    monkeypatch.setenv("DOCKER_HOST", NO_DAEMON)
    monkeypatch.setenv("CONTAINER_HOST", NO_DAEMON)
    if request.node.get_closest_marker("gpu") is None:
        monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")  # libcuda then sees no device
    detect = hardware.cuda_driver  # cached per process: forget what was seen without us
    detect.cache_clear()
    yield
    detect.cache_clear()
