"""The deployments under k8s/, checked up to the edge of a cluster (none can run here).

Kustomize: every kustomization is rendered by the real kustomize (``kubectl kustomize``),
each object validates against the Kubernetes 1.32 schemas, and the pods keep the contract of
``gslab k8s render`` and of the images (UID 1000, GID 100, read-only root filesystem, /tmp
emptyDir, memory-backed /dev/shm, a GPU limit only for gpu images).

Zero-to-JupyterHub: ``k8s/jupyterhub/values.yaml`` is turned into KubeSpawner configuration
the way the chart's ``jupyterhub_config.py`` does (``z2jh_config`` below), the real
KubeSpawner applies each profile (its own ``load_user_options``) and renders the pod it would
create (``get_pod_manifest``), with the chart's cloud-metadata init container. Limits of
that mapping: it covers only the keys our values use; chart defaults for keys we do not set
(extraLabels, common labels, namespace, events, startTimeout) are not applied; the chart's
templates (hub, proxy, culler, pre-puller DaemonSets) are not rendered, so cull and prePuller
are checked as values only, and the user pods' NetworkPolicy is the chart's template
rewritten in Python (``singleuser_network_policy``). KubeSpawner is given a kubeconfig whose
API server is never contacted. The hub's authenticator is built from the values and the
secrets install.sh writes, as the chart's jupyterhub_config.py does (hub.loadRoles, hub.config,
then hub.extraConfig), and run on a real in-memory hub database; JupyterHub's own start-up
steps load the roles into a hub database (users, roles, services; no spawner, no proxy).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from grayscott import backends, variants
from grayscott.launcher.render import kubernetes as gslab_k8s
from tests.k8s_policy import CLOSED, DNS, INTERNET, egress_allows

ROOT = Path(__file__).resolve().parents[1]
K8S = ROOT / "k8s"
HUB = K8S / "jupyterhub"
K8S_VERSION = "1.32"  # the oldest Kubernetes the chart 4.4 supports

#: every kustomization and the image variant its pods run
VARIANT_OF = {
    "lab/base": "cpu-jupyter", "lab/cpu": "cpu-jupyter", "lab/gpu": "gpu-jupyter",
    "batch/base": "cpu-light", "batch/cpu": "cpu-light", "batch/gpu": "gpu-light",
}


# --- kustomize -------------------------------------------------------------------------

def kustomizations() -> list[str]:
    """Directories holding a kustomization (components are rendered through their users)."""
    found = []
    for path in sorted(K8S.rglob("kustomization.yaml")):
        if yaml.safe_load(path.read_text()).get("kind") != "Component":
            found.append(path.parent.relative_to(K8S).as_posix())
    return found


@cache
def kustomize(directory: str) -> list[dict[str, Any]]:
    """The objects ``kubectl kustomize k8s/DIRECTORY`` (or ``kustomize build``) prints."""
    if kubectl := shutil.which("kubectl"):
        command = [kubectl, "kustomize"]
    elif standalone := shutil.which("kustomize"):
        command = [standalone, "build"]
    else:
        pytest.fail("rendering k8s/ needs kubectl (its kustomize) or kustomize on PATH: "
                    "apt-get install kubectl, or Debian 13's kubernetes-client")
    result = subprocess.run([*command, str(K8S / directory)], capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def workload_pod(docs: list[dict[str, Any]]) -> dict[str, Any]:
    """The pod spec of the one Pod, Deployment or Job among ``docs``."""
    pods = [d["spec"] if d["kind"] == "Pod" else d["spec"]["template"]["spec"]
            for d in docs if d["kind"] in ("Pod", "Deployment", "Job")]
    assert len(pods) == 1, [d["kind"] for d in docs]
    return pods[0]


def _effective(pod: dict[str, Any], key: str) -> Any:
    """A security setting as the kubelet applies it: the container's, else the pod's."""
    container = (pod["containers"][0].get("securityContext") or {})
    return container.get(key, (pod.get("securityContext") or {}).get(key))


def _volume_kind(volume: dict[str, Any]) -> str:
    if "persistentVolumeClaim" in volume:
        return "pvc"
    if "emptyDir" in volume:
        return "memory" if (volume["emptyDir"] or {}).get("medium") == "Memory" else "emptyDir"
    return next(iter(set(volume) - {"name"}))


def pod_contract(pod: dict[str, Any]) -> dict[str, Any]:
    """What every lab pod must agree on, however it was made (gslab, kustomize, the hub)."""
    (container,) = pod["containers"]
    context = container.get("securityContext") or {}
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: _volume_kind(volumes[m["name"]]) for m in container["volumeMounts"]}
    return {
        "runAsUser": _effective(pod, "runAsUser"),
        "runAsGroup": _effective(pod, "runAsGroup"),
        "runAsNonRoot": _effective(pod, "runAsNonRoot"),
        "seccompProfile": _effective(pod, "seccompProfile"),
        "fsGroup": (pod.get("securityContext") or {}).get("fsGroup"),
        "readOnlyRootFilesystem": context.get("readOnlyRootFilesystem"),
        "allowPrivilegeEscalation": context.get("allowPrivilegeEscalation"),
        "automountServiceAccountToken": pod.get("automountServiceAccountToken"),
        "mounts": {path: kind for path, kind in mounts.items()
                   if path in ("/work", "/tmp", "/dev/shm")},
        "gpus": (container.get("resources") or {}).get("limits", {}).get("nvidia.com/gpu"),
        # one pod filling the node's disk is evicted alone (issue #22, attack 7)
        "ephemeral-storage": {level: (container.get("resources") or {}).get(level, {}).get(
            "ephemeral-storage") for level in ("requests", "limits")},
        "tmp sizeLimit": next(((v["emptyDir"] or {}).get("sizeLimit") for v in volumes.values()
                               if v["name"] == "tmp"), None),
        "tolerates_gpu_nodes": any(t.get("key") == "nvidia.com/gpu"
                                   for t in pod.get("tolerations") or []),
    }


def gslab_pod(variant_name: str) -> dict[str, Any]:
    return workload_pod(gslab_k8s.render(variants.get(variant_name)))


def test_every_kustomization_is_known() -> None:
    assert kustomizations() == sorted(VARIANT_OF)


@pytest.mark.parametrize("directory", sorted(VARIANT_OF))
def test_kustomization_validates_against_the_schemas(directory: str) -> None:
    docs = kustomize(directory)
    assert {d["kind"] for d in docs} >= {"PersistentVolumeClaim"}
    for doc in docs:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


@pytest.mark.parametrize("directory", sorted(VARIANT_OF))
def test_kustomized_pod_keeps_the_gslab_contract(directory: str) -> None:
    variant = variants.get(VARIANT_OF[directory])
    pod = workload_pod(kustomize(directory))
    assert pod["containers"][0]["image"] == variant.image
    contract = pod_contract(pod)
    assert contract == pod_contract(gslab_pod(variant.name))
    # and the contract itself is the images' (not merely two files agreeing on a mistake)
    assert (contract["runAsUser"], contract["runAsGroup"], contract["fsGroup"]) == (1000, 100, 100)
    assert contract["readOnlyRootFilesystem"] is True
    assert contract["automountServiceAccountToken"] is False  # no cluster API from a lab
    assert contract["mounts"] == {"/work": "pvc", "/tmp": "emptyDir", "/dev/shm": "memory"}
    assert contract["gpus"] == ("1" if variant.target == "gpu" else None)
    assert contract["ephemeral-storage"]["limits"] and contract["tmp sizeLimit"]


@pytest.mark.parametrize("directory", sorted(VARIANT_OF))
def test_kustomization_has_the_network_policy_of_gslab(directory: str) -> None:
    """The same policy as ``gslab k8s render`` (its default: no internet), selecting the
    workload's pods: they reach DNS and nothing private, admit only the server's port."""
    variant = variants.get(VARIANT_OF[directory])
    docs = kustomize(directory)
    (policy,) = [d for d in docs if d["kind"] == "NetworkPolicy"]
    (workload,) = [d for d in docs if d["kind"] in ("Deployment", "Job")]
    pod_labels = workload["spec"]["template"]["metadata"]["labels"]
    assert policy["spec"]["podSelector"]["matchLabels"].items() <= pod_labels.items()
    expected = gslab_k8s.network_policy(variant, "any")["spec"]
    assert {k: v for k, v in policy["spec"].items() if k != "podSelector"} == \
        {k: v for k, v in expected.items() if k != "podSelector"}
    for address, port in CLOSED + INTERNET:
        assert not egress_allows(policy, address, port), (address, port)


@pytest.mark.parametrize("directory", sorted(VARIANT_OF))
def test_work_volume_is_a_claim_of_the_same_render(directory: str) -> None:
    docs = kustomize(directory)
    claims = {d["metadata"]["name"] for d in docs if d["kind"] == "PersistentVolumeClaim"}
    pod = workload_pod(docs)
    work = next(v for v in pod["volumes"] if v["name"] == "work")
    assert work["persistentVolumeClaim"]["claimName"] in claims


@pytest.mark.parametrize("directory", ["lab/cpu", "lab/gpu"])
def test_lab_token_comes_from_a_secret_never_from_the_repository(directory: str) -> None:
    docs = kustomize(directory)
    assert "Secret" not in {d["kind"] for d in docs}
    (container,) = workload_pod(docs)["containers"]
    (token,) = [e for e in container["env"] if e["name"] == "JUPYTER_TOKEN"]
    secret = token["valueFrom"]["secretKeyRef"]
    assert secret.get("optional") is not True  # no Secret, no pod
    # the README's command creates exactly that Secret and key
    assert f"kubectl create secret generic {secret['name']}" in (K8S / "README.md").read_text()
    assert f"--from-literal={secret['key']}=" in (K8S / "README.md").read_text()
    service = next(d for d in docs if d["kind"] == "Service")
    assert service["spec"]["ports"][0]["port"] == variants.get(VARIANT_OF[directory]).port


@pytest.mark.parametrize("directory", ["lab/gpu", "batch/gpu"])
def test_gpu_overlays_schedule_on_gpu_nodes(directory: str) -> None:
    pod = workload_pod(kustomize(directory))
    assert pod["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    shm = next(v for v in pod["volumes"] if v["name"] == "dshm")
    assert shm["emptyDir"] == {"medium": "Memory", "sizeLimit": "8Gi"}


@pytest.mark.parametrize("directory", ["batch/cpu", "batch/gpu"])
def test_batch_job_writes_its_hdf5_onto_the_claim(directory: str) -> None:
    variant = variants.get(VARIANT_OF[directory])
    docs = kustomize(directory)
    job = next(d for d in docs if d["kind"] == "Job")
    pod = job["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "Never" and job["spec"]["backoffLimit"] == 0
    (container,) = pod["containers"]
    args = container["args"]
    assert args[0] == "run"
    backend = args[args.index("--backend") + 1]
    backends.get(backend)  # a real backend name
    assert backend in variant.require_backends  # one the image proves in its tests
    output = args[args.index("--output") + 1]
    assert output.startswith("/work/") and output.endswith(".h5")
    # $(POD_NAME) is expanded by the kubelet from the container's own env
    for name in re.findall(r"\$\((\w+)\)", output):
        (env,) = [e for e in container["env"] if e["name"] == name]
        assert env["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"


# --- Zero-to-JupyterHub ----------------------------------------------------------------

#: the singleuser keys z2jh_config maps; any other key makes the test fail until it is mapped
MAPPED_SINGLEUSER = {"image", "uid", "fsGid", "allowPrivilegeEscalation", "cmd", "defaultUrl",
                     "storage", "cpu", "memory", "extraResource", "extraTolerations",
                     "nodeSelector", "extraEnv", "profileList", "cloudMetadata",
                     "networkTools",
                     # not KubeSpawner's: the chart's NetworkPolicy (singleuser_network_policy)
                     "networkPolicy"}


def values() -> dict[str, Any]:
    return yaml.safe_load((HUB / "values.yaml").read_text())


#: the chart's (4.4.0) defaults for the keys z2jh_config reads, under our values as Helm
#: merges them: a key our values leave out gets these, one they set to null is removed
CHART_DEFAULTS: dict[str, Any] = {
    "singleuser": {
        "cmd": "jupyterhub-singleuser", "uid": 1000, "fsGid": 100,
        "allowPrivilegeEscalation": False,
        "cloudMetadata": {"blockWithIptables": True, "ip": "169.254.169.254"},
        "networkTools": {"image": {"name": "quay.io/jupyterhub/k8s-network-tools",
                                   "tag": "CHART_VERSION"}, "resources": {}},
        "networkPolicy": {"enabled": True, "ingress": [], "egress": [], "egressAllowRules": {
            "cloudMetadataServer": False, "dnsPortsCloudMetadataServer": True,
            "dnsPortsKubeSystemNamespace": True, "dnsPortsPrivateIPs": True,
            "nonPrivateIPs": True, "privateIPs": False}},
        "memory": {"limit": None, "guarantee": "1G"}, "cpu": {"limit": None, "guarantee": None},
        "storage": {"type": "dynamic", "capacity": "10Gi", "homeMountPath": "/home/jovyan",
                    "dynamic": {"volumeNameTemplate": "volume-{user_server}",
                                "storageAccessModes": ["ReadWriteOnce"]}},
    },
    "scheduling": {"userPods": {"tolerations": [
        {"key": "hub.jupyter.org/dedicated", "operator": "Equal", "value": "user",
         "effect": "NoSchedule"},
        {"key": "hub.jupyter.org_dedicated", "operator": "Equal", "value": "user",
         "effect": "NoSchedule"}]}},
}


def helm_merge(defaults: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """Helm's merge of values files: maps merge, anything else replaces, null deletes."""
    merged = dict(defaults)
    for key, value in overrides.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = helm_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def z2jh_config(chart_values: dict[str, Any]) -> Any:
    """KubeSpawner configuration from Z2JH values, as the chart's jupyterhub_config.py maps
    them (the keys in MAPPED_SINGLEUSER, scheduling.userPods.tolerations, cull's role,
    hub.loadRoles, hub.config, hub.extraConfig)."""
    from traitlets.config import Config

    chart_values = helm_merge(CHART_DEFAULTS, chart_values)
    su = chart_values["singleuser"]
    unmapped = set(su) - MAPPED_SINGLEUSER
    assert not unmapped, f"singleuser keys this test does not map yet: {unmapped}"
    c = Config()
    if su["cloudMetadata"]["blockWithIptables"] is True:  # the chart's init container, as is
        from kubernetes_asyncio import client

        tools = su["networkTools"]
        tag = tools["image"]["tag"].replace("CHART_VERSION", _script_setting("CHART_VERSION"))
        c.KubeSpawner.init_containers = [client.V1Container(
            name="block-cloud-metadata", image=f"{tools['image']['name']}:{tag}",
            command=["iptables", "--append", "OUTPUT", "--protocol", "tcp", "--destination",
                     su["cloudMetadata"]["ip"], "--destination-port", "80", "--jump", "DROP"],
            security_context=client.V1SecurityContext(
                privileged=True, run_as_user=0,
                capabilities=client.V1Capabilities(add=["NET_ADMIN"])),
            resources=tools["resources"])]
    ks = c.KubeSpawner
    ks.image = f"{su['image']['name']}:{su['image']['tag']}"
    ks.image_pull_policy = su["image"].get("pullPolicy")
    # the chart's image_pull_secrets: the top-level imagePullSecrets, then the image's own
    pull_secrets = chart_values.get("imagePullSecrets", []) + su["image"].get("pullSecrets", [])
    if pull_secrets:
        ks.image_pull_secrets = pull_secrets
    ks.uid = su["uid"]
    ks.fs_gid = su["fsGid"]
    ks.allow_privilege_escalation = su["allowPrivilegeEscalation"]
    if "cmd" in su:  # removed by a null: KubeSpawner's default (None, the image's own)
        c.Spawner.cmd = su["cmd"]
    if su.get("defaultUrl"):
        c.Spawner.default_url = su["defaultUrl"]
    for trait, (key, level) in {"cpu_limit": ("cpu", "limit"), "cpu_guarantee": ("cpu", "guarantee"),
                                "mem_limit": ("memory", "limit"),
                                "mem_guarantee": ("memory", "guarantee")}.items():
        if su[key].get(level) is not None:
            ks[trait] = su[key][level]
    if "extraResource" in su:
        ks.extra_resource_limits = su["extraResource"].get("limits", {})
        ks.extra_resource_guarantees = su["extraResource"].get("guarantees", {})
    if su.get("nodeSelector"):
        ks.node_selector = su["nodeSelector"]
    if su.get("extraEnv"):
        ks.environment = su["extraEnv"]
    tolerations = chart_values["scheduling"]["userPods"]["tolerations"] + su.get(
        "extraTolerations", [])
    if tolerations:
        ks.tolerations = tolerations
    ks.profile_list = su["profileList"]
    storage = su["storage"]
    assert storage["type"] == "dynamic"
    name = storage["dynamic"]["volumeNameTemplate"]
    ks.storage_pvc_ensure = True
    ks.storage_capacity = storage["capacity"]
    ks.storage_access_modes = storage["dynamic"]["storageAccessModes"]
    volumes = {name: {"name": name, "persistentVolumeClaim": {"claimName": "{pvc_name}"}}}
    mounts = {name: {"mountPath": storage["homeMountPath"], "name": name,
                     "subPath": storage["dynamic"].get("subPath")}}
    for volume in storage.get("extraVolumes") or []:
        volumes[volume["name"]] = volume
    for index, mount in enumerate(storage.get("extraVolumeMounts") or []):
        mounts[f"{index}-{mount['name']}"] = mount
    ks.volumes = volumes
    ks.volume_mounts = mounts
    # roles, as the chart loads them: the culler's own, then hub.loadRoles (a map of name to
    # role, so a secrets file can add users to a role of values.yaml); hub.services: none
    c.JupyterHub.services = []
    c.JupyterHub.load_roles = []
    if chart_values.get("cull", {}).get("enabled"):
        c.JupyterHub.services.append({"name": "jupyterhub-idle-culler",
                                      "command": ["python3", "-m", "jupyterhub_idle_culler"]})
        c.JupyterHub.load_roles.append({
            "name": "jupyterhub-idle-culler", "services": ["jupyterhub-idle-culler"],
            "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"]})
    # hub.services: a map of name to service, as the chart appends them (the name from the
    # key; the chart generates each one's api_token in its Secret)
    for key, service in chart_values.get("hub", {}).get("services", {}).items():
        c.JupyterHub.services.append({"name": key, **service, "api_token": f"token-of-{key}"})
    for key, role in chart_values.get("hub", {}).get("loadRoles", {}).items():
        c.JupyterHub.load_roles.append({"name": key, **role})
    for section, settings in chart_values.get("hub", {}).get("config", {}).items():
        c[section].update(settings)  # hub.config is passed through as traitlets config
    for _, snippet in sorted(chart_values.get("hub", {}).get("extraConfig", {}).items()):
        exec(snippet, {"c": c})  # then hub.extraConfig, in key order, as the chart does
    return c


