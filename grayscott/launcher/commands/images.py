"""Image commands: ``gslab build | pull | sif | bundle | load | images``.

Docker and Podman hold images (``Runtime.stores_images``): they pull, save and load them;
Apptainer's images are ``.sif`` files that ``gslab sif`` makes from those, or from a registry.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from grayscott import variants
from grayscott.errors import UsageError
from grayscott.launcher import registry
from grayscott.launcher.app import app, console, err, run_checked, show
from grayscott.launcher.apptainer import ApptainerRuntime
from grayscott.launcher.runtime import Runtime

#: The runtimes that hold images, by name, in the registry's order (docker, podman)
STORES = tuple(name for name, cls in registry.RUNTIMES.items() if cls.stores_images)
#: ``--runtime`` and ``--dry-run`` of the commands that move images (pull, push)
StoreOption = Annotated[str, typer.Option("--runtime", "-r", help=" or ".join(STORES) + ".")]
DryRunOption = Annotated[bool, typer.Option(help="Print the commands, run nothing.")]


@app.command()
def build(
    names: Annotated[list[str] | None, typer.Argument(
        metavar="[VARIANT]...", help="e.g. cpu-jupyter (default: every variant).")] = None,
    pip_cert: Annotated[Path | None, typer.Option(help="CA bundle of a TLS-intercepting proxy "
                                                  "(a build secret, never stored).")] = None,
    dry_run: Annotated[bool, typer.Option(help="Print the commands, run nothing.")] = False,
) -> None:
    """Build image variants with docker buildx bake (parents first), then label them."""
    chosen = [variants.get(n).name for n in names] if names else \
        [v.name for v in variants.variants() if not v.internal]
    cert = pip_cert or next((p for p in (Path("/etc/ssl/certs/ca-certificates.crt"),)
                             if p.is_file()), None)
    if cert is not None and not cert.is_file():
        raise UsageError(f"--pip-cert {cert} does not exist")
    bake_file = Path(os.environ.get("TMPDIR", "/tmp")) / f"gslab-bake-{os.getpid()}.json"
    bake = ["docker", "buildx", "bake", "-f", str(bake_file), "--load", *chosen]
    label = [sys.executable, "-m", "grayscott.imagetools", "label", *chosen]
    if dry_run:
        console.print(f"# {bake_file}: python -m grayscott.variants bake {cert or ''}")
        show(bake)
        show(label)
        return
    if reason := registry.create("docker").available():
        raise UsageError(f"building needs Docker with buildx: {reason}")
    bake_file.write_text(json.dumps(variants.bake_definition(str(cert) if cert else None)))
    try:
        run_checked(bake, "the build")
        run_checked(label, "labelling")
    finally:
        bake_file.unlink(missing_ok=True)


def _registry_ref(variant: variants.Variant, registry_name: str | None) -> str:
    """``REGISTRY/gray-scott-lab:NAME``; the registry from --registry or GSLAB_REGISTRY."""
    where = registry_name or os.environ.get("GSLAB_REGISTRY")
    if not where:
        raise UsageError("no registry: pass --registry (e.g. ghcr.io/my-school) or set "
                         "GSLAB_REGISTRY")
    return f"{where.rstrip('/')}/{variant.image}"


def _say(message: str) -> None:
    err.print(message, markup=False, highlight=False)


@app.command()
def pull(
    names: Annotated[list[str], typer.Argument(metavar="VARIANT...", help="e.g. cpu-jupyter.")],
    registry_name: Annotated[str | None, typer.Option("--registry", help=(
        "Where the school publishes the images (default: $GSLAB_REGISTRY)."))] = None,
    runtime_name: StoreOption = "auto",
    dry_run: DryRunOption = False,
) -> None:
    """Pull published images and tag them with the local names gslab runs."""
    chosen = [variants.get(n) for n in names]
    refs = [_registry_ref(v, registry_name) for v in chosen]
    engine = registry.pick(runtime_name, must_work=not dry_run, order=STORES, say=_say)
    for variant, ref in zip(chosen, refs, strict=True):
        for command in engine.pull_commands(ref, variant.image):
            if dry_run:
                show(command)
            else:
                run_checked(command, f"{engine.name} {command[1]}")
        if not dry_run:
            console.print(f"{engine.name}: {variant.image} (from {ref})")


@app.command()
def sif(
    names: Annotated[list[str], typer.Argument(metavar="VARIANT...", help="e.g. cpu-light.")],
    source: Annotated[str, typer.Option("--from", help=(
        "auto (the first engine holding the image), " + ", ".join(STORES) + ", or registry."))
                      ] = "auto",
    registry_name: Annotated[str | None, typer.Option("--registry", help=(
        "With --from registry: where the images are published (default: $GSLAB_REGISTRY)."))
                             ] = None,
    output_dir: Annotated[Path | None, typer.Option("--output-dir", "-o", help=(
        "Folder for the .sif files (default: $GSLAB_SIF_DIR or build/sif, where gslab run "
        "--runtime apptainer looks)."))] = None,
    dry_run: Annotated[bool, typer.Option(help="Print the commands, run nothing.")] = False,
) -> None:
    """Apptainer images (.sif) from the local engine's images or from a registry."""
    if source not in ("auto", "registry", *STORES):
        raise UsageError(f"--from {source!r}: choose auto, {', '.join(STORES)} or registry")
    chosen = [variants.get(n) for n in names]
    apptainer = ApptainerRuntime()
    if not dry_run and (reason := apptainer.available()):
        raise UsageError(f"building a .sif needs Apptainer: {reason}")
    if output_dir is not None:
        os.environ["GSLAB_SIF_DIR"] = str(output_dir)
    for variant in chosen:
        out = apptainer.sif_path(variant.name)
        tar = out.with_name(f".{variant.name}.tar")
        if source == "registry":
            steps = [[apptainer.program, "build", "--force", str(out),
                      f"docker://{_registry_ref(variant, registry_name)}"]]
        else:
            engine = _engine_holding(variant, source, dry_run)
            steps = [engine.save_command(variant.image, tar),
                     [apptainer.program, "build", "--force", str(out), f"docker-archive://{tar}"]]
        if dry_run:
            for command in steps:
                show(command)
            continue
        out.parent.mkdir(parents=True, exist_ok=True)
        err.print(f"building {out.name} ...")
        try:
            for command in steps:
                run_checked(command, f"{command[0]} {command[1]}")
        finally:
            tar.unlink(missing_ok=True)
        console.print(f"wrote {out} ({out.stat().st_size / 1e9:.2f} GB): "
                      f"gslab run {variant.flavour} --runtime apptainer --target {variant.target}")


