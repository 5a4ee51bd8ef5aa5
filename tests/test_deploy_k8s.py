"""The deployments under k8s/, checked up to the edge of a cluster (none can run here).

Kustomize: every kustomization is rendered by the real kustomize (``kubectl kustomize``),
each object validates against the Kubernetes 1.32 schemas, and the pods keep the contract of
``gslab k8s render`` and of the images (UID 1000, GID 100, read-only root filesystem, /tmp
emptyDir, memory-backed /dev/shm, a GPU limit only for gpu images).

Zero-to-JupyterHub: ``k8s/jupyterhub/values.yaml`` is turned into KubeSpawner configuration
the way the chart's ``jupyterhub_config.py`` does (``z2jh_config`` below), the real
KubeSpawner applies each profile (its own ``load_user_options``) and renders the pod it would
create (``get_pod_manifest``). Limits of that mapping: it covers only the keys our values
use; chart defaults for keys we do not set (extraLabels, networkPolicy, common labels,
namespace, events, startTimeout) are not applied; the chart's templates (hub, proxy,
culler, pre-puller DaemonSets) are not rendered, so cull and prePuller are checked as
values only. KubeSpawner is given a kubeconfig whose API server is never contacted.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import stat
import subprocess
from collections.abc import Iterator
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from grayscott import backends, variants
from grayscott.launcher import kubernetes as gslab_k8s

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
                     "nodeSelector", "extraEnv", "profileList", "cloudMetadata"}


def values() -> dict[str, Any]:
    return yaml.safe_load((HUB / "values.yaml").read_text())


#: the chart's (4.4.0) defaults for the keys z2jh_config reads, under our values as Helm
#: merges them: a key our values leave out gets these, one they set to null is removed
CHART_DEFAULTS: dict[str, Any] = {
    "singleuser": {
        "cmd": "jupyterhub-singleuser", "uid": 1000, "fsGid": 100,
        "allowPrivilegeEscalation": False, "cloudMetadata": {"blockWithIptables": True},
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
    them (the keys in MAPPED_SINGLEUSER, scheduling.userPods.tolerations, hub.config)."""
    from traitlets.config import Config

    chart_values = helm_merge(CHART_DEFAULTS, chart_values)
    su = chart_values["singleuser"]
    unmapped = set(su) - MAPPED_SINGLEUSER
    assert not unmapped, f"singleuser keys this test does not map yet: {unmapped}"
    # blockWithIptables would add a privileged root init container, not modelled here
    assert su["cloudMetadata"]["blockWithIptables"] is False
    c = Config()
    ks = c.KubeSpawner
    ks.image = f"{su['image']['name']}:{su['image']['tag']}"
    ks.image_pull_policy = su["image"].get("pullPolicy")
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
    for section, settings in chart_values.get("hub", {}).get("config", {}).items():
        c[section].update(settings)  # hub.config is passed through as traitlets config
    return c


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


def hub_pod(profile: str) -> tuple[dict[str, Any], Any]:
    """The pod KubeSpawner creates for a user choosing ``profile``, and the spawner."""
    from kubespawner import KubeSpawner

    async def spawn() -> tuple[dict[str, Any], Any]:
        spawner = KubeSpawner(config=z2jh_config(values()), _mock=True)
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


def test_install_script_makes_private_passwords_the_hub_accepts(tmp_path: Path) -> None:
    from jupyterhub.authenticators.shared import SharedPasswordAuthenticator
    from traitlets.config import Config

    secrets_file = tmp_path / "secrets.yaml"
    env = {**os.environ, "GSLAB_DRY_RUN": "1", "SECRETS": str(secrets_file)}
    first = subprocess.run(["bash", str(HUB / "install.sh")], env=env, capture_output=True,
                           text=True, timeout=60, check=False)
    assert first.returncode == 0, first.stderr
    assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600
    helm = next(line for line in first.stdout.splitlines() if "helm upgrade" in line)
    assert f"--version {_script_setting('CHART_VERSION')}" in helm
    assert f"--values {HUB / 'values.yaml'} --values {secrets_file}" in helm
    made = secrets_file.read_text()
    again = subprocess.run(["bash", str(HUB / "install.sh")], env=env, capture_output=True,
                           text=True, timeout=60, check=False)
    assert again.returncode == 0 and secrets_file.read_text() == made  # kept, not remade
    config = Config()
    for source in (values(), yaml.safe_load(made)):
        for section, settings in source["hub"]["config"].items():
            config[section].update(settings)
    # the authenticator's own validation: lengths, user and admin passwords differ
    authenticator = SharedPasswordAuthenticator(config=config)
    assert authenticator.user_password and authenticator.admin_password
    assert authenticator.admin_users == {"admin"}
    ignored = subprocess.run(["git", "check-ignore", "-q", str(HUB / "secrets.yaml")], cwd=ROOT,
                             check=False)
    assert ignored.returncode == 0, "k8s/jupyterhub/secrets.yaml must be git-ignored"
