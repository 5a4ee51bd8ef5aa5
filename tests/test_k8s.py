"""``gslab k8s``: the manifests validate against the Kubernetes schemas and keep the images'
contract (no cluster can run here: this is everything up to that edge)."""

from __future__ import annotations

from typing import Any

import kubernetes_validate
import pytest
import yaml

from grayscott import variants
from tests.test_gslab import gslab

K8S_VERSION = "1.32"
SERVED = ["cpu-jupyter", "gpu-jupyter", "cpu-code-server", "gpu-code-server"]


def rendered(*args: str) -> list[dict[str, Any]]:
    result = gslab("k8s", "render", *args)
    assert result.returncode == 0, result.stderr
    return list(yaml.safe_load_all(result.stdout))


def by_kind(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {doc["kind"]: doc for doc in docs}


@pytest.mark.parametrize("name", [*SERVED, "cpu-light", "gpu-light"])
def test_every_manifest_validates(name: str) -> None:
    docs = rendered(name)
    assert docs
    for doc in docs:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


@pytest.mark.parametrize("name", SERVED)
def test_single_user_lab_pod(name: str) -> None:
    variant = variants.get(name)
    docs = by_kind(rendered(name))
    assert set(docs) == {"PersistentVolumeClaim", "Secret", "Pod", "Service"}
    pod = docs["Pod"]["spec"]
    (container,) = pod["containers"]
    assert container["image"] == variant.image
    assert pod["securityContext"]["runAsUser"] == 1000 and pod["securityContext"]["fsGroup"] == 100
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    assert {"/work", "/tmp", "/dev/shm"} <= mounts
    shm = next(v for v in pod["volumes"] if v["name"] == "dshm")
    assert shm["emptyDir"]["medium"] == "Memory"
    secret = next(iter(docs["Secret"]["stringData"].values()))
    assert len(secret) >= 32  # never serves without a token or password
    assert docs["Service"]["spec"]["ports"][0]["port"] == variant.port
    gpu_limit = container["resources"]["limits"].get("nvidia.com/gpu")
    assert gpu_limit == ("1" if variant.target == "gpu" else None)
    assert ("tolerations" in pod) == (variant.target == "gpu")


def test_batch_job_of_the_light_image() -> None:
    docs = by_kind(rendered("gpu-light", "--", "run", "-b", "cupy-fused", "-o", "/work/run.h5"))
    job = docs["Job"]["spec"]["template"]["spec"]
    assert job["restartPolicy"] == "Never"
    assert job["containers"][0]["args"] == ["run", "-b", "cupy-fused", "-o", "/work/run.h5"]
    assert job["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "1"


def test_apply_and_delete_dry_runs() -> None:
    applied = gslab("k8s", "apply", "cpu-jupyter", "--dry-run")
    assert applied.returncode == 0 and "kubectl apply -f -" in applied.stdout
    deleted = gslab("k8s", "delete", "gslab-cpu-jupyter", "--dry-run")
    assert "app.kubernetes.io/instance=gslab-cpu-jupyter" in deleted.stdout
