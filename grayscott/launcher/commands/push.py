"""``gslab push``: the lab's images, and their .sif files, to a registry (issue #27).

Each image goes with every local tag of it in its repository (``cpu-light`` and its dated,
versioned tag), and its labels (they are in the image's configuration). The .sif file that
``gslab sif`` made goes beside it as an ORAS artifact with the media types Apptainer's
``oras://`` pulls read, so a cluster runs ``apptainer pull oras://...`` without building.
ORAS is Debian's ``oras`` command (the registry image carries it for machines without it):
a maintained client, and no new Python dependency for a step only publishers take.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from grayscott import variants
from grayscott.errors import UsageError
from grayscott.launcher import registry
from grayscott.launcher.app import app, console, err, run_output, show
from grayscott.launcher.apptainer import ApptainerRuntime
from grayscott.launcher.commands.images import STORES, DryRunOption, StoreOption, _registry_ref
from grayscott.launcher.commands.site_registry import PasswordOption, read_password
from grayscott.launcher.render import site_registry as render
from grayscott.launcher.runtime import Runtime

DIGEST = re.compile(r"sha256:[0-9a-f]{64}")


def local_tags(engine: Runtime, image: str) -> list[str]:
    """``image`` and the other tags of the same image in its repository (Podman names a
    loaded image ``localhost/REPO:TAG``: the prefix is dropped)."""
    result = subprocess.run([engine.program, "image", "inspect", "--format",
                             "{{json .RepoTags}}", image], capture_output=True, text=True,
                            check=False)
    repository = image.rsplit(":", 1)[0]
    tags = [t.removeprefix("localhost/") for t in json.loads(result.stdout or "null") or []]
    return [image, *sorted(t for t in set(tags) if t != image
                           and t.rsplit(":", 1)[0] == repository)]


def _push_image(engine: Runtime, tag: str, ref: str, dry_run: bool) -> str:
    """Tag, push, untag (the local store keeps only its own names); the manifest digest."""
    with tempfile.TemporaryDirectory() as tmp:
        digest_file = Path(tmp) / "digest"
        # Podman prints no digest; it writes one where --digestfile says
        extra = ["--digestfile", str(digest_file)] if engine.name == "podman" else []
        steps = [[engine.program, "tag", tag, ref], [engine.program, "push", *extra, ref],
                 [engine.program, "rmi", ref]]
        if dry_run:
            for command in steps:
                show(command)
            return ""
        run_output(steps[0], f"tagging {tag}")
        try:
            output = run_output(steps[1], f"pushing {ref}")
        finally:
            subprocess.run(steps[2], capture_output=True, check=False)
        if digest_file.is_file():
            output = digest_file.read_text()
        found = DIGEST.findall(output)
        return found[-1] if found else "?"


@app.command()
def push(
    names: Annotated[list[str], typer.Argument(metavar="VARIANT...", help="e.g. cpu-light.")],
    registry_name: Annotated[str | None, typer.Option("--registry", help=(
        "HOST:PORT/PROJECT to publish to (default: $GSLAB_REGISTRY)."))] = None,
    username: Annotated[str | None, typer.Option(help=(
        "Log in as this account first (needed for .sif files: oras logs in itself)."))] = None,
    password_file: PasswordOption = None,
    ca_file: Annotated[Path | None, typer.Option(help=(
        "The registry's CA for oras (Docker and Podman read their certs.d: gslab registry "
        "client-config)."))] = None,
    sif: Annotated[bool | None, typer.Option("--sif/--no-sif", help=(
        "Push the .sif files (default: those that gslab sif has built)."))] = None,
    registry_image: Annotated[str, typer.Option(help=(
        "Image whose oras runs where this machine has none."))] = render.IMAGE,
    runtime_name: StoreOption = "auto",
    dry_run: DryRunOption = False,
) -> None:
    """Push images (all their tags, their labels) and their .sif files to a registry."""
    chosen = [variants.get(n) for n in names]
    refs = [_registry_ref(v, registry_name) for v in chosen]
    where = refs[0].rsplit("/", 1)[0]
    host = where.split("/")[0]
    if ca_file is not None and not ca_file.is_file():
        raise UsageError(f"--ca-file {ca_file} does not exist")
    engine = registry.pick(runtime_name, must_work=not dry_run, order=STORES,
                           say=lambda m: err.print(m, markup=False, highlight=False))
    sifs = {v.name: ApptainerRuntime.sif_path(v.name) for v in chosen}
    if sif:
        missing = [str(p) for p in sifs.values() if not p.is_file()]
        if missing and not dry_run:
            raise UsageError(f"{missing[0]} is missing: gslab sif {chosen[0].name} first")
    else:
        sifs = {k: p for k, p in sifs.items() if sif is None and p.is_file()}
    if sifs and username is None:
        raise UsageError("pushing .sif files needs --username (oras logs in itself), or --no-sif")
    password = read_password(password_file, username) if username and not dry_run else ""
    if username:
        login = [engine.program, "login", "--username", username, "--password-stdin", host]
        if dry_run:
            show(login)
        else:
            run_output(login, f"logging in to {host}", password + "\n")
    for variant in chosen:
        if not dry_run and not engine.has_image(variant):
            raise UsageError(engine.image_hint(variant))
        for tag in local_tags(engine, variant.image) if not dry_run else [variant.image]:
            ref = f"{where}/{tag}"
            digest = _push_image(engine, tag, ref, dry_run)
            if not dry_run:
                console.print(f"{engine.name}: {ref} {digest}", markup=False, soft_wrap=True)
        if variant.name in sifs and username:
            _push_sif(engine, sifs[variant.name], render.sif_ref(
                where, variant.name, variant.image.rsplit(":", 1)[0]), username, password,
                ca_file, registry_image, dry_run)


def _push_sif(engine: Runtime, sif_file: Path, ref: str, username: str, password: str,
              ca_file: Path | None, registry_image: str, dry_run: bool) -> None:
    site = render.SiteRegistry(engine=engine.program, image=registry_image)
    local_oras = shutil.which("oras") is not None
    command = site.oras_push(ref, sif_file, username, ca_file, local_oras)
    if dry_run:
        show(command)
        return
    if not local_oras and subprocess.run([engine.program, "image", "inspect", registry_image],
                                         capture_output=True, check=False).returncode != 0:
        raise UsageError(f"no oras here and no {registry_image} to run it from: install oras, "
                         "or gslab registry up on this machine first")
    err.print(f"pushing {sif_file.name} ({sif_file.stat().st_size / 1e9:.2f} GB) ...")
    output = run_output(command, f"oras push {ref}", password + "\n", cwd=sif_file.parent)
    found = DIGEST.findall(output)
    console.print(f"oras: {ref} {found[-1] if found else '?'}", markup=False, soft_wrap=True)