PRIVATE_IPS = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]


def singleuser_network_policy(chart_values: dict[str, Any]) -> dict[str, Any]:
    """The user pods' NetworkPolicy the chart (4.4.0) renders from ``singleuser`` values:
    templates/singleuser/netpol.yaml and the egress rules of _helpers-netpol.tpl, in Python
    (the chart's templates cannot be rendered here). Its own rules to the hub, proxy and
    autohttps pods select pods, never the addresses asked about."""
    su = helm_merge(CHART_DEFAULTS, chart_values)["singleuser"]
    policy, allow = su["networkPolicy"], su["networkPolicy"]["egressAllowRules"]
    metadata = f"{su['cloudMetadata']['ip']}/32"
    egress: list[dict[str, Any]] = [
        {"to": [{"podSelector": {"matchLabels": {"component": component}}}],
         "ports": [{"port": port} for port in ports]}
        for component, ports in (("hub", [8081]), ("proxy", [8000]),
                                 ("autohttps", [8080, 8443]))]
    dns: list[dict[str, Any]] = []
    if allow["dnsPortsCloudMetadataServer"]:
        dns.append({"ipBlock": {"cidr": metadata}})
    if allow["dnsPortsKubeSystemNamespace"]:
        dns.append({"namespaceSelector": {"matchLabels": {
            "kubernetes.io/metadata.name": "kube-system"}}})
    if allow["dnsPortsPrivateIPs"]:
        dns += [{"ipBlock": {"cidr": cidr}} for cidr in PRIVATE_IPS]
    if dns:
        egress.append({"ports": [{"port": 53, "protocol": "UDP"},
                                 {"port": 53, "protocol": "TCP"}], "to": dns})
    if allow["nonPrivateIPs"]:
        egress.append({"to": [{"ipBlock": {"cidr": "0.0.0.0/0",
                                           "except": [*PRIVATE_IPS, metadata]}}]})
    if allow["privateIPs"]:
        egress.append({"to": [{"ipBlock": {"cidr": cidr}} for cidr in PRIVATE_IPS]})
    if allow["cloudMetadataServer"]:
        egress.append({"to": [{"ipBlock": {"cidr": metadata}}]})
    egress += policy["egress"]
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": "singleuser"},
            "spec": {"podSelector": {"matchLabels": {"component": "singleuser-server"}},
                     "policyTypes": ["Ingress", "Egress"] if policy["enabled"] else [],
                     "ingress": [{"ports": [{"port": "notebook-port"}], "from": [
                         {"podSelector": {"matchLabels": {
                             "hub.jupyter.org/network-access-singleuser": "true"}}}]}],
                     "egress": egress}}


