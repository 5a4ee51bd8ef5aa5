"""The lab's image variants, read from the one table ``grayscott/data/variants.toml``.

``python -m grayscott.variants`` prints what the Makefile and ``docker buildx bake`` need,
so that no other file lists images, parents or build arguments.

``GRAYSCOTT_VARIANTS`` names another table of the same shape to read instead (a site's own
flavour, or a test's copy with one added): every reader, ``gslab`` and the Makefile included,
then sees it, without editing the installed package.
"""

from __future__ import annotations

import json
import os
import sys
import tomllib
from dataclasses import asdict, dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from grayscott.errors import UsageError


@dataclass(frozen=True)
class Server:
    """How a server flavour is reached: what gslab sets and what it waits for and prints."""

    port: int
    port_env: str
    secret_env: str
    health: str
    open: str
    #: arguments the server needs to run as root (Jupyter refuses root unless told)
    root_args: tuple[str, ...] = ()
    #: the path that answers 200 once the server is up, and the header (``Name: value``,
    #: ``{secret}`` in it) that request needs: the secret never travels in a URL
    ready: str = "/"
    ready_header: str = ""

    def url(self, host_port: int, secret: str) -> str:
        return f"http://127.0.0.1:{host_port}{self.open.format(secret=secret)}"

    def ready_headers(self, secret: str) -> dict[str, str]:
        if not self.ready_header:
            return {}
        name, _, value = self.ready_header.partition(":")
        return {name.strip(): value.strip().format(secret=secret)}


@dataclass(frozen=True)
class Variant:
    """One image: a target (cpu, gpu) and a flavour (base, light, code-server, jupyter)."""

    target: str
    flavour: str
    parent: str  # the flavour below, "" for base
    summary: str
    lock: str
    require_backends: tuple[str, ...]
    imports: tuple[str, ...]
    budget_mb: int
    port: int | None = None
    internal: bool = False
    min_cuda: int | None = None
    min_driver: int | None = None
    build_args: dict[str, str] = field(default_factory=dict)
    #: for a server flavour: how to reach it (the table's comment on flavours says more)
    server: Server | None = None
    #: the lock of this layer's own extra packages, if it has one (code-server, jupyter)
    layer_lock: str | None = None
    #: how the local runtime starts this flavour without an image, () if it cannot (the
    #: table's comment on ``local_command`` says more), and how to install what it runs
    local_command: tuple[str, ...] = ()
    local_fix: str = ""

    @property
    def name(self) -> str:
        """``cpu-light``: the variant's name, used by make targets and the launcher."""
        return f"{self.target}-{self.flavour}"

    @property
    def image(self) -> str:
        """The local image reference, ``gray-scott-lab:cpu-light``."""
        return f"{table()['repository']}:{self.name}"

    @property
    def parent_image(self) -> str | None:
        return f"{table()['repository']}:{self.target}-{self.parent}" if self.parent else None

    @property
    def layers(self) -> tuple[str, ...]:
        """Flavours from base up to this one: the image tests run for each of them."""
        chain = [self.flavour]
        while (parent := table()["flavours"][chain[-1]]["parent"]):
            chain.append(parent)
        return tuple(reversed(chain))


#: The variable that points every reader at another variant table (a TOML file's path)
TABLE_ENV = "GRAYSCOTT_VARIANTS"


@cache
def table() -> dict[str, Any]:
    """The variant table: the package's own, or the file ``GRAYSCOTT_VARIANTS`` names."""
    other = os.environ.get(TABLE_ENV)
    if not other:
        return tomllib.loads(resources.files("grayscott").joinpath("data/variants.toml")
                            .read_text())
    if not Path(other).is_file():
        raise UsageError(f"{TABLE_ENV}={other}: no such file (unset it for the package's table)")
    return tomllib.loads(Path(other).read_text())


