"""``gslab k8s``: the manifests validate against the Kubernetes schemas and keep the images'
contract (no cluster can run here: this is everything up to that edge)."""

from __future__ import annotations

from typing import Any

import kubernetes_validate
import pytest
import yaml

from grayscott import variants
from tests.k8s_policy import CLOSED, DNS, INTERNET, egress_allows
from tests.test_gslab import gslab, one_line_error

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
    assert set(docs) == {"NetworkPolicy", "PersistentVolumeClaim", "Secret", "Pod", "Service"}
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


# --- isolation: NetworkPolicy and ephemeral storage (issue #22, attack 7) ---------------

def policy_of(docs: list[dict[str, Any]]) -> dict[str, Any]:
    (policy,) = [d for d in docs if d["kind"] == "NetworkPolicy"]
    return policy


@pytest.mark.parametrize("name", [*SERVED, "cpu-light"])
def test_network_policy_selects_the_pod_and_closes_private_ranges(name: str) -> None:
    docs = rendered(name)
    policy = policy_of(docs)
    pod = next(d for d in docs if d["kind"] in ("Pod", "Job"))
    labels = pod["metadata"]["labels"] if pod["kind"] == "Pod" else \
        pod["spec"]["template"]["metadata"]["labels"]
    selector = policy["spec"]["podSelector"]["matchLabels"]
    assert selector.items() <= labels.items()
    assert sorted(policy["spec"]["policyTypes"]) == ["Egress", "Ingress"]
    for address, port in CLOSED + INTERNET:  # no internet by default either
        assert not egress_allows(policy, address, port), (address, port)
    for address, port in DNS:
        assert egress_allows(policy, address, port, "UDP"), (address, port)
        assert egress_allows(policy, address, port, "TCP"), (address, port)


@pytest.mark.parametrize("name", SERVED)
def test_network_policy_admits_only_the_server_port_from_the_namespace(name: str) -> None:
    spec = policy_of(rendered(name))["spec"]
    (rule,) = spec["ingress"]
    assert rule["ports"] == [{"protocol": "TCP", "port": variants.get(name).port}]
    assert rule["from"] == [{"podSelector": {}}]  # pods of its own namespace, nothing else
    opened = policy_of(rendered(name, "--ingress-namespace", "ingress-nginx"))["spec"]
    (rule,) = opened["ingress"]
    assert {"namespaceSelector": {"matchLabels": {
        "kubernetes.io/metadata.name": "ingress-nginx"}}} in rule["from"]


def test_batch_job_admits_nothing() -> None:
    spec = policy_of(rendered("cpu-light"))["spec"]
    assert "Ingress" in spec["policyTypes"] and not spec.get("ingress")


@pytest.mark.parametrize("name", ["cpu-jupyter", "gpu-light"])
def test_internet_egress_is_a_flag_that_keeps_private_ranges_closed(name: str) -> None:
    policy = policy_of(rendered(name, "--egress", "internet"))
    kubernetes_validate.validate(policy, K8S_VERSION, strict=True)
    for address, port in INTERNET:
        assert egress_allows(policy, address, port), (address, port)
    for address, port in CLOSED:
        assert not egress_allows(policy, address, port), (address, port)


def test_unknown_egress_is_one_line_of_error() -> None:
    one_line_error(gslab("k8s", "render", "cpu-jupyter", "--egress", "lan"), "--egress",
                   "none", "internet")


@pytest.mark.parametrize("name", [*SERVED, "cpu-light", "gpu-light"])
def test_ephemeral_storage_is_bounded(name: str) -> None:
    """/tmp (an emptyDir on the node's disk) and the container's own writes have a cap the
    kubelet enforces by evicting this pod, before the node's disk fills and it evicts others."""
    docs = rendered(name)
    pod = next(d["spec"] if d["kind"] == "Pod" else d["spec"]["template"]["spec"]
               for d in docs if d["kind"] in ("Pod", "Job"))
    (container,) = pod["containers"]
    resources = container["resources"]
    assert resources["requests"]["ephemeral-storage"]
    limit = quantity(resources["limits"]["ephemeral-storage"])
    tmp = next(v for v in pod["volumes"] if v["name"] == "tmp")["emptyDir"]
    assert 0 < quantity(tmp["sizeLimit"]) < limit


def quantity(text: str) -> int:
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}
    for suffix, factor in units.items():
        if text.endswith(suffix):
            return int(text[: -len(suffix)]) * factor
    return int(text)


def test_delete_removes_the_network_policy_too() -> None:
    deleted = gslab("k8s", "delete", "gslab-cpu-jupyter", "--dry-run")
    assert "networkpolicy" in deleted.stdout.split("delete", 1)[1].split()[0]
