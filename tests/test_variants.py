"""The one table of image variants, and what the Makefile, bake and launcher derive from it."""

from __future__ import annotations

from pathlib import Path

import pytest

from grayscott import backends, variants
from grayscott.errors import UsageError
from grayscott.launcher.docker import DockerRuntime
from grayscott.launcher.podman import PodmanRuntime
from grayscott.launcher.runtime import ContainerSpec, Mount

ROOT = Path(__file__).resolve().parents[1]


def test_every_variant_has_its_dockerfile_lock_and_budget() -> None:
    names = {v.name for v in variants.variants()}
    assert {"cpu-light", "cpu-code-server", "cpu-jupyter", "gpu-light", "gpu-code-server",
            "gpu-jupyter"} <= names
    for v in variants.variants():
        text = (ROOT / "images" / v.flavour / "Dockerfile").read_text()
        assert "ARG BASE_IMAGE" in text and "FROM ${BASE_IMAGE}" in text
        assert (ROOT / v.lock).is_file()
        if v.layer_lock:  # the layer's own lock, as the table names it, is what it installs
            assert (ROOT / v.layer_lock).is_file() and "COPY ${LAYER_LOCK}" in text
        assert v.budget_mb > 100
        for name in v.require_backends:
            backends.get(name)


def test_layers_chain_to_base() -> None:
    assert variants.get("cpu-jupyter").layers == ("base", "light", "code-server", "jupyter")
    assert variants.get("gpu-light").parent_image == "gray-scott-lab:gpu-base"


def test_bake_builds_parents_first_through_named_contexts() -> None:
    bake = variants.bake_definition("/etc/ssl/certs/ca-certificates.crt")
    light = bake["target"]["cpu-light"]
    assert light["contexts"] == {"parent": "target:cpu-base"}
    assert light["args"]["BASE_IMAGE"] == "parent" and light["tags"] == ["gray-scott-lab:cpu-light"]
    assert light["secret"] == ["id=pipcert,src=/etc/ssl/certs/ca-certificates.crt"]
    assert "cpu-base" not in bake["group"]["default"]["targets"]
    assert "secret" not in variants.bake_definition()["target"]["cpu-light"]


def test_unknown_variant() -> None:
    with pytest.raises(UsageError, match="cpu-light"):
        variants.get("cpu-heavy")


def test_engine_command_lines() -> None:
    spec = ContainerSpec("gray-scott-lab:cpu-light", ["run", "-o", "/work/x.h5"], user="1000:100",
                         read_only=True, tmpfs=["/tmp"], mounts=[Mount(Path("/data"), "/work")],
                         gpu=True, ports={8888: 8888})
    docker = DockerRuntime().command(spec)
    assert docker[:2] == ["docker", "run"] and docker[-3:] == ["run", "-o", "/work/x.h5"]
    assert "--read-only" in docker and "/data:/work" in docker and "127.0.0.1:8888:8888" in docker
    assert docker[docker.index("--gpus") + 1] == "all"
    podman = PodmanRuntime().command(spec)
    assert podman[0] == "podman" and podman[podman.index("--device") + 1] == "nvidia.com/gpu=all"


def test_the_gpu_minimum_is_one_fact() -> None:
    """The driver the table asks of a gpu image is the one NVIDIA names for its CUDA."""
    from grayscott import hardware

    cuda, driver = variants.gpu_minimum()
    assert hardware.DRIVER_FOR_CUDA[cuda] == driver
    assert all(v.min_cuda == cuda for v in variants.variants() if v.target == "gpu")


def test_server_flavours_say_how_to_reach_them() -> None:
    servers = variants.servers()
    assert set(servers) == {"jupyter", "code-server"}
    jupyter = servers["jupyter"]
    assert jupyter.url(9999, "abc") == "http://127.0.0.1:9999/lab?token=abc"
    assert (jupyter.secret_env, jupyter.port_env, jupyter.health) == (
        "JUPYTER_TOKEN", "JUPYTER_PORT", "/api")
    assert variants.get("cpu-light").server is None


def test_show_prints_a_variant_as_json() -> None:
    import json
    import subprocess
    import sys

    shown = subprocess.run([sys.executable, "-m", "grayscott.variants", "show", "cpu-jupyter"],
                           capture_output=True, text=True, check=True)
    variant = json.loads(shown.stdout)
    assert variant["server"]["secret_env"] == "JUPYTER_TOKEN"
    assert variant["layers"] == ["base", "light", "code-server", "jupyter"]


def test_required_backends_name_a_target_for_its_table_list() -> None:
    """.ci/run asks for "cpu,torch": the cpu images' list from the table, plus torch."""
    from tests.conftest import required_backends

    cpu = next(v for v in variants.variants() if v.target == "cpu")
    asked = required_backends(" cpu, torch ,")
    assert asked == {*cpu.require_backends, "torch"}
    assert {"numpy", "numba-blocked", "jax-3x3"} <= asked and "cupy" not in asked
    assert required_backends("numpy") == {"numpy"} and required_backends("") == set()


def test_a_runtime_is_one_module_and_one_registry_line() -> None:
    """Every registered runtime is found by name, in its own module named after it, and
    ``--runtime auto`` tries every one in the registry's order, the order the README gives."""
    from grayscott.launcher import registry

    modules = {cls.__module__ for cls in registry.RUNTIMES.values()}
    assert len(modules) == len(registry.RUNTIMES)
    for name, cls in registry.RUNTIMES.items():
        assert registry.create(name).name == name and cls.__module__.endswith(name)
    assert registry.AUTO_ORDER == ("docker", "podman", "apptainer", "singularity", "local")
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    assert "# auto: " + " > ".join(registry.AUTO_ORDER) + "\n" in readme
