"""What every lab image keeps: non-root user, Python 3.13 venv, working backends under any
UID with a read-only root, a writable bind-mounted work directory, no secrets, a size budget."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import tempfile
from pathlib import Path

import pytest

from grayscott import backends, hardware, variants
from grayscott.launcher.docker import DockerRuntime
from grayscott.launcher.runtime import Mount
from tests.images.conftest import Container

ARBITRARY = "12345:100"
#: The public base image every lab image is built FROM (made locally in CI).
BASE = "debian:trixie-slim"


@pytest.mark.runtimes("docker", "podman")
def test_runs_as_jovyan_by_default(container: Container) -> None:
    assert container.sh("id -u; id -g; id -un").split() == ["1000", "100", "jovyan"]


@pytest.mark.runtimes("apptainer")
def test_runs_as_the_calling_user_under_apptainer(container: Container) -> None:
    assert container.sh("id -u; id -g").split() == ["12345", "100"]  # the helper's user


def test_python_is_313_in_the_venv(container: Container) -> None:
    out = container.sh("python -c 'import sys; print(sys.prefix, *sys.version_info[:2])'")
    assert out == "/opt/venv 3 13"


def test_target_libraries_import(container: Container, variant: variants.Variant) -> None:
    modules = ", ".join(variant.imports)
    out = container.sh(f"python -c 'import {modules}; print(\"imported\")'",
                       user=ARBITRARY, read_only=True)
    assert out == "imported"


def test_backends_work_as_any_uid_on_a_read_only_root(container: Container,
                                                      variant: variants.Variant) -> None:
    # Without a GPU here, the GPU-only backends of a gpu image cannot run: they must then be
    # installed and say that the GPU is what is missing (not the library).
    gpu_here = hardware.cuda_driver() is not None
    runnable = [b for b in variant.require_backends if gpu_here or not backends.get(b).needs_gpu]
    result = container.run("grayscott", "smoke", "--json", "--require", ",".join(runnable),
                           exec_=True, user=ARBITRARY, read_only=True)
    report = {r["backend"]: r for r in json.loads(result.stdout)}
    assert {b: report[b]["status"] for b in runnable} == dict.fromkeys(runnable, "ok")
    for name in set(variant.require_backends) - set(runnable):
        assert report[name]["status"] == "unavailable"
        assert "GPU" in report[name]["detail"] and "not installed" not in report[name]["detail"]


def test_bind_mounted_workdir_stays_writable_and_owned(container: Container, workdir: Path) -> None:
    container.sh("echo hello > /work/hello.txt", user=ARBITRARY, read_only=True,
                 mounts=(Mount(workdir, "/work"),))
    written = workdir / "hello.txt"
    assert written.read_text() == "hello\n"
    assert (written.stat().st_uid, written.stat().st_gid) == (12345, 100)


def test_no_secret_or_build_input_left(container: Container) -> None:
    out = container.sh("ls -A /run/secrets 2>/dev/null | wc -l; ls /tmp | wc -l; "
                       "ls /opt/venv/requirements* /tmp/requirements* 2>/dev/null | wc -l")
    assert out.split() == ["0", "0", "0"]


@pytest.mark.runtimes("docker")
def test_size_budget(container: Container, variant: variants.Variant) -> None:
    """Compressed size (what a site downloads) within the variant table's budget."""
    from grayscott.imagesize import compressed_size

    assert isinstance(container.runtime, DockerRuntime)
    unpacked = container.runtime.image_size(variant.image)
    assert unpacked is not None
    size = compressed_size(variant.image)
    print(f"{variant.image}: {size / 1e6:.0f} MB compressed, {unpacked / 1e6:.0f} MB unpacked "
          f"(budget {variant.budget_mb} MB compressed)")
    assert size <= variant.budget_mb * 1e6, f"{size / 1e6:.0f} MB > {variant.budget_mb} MB"
    assert unpacked > size, "compressed layers larger than the image: not measuring layers"


#: Layers with what a layer folder holds differently from a layer tar: files deleted from a
#: lower layer (whiteouts), a folder replaced whole (opaque), a hard link and a symbolic link.
LAYERED = f"""FROM {BASE}
RUN mkdir -p /opt/x && head -c 3000000 /dev/urandom > /opt/x/r \\
    && ln /opt/x/r /opt/x/hard && ln -s r /opt/x/soft
RUN rm -rf /usr/share/doc/* /opt/x/r && rm -rf /etc/apt && mkdir /etc/apt \\
    && head -c 300000 /dev/urandom > /etc/apt/r
"""


@functools.cache
def _layers_both_ways() -> tuple[dict[str, int], dict[str, int]]:
    """The LAYERED image's layers measured from the folders and from ``docker save`` (once
    per test session: every docker image's run of the test shares it)."""
    from grayscott.imagesize import layer_sizes

    tag = "gslab-imagesize-check:latest"
    with tempfile.TemporaryDirectory() as context:
        (Path(context) / "Dockerfile").write_text(LAYERED)
        subprocess.run(["docker", "build", "-q", "-t", tag, context], check=True,
                       capture_output=True)
    try:
        return layer_sizes(tag, via="files"), layer_sizes(tag, via="save")
    finally:
        subprocess.run(["docker", "image", "rm", tag], check=False, capture_output=True)


@pytest.mark.runtimes("docker")
def test_layer_folders_measure_what_docker_save_hands_out(container: Container,
                                                          variant: variants.Variant) -> None:
    """The size budget packs each layer from Docker's own layer folders (a ``docker save``
    of a CUDA image needs as many GB free again), and must do so here (else CI would fall
    back to ``save`` unseen). On an image of the base plus layers that delete, replace and
    link files, each layer measures the same both ways, within 1% plus 1 KB (a few tar
    headers: a whiteout is a device in the folder, a ``.wh.`` file in the tar)."""
    from grayscott.imagesize import layer_folders

    if os.geteuid() != 0:
        pytest.skip("Docker's layer folders are readable by root only (CI runs as root)")
    assert layer_folders(variant.image) is not None, "the size budget would use docker save"
    files, saved = _layers_both_ways()
    assert files.keys() == saved.keys() and len(files) == 3
    for layer, size in saved.items():
        assert abs(files[layer] - size) <= 0.01 * size + 1024, (layer, files[layer], size)


@pytest.mark.runtimes("docker", "podman")
def test_labels_record_the_versions_inside(container: Container, variant: variants.Variant) -> None:
    inspect = subprocess.run([container.runtime.program, "image", "inspect", variant.image],
                             capture_output=True, text=True, check=True)
    config = json.loads(inspect.stdout)[0]
    labels = config["Config"]["Labels"]
    inside = json.loads(container.sh("python -m grayscott.versions"))
    assert inside["python"].startswith("3.13")
    for key, value in inside.items():
        assert labels[f"org.grayscott.version.{key}"] == value
    tag = labels["org.opencontainers.image.version"]
    assert tag.startswith(variant.name + "-") and f"py{inside['python'][:4]}" in tag
    # the immutable tag names the same image (Podman spells it docker.io/library/...)
    repository = variant.image.rsplit(":", 1)[0]  # the table's (GRAYSCOTT_VARIANTS may name another)
    assert any(t.endswith(f"{repository}:{tag}") for t in config["RepoTags"]), config["RepoTags"]
