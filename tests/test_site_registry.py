"""``gslab registry`` and ``gslab push`` without an engine: the exact commands their dry runs
print (no secret among them), the clients' settings, and bad input as one line. The real
registry, pushes and pulls are tests/registry (make test-registry)."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from grayscott.launcher.render import site_registry as render
from tests.test_gslab import gslab, one_line_error
from tests.test_k8s import K8S_VERSION, rendered


def test_up_dry_run_prints_a_server_without_privileges(tmp_path: Path) -> None:
    result = gslab("registry", "up", "--dry-run", "--runtime", "docker", "--name", "reg",
                   "--port", "6000", "--host", "registry.example.org", "--pusher", "alice")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("docker build --quiet --tag gray-scott-lab-registry:latest")
    assert "init registry.example.org" in lines[1] and "--network none" in lines[1]
    assert lines[2].endswith("user alice push") and "--interactive" in lines[2]
    run = lines[3]
    for fragment in ("--cap-drop ALL", "--security-opt no-new-privileges",
                     "--volume reg-config:/conf:ro", "--volume reg-data:/var/lib/docker-registry",
                     "--publish 0.0.0.0:6000:5443", "--restart unless-stopped"):
        assert fragment in run


def test_push_dry_run_logs_in_by_stdin_and_pushes_each_image(tmp_path: Path) -> None:
    result = gslab("push", "cpu-light", "--registry", "reg.example.org:6000/lab",
                   "--username", "alice", "--no-sif", "--runtime", "podman", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "podman login --username alice --password-stdin reg.example.org:6000",
        "podman tag gray-scott-lab:cpu-light reg.example.org:6000/lab/gray-scott-lab:cpu-light",
        result.stdout.splitlines()[2],  # the --digestfile is a fresh temporary file
        "podman rmi reg.example.org:6000/lab/gray-scott-lab:cpu-light"]
    assert result.stdout.splitlines()[2].endswith(
        "reg.example.org:6000/lab/gray-scott-lab:cpu-light")


def test_the_sif_goes_as_the_artifact_apptainer_pulls(tmp_path: Path) -> None:
    sif = tmp_path / "gray-scott-lab_cpu-light.sif"
    ref = render.sif_ref("reg:6000/lab", "cpu-light", "gray-scott-lab")
    assert ref == "reg:6000/lab/gray-scott-lab-sif:cpu-light"
    site = render.SiteRegistry()
    local = site.oras_push(ref, sif, "alice", tmp_path / "ca.crt", local_oras=True)
    assert local[:2] == ["oras", "push"] and "--password-stdin" in local
    assert local[-1] == f"{sif.name}:application/vnd.sylabs.sif.layer.v1.sif"
    assert "/dev/null:application/vnd.sylabs.sif.config.v1+json" in local
    boxed = site.oras_push(ref, sif, "alice", None, local_oras=False)
    assert boxed[:2] == ["docker", "run"] and "--network" in boxed and "oras" in boxed
    assert f"{tmp_path}:/sif:ro" in boxed


def test_client_config_names_every_runtime_setting() -> None:
    text = render.client_config("reg.example.org:6000", Path("/srv/ca.crt"))
    for fragment in ("/etc/docker/certs.d/reg.example.org:6000/ca.crt",
                     "/etc/containers/certs.d/reg.example.org:6000/ca.crt",
                     "update-ca-certificates", "apptainer registry login",
                     "oras://reg.example.org:6000/", "--ca-file /srv/ca.crt"):
        assert fragment in text
    assert [p.name for p in render.apply_paths("r:1")] == ["ca.crt", "ca.crt",
                                                           "gslab-registry-r-1.crt"]


@pytest.mark.parametrize("args, fragment", [
    (("registry", "up", "--cert", "/etc/hostname", "--dry-run"), "--cert and --key go together"),
    (("registry", "up", "--port", "70000", "--dry-run"), "not a port number"),
    (("registry", "user", "bob", "--role", "admin", "--dry-run"), "push or pull"),
    (("push", "cpu-light", "--registry", "r:1/lab", "--sif", "--dry-run"), "needs --username"),
    # the unit suite sees no engine: what a machine without one is told
    (("registry", "up"), "no usable runtime among docker, podman"),
    (("registry", "status", "--runtime", "podman"), "runtime podman is not usable"),
])
def test_bad_input_is_one_line(args: tuple[str, ...], fragment: str) -> None:
    one_line_error(gslab(*args), fragment)


def test_a_password_comes_from_a_file_or_the_environment(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from grayscott.errors import UsageError
    from grayscott.launcher.commands.site_registry import read_password

    empty, given = tmp_path / "empty", tmp_path / "given"
    empty.write_text("")
    given.write_text("s3cret-enough\nignored\n")
    assert read_password(given, "alice") == "s3cret-enough"
    with pytest.raises(UsageError, match="no password for alice"):
        read_password(empty, "alice")
    monkeypatch.setenv("GSLAB_REGISTRY_PASSWORD", "from-the-env")
    assert read_password(None, "alice") == "from-the-env"


@pytest.mark.parametrize("name", ["cpu-jupyter", "cpu-light"])
def test_k8s_render_from_the_registry_validates(name: str) -> None:
    docs = rendered(name, "--registry", "reg.example.org:5443/lab/", "--pull-secret", "site")
    workloads = [d for d in docs if d["kind"] in ("Pod", "Job")]
    assert len(workloads) == 1
    for doc in docs:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
    spec = workloads[0]["spec"]
    spec = spec["template"]["spec"] if workloads[0]["kind"] == "Job" else spec
    assert spec["containers"][0]["image"] == f"reg.example.org:5443/lab/gray-scott-lab:{name}"
    assert spec["imagePullSecrets"] == [{"name": "site"}]
    # and the Secret it names, with the account's password from a file, not the argv
    secret = gslab_with_stdin("k8s", "pull-secret", "--registry", "reg.example.org:5443/lab",
                              "--username", "bob", "--name", "site", stdin="pw-long-enough\n")
    doc = yaml.safe_load(secret)
    kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
    config = json.loads(base64.b64decode(doc["data"][".dockerconfigjson"]))
    assert config["auths"]["reg.example.org:5443"]["username"] == "bob"
    assert config["auths"]["reg.example.org:5443"]["password"] == "pw-long-enough"


def gslab_with_stdin(*args: str, stdin: str) -> str:
    result = subprocess.run([sys.executable, "-m", "grayscott.launcher", *args], input=stdin,
                            capture_output=True, text=True, timeout=120, check=False,
                            env={**os.environ, "COLUMNS": "200"})
    assert result.returncode == 0, result.stderr
    return result.stdout