@pytest.fixture(scope="module")
def kube_api_never_contacted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """KubeSpawner loads a kubeconfig when created; this one names an API server that the
    rendering never calls (nothing listens on port 9)."""
    from kubernetes_asyncio.config import kube_config

    path = tmp_path_factory.mktemp("kube") / "config"
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "none",
        "clusters": [{"name": "none", "cluster": {"server": "https://127.0.0.1:9"}}],
        "users": [{"name": "none", "user": {"token": "none"}}],
        "contexts": [{"name": "none", "context": {"cluster": "none", "user": "none"}}]}))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(kube_config, "KUBE_CONFIG_DEFAULT_LOCATION", str(path))
        yield


def hub_pod(profile: str, chart_values: dict[str, Any] | None = None
            ) -> tuple[dict[str, Any], Any]:
    """The pod KubeSpawner creates for a user choosing ``profile``, and the spawner."""
    from kubespawner import KubeSpawner

    async def spawn() -> tuple[dict[str, Any], Any]:
        spawner = KubeSpawner(config=z2jh_config(chart_values or values()), _mock=True)
        spawner.user_options = {"profile": profile}
        spawner.api_token = "token-the-hub-gives"
        await spawner.load_user_options()  # applies the profile's kubespawner_override
        pod = await spawner.get_pod_manifest()
        return spawner.api.api_client.sanitize_for_serialization(pod), spawner

    return asyncio.run(spawn())


