"""Image tests, organised per layer and inherited by child images.

``tests/images/<layer>/`` holds the tests of one layer of the variant table; an image is
tested by the folders of every layer in its chain (cpu-jupyter: base, light, code-server,
jupyter). Which images and runtimes: ``GSLAB_TEST_IMAGES=cpu-light,...`` and
``GSLAB_TEST_RUNTIMES=docker,podman`` (``make test-images`` sets them). Every container's
output is searched for unexpected ERROR lines, which fail the test.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from grayscott import variants
from grayscott.launcher.docker import DockerRuntime
from grayscott.launcher.podman import PodmanRuntime
from grayscott.launcher.runtime import ContainerSpec, Mount, Runtime

RUNTIMES: dict[str, type[Runtime]] = {"docker": DockerRuntime, "podman": PodmanRuntime}


def _env_list(name: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "variant" in metafunc.fixturenames:
        layer = Path(str(metafunc.definition.fspath)).parent.name
        chosen = [variants.get(name) for name in _env_list("GSLAB_TEST_IMAGES")]
        params = [v for v in chosen if layer in v.layers]
        metafunc.parametrize("variant", params, ids=[v.name for v in params])
    if "runtime" in metafunc.fixturenames:
        names = _env_list("GSLAB_TEST_RUNTIMES") or ["docker"]
        metafunc.parametrize("runtime", [RUNTIMES[n]() for n in names], ids=names)


class Container:
    """Runs one image through one runtime and checks what it printed."""

    def __init__(self, runtime: Runtime, variant: variants.Variant) -> None:
        self.runtime, self.variant = runtime, variant

    def run(self, *args: str, exec_: bool = False, user: str | None = None,
            read_only: bool = False, mounts: tuple[Mount, ...] = (), expect_rc: int | None = 0,
            allowed_errors: tuple[str, ...] = (), timeout: float = 600,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        spec = ContainerSpec(self.variant.image, list(args), exec_=exec_, user=user,
                             read_only=read_only, tmpfs=["/tmp"] if read_only else [],
                             mounts=list(mounts), env=env or {})
        result = self.runtime.run(spec, timeout=timeout)
        output = result.stdout + result.stderr
        if expect_rc is not None:
            assert result.returncode == expect_rc, (
                f"{' '.join(self.runtime.command(spec))} exited {result.returncode}:\n{output}")
        unexpected = [line for line in output.splitlines()
                      if "ERROR" in line and not any(a in line for a in allowed_errors)]
        assert not unexpected, "unexpected ERROR lines:\n" + "\n".join(unexpected)
        return result

    def sh(self, script: str, **options: object) -> str:
        """Run a shell snippet in the image (entrypoint bypassed); its stdout, stripped."""
        return self.run("bash", "-c", script, exec_=True, **options).stdout.strip()  # type: ignore[arg-type]


@pytest.fixture
def container(runtime: Runtime, variant: variants.Variant) -> Container:
    reason = runtime.available()
    if reason:
        pytest.fail(f"runtime {runtime.name} asked for but unusable: {reason}")
    if isinstance(runtime, DockerRuntime) and runtime.image_size(variant.image) is None:
        pytest.fail(f"image {variant.image} is not built for {runtime.name} "
                    f"(make build-{variant.name})")
    return Container(runtime, variant)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A host directory owned by the UID the tests run containers as, to bind-mount."""
    path = tmp_path / "work"
    path.mkdir()
    os.chown(path, 12345, 100)
    return path
