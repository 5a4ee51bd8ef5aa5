"""Kubernetes manifests for the lab: a single-user lab (Pod + Service + PVC + token Secret)
or a batch Job of the light image, for the cpu or gpu target, each with its NetworkPolicy.

The pods keep the images' contract: UID 1000, group 100, read-only root filesystem, an
emptyDir /tmp, a memory-backed /dev/shm (PyTorch and JAX need more than the 64 MB default),
never serving without a token or password, and ``nvidia.com/gpu`` limits for gpu targets.

Isolation on a shared cluster (issue #22): the NetworkPolicy admits only the server's port,
from pods of the same namespace (an ingress controller's namespace when named), and lets the
pod reach DNS and nothing else: not the cloud metadata service, not the cluster's or the
site's private ranges; the internet only when asked (``egress="internet"``). /tmp has a size
limit and the container an ephemeral-storage limit, so one pod filling the node's disk is
evicted alone instead of the kubelet evicting its neighbours.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
from typing import Any

from grayscott.errors import UsageError
from grayscott.variants import Variant

APP = "gray-scott-lab"

#: Never reachable from a lab except on port 53 (a cluster's DNS lives there): the cloud
#: metadata service (169.254.169.254, and AWS's fd00:ec2::254) and the rest of link-local
#: (NodeLocal DNSCache, EKS pod identity), RFC 1918, carrier-grade NAT (pod and node ranges of
#: some clusters), IPv6 unique-local and link-local.
PRIVATE_RANGES = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10",
                  "169.254.0.0/16", "fc00::/7", "fe80::/10")
#: what a lab may reach beyond DNS: nothing (the default: the images hold everything the labs
#: need) or the internet, the private ranges above still closed
EGRESS = ("none", "internet")
#: /tmp's cap and the container's ephemeral storage (/tmp, its logs, its writable layer):
#: the caches (Numba, CuPy, Triton) live in /tmp; the limit leaves room for the logs
TMP_SIZE = "2Gi"
EPHEMERAL_REQUEST = "1Gi"
EPHEMERAL_LIMIT = "3Gi"


def _labels(name: str, variant: Variant) -> dict[str, str]:
    return {"app.kubernetes.io/name": APP, "app.kubernetes.io/instance": name,
            "app.kubernetes.io/component": variant.flavour, "org.grayscott.lab": "1"}


def _pod_spec(variant: Variant, name: str, *, gpu: bool, args: list[str], env: list[dict[str, Any]],
              cpu: str, memory: str, restart: str) -> dict[str, Any]:
    limits: dict[str, str] = {"cpu": cpu, "memory": memory, "ephemeral-storage": EPHEMERAL_LIMIT}
    if gpu:
        limits["nvidia.com/gpu"] = "1"
    container: dict[str, Any] = {
        "name": variant.flavour,
        "image": variant.image,
        "imagePullPolicy": "IfNotPresent",
        "env": env,
        "resources": {"requests": {"cpu": "500m", "memory": "1Gi",
                                   "ephemeral-storage": EPHEMERAL_REQUEST}, "limits": limits},
        "securityContext": {"readOnlyRootFilesystem": True, "allowPrivilegeEscalation": False,
                            "capabilities": {"drop": ["ALL"]}},
        "volumeMounts": [{"name": "work", "mountPath": "/work"},
                         {"name": "tmp", "mountPath": "/tmp"},
                         {"name": "dshm", "mountPath": "/dev/shm"}],
    }
    if args:
        container["args"] = args
    if variant.server:
        container["ports"] = [{"name": "http", "containerPort": variant.server.port}]
        container["readinessProbe"] = {"httpGet": {"path": variant.server.health,
                                                   "port": "http"}, "periodSeconds": 5}
    spec: dict[str, Any] = {
        "restartPolicy": restart,
        "automountServiceAccountToken": False,  # a lab never talks to the cluster's API
        "securityContext": {"runAsUser": 1000, "runAsGroup": 100, "fsGroup": 100,
                            "runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [container],
        "volumes": [{"name": "work", "persistentVolumeClaim": {"claimName": f"{name}-work"}},
                    {"name": "tmp", "emptyDir": {"sizeLimit": TMP_SIZE}},
                    {"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": "2Gi"}}],
    }
    if gpu:
        spec["tolerations"] = [{"key": "nvidia.com/gpu", "operator": "Exists",
                                "effect": "NoSchedule"}]
    return spec


def network_policy(variant: Variant, name: str, *, egress: str = "none",
                   ingress_namespaces: tuple[str, ...] = ()) -> dict[str, Any]:
    """The NetworkPolicy of the pod ``name``: the server's port from its own namespace (and
    ``ingress_namespaces``, e.g. the ingress controller's), nothing in for a Job; out, DNS
    only, or DNS and the internet. It takes effect where the cluster's network plugin
    enforces NetworkPolicies (Calico, Cilium, ...); elsewhere it is accepted and ignored."""
    if egress not in EGRESS:
        raise UsageError(f"--egress must be one of {', '.join(EGRESS)}, not {egress!r}")
    ingress: list[dict[str, Any]] = []
    if variant.server:
        sources: list[dict[str, Any]] = [{"podSelector": {}}]
        sources += [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns}}}
                    for ns in ingress_namespaces]
        ingress.append({"ports": [{"protocol": "TCP", "port": variant.server.port}],
                        "from": sources})
    dns_servers: list[dict[str, Any]] = [{"namespaceSelector": {"matchLabels": {
        "kubernetes.io/metadata.name": "kube-system"}}}]
    dns_servers += [{"ipBlock": {"cidr": cidr}} for cidr in PRIVATE_RANGES]
    rules: list[dict[str, Any]] = [{"ports": [{"protocol": "UDP", "port": 53},
                                              {"protocol": "TCP", "port": 53}],
                                    "to": dns_servers}]
    if egress == "internet":
        v4 = [cidr for cidr in PRIVATE_RANGES if ":" not in cidr]
        v6 = [cidr for cidr in PRIVATE_RANGES if ":" in cidr]
        rules.append({"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": v4}},
                             {"ipBlock": {"cidr": "::/0", "except": v6}}]})
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "labels": _labels(name, variant)},
            "spec": {"podSelector": {"matchLabels": {"app.kubernetes.io/instance": name}},
                     "policyTypes": ["Ingress", "Egress"], "ingress": ingress,
                     "egress": rules}}


def render(variant: Variant, name: str | None = None, *, args: list[str] | None = None,
           storage: str = "5Gi", cpu: str = "4", memory: str = "8Gi",
           token: str | None = None, egress: str = "none",
           ingress_namespaces: tuple[str, ...] = (), registry: str | None = None,
           pull_secret: str = "gslab-registry") -> list[dict[str, Any]]:
    """The manifests that run ``variant`` on a cluster, in the order to apply them (the
    NetworkPolicy first: the pod never runs unconfined). With ``registry`` (HOST:PORT/PROJECT,
    a site registry: gslab registry up) the image comes from there, with the credentials of
    the ``pull_secret`` Secret (``gslab k8s pull-secret`` writes it)."""
    docs = _render(variant, name, args=args, storage=storage, cpu=cpu, memory=memory,
                   token=token, egress=egress, ingress_namespaces=ingress_namespaces)
    if registry:
        for doc in (d for d in docs if d["kind"] in ("Job", "Pod")):
            spec = doc["spec"]["template"]["spec"] if doc["kind"] == "Job" else doc["spec"]
            spec["containers"][0]["image"] = f"{registry.rstrip('/')}/{variant.image}"
            spec["imagePullSecrets"] = [{"name": pull_secret}]
    return docs


def hub_values(base: dict[str, Any], registry: str, pull_secret: str) -> dict[str, Any]:
    """A Helm values file to give after the hub's (k8s/jupyterhub/values.yaml): every lab
    image there, the default and each profile's, from the site registry, pulled with the
    ``pull_secret`` Secret's account (the chart hands ``singleuser.image.pullSecrets`` to the
    user pods and the pre-puller). Helm replaces lists, so the profiles are repeated whole,
    only their image renamed: generated from the values, never kept in step by hand."""
    where = registry.rstrip("/")
    singleuser = base.get("singleuser") or {}
    image = singleuser.get("image") or {}
    if "name" not in image:
        raise UsageError("those values have no singleuser.image.name: give the hub's values "
                         "(k8s/jupyterhub/values.yaml)")
    profiles = [dict(p) for p in singleuser.get("profileList") or []]
    for profile in profiles:
        override = profile.get("kubespawner_override")
        if override and "image" in override:
            profile["kubespawner_override"] = {**override, "image": f"{where}/{override['image']}"}
    overlay: dict[str, Any] = {"image": {"name": f"{where}/{image['name']}",
                                         "pullSecrets": [pull_secret]}}
    if profiles:
        overlay["profileList"] = profiles
    return {"singleuser": overlay}


def pull_secret_manifest(name: str, server: str, username: str, password: str) -> dict[str, Any]:
    """A ``kubernetes.io/dockerconfigjson`` Secret for one registry account: what kubelet
    logs in with to pull the lab's image (a pull-only account is enough)."""
    auth = base64.b64encode(f"{username}:{password}".encode()).decode()
    config = {"auths": {server: {"username": username, "password": password, "auth": auth}}}
    return {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/dockerconfigjson",
            "metadata": {"name": name, "labels": {"app.kubernetes.io/name": APP}},
            "data": {".dockerconfigjson": base64.b64encode(json.dumps(config).encode()).decode()}}