PROFILES = [p["slug"] for p in values()["singleuser"]["profileList"]]


def test_profiles_are_the_jupyter_images() -> None:
    assert sorted(PROFILES) == sorted(variants.table()["targets"])


@pytest.mark.usefixtures("kube_api_never_contacted")
@pytest.mark.parametrize("profile", PROFILES)
def test_hub_pod_of_each_profile(profile: str) -> None:
    variant = variants.get(f"{profile}-jupyter")
    pod, spawner = hub_pod(profile)
    kubernetes_validate.validate(pod, K8S_VERSION, strict=True)
    spec = pod["spec"]
    (container,) = spec["containers"]
    assert container["image"] == variant.image
    # no command, no args: the image's entrypoint starts (see the next test)
    assert "command" not in container and "args" not in container
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["JUPYTERHUB_API_TOKEN"] == "token-the-hub-gives"
    assert env["JUPYTERHUB_DEFAULT_URL"] == "/lab"
    assert container["ports"][0]["containerPort"] == variant.port
    contract = pod_contract(spec)
    assert contract == pod_contract(gslab_pod(variant.name))
    assert (contract["runAsUser"], contract["runAsGroup"], contract["fsGroup"]) == (1000, 100, 100)
    work = next(m for m in container["volumeMounts"] if m["mountPath"] == "/work")
    claim = next(v for v in spec["volumes"] if v["name"] == work["name"])
    assert claim["persistentVolumeClaim"]["claimName"] == spawner.pvc_name
    shm = next(v for v in spec["volumes"] if v["name"] == "dshm")["emptyDir"]
    assert shm == {"medium": "Memory", "sizeLimit": "8Gi" if profile == "gpu" else "2Gi"}
    if profile == "gpu":
        assert container["resources"]["limits"]["nvidia.com/gpu"] == "1"
        assert spec["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    # the GPU override keeps the user-node tolerations the CPU pods have
    cpu_tolerations = values()["scheduling"]["userPods"]["tolerations"]
    assert all(t in spec["tolerations"] for t in cpu_tolerations)


@pytest.mark.usefixtures("kube_api_never_contacted")
def test_image_entrypoint_hands_over_to_jupyterhub_singleuser(tmp_path: Path) -> None:
    """With no command the pod runs the image's ENTRYPOINT: start-jupyter, which must exec
    jupyterhub-singleuser when the hub's token is set. Run the real script with the hub
    pod's environment and arguments; jupyterhub-singleuser is a stand-in recording its
    arguments (the image tests run the real server)."""
    dockerfile = (ROOT / "images/jupyter/Dockerfile").read_text()
    assert 'ENTRYPOINT ["tini", "-g", "--", "start-jupyter"]' in dockerfile
    assert "COPY images/jupyter/start-jupyter.sh /usr/local/bin/start-jupyter" in dockerfile
    pod, _ = hub_pod("cpu")
    (container,) = pod["spec"]["containers"]
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    stand_in = bin_dir / "jupyterhub-singleuser"
    stand_in.write_text('#!/bin/sh\nprintf "%s\\n" "$@" > "$RECORD"\n')
    stand_in.chmod(0o755)
    work = tmp_path / "work"
    work.mkdir()
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "RECORD": str(tmp_path / "args"),
           "HOME": str(tmp_path / "home"), "JUPYTER_RUNTIME_DIR": str(tmp_path / "rt"),
           "JUPYTER_DATA_DIR": str(tmp_path / "data"), "IPYTHONDIR": str(tmp_path / "ipy"),
           "NUMBA_CACHE_DIR": str(tmp_path / "numba"), "MPLCONFIGDIR": str(tmp_path / "mpl"),
           "GRAYSCOTT_LABS": str(ROOT / "labs"), "GRAYSCOTT_WORKDIR": str(work),
           **{e["name"]: e["value"] for e in container["env"] if "value" in e}}
    result = subprocess.run(["bash", str(ROOT / "images/jupyter/start-jupyter.sh"),
                             *container.get("args", [])], env=env, capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "args").read_text().split() == ["--ip=0.0.0.0"]
    assert (work / "labs").is_dir()


