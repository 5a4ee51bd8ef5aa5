"""Image tests, organised per layer and inherited by child images.

``tests/images/<layer>/`` holds the tests of one layer of the variant table; an image is
tested by the folders of every layer in its chain (cpu-jupyter: base, light, code-server,
jupyter). Which images and runtimes: ``GSLAB_TEST_IMAGES=cpu-light,...`` and
``GSLAB_TEST_RUNTIMES=docker,podman`` (``make test-images`` sets them). Every container's
output is searched for unexpected ERROR lines, which fail the test.
"""

from __future__ import annotations

import http.client
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from grayscott import variants
from grayscott.launcher import registry
from grayscott.launcher.docker import DockerRuntime
from grayscott.launcher.runtime import ContainerSpec, Mount, Runtime
from tests.utils import free_port


def _env_list(name: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Layers an image does not have are not its tests: deselect them instead of skipping."""
    keep, drop = [], []
    for item in items:
        marker = item.get_closest_marker("skip")
        empty = marker is not None and "got empty parameter set" in str(marker.kwargs.get("reason"))
        (drop if empty else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "variant" in metafunc.fixturenames:
        layer = Path(str(metafunc.definition.fspath)).parent.name
        chosen = [variants.get(name) for name in _env_list("GSLAB_TEST_IMAGES")]
        if metafunc.definition.get_closest_marker("own_flavour"):
            params = [v for v in chosen if v.flavour == layer]  # not inherited
        else:
            params = [v for v in chosen if layer in v.layers]
        metafunc.parametrize("variant", params, ids=[v.name for v in params])
    if "runtime" in metafunc.fixturenames:
        names = _env_list("GSLAB_TEST_RUNTIMES") or ["docker"]
        marker = metafunc.definition.get_closest_marker("runtimes")
        if marker:  # a test of what only some runtimes have (daemon images, port mapping)
            names = [n for n in names if n in marker.args]
        metafunc.parametrize("runtime", [registry.create(n) for n in names], ids=names)


def check_errors(output: str, allowed: tuple[str, ...] = ()) -> None:
    unexpected = [line for line in output.splitlines()
                  if "ERROR" in line and not any(a in line for a in allowed)]
    assert not unexpected, "unexpected ERROR lines:\n" + "\n".join(unexpected)


class Server:
    """A detached container serving HTTP on a published port."""

    def __init__(self, runtime: DockerRuntime, name: str, port: int) -> None:
        self.runtime, self.name, self.port = runtime, name, port
        self.base_url = f"http://127.0.0.1:{port}"

    def request(self, method: str, path: str, body: str | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
        """One HTTP request, redirects not followed: (status, headers, body)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read().decode(
                errors="replace")
        finally:
            conn.close()

    def wait(self, path: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                status, _, _ = self.request("GET", path)
                if status < 500:
                    return
            except OSError:
                pass
            state = subprocess.run([self.runtime.program, "inspect", "-f", "{{.State.Running}}",
                                    self.name], capture_output=True, text=True, check=False)
            assert state.stdout.strip() == "true", f"container exited:\n{self.logs()}"
            time.sleep(0.5)
        raise AssertionError(f"{self.base_url}{path} did not answer in {timeout} s:\n{self.logs()}")

    def logs(self) -> str:
        return self.runtime.logs(self.name)

    def exec(self, *args: str) -> str:
        result = self.runtime.exec_in(self.name, list(args))
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout


def location_path(headers: dict[str, str]) -> str:
    return urlsplit(headers.get("Location", headers.get("location", ""))).path


class Container:
    """Runs one image through one runtime and checks what it printed."""

    def __init__(self, runtime: Runtime, variant: variants.Variant) -> None:
        self.runtime, self.variant = runtime, variant

    def run(self, *args: str, exec_: bool = False, user: str | None = None,
            read_only: bool = False, mounts: tuple[Mount, ...] = (), expect_rc: int | None = 0,
            allowed_errors: tuple[str, ...] = (), timeout: float = 300,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        spec = ContainerSpec(self.runtime.image_for(self.variant), list(args), exec_=exec_,
                             user=user, read_only=read_only, tmpfs=["/tmp"] if read_only else [],
                             mounts=list(mounts), env=env or {})
        result = self.runtime.run(spec, timeout=timeout)
        output = result.stdout + result.stderr
        if expect_rc is not None:
            assert result.returncode == expect_rc, (
                f"{' '.join(self.runtime.command(spec))} exited {result.returncode}:\n{output}")
        check_errors(output, allowed_errors)
        return result

    @contextmanager
    def serve(self, container_port: int, *args: str, health: str = "/", exec_: bool = False,
              user: str | None = None,
              read_only: bool = False, env: dict[str, str] | None = None,
              mounts: tuple[Mount, ...] = (), allowed_errors: tuple[str, ...] = (),
              timeout: float = 90) -> Iterator[Server]:
        """Start the image detached with ``container_port`` published; stop it afterwards."""
        assert isinstance(self.runtime, DockerRuntime)
        name = f"gslab-test-{uuid.uuid4().hex[:8]}"
        port = free_port()
        spec = ContainerSpec(self.variant.image, list(args), exec_=exec_, user=user,
                             read_only=read_only, tmpfs=["/tmp"] if read_only else [],
                             mounts=list(mounts), env=env or {}, ports={port: container_port},
                             name=name,
                             detach=True, remove=False)
        started = self.runtime.run(spec, timeout=60)
        assert started.returncode == 0, started.stderr
        server = Server(self.runtime, name, port)
        try:
            server.wait(health, timeout)
            yield server
            check_errors(server.logs(), allowed_errors)
        finally:
            self.runtime.stop(name)

    def sh(self, script: str, **options: object) -> str:
        """Run a shell snippet in the image (entrypoint bypassed); its stdout, stripped."""
        return self.run("bash", "-c", script, exec_=True, **options).stdout.strip()  # type: ignore[arg-type]


@pytest.fixture
def container(runtime: Runtime, variant: variants.Variant) -> Container:
    reason = runtime.available()
    if reason:
        pytest.fail(f"runtime {runtime.name} asked for but unusable: {reason}")
    if not runtime.has_image(variant):
        pytest.fail(runtime.image_hint(variant))
    return Container(runtime, variant)


@pytest.fixture
def workdir(tmp_path: Path) -> Iterator[Path]:
    """A host directory owned by the UID the tests run containers as, to bind-mount.

    It lives in a world-traversable folder: Apptainer resolves the bind as that user."""
    parent = Path(tempfile.mkdtemp(prefix="gslab-test-", dir="/tmp"))
    parent.chmod(0o755)
    path = parent / "work"
    path.mkdir()
    os.chown(path, 12345, 100)
    yield path
    shutil.rmtree(parent, ignore_errors=True)