def _engine_holding(variant: variants.Variant, source: str, dry_run: bool) -> Runtime:
    """The engine to export ``variant`` from (checked unless dry run)."""
    candidates = [registry.create(n) for n in (STORES if source == "auto" else (source,))]
    for engine in candidates:
        if engine.available() is None and engine.has_image(variant):
            return engine
    if dry_run:
        _say(f"note: no usable engine here holds {variant.image}; showing "
             f"{candidates[0].name}'s command")
        return candidates[0]
    where = " or ".join(c.name for c in candidates)
    raise UsageError(f"{variant.image} is not in {where}: gslab build {variant.name}, or "
                     "gslab sif --from registry")


BUNDLE_README = """# Gray-Scott Lab images for offline use

Made by `gslab bundle` on {date}. Copy this folder to the machine that has no network, then:

    gslab load .                       # Docker or Podman: loads every .tar here
    docker load -i cpu-jupyter.tar     # or by hand, one image
    podman load -i cpu-jupyter.tar
    apptainer run gray-scott-lab_cpu-light.sif smoke   # the .sif files need no loading

Then `gslab run jupyter` (or `docker run -p {port}:{port} gray-scott-lab:cpu-jupyter`).

| image | file | size |
|---|---|---:|
{rows}
"""


@app.command()
def bundle(
    names: Annotated[list[str], typer.Argument(metavar="VARIANT...", help="e.g. cpu-jupyter.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder to write.")] = Path(
        "gslab-bundle"),
    dry_run: Annotated[bool, typer.Option(help="Print the commands, run nothing.")] = False,
) -> None:
    """Save images as .tar (and .sif when built) with a README, for a site without network."""
    chosen = [variants.get(n) for n in names]
    engine = next(iter(registry.image_stores()), None)
    if engine is None:
        if not dry_run:
            raise UsageError("bundling needs " + " or ".join(STORES) + " holding the images")
        engine = registry.create(STORES[0])
    rows = []
    if not dry_run:
        output.mkdir(parents=True, exist_ok=True)
    for v in chosen:
        if not dry_run and not engine.has_image(v):
            raise UsageError(f"{v.image} is not in {engine.name}: gslab build {v.name}")
        tar = output / f"{v.name}.tar"
        command = engine.save_command(v.image, tar)
        if dry_run:
            show(command)
            continue
        err.print(f"saving {v.image} ...")
        run_checked(command, f"saving {v.image}")
        rows.append(f"| {v.image} | {tar.name} | {tar.stat().st_size / 1e9:.2f} GB |")
        sif_file = ApptainerRuntime.sif_path(v.name)
        if sif_file.is_file():
            shutil.copy2(sif_file, output / sif_file.name)
            rows.append(f"| {v.image} (Apptainer) | {sif_file.name} | "
                        f"{sif_file.stat().st_size / 1e9:.2f} GB |")
    if not dry_run:
        (output / "README.md").write_text(BUNDLE_README.format(
            date=date.today(), rows="\n".join(rows), port=variants.servers()["jupyter"].port))
        console.print(f"wrote {output}/ ({len(rows)} files + README.md)")


@app.command()
def load(
    folder: Annotated[Path, typer.Argument(help="A folder written by gslab bundle.")],
    runtime_name: Annotated[str, typer.Option("--runtime", "-r", help=(
        " or ".join(STORES) + " (default: every usable one)."))] = "auto",
) -> None:
    """Load a bundle's images into Docker and/or Podman."""
    tars = sorted(folder.glob("*.tar"))
    if not tars:
        raise UsageError(f"{folder} holds no .tar images (made by gslab bundle?)")
    engines = registry.image_stores() if runtime_name == "auto" else \
        [registry.pick(runtime_name)]
    if not engines:
        raise UsageError("loading needs " + " or ".join(STORES))
    for engine in engines:
        for tar in tars:
            run_checked(engine.load_command(tar), f"{engine.name} load")
            console.print(f"{engine.name}: loaded {tar.name}")


@app.command()
def images() -> None:
    """The image variants, and which are available to each local runtime."""
    engines = registry.image_stores()
    table = Table("variant", "image", *(e.name for e in engines), "apptainer .sif", "what")
    for v in variants.variants():
        if v.internal:
            continue
        cells = []
        for engine in engines:
            size = engine.image_size(v.image)
            cells.append(f"{size / 1e9:.2f} GB" if size else "-")
        sif_file = ApptainerRuntime.sif_path(v.name)
        cells.append(f"{sif_file.stat().st_size / 1e9:.2f} GB" if sif_file.is_file() else "-")
        table.add_row(v.name, v.image, *cells, v.summary)
    console.print(table)