@cache
def variants() -> tuple[Variant, ...]:
    """Every variant, in build order (targets, then layers bottom-up)."""
    t = table()
    result = []
    for target, tspec in t["targets"].items():
        for flavour, fspec in t["flavours"].items():
            name = f"{target}-{flavour}"
            result.append(Variant(
                target=target, flavour=flavour, parent=fspec["parent"], summary=fspec["summary"],
                lock=tspec["lock"], require_backends=tuple(tspec["require_backends"]),
                imports=tuple(tspec["imports"]), budget_mb=int(t["budgets"][name]),
                port=fspec.get("port"), internal=bool(fspec.get("internal", False)),
                min_cuda=tspec.get("min_cuda"), min_driver=tspec.get("min_driver"),
                build_args={"TARGET": target, "LOCK_FILE": tspec["lock"],
                            **({"LAYER_LOCK": fspec["lock"].format(target=target)}
                               if "lock" in fspec else {})},
                server=Server(fspec["port"], fspec["port_env"], fspec["secret_env"],
                              fspec["health"], fspec["open"], tuple(fspec.get("root_args", ())),
                              fspec.get("ready", fspec["health"]), fspec.get("ready_header", ""))
                if "health" in fspec else None,
                layer_lock=fspec["lock"].format(target=target) if "lock" in fspec else None,
                local_command=tuple(fspec.get("local_command", ())),
                local_fix=fspec.get("local_fix", "")))
    return tuple(result)


def get(name: str) -> Variant:
    for variant in variants():
        if variant.name == name:
            return variant
    known = ", ".join(v.name for v in variants() if not v.internal)
    raise UsageError(f"unknown image variant {name!r}; known: {known}")


def bake_definition(pip_cert: str | None = None) -> dict[str, Any]:
    """A ``docker buildx bake`` file (JSON) with one target per variant, parents as contexts.

    ``pip_cert``: a CA bundle file for a TLS-intercepting proxy, handed to the build as the
    BuildKit secret ``pipcert`` (used while installing, never stored in the image).
    """
    targets: dict[str, Any] = {}
    for v in variants():
        spec: dict[str, Any] = {
            "context": ".",
            "dockerfile": f"images/{v.flavour}/Dockerfile",
            "tags": [v.image],
            "args": dict(v.build_args),
        }
        if pip_cert:
            spec["secret"] = [f"id=pipcert,src={pip_cert}"]
        if v.parent:
            # the parent is built first and handed over as a named context
            spec["args"]["BASE_IMAGE"] = "parent"
            spec["contexts"] = {"parent": f"target:{v.target}-{v.parent}"}
        targets[v.name] = spec
    groups = {"default": {"targets": [v.name for v in variants() if not v.internal]}}
    for target in table()["targets"]:
        groups[target] = {"targets": [v.name for v in variants()
                                      if v.target == target and not v.internal]}
    return {"group": groups, "target": targets}


def main(argv: list[str]) -> int:
    """``names`` | ``show NAME`` (JSON) | ``bake``: the table as data, nothing run."""
    command = argv[0] if argv else "names"
    if command == "names":
        print("\n".join(v.name for v in variants() if not v.internal))
    elif command == "show" and len(argv) == 2:
        v = get(argv[1])
        print(json.dumps({**asdict(v), "name": v.name, "image": v.image,
                          "parent_image": v.parent_image, "layers": v.layers}, indent=2))
    elif command == "bake" and len(argv) <= 2:
        print(json.dumps(bake_definition(argv[1] if len(argv) == 2 else None), indent=2))
    else:
        print("usage: python -m grayscott.variants [names | show NAME | bake [CA_BUNDLE]]\n"
              "(labels and tags of built images: python -m grayscott.imagetools)",
              file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    from grayscott.console import run_script

    run_script(main)


def servers() -> dict[str, Server]:
    """Each server flavour's facts, by flavour."""
    return {v.flavour: v.server for v in variants() if v.server is not None}


def gpu_minimum() -> tuple[int, int]:
    """(CUDA major, NVIDIA driver) the gpu images need."""
    gpu = table()["targets"]["gpu"]
    return int(gpu["min_cuda"]), int(gpu["min_driver"])