def _script_setting(name: str) -> str:
    match = re.search(rf"^{name}=(\S+)", (HUB / "install.sh").read_text(), re.M)
    assert match, name
    return match.group(1)


def _minor(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split(".")[:2])


def test_hub_and_single_user_server_versions_match() -> None:
    chart_hub = _script_setting("CHART_JUPYTERHUB")
    for target in variants.table()["targets"]:
        layer_lock = variants.get(f"{target}-jupyter").layer_lock
        assert layer_lock is not None
        lock = (ROOT / layer_lock).read_text()
        image_hub = re.search(r"^jupyterhub==(\S+)", lock, re.M)
        assert image_hub, f"{target}-jupyter lock has no jupyterhub"
        assert _minor(image_hub.group(1)) == _minor(chart_hub)
    # these tests render with the chart's KubeSpawner and hub series
    assert metadata.version("jupyterhub-kubespawner") == _script_setting("CHART_KUBESPAWNER")
    assert _minor(metadata.version("jupyterhub")) == _minor(chart_hub)


def test_culler_and_pre_puller() -> None:
    chart_values = values()
    assert chart_values["cull"]["enabled"] is True
    assert 0 < chart_values["cull"]["timeout"] <= 4 * 3600
    puller = chart_values["prePuller"]
    assert puller["hook"]["enabled"] and puller["continuous"]["enabled"]
    assert puller["pullProfileListImages"] is True
    images = {p["kubespawner_override"]["image"] for p in chart_values["singleuser"]["profileList"]}
    assert images == {variants.get(f"{t}-jupyter").image for t in variants.table()["targets"]}


REGISTRY = "reg.example.org:5443/lab"


def registry_values(*options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "grayscott.launcher", "k8s", "hub-values",
                           "--registry", REGISTRY, *options], capture_output=True, text=True,
                          timeout=120, check=False, cwd=ROOT)


@pytest.mark.usefixtures("kube_api_never_contacted")
@pytest.mark.parametrize("profile", PROFILES)
def test_hub_pods_pull_from_the_site_registry(profile: str, tmp_path: Path) -> None:
    """``gslab k8s hub-values --registry``, given after values.yaml (install.sh's
    EXTRA_VALUES): each profile's pod runs the registry's image with the pull Secret, and
    keeps every other setting of values.yaml."""
    result = registry_values("--pull-secret", "site")
    assert result.returncode == 0, result.stderr
    chart_values = helm_merge(values(), yaml.safe_load(result.stdout))
    pod, _ = hub_pod(profile, chart_values)
    kubernetes_validate.validate(pod, K8S_VERSION, strict=True)
    spec = pod["spec"]
    assert spec["containers"][0]["image"] == f"{REGISTRY}/{variants.get(f'{profile}-jupyter').image}"
    assert spec["imagePullSecrets"] == [{"name": "site"}]
    plain, _ = hub_pod(profile)
    for pod_spec in (spec, plain["spec"]):  # the rest as values.yaml alone makes it
        container = pod_spec["containers"][0]
        container.pop("image")  # and KubeSpawner's JUPYTER_IMAGE(_SPEC), which name it
        container["env"] = [e for e in container["env"] if not e["name"].startswith(
            "JUPYTER_IMAGE")]
        pod_spec.pop("imagePullSecrets", None)
    assert spec == plain["spec"]
    # the pre-puller pulls the renamed profiles' images (pullProfileListImages)
    assert {p["kubespawner_override"]["image"] for p in chart_values["singleuser"]["profileList"]
            } == {f"{REGISTRY}/{variants.get(f'{t}-jupyter').image}"
                  for t in variants.table()["targets"]}
    overlay = tmp_path / "registry.yaml"
    overlay.write_text(result.stdout)
    env = {**os.environ, "GSLAB_DRY_RUN": "1", "HTTPS": "offload", "EXTRA_VALUES": str(overlay)}
    helm = install(env, tmp_path / "secrets.yaml")
    assert helm.returncode == 0 and helm.stdout.rstrip().endswith(f"--values {overlay}"), \
        helm.stdout + helm.stderr


def test_hub_values_refuse_what_is_not_the_hub_s_values(tmp_path: Path) -> None:
    (tmp_path / "other.yaml").write_text("proxy: {}\n")
    for values_file, message in ((tmp_path / "missing.yaml", "does not exist"),
                                 (tmp_path / "other.yaml", "no singleuser.image.name")):
        result = registry_values("--values", str(values_file))
        assert result.returncode == 2 and message in result.stderr, result.stderr
        assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    env = {**os.environ, "GSLAB_DRY_RUN": "1", "HTTPS": "offload",
           "EXTRA_VALUES": str(tmp_path / "missing.yaml")}
    refused = install(env, tmp_path / "secrets.yaml")
    assert refused.returncode == 2 and "EXTRA_VALUES" in refused.stderr


def test_install_script_makes_private_passwords_the_hub_accepts(tmp_path: Path) -> None:
    secrets_file = tmp_path / "secrets.yaml"
    env = {**os.environ, "GSLAB_DRY_RUN": "1", "HTTPS": "offload"}
    first = install(env, secrets_file)
    assert first.returncode == 0, first.stderr
    assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600
    helm = next(line for line in first.stdout.splitlines() if "helm upgrade" in line)
    assert f"--version {_script_setting('CHART_VERSION')}" in helm
    assert f"--values {HUB / 'values.yaml'} --values {secrets_file}" in helm
    made = secrets_file.read_text()
    again = install(env, secrets_file)
    assert again.returncode == 0 and secrets_file.read_text() == made  # kept, not remade
    # the authenticator the values choose takes these settings (and logs the teacher in:
    # test_nobody_signs_up_as_a_teacher)
    secrets = yaml.safe_load(made)
    config = z2jh_config(helm_merge(values(), secrets))
    assert "admin_users" not in config.Authenticator  # JupyterHub makes those admins
    assert set(config.TeacherReservedNativeAuthenticator.teachers) == {"admin"}
    assert secrets["hub"]["loadRoles"]["teacher"]["users"] == ["admin"]  # next to the names
    assert len(config.TeacherReservedNativeAuthenticator.admin_password) >= 32
    ignored = subprocess.run(["git", "check-ignore", "-q", str(HUB / "secrets.yaml")], cwd=ROOT,
                             check=False)
    assert ignored.returncode == 0, "k8s/jupyterhub/secrets.yaml must be git-ignored"


# --- the class hub against its own students (issue #22, attacks 2 and 7) -----------------

