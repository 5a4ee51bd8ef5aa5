"""Image labels and immutable tags, from what is really inside each built image.

After a build, ``python -m grayscott.imagetools label NAME`` runs ``grayscott.versions`` in the
image, then re-tags it through a metadata-only build (``FROM image`` + labels): OCI labels
for every version found, and an immutable tag such as
``gray-scott-lab:cpu-jupyter-20261123-py3.13-gs0.1.0-jax0.12.0.1-numba0.68.1-lab4.6.6-cs4.139.1``.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import UTC, datetime

from grayscott.errors import GrayScottError
from grayscott.launcher.docker import DockerRuntime
from grayscott.launcher.runtime import ContainerSpec
from grayscott.variants import Variant, get, table

LABEL_PREFIX = "org.grayscott.version."
#: versions that go into the immutable tag, with their short names
TAG_PARTS = (("grayscott", "gs"), ("jax", "jax"), ("numba", "numba"), ("torch", "torch"),
             ("cupy", "cupy"), ("cuda-runtime", "cuda"), ("jupyterlab", "lab"),
             ("code-server", "cs"))


def versions_inside(runtime: DockerRuntime, image: str) -> dict[str, str]:
    result = runtime.run(ContainerSpec(image, ["python", "-m", "grayscott.versions"], exec_=True),
                         timeout=300)
    if result.returncode != 0:
        raise GrayScottError(f"cannot read versions inside {image}: {result.stderr.strip()[:200]}")
    return dict(json.loads(result.stdout))


def immutable_tag(variant: Variant, versions: dict[str, str], when: datetime) -> str:
    python = ".".join(versions["python"].split(".")[:2])
    parts = [variant.name, when.strftime("%Y%m%d"), f"py{python}"]
    parts += [f"{short}{versions[key]}" for key, short in TAG_PARTS if key in versions]
    return re.sub(r"[^A-Za-z0-9_.-]", "_", "-".join(parts))[:128]


def labels_for(variant: Variant, versions: dict[str, str], tag: str, when: datetime
               ) -> dict[str, str]:
    labels = {
        "org.opencontainers.image.title": f"{table()['repository']}:{variant.name}",
        "org.opencontainers.image.description": variant.summary,
        "org.opencontainers.image.version": tag,
        "org.opencontainers.image.created": when.isoformat(timespec="seconds"),
        "org.opencontainers.image.licenses": "BSD-3-Clause",
    }
    labels.update({LABEL_PREFIX + key: value for key, value in versions.items()})
    return labels


def label_image(variant: Variant, runtime: DockerRuntime | None = None) -> str:
    """Label the built image of ``variant`` and give it its immutable tag; returns that tag."""
    runtime = runtime or DockerRuntime()
    when = datetime.now(UTC)
    versions = versions_inside(runtime, variant.image)
    tag = immutable_tag(variant, versions, when)
    command = [runtime.program, "build", "--quiet", "-t", variant.image,
               "-t", f"{table()['repository']}:{tag}"]
    for key, value in labels_for(variant, versions, tag, when).items():
        command += ["--label", f"{key}={value}"]
    result = subprocess.run([*command, "-"], input=f"FROM {variant.image}\n", text=True,
                            capture_output=True, check=False)
    if result.returncode != 0:
        raise GrayScottError(f"labelling {variant.image} failed: {result.stderr.strip()[:300]}")
    return f"{table()['repository']}:{tag}"


def chain_of(names: list[str]) -> list[Variant]:
    """The public images that building ``names`` built: each one's parents too, once."""
    chain: list[Variant] = []
    for name in names:
        v = get(name)
        for flavour in v.layers:
            layer = get(f"{v.target}-{flavour}")
            if not layer.internal and layer not in chain:
                chain.append(layer)
    return chain


def tags(name: str, runtime: DockerRuntime | None = None) -> list[str]:
    """A built image's tags: the variant's and its immutable one (what ``docker save`` needs
    to carry both)."""
    runtime = runtime or DockerRuntime()
    image = get(name).image
    version = subprocess.run(
        [runtime.program, "image", "inspect", "--format",
         '{{index .Config.Labels "org.opencontainers.image.version"}}', image],
        capture_output=True, text=True, check=False).stdout.strip()
    return [image, *([f"{table()['repository']}:{version}"] if version else [])]


def main(argv: list[str]) -> int:
    """``label NAME...`` (after a build) | ``tags NAME...`` (for docker save)."""
    if len(argv) >= 2 and argv[0] == "label":
        for layer in chain_of(argv[1:]):  # bake built each variant's parents too
            print(label_image(layer))
    elif len(argv) >= 2 and argv[0] == "tags":
        for name in argv[1:]:
            print(" ".join(tags(name)))
    else:
        print("usage: python -m grayscott.imagetools [label NAME... | tags NAME...]",
              file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    from grayscott.console import run_script

    run_script(main)
