"""Mirroring for a site with no internet: ``gslab bundle`` where the images are, the folder
carried over, then on the site ``gslab load`` and ``gslab push`` into its own registry; its
users pull the same image as from the source. The bundle and every copy are removed."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from grayscott.launcher.apptainer import ApptainerRuntime
from tests.registry.conftest import Pushed, Site
from tests.utils import run

VARIANT = "cpu-light"


def test_a_bundle_loaded_offline_is_pushed_and_pulled_unchanged(site: Site, pushed: Pushed,
                                                                tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    mirror = f"{site.endpoint}/mirror"
    ref = f"{mirror}/{site.repository}:{VARIANT}"
    ours = [t for t in json.loads(site.engine("docker", "image", "inspect", "--format",
                                              "{{json .RepoTags}}", pushed.ids[VARIANT]).stdout)
            if t.startswith(f"{site.repository}:")]
    try:
        started = time.monotonic()
        site.gslab("bundle", VARIANT, "--output", str(bundle))
        site.bench["mirror_bundle_cpu-light_s"] = round(time.monotonic() - started, 1)
        sif = bundle / ApptainerRuntime.sif_path(VARIANT).name
        assert (bundle / f"{VARIANT}.tar").is_file() and sif.is_file()
        # the site's engine knows the image only from the bundle: this session's names gone
        site.engine("docker", "rmi", *ours)
        started = time.monotonic()
        site.gslab("load", str(bundle), "--runtime", "docker")
        site.bench["mirror_load_cpu-light_s"] = round(time.monotonic() - started, 1)
        started = time.monotonic()
        # the .sif from the bundle too (GSLAB_SIF_DIR: where gslab push looks)
        out = site.gslab("push", VARIANT, "--registry", mirror, "--username", "alice",
                         "--password-file", str(site.passwords["alice"]), "--ca-file",
                         str(site.ca), "--runtime", "docker", "--registry-image", site.image,
                         "--sif", env_extra={"GSLAB_SIF_DIR": str(bundle)}).stdout
        site.bench["mirror_push_cpu-light_s"] = round(time.monotonic() - started, 1)
        assert f"docker: {ref} sha256:" in out and f"oras: {mirror}/{site.repository}-sif:" \
            f"{VARIANT} sha256:" in out, out
        site.engine("docker", "login", "--username", "bob", "--password-stdin", site.endpoint,
                    input_text=site.password("bob"))
        site.engine("docker", "pull", ref)
        assert site.engine("docker", "image", "inspect", "--format", "{{.Id}}",
                           ref).stdout.strip() == pushed.ids[VARIANT]
    finally:
        run("docker", "rmi", ref, check=False)
        for tag in ours:  # this session's names back, as the other tests found them
            run("docker", "tag", pushed.ids[VARIANT], tag, check=False)
        shutil.rmtree(bundle, ignore_errors=True)