@pytest.mark.usefixtures("kube_api_never_contacted")
@pytest.mark.parametrize("profile", PROFILES)
def test_hub_pod_blocks_cloud_metadata_before_the_lab_starts(profile: str) -> None:
    """Z2JH's iptables init container, kept on: the cloud's metadata service (node credentials
    on many clouds) stays closed even where no network plugin enforces NetworkPolicies."""
    pod, _ = hub_pod(profile)
    kubernetes_validate.validate(pod, K8S_VERSION, strict=True)
    (init,) = pod["spec"]["initContainers"]
    command = init["command"]
    assert command[:3] == ["iptables", "--append", "OUTPUT"]
    assert command[command.index("--destination") + 1] == "169.254.169.254"
    assert command[-2:] == ["--jump", "DROP"]
    # the kubelet refuses a root container under a pod-wide runAsNonRoot: the block would
    # never run and no lab would start
    assert (pod["spec"].get("securityContext") or {}).get("runAsNonRoot") is not True
    (lab,) = pod["spec"]["containers"]
    assert lab["securityContext"]["runAsNonRoot"] is True and "privileged" not in \
        lab["securityContext"]


def test_hub_network_policy_closes_metadata_and_private_ranges() -> None:
    chart_values = values()
    rules = chart_values["singleuser"]["networkPolicy"]["egressAllowRules"]
    assert rules["privateIPs"] is False and rules["cloudMetadataServer"] is False
    policy = singleuser_network_policy(chart_values)
    kubernetes_validate.validate(policy, K8S_VERSION, strict=True)
    assert policy["spec"]["policyTypes"] == ["Ingress", "Egress"]
    for address, port in CLOSED + INTERNET:  # the default: no internet, as gslab's
        assert not egress_allows(policy, address, port), (address, port)
    for address, port in DNS[:1]:
        assert egress_allows(policy, address, port, "UDP")


def test_hub_internet_egress_keeps_private_ranges_closed(tmp_path: Path) -> None:
    """LAB_EGRESS=internet adds egress-internet.yaml: the internet, but none of the ranges
    gslab keeps closed (the chart's own nonPrivateIPs leaves 100.64/10 and link-local open)."""
    internet = yaml.safe_load((HUB / "egress-internet.yaml").read_text())
    policy = singleuser_network_policy(helm_merge(values(), internet))
    kubernetes_validate.validate(policy, K8S_VERSION, strict=True)
    for address, port in INTERNET:
        assert egress_allows(policy, address, port), (address, port)
    for address, port in CLOSED:
        assert not egress_allows(policy, address, port), (address, port)
    env = {**os.environ, "GSLAB_DRY_RUN": "1", "HTTPS": "offload", "LAB_EGRESS": "internet"}
    helm = install(env, tmp_path / "secrets.yaml").stdout
    assert f"--values {HUB / 'egress-internet.yaml'}" in helm


def install(env: dict[str, str], secrets_file: Path | None = None) -> subprocess.CompletedProcess[str]:
    if secrets_file is not None:
        env = {**env, "SECRETS": str(secrets_file)}
    return subprocess.run(["bash", str(HUB / "install.sh")], env=env, capture_output=True,
                          text=True, timeout=60, check=False)


def test_values_show_the_https_settings() -> None:
    https = values()["proxy"]["https"]
    assert {"enabled", "type", "hosts", "letsencrypt", "manual", "secret"} <= set(https)
    text = (HUB / "values.yaml").read_text()
    assert "letsencrypt" in text and "offload" in text and "create secret tls" in text


@pytest.mark.parametrize("choice, expected", [
    ({"HTTPS": "letsencrypt", "HUB_HOST": "hub.school.example",
      "LETSENCRYPT_EMAIL": "it@school.example"},
     ["proxy.https.enabled=true", "proxy.https.type=letsencrypt",
      "proxy.https.hosts={hub.school.example}",
      "proxy.https.letsencrypt.contactEmail=it@school.example"]),
    ({"HTTPS": "secret", "HUB_HOST": "hub.school.example", "TLS_SECRET": "hub-tls"},
     ["proxy.https.enabled=true", "proxy.https.type=secret",
      "proxy.https.hosts={hub.school.example}", "proxy.https.secret.name=hub-tls"]),
    ({"HTTPS": "offload"}, ["proxy.https.enabled=true", "proxy.https.type=offload"]),
])
def test_install_sets_https(tmp_path: Path, choice: dict[str, str], expected: list[str]) -> None:
    result = install({**os.environ, "GSLAB_DRY_RUN": "1", **choice}, tmp_path / "s.yaml")
    assert result.returncode == 0, result.stderr
    helm = shlex.split(next(line for line in result.stdout.splitlines() if "helm upgrade" in line))
    settings = [value for flag, value in itertools.pairwise(helm) if flag == "--set"]
    assert settings == expected, helm