def _render(variant: Variant, name: str | None, *, args: list[str] | None, storage: str,
            cpu: str, memory: str, token: str | None, egress: str,
            ingress_namespaces: tuple[str, ...]) -> list[dict[str, Any]]:
    name = name or f"gslab-{variant.name}"
    gpu = variant.target == "gpu"
    labels = _labels(name, variant)
    meta = {"name": name, "labels": labels}
    docs: list[dict[str, Any]] = [network_policy(variant, name, egress=egress,
                                                 ingress_namespaces=ingress_namespaces), {
        "apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": f"{name}-work", "labels": labels},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": storage}}},
    }]
    if variant.server is None:  # a batch image: a Job
        spec = _pod_spec(variant, name, gpu=gpu, args=args or ["smoke"], env=[], cpu=cpu,
                         memory=memory, restart="Never")
        docs.append({"apiVersion": "batch/v1", "kind": "Job", "metadata": meta,
                     "spec": {"backoffLimit": 0, "ttlSecondsAfterFinished": 86400,
                              "template": {"metadata": {"labels": labels}, "spec": spec}}})
        return docs
    key = variant.server.secret_env
    docs.append({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                 "metadata": {"name": f"{name}-auth", "labels": labels},
                 "stringData": {key: token or secrets.token_hex(24)}})
    env = [{"name": key, "valueFrom": {"secretKeyRef": {"name": f"{name}-auth", "key": key}}}]
    docs.append({"apiVersion": "v1", "kind": "Pod", "metadata": meta,
                 "spec": _pod_spec(variant, name, gpu=gpu, args=args or [], env=env, cpu=cpu,
                                   memory=memory, restart="Always")})
    docs.append({"apiVersion": "v1", "kind": "Service", "metadata": meta,
                 "spec": {"selector": {"app.kubernetes.io/instance": name},
                          "ports": [{"name": "http", "port": variant.server.port,
                                     "targetPort": "http"}]}})
    return docs


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(str(value))  # a JSON string is a valid YAML double-quoted scalar


def _key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key)


def _yaml(value: Any, indent: int = 0) -> list[str]:
    pad = " " * indent
    lines: list[str] = []
    if isinstance(value, dict):
        for k, v in value.items():
            if isinstance(v, (dict, list)) and v:
                lines.append(f"{pad}{_key(k)}:")
                lines += _yaml(v, indent + 2)
            elif isinstance(v, (dict, list)):
                lines.append(f"{pad}{_key(k)}: {'{}' if isinstance(v, dict) else '[]'}")
            else:
                lines.append(f"{pad}{_key(k)}: {_scalar(v)}")
    elif isinstance(value, list):
        for item in value:
            body = _yaml(item, indent + 2)
            if isinstance(item, (dict, list)) and body:
                lines.append(f"{pad}- {body[0].lstrip()}")
                lines += body[1:]
            else:
                lines.append(f"{pad}- {_scalar(item)}")
    return lines


def to_yaml(docs: list[dict[str, Any]]) -> str:
    """The manifests as one multi-document YAML stream (no YAML library needed)."""
    return "".join("---\n" + "\n".join(_yaml(doc)) + "\n" for doc in docs)
