"""Push to the site registry and pull from it by Docker, Podman and Apptainer (docker:// and
oras://), as their users would: the same image (digests equal to the source's), a smoke
run from each copy, ``gslab sif --from registry`` making the .sif a cluster runs, and the
refusals (no credentials, a pull-only account pushing) in words a user can act on. Every
pulled copy is removed again (the source images stay)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import pytest

from grayscott.launcher.apptainer import ApptainerRuntime
from grayscott.launcher.render.site_registry import sif_ref
from tests.registry.conftest import GSLAB, Box, Pushed, Site, images, sifs_from_registry
from tests.utils import REPO, run

SMOKE_OK = " ok "


def smoke_run(variant: str) -> list[str]:
    """``ENGINE run`` arguments before and after the image's reference for ``grayscott
    smoke``: cpu-light's default command; the server images name it (their entrypoint starts
    the server)."""
    return [] if variant == "cpu-light" else ["--entrypoint", "grayscott"]


def assert_smoke_ok(output: str) -> None:
    assert "grayscott smoke" in output and SMOKE_OK in output, output


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return "sha256:" + digest.hexdigest()


def test_push_gives_every_tag_and_the_sif_a_digest(site: Site, pushed: Pushed) -> None:
    for variant in images():
        ref = site.ref(variant)
        assert pushed.digests.get(ref, "").startswith("sha256:"), pushed
        # the dated, versioned tag of the same image went too, with the same manifest
        others = [r for r in pushed.digests if r.startswith(ref + "-")]
        assert others and all(pushed.digests[r] == pushed.digests[ref] for r in others), pushed
    # docker login, docker push and oras were handed the password on stdin, never in an argv
    assert pushed.argv_hits == []
    for variant in images():
        ref = sif_ref(site.where, variant, site.repository)
        assert pushed.digests[ref].startswith("sha256:")
        site.bench[f"sif_{variant}_bytes"] = ApptainerRuntime.sif_path(variant).stat().st_size
        site.bench[f"image_{variant}_bytes"] = int(site.engine(
            "docker", "image", "inspect", "--format", "{{.Size}}", pushed.ids[variant]).stdout)


@pytest.mark.parametrize("variant", images())
def test_docker_pulls_the_same_image_and_runs_it(site: Site, pushed: Pushed,
                                                variant: str) -> None:
    ref, source = site.ref(variant), f"{site.repository}:{variant}"
    site.engine("docker", "login", "--username", "bob", "--password-stdin", site.endpoint,
                input_text=site.password("bob"))
    try:
        started = time.monotonic()
        site.engine("docker", "pull", ref)
        site.bench[f"pull_docker_{variant}_s"] = round(time.monotonic() - started, 1)
        inspect = json.loads(site.engine("docker", "image", "inspect", ref).stdout)[0]
        assert inspect["Id"] == pushed.ids[variant]
        assert f"{ref.rsplit(':', 1)[0]}@{pushed.digests[ref]}" in inspect["RepoDigests"]
        smoke = site.engine("docker", "run", "--rm", "-e", "COLUMNS=200", *smoke_run(variant),
                            ref, *(["smoke"] if smoke_run(variant) else []))
        assert_smoke_ok(smoke.stdout)
        # gslab pull: from the registry, named as gslab runs it (this session's repository)
        site.gslab("pull", variant, "--registry", site.where, "--runtime", "docker")
        assert site.engine("docker", "image", "inspect", "--format", "{{.Id}}",
                           source).stdout.strip() == pushed.ids[variant]
    finally:
        site.engine("docker", "rmi", ref, check=False)


@pytest.mark.parametrize("variant", images())
def test_podman_pulls_the_same_image_and_runs_it(site: Site, pushed: Pushed,
                                                variant: str) -> None:
    """Into an empty store of its own: every layer comes over the network, as on a new site
    (Docker's pull above finds the source's layers already there)."""
    if shutil.which("podman") is None:
        pytest.fail("podman is not installed: bash scripts/setup-engines.sh")
    ref = site.ref(variant)
    store = Path(tempfile.mkdtemp(prefix="gslab-regtest-podman-", dir="/var/tmp"))
    podman = ("--root", str(store / "root"), "--runroot", str(store / "run"))
    site.engine("podman", *podman, "login", "--username", "bob", "--password-stdin",
                site.endpoint, input_text=site.password("bob"))
    try:
        started = time.monotonic()
        site.engine("podman", *podman, "pull", "-q", ref)
        site.bench[f"pull_podman_empty_store_{variant}_s"] = round(time.monotonic() - started, 1)
        pulled = json.loads(site.engine("podman", *podman, "image", "inspect", ref).stdout)[0]
        assert "sha256:" + pulled["Id"] == pushed.ids[variant]  # the same configuration
        assert pulled["Digest"] == pushed.digests[ref]
        smoke = site.engine("podman", *podman, "run", "--rm", "-e", "COLUMNS=200",
                            *smoke_run(variant), ref,
                            *(["smoke"] if smoke_run(variant) else []))
        assert_smoke_ok(smoke.stdout)
    finally:
        site.engine("podman", *podman, "rmi", "--all", "--force", check=False)
        shutil.rmtree(store, ignore_errors=True)


def _apptainer_login(box: Box, site: Site, scheme: str) -> None:
    box.apptainer("registry", "login", "--username", "bob", "--password-stdin",
                  f"{scheme}://{site.endpoint}", input_text=site.password("bob"))


@pytest.mark.parametrize("variant", sifs_from_registry())
def test_gslab_sif_from_registry_makes_what_the_cluster_runs(site: Site, pushed: Pushed,
                                                             box: Box, variant: str) -> None:
    """``gslab sif --from registry``: Apptainer's docker:// client (``apptainer build
    docker://``, what ``apptainer pull docker://`` runs) as an ordinary user logged in as bob,
    through the shim into the box; then ``gslab smoke`` runs the .sif as a cluster would."""
    _apptainer_login(box, site, "docker")
    built = box.workdir / "from-registry"
    built.mkdir(mode=0o777)  # the user's folder: Apptainer writes there as the user
    built.chmod(0o777)
    env = {"PATH": f"{REPO / 'scripts' / 'apptainer'}:{os.environ['PATH']}", "COLUMNS": "300",
           "GSLAB_APPTAINER_NAME": box.name, "GSLAB_SIF_DIR": str(built)}
    try:
        started = time.monotonic()
        made = run(*GSLAB, "sif", variant, "--from", "registry", "--registry", site.where,
                   env={**site.env, **env}, cwd=box.workdir)
        site.bench[f"pull_apptainer_docker_{variant}_s"] = round(time.monotonic() - started, 1)
        sif = built / ApptainerRuntime.sif_path(variant).name
        assert f"wrote {sif}" in made.stdout, made.stdout
        # the image Apptainer built is the pushed one: its labels (versions, build date)
        labels = json.loads(box.apptainer("inspect", "--json", "--labels", str(sif)).stdout)
        labels = labels["data"]["attributes"]["labels"]
        assert {k: labels.get(k) for k in pushed.labels[variant]} == pushed.labels[variant]
        # every backend the image requires ok (else exit 1), from the .sif just made
        smoke = run(*GSLAB, "smoke", variant, "--runtime", "apptainer", env={**site.env, **env},
                    cwd=box.workdir)
        assert f"{variant}" in smoke.stdout and "apptainer" in smoke.stdout, smoke.stdout
    finally:
        shutil.rmtree(built, ignore_errors=True)


@pytest.mark.parametrize("variant", images())
def test_apptainer_pulls_the_sif_by_oras_unchanged(site: Site, pushed: Pushed, box: Box,
                                                   variant: str) -> None:
    _apptainer_login(box, site, "oras")
    out = box.workdir / f"from-oras-{variant}.sif"
    try:
        started = time.monotonic()
        box.apptainer("pull", str(out), f"oras://{sif_ref(site.where, variant, site.repository)}")
        site.bench[f"pull_apptainer_oras_{variant}_s"] = round(time.monotonic() - started, 1)
        assert _sha256(out) == _sha256(ApptainerRuntime.sif_path(variant))
        assert_smoke_ok(box.apptainer("exec", str(out), "grayscott", "smoke").stdout)
    finally:
        out.unlink(missing_ok=True)


def test_a_pull_without_credentials_is_refused(site: Site, pushed: Pushed,
                                               tmp_path: Path) -> None:
    (tmp_path / "auth.json").write_text("{}")  # no account: neither engine has logged in
    anonymous = {"DOCKER_CONFIG": str(tmp_path), "REGISTRY_AUTH_FILE": str(tmp_path / "auth.json")}
    ref = site.ref("cpu-light")
    refused = run("docker", "pull", ref, env=anonymous, check=False)
    assert refused.returncode != 0 and "no basic auth credentials" in refused.stderr
    refused = run("podman", "pull", ref, env=anonymous, check=False)
    assert refused.returncode != 0 and "unauthorized" in refused.stderr.lower()


def test_a_pull_only_account_cannot_push(site: Site, pushed: Pushed) -> None:
    site.engine("docker", "login", "--username", "bob", "--password-stdin", site.endpoint,
                input_text=site.password("bob"))
    refused = site.gslab("push", "cpu-light", "--registry", site.where, "--no-sif",
                         "--runtime", "docker", check=False)
    assert refused.returncode == 2
    assert "denied: account bob may pull but not push" in refused.stderr
    assert "Traceback" not in refused.stderr and len(refused.stderr.strip().splitlines()) == 1


def test_a_wrong_password_is_refused(site: Site, tmp_path: Path) -> None:
    wrong = tmp_path / "wrong"
    wrong.write_text("not-the-password\n")
    refused = site.gslab("push", "cpu-light", "--registry", site.where, "--no-sif",
                         "--username", "alice", "--password-file", str(wrong),
                         "--runtime", "docker", check=False)
    assert refused.returncode == 2 and "logging in to" in refused.stderr
    assert "unauthorized" in refused.stderr.lower()


def test_a_second_registry_on_a_taken_port_is_one_line(site: Site) -> None:
    port = site.endpoint.rsplit(":", 1)[1]
    refused = site.gslab("registry", "up", "--name", f"{site.name}-second", "--port", port,
                         "--image", site.image, "--runtime", "docker", check=False)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert refused.stderr.strip() == f"error: port {port} on 0.0.0.0 is in use: choose another " \
                                     "with --port"
    assert run("docker", "volume", "inspect", f"{site.name}-second-config",
               check=False).returncode != 0  # refused before anything was made