@pytest.mark.parametrize("choice, fragment", [
    ({}, "HTTPS="), ({"HTTPS": "letsencrypt"}, "HUB_HOST"),
    ({"HTTPS": "letsencrypt", "HUB_HOST": "hub.school.example"}, "LETSENCRYPT_EMAIL"),
    ({"HTTPS": "secret", "HUB_HOST": "hub.school.example"}, "TLS_SECRET"),
    ({"HTTPS": "yes"}, "HTTPS="), ({"HTTPS": "offload", "LAB_EGRESS": "lan"}, "LAB_EGRESS"),
])
def test_install_refuses_plain_http_unless_named(tmp_path: Path, choice: dict[str, str],
                                                 fragment: str) -> None:
    """Participants' passwords never cross the network in clear by default: no HTTPS choice,
    no install (HTTPS=off is the named opt-out, for TLS ended by an Ingress of the site's)."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("HTTPS", "HUB_HOST", "LETSENCRYPT_EMAIL", "TLS_SECRET", "LAB_EGRESS")}
    result = install({**env, "GSLAB_DRY_RUN": "1", **choice}, tmp_path / "s.yaml")
    assert result.returncode == 2, result.stdout
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and fragment in errors[0], result.stderr
    assert "helm upgrade" not in result.stdout
    plain = install({**env, "GSLAB_DRY_RUN": "1", "HTTPS": "off"}, tmp_path / "s.yaml")
    assert plain.returncode == 0 and "plain HTTP" in plain.stderr


def installed_secrets(tmp_path: Path) -> dict[str, Any]:
    """The secrets file install.sh writes at its first run."""
    secrets_file = tmp_path / "secrets.yaml"
    made = install({**os.environ, "GSLAB_DRY_RUN": "1", "HTTPS": "offload"}, secrets_file)
    assert made.returncode == 0, made.stderr
    return dict(yaml.safe_load(secrets_file.read_text()))


def hub_authenticator(tmp_path: Path, secrets: dict[str, Any] | None = None) -> Any:
    """The authenticator the hub runs with our values and the secrets install.sh writes
    (or ``secrets``), built as the chart's jupyterhub_config.py does (hub.config, then
    hub.extraConfig), on a real (in-memory) hub database."""
    from jupyterhub import orm
    from jupyterhub.app import JupyterHub

    if secrets is None:
        secrets = installed_secrets(tmp_path)
    config = z2jh_config(helm_merge(values(), secrets))
    authenticator_class = JupyterHub(config=config).authenticator_class  # entry points too
    db = orm.new_session_factory("sqlite://")()
    return authenticator_class(config=config, _deprecated_db_session=db)


@pytest.mark.usefixtures("kube_api_never_contacted")
def test_a_participant_cannot_log_in_as_another(tmp_path: Path) -> None:
    """Everything a participant knows (her own password, or the course's) opens her account
    only: not a classmate's, not a teacher's."""
    authenticator = hub_authenticator(tmp_path)
    login = authenticator.get_authenticated_user
    if hasattr(authenticator, "create_user"):  # she signs up; a teacher approves her
        known = "ada-own-password-2026"
        assert authenticator.create_user("ada", known)
        assert asyncio.run(login(None, {"username": "ada", "password": known})) is None
        authenticator.get_user("ada").is_authorized = True
    else:
        known = authenticator.user_password  # the course password, given to everyone
    assert asyncio.run(login(None, {"username": "ada", "password": known}))["name"] == "ada"
    for other in ("bob", *sorted(getattr(authenticator, "teachers", ())),
                  *sorted(authenticator.admin_users)):
        assert asyncio.run(login(None, {"username": other, "password": known})) is None, other


@pytest.mark.usefixtures("kube_api_never_contacted")
def test_nobody_signs_up_as_a_teacher(tmp_path: Path) -> None:
    """NativeAuthenticator approves an admin's name at sign-up: whoever signs up first as the
    teacher would be admin. Here the teachers' names cannot be signed up; they log in with
    the admin password install.sh wrote (24 random bytes) and nothing else."""
    authenticator = hub_authenticator(tmp_path)
    (teacher,) = authenticator.teachers
    assert not authenticator.create_user(teacher, "squatter-password-2026")
    login = authenticator.get_authenticated_user
    assert asyncio.run(login(None, {"username": teacher,
                                    "password": "squatter-password-2026"})) is None
    secret = authenticator.admin_password
    assert len(secret) >= 32
    user = asyncio.run(login(None, {"username": teacher, "password": secret}))
    # a teacher, not a JupyterHub admin: test_teachers_are_not_jupyterhub_admins
    assert (user["name"], user["admin"]) == (teacher, False)


# --- teachers are not JupyterHub admins (issue #22, "beyond the list") ---------------------
# The hub and every lab share one origin: a page a student's server sends, opened by a teacher
# who may access every server (`access:servers`, JupyterHub's admin role), runs with the
# teacher's cookies and can make the student an admin through the hub's API. The one-machine
# hub's answer (compose/hub/gslab_hub/roles.py, TEACHER_SCOPES), here in Z2JH values.

def compose_teacher_scopes() -> list[str]:
    """compose/hub/gslab_hub/roles.py's TEACHER_SCOPES, read from its source (the hub's
    package is the hub image's, not on this suite's path)."""
    import ast

    tree = ast.parse((ROOT / "compose/hub/gslab_hub/roles.py").read_text())
    (value,) = [node.value for node in tree.body if isinstance(node, ast.Assign) and any(
        isinstance(target, ast.Name) and target.id == "TEACHER_SCOPES" for target in node.targets)]
    return list(ast.literal_eval(value))


def started_hub(config: Any, database: Path) -> Any:
    """JupyterHub's own start-up steps that load users, roles and services into
    ``database`` (a file, so a second start finds what the first left)."""
    from jupyterhub.app import JupyterHub

    async def start() -> Any:
        hub = JupyterHub(config=config, db_url=f"sqlite:///{database}")
        hub.init_db()
        hub.init_hub()
        hub.init_oauth()  # a service with a URL (the progress page) is an OAuth client
        await hub.init_role_creation()
        await hub.init_users()
        await hub.init_groups()
        hub.init_services()
        await hub.init_role_assignment()
        return hub

    return asyncio.run(start())


def expanded_scopes(hub: Any, name: str) -> set[str]:
    from jupyterhub import orm, scopes

    user = orm.User.find(hub.db, name)
    assert user is not None, name
    return set(scopes.get_scopes_for(user))


def test_teacher_scopes_are_the_one_machine_hubs() -> None:
    """One fact in two files that cannot be one (a Helm values file, the compose hub's
    Python): the teacher role's scopes."""
    assert values()["hub"]["loadRoles"]["teacher"]["scopes"] == compose_teacher_scopes()
    assert "access:servers" not in compose_teacher_scopes()


@pytest.mark.usefixtures("kube_api_never_contacted")
def test_teachers_are_not_jupyterhub_admins(tmp_path: Path) -> None:
    """The hub started with our values and install.sh's secrets: the teacher keeps the class
    (the admin page, approving sign-ups: NativeAuthenticator's /hub/authorize needs
    admin:users; starting and stopping servers) but opens no server but her own; nobody holds
    JupyterHub's admin role."""
    from jupyterhub import orm

    teacher = "admin"  # the name install.sh writes (test_install_script_makes_private_...)
    config = z2jh_config(helm_merge(values(), installed_secrets(tmp_path)))
    hub = started_hub(config, tmp_path / "jupyterhub.sqlite")
    have = expanded_scopes(hub, teacher)
    # no access to another's server, nor the shares and tokens that lead to it
    for scope in ("access:servers", "shares", "tokens", "users:shares"):
        leaks = {s for s in have if s.split("!")[0] == scope and s != f"{scope}!user={teacher}"}
        assert not leaks, (scope, leaks)
    assert {"admin-ui", "admin:users", "admin:servers", "admin:groups"} <= have
    user = orm.User.find(hub.db, teacher)
    assert user is not None and user.admin is False
    assert "teacher" in {role.name for role in user.roles}
    admin = orm.Role.find(hub.db, "admin")
    assert admin is not None and admin.users == [] and admin.services == []
    culler = orm.Role.find(hub.db, "jupyterhub-idle-culler")  # the chart's, still loaded
    assert culler is not None and [s.name for s in culler.services] == ["jupyterhub-idle-culler"]


@pytest.mark.usefixtures("kube_api_never_contacted")
def test_a_teacher_who_was_admin_on_an_older_hub_is_demoted(tmp_path: Path) -> None:
    """The database outlives upgrades: a hub installed by the previous install.sh
    (admin_users) left its teacher an admin there; the next start takes it back."""
    from jupyterhub import orm
    from traitlets.config import Config

    database = tmp_path / "jupyterhub.sqlite"
    older = Config()
    older.JupyterHub.authenticator_class = "native"
    older.Authenticator.admin_users = {"admin"}
    first = started_hub(older, database)
    assert orm.User.find(first.db, "admin").admin is True
    first.db.close()
    config = z2jh_config(helm_merge(values(), installed_secrets(tmp_path)))
    hub = started_hub(config, database)
    assert orm.User.find(hub.db, "admin").admin is False
    assert "access:servers" not in expanded_scopes(hub, "admin")


def test_install_refuses_an_older_secrets_file_that_makes_teachers_admins(
        tmp_path: Path) -> None:
    """secrets.yaml is kept across runs: one written by the previous install.sh names the
    teachers in admin_users, which JupyterHub would make admins again."""
    older = tmp_path / "secrets.yaml"
    older.write_text("hub:\n  config:\n    Authenticator:\n      admin_users: [admin]\n"
                     "    TeacherReservedNativeAuthenticator:\n"
                     f"      admin_password: \"{'x' * 48}\"\n")
    result = install({**os.environ, "GSLAB_DRY_RUN": "1", "HTTPS": "offload"}, older)
    assert result.returncode == 2, result.stdout
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "admin_users" in errors[0], result.stderr
    assert "helm upgrade" not in result.stdout


@pytest.mark.usefixtures("kube_api_never_contacted")
@pytest.mark.parametrize("named_in", ["authenticator", "role"])
def test_a_teacher_named_in_one_place_only_is_reserved_and_a_teacher(
        tmp_path: Path, named_in: str) -> None:
    """A site adding a teacher to one of the two lists in secrets.yaml (the authenticator's
    `teachers`, the teacher role's users) and not the other: her name is still reserved from
    sign-up (else a student signs up as her, and a teacher approving "her" account gives the
    student the teacher role) and she is still a teacher."""
    secrets = installed_secrets(tmp_path)
    if named_in == "authenticator":
        secrets["hub"]["config"]["TeacherReservedNativeAuthenticator"]["teachers"].append("Prof")
    else:
        secrets["hub"]["loadRoles"]["teacher"]["users"].append("Prof")
    authenticator = hub_authenticator(tmp_path, secrets)
    # the name as she types it or as the hub normalises it (lower case)
    for name in ("prof", "Prof"):
        assert not authenticator.create_user(name, "squatter-password-2026"), name
    config = z2jh_config(helm_merge(values(), secrets))
    (role,) = [r for r in config.JupyterHub.load_roles if r["name"] == "teacher"]
    assert "Prof" in role["users"]  # JupyterHub normalises role users itself


@pytest.mark.usefixtures("kube_api_never_contacted")
def test_the_hub_refuses_admin_users_beside_reserved_teachers(tmp_path: Path) -> None:
    """The same older secrets given to helm by hand (install.sh refuses them): the hub's
    configuration stops with one line instead of making the teachers admins."""
    secrets = installed_secrets(tmp_path)
    secrets["hub"]["config"]["Authenticator"] = {"admin_users": ["admin"]}
    with pytest.raises(SystemExit) as stopped:
        z2jh_config(helm_merge(values(), secrets))
    (line,) = str(stopped.value).splitlines()
    assert line.startswith("error: Authenticator.admin_users makes the teachers"), line


# --- the teacher's view (issue #24): the progress service in the Z2JH hub ------------------

def compose_progress() -> Any:
    """compose/hub/gslab_hub/progress/config.py, the progress service's facts (pure: the hub
    image's package, imported from the checkout as the hub image lays it out)."""
    import importlib
    import sys

    sys.path.insert(0, str(ROOT / "compose" / "hub"))
    try:
        return importlib.import_module("gslab_hub.progress.config")
    finally:
        sys.path.remove(str(ROOT / "compose" / "hub"))


def test_progress_service_is_the_one_machine_hubs() -> None:
    """One service in two hubs: the Z2JH values say what compose/hub/gslab_hub/progress says
    (its port, its token's scopes, the users' access, the labs' token and URL)."""
    facts, hub = compose_progress(), values()["hub"]
    port, name = facts.PORT, facts.SERVICE
    service = hub["services"][name]
    assert service["url"] == f"http://hub:{port}"
    assert service["command"] == ["python3", "-m", "gslab_hub.progress"]
    assert hub["loadRoles"][name] == {"services": [name], "scopes": facts.SERVICE_SCOPES}
    assert hub["loadRoles"]["user"]["scopes"] == facts.USER_SCOPES
    assert hub["config"]["Spawner"]["server_token_scopes"] == facts.SERVER_TOKEN_SCOPES
    assert values()["singleuser"]["extraEnv"]["GSLAB_PROGRESS_URL"] == facts.lab_url("hub")
    assert {p["port"] for p in hub["service"]["extraPorts"]} == {port}
    # every file of the package is mounted (a module added later cannot be forgotten)
    mounted = {f["mountPath"] for f in hub["extraFiles"].values()}
    root = service["environment"]["PYTHONPATH"]
    package = ROOT / "compose/hub/gslab_hub/progress"
    assert mounted == {f"{root}/gslab_hub/__init__.py"} | {
        f"{root}/gslab_hub/progress/{p.name}" for p in package.glob("*.py")}


def test_install_mounts_the_progress_package_from_the_checkout(tmp_path: Path) -> None:
    made = install({**os.environ, "GSLAB_DRY_RUN": "1", "HTTPS": "offload"},
                   tmp_path / "secrets.yaml")
    assert made.returncode == 0, made.stderr
    helm = shlex.split(next(line for line in made.stdout.splitlines() if "helm upgrade" in line))
    files = dict(helm[i + 1].split("=", 1) for i, word in enumerate(helm) if word == "--set-file")
    keys = {f"hub.extraFiles.{key}.stringData" for key in values()["hub"]["extraFiles"]}
    assert set(files) == keys
    for key, path in files.items():
        mount = values()["hub"]["extraFiles"][key.split(".")[2]]["mountPath"]
        assert Path(path).is_file() and mount.endswith(Path(path).name), (key, path)
        assert Path(path).resolve().parent.name in ("gslab_hub", "progress")


def test_the_hub_loads_the_progress_service_and_users_may_open_it(tmp_path: Path) -> None:
    """JupyterHub's own start-up on the values (and the secrets install.sh writes): the
    service is loaded with its role, a participant's scopes open it, a teacher's too."""
    config = z2jh_config(helm_merge(values(), installed_secrets(tmp_path)))
    config.JupyterHub.load_groups = {}
    config.Authenticator.allowed_users = {"ana"}
    config.JupyterHub.load_roles.append({"name": "participants", "users": ["ana"], "scopes": []})
    hub = started_hub(config, tmp_path / "hub.sqlite")
    from jupyterhub import orm, scopes

    service = orm.Service.find(hub.db, "progress")
    assert service is not None
    assert set(scopes.get_scopes_for(service)) >= {"list:users", "read:users", "read:roles:users"}
    assert "access:services!service=progress" in expanded_scopes(hub, "ana")
    # the teacher: every service (the role teacher's access:services), this one included
    assert {"access:services", "access:services!service=progress"} & expanded_scopes(hub, "admin")
