"""The one-machine hub's settings (compose/hub/gslab_hub/settings.py), without an engine: the
spawn form's profiles and their defaults, every GSLAB_HUB_* checked at the hub's start with a
one-line refusal, what a student's network must be, and each default written once (compose
and the swarm stack hand an unset setting over empty)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

HUB = Path(__file__).resolve().parents[1] / "compose" / "hub"
# The hub image's layout (PYTHONPATH=/srv/jupyterhub): the package beside jupyterhub_config.py
sys.path.insert(0, str(HUB))
from gslab_hub import settings, tls  # noqa: E402
from gslab_hub.settings import DEFAULTS  # noqa: E402

sys.path.remove(str(HUB))


def test_the_pure_modules_load_without_docker_or_jupyterhub() -> None:
    """What the unit suite checks is what the hub runs: the package's pure modules import no
    Docker client, DockerSpawner, JupyterHub nor tornado (they are the image's, not here)."""
    code = ("import sys; import gslab_hub.settings, gslab_hub.roles, gslab_hub.logs, "
            "gslab_hub.tls; print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={**os.environ, "PYTHONPATH": str(HUB)}).stdout.split()
    assert "gslab_hub" in out
    assert not {"docker", "dockerspawner", "jupyterhub", "tornado", "traitlets"} & set(out)


def test_the_profiles_default_to_the_documented_values() -> None:
    cpu, gpu = settings.profiles_from_env({}, gpu=True)
    assert (cpu.name, cpu.image, cpu.mem_limit, cpu.cpu_limit, cpu.gpu) == (
        "cpu", "gray-scott-lab:cpu-jupyter", "4G", 2.0, False)
    # 16G: what compose.yaml had said (the code's own 8G was never reached under compose)
    assert (gpu.name, gpu.image, gpu.mem_limit, gpu.cpu_limit, gpu.gpu) == (
        "gpu", "gray-scott-lab:gpu-jupyter", "16G", 4.0, True)
    assert gpu.device_requests == [{"driver": "nvidia", "capabilities": [["gpu"]], "count": -1}]
    assert [p.name for p in settings.profiles_from_env({}, gpu=False)] == ["cpu"]


def test_an_empty_setting_is_an_unset_one() -> None:
    """compose.yaml hands every unset setting over as an empty variable."""
    empty = {name: "" for name in DEFAULTS}
    assert settings.profiles_from_env(empty, gpu=True) == settings.profiles_from_env({}, gpu=True)
    assert settings.spawner_settings(empty, "h") == settings.spawner_settings({}, "h")
    assert settings.bounded_log(empty) == {"type": "json-file",
                                           "config": {"max-size": "10m", "max-file": "3"}}


def test_the_site_chooses_images_limits_and_gpus() -> None:
    env = {"GSLAB_HUB_CPU_IMAGE": "site/cpu:1", "GSLAB_HUB_MEM_LIMIT": " 512M ",
           "GSLAB_HUB_CPU_LIMIT": "0.5", "GSLAB_HUB_GPU_MEM_LIMIT": "32G",
           "GSLAB_HUB_GPU_CPU_LIMIT": "8", "GSLAB_HUB_GPUS": "0, 2"}
    cpu, gpu = settings.profiles_from_env(env, gpu=True)
    assert (cpu.image, cpu.mem_limit, cpu.cpu_limit) == ("site/cpu:1", "512M", 0.5)
    assert (gpu.mem_limit, gpu.cpu_limit) == ("32G", 8.0)
    assert gpu.device_requests == [
        {"driver": "nvidia", "capabilities": [["gpu"]], "device_ids": ["0", "2"]}]


def test_gpu_is_offered_only_when_the_host_has_one(tmp_path: Path) -> None:
    assert settings.gpu_available("auto", dev_dir=tmp_path, docker_info={}) is False
    assert settings.gpu_available("", dev_dir=tmp_path, docker_info={}) is False
    assert settings.gpu_available("auto", dev_dir=tmp_path,
                                  docker_info={"Runtimes": {"runc": {}, "nvidia": {}}}) is True
    (tmp_path / "nvidia0").touch()
    assert settings.gpu_available("auto", dev_dir=tmp_path, docker_info={}) is True
    assert settings.gpu_available("no", dev_dir=tmp_path) is False
    assert settings.gpu_available("yes", dev_dir=tmp_path / "none") is True


def test_the_form_offers_each_profile_escaped_the_first_checked() -> None:
    profiles = [settings.Profile("cpu", "CPU <fast>", "img:cpu", "4G", 2.0),
                settings.Profile("gpu", "GPU", "img:gpu", "16G", 4.0, gpu=True)]
    form = settings.options_form(profiles)
    rows = form.splitlines()[1:]
    assert len(rows) == 2 and "checked" in rows[0] and "checked" not in rows[1]
    assert "CPU &lt;fast&gt;" in rows[0] and "<fast>" not in form
    assert "img:gpu, 16G memory, 4 CPUs" in rows[1]


def test_the_spawner_settings_and_their_defaults() -> None:
    assert settings.spawner_settings({}, "gslab-hub") == {
        "docker_threads": 16, "disk_limit": "2G", "disk_helper_image": "gray-scott-lab-hub:latest",
        "disks_volume": "gslab-hub-disks", "lab_subnets": "10.213.0.0/16", "lab_egress": "none",
        "hub_container": "gslab-hub"}
    site = settings.spawner_settings(
        {"GSLAB_HUB_LAB_SUBNETS": "shared", "GSLAB_HUB_LAB_EGRESS": "internet",
         "GSLAB_HUB_DISK_LIMIT": "none", "GSLAB_HUB_CONTAINER": "c1",
         "GSLAB_HUB_DOCKER_THREADS": "4"}, "h")
    # egress is a setting of the students' own networks: with `shared`, not read
    assert (site["lab_subnets"], site["lab_egress"]) == ("", "none")
    assert (site["disk_limit"], site["hub_container"], site["docker_threads"]) == ("none", "c1", 4)


@pytest.mark.parametrize(("name", "value", "says"), [
    ("GSLAB_HUB_DISK_LIMIT", "lots", "must be a size such as 2G"),
    ("GSLAB_HUB_DISK_LIMIT", "1M", "below 16M"),
    ("GSLAB_HUB_LAB_SUBNETS", "10.213.0.0/33", "must be a network like 10.213.0.0/16"),
    ("GSLAB_HUB_LAB_EGRESS", "open", "must be none or internet, not 'open'"),
    ("GSLAB_HUB_DOCKER_THREADS", "0", "must be a whole number, 1 or more, not '0'"),
    ("GSLAB_HUB_DOCKER_THREADS", "many", "must be a whole number"),
])
def test_a_bad_spawner_setting_is_refused_in_one_line(name: str, value: str, says: str) -> None:
    """What jupyterhub_config.py prints as the hub's one "error:" line (hub.sh shows it)."""
    with pytest.raises(ValueError, match=name) as refused:
        settings.spawner_settings({name: value}, "h")
    assert says in str(refused.value) and "\n" not in str(refused.value)


@pytest.mark.parametrize(("call", "says"), [
    (lambda: settings.gpu_available("maybe"), "GSLAB_HUB_GPU must be auto, yes or no"),
    (lambda: settings.profiles_from_env({"GSLAB_HUB_CPU_LIMIT": "two"}, gpu=False),
     "GSLAB_HUB_CPU_LIMIT must be a number of CPUs"),
    (lambda: settings.profiles_from_env({"GSLAB_HUB_GPU_CPU_LIMIT": "x"}, gpu=True),
     "GSLAB_HUB_GPU_CPU_LIMIT must be a number of CPUs"),
    (lambda: settings.whole_number({"GSLAB_HUB_CULL_EVERY": "-5"}, "GSLAB_HUB_CULL_EVERY"),
     "GSLAB_HUB_CULL_EVERY must be a whole number"),
])
def test_a_bad_site_setting_is_refused_in_one_line(call: Any, says: str) -> None:
    with pytest.raises(ValueError) as refused:
        call()
    assert str(refused.value).startswith(says) and "\n" not in str(refused.value)


def test_the_disk_cap_in_bytes() -> None:
    assert settings.disk_limit_bytes("2G") == 2 * 2**30
    assert settings.disk_limit_bytes("512Mi") == 512 * 2**20
    assert settings.disk_limit_bytes("64MB") == 64 * 2**20
    assert settings.disk_limit_bytes("none") is None
    assert settings.disk_limit_bytes("0") is None


def test_the_egress_setting_says_what_a_network_must_be() -> None:
    assert settings.lab_egress("") == settings.lab_egress(" None ") == "none"
    assert settings.lab_egress("internet") == "internet"
    closed = {"Internal": True, "Options": {settings.INHIBIT_IPV4: "true"}}
    plain = {"Internal": False, "Options": {}}
    assert settings.lab_network_settings("none") == {"internal": True,
                                                     "options": {settings.INHIBIT_IPV4: "true"}}
    assert settings.lab_network_settings("internet") == {"internal": False, "options": {}}
    assert settings.network_fits(closed, "none") and settings.network_fits(plain, "internet")
    assert not settings.network_fits(plain, "none")  # a network from before the setting
    assert not settings.network_fits(closed, "internet")
    assert not settings.network_fits({"Internal": True, "Options": {}}, "none")  # host on it


def test_each_student_gets_a_free_subnet() -> None:
    assert settings.free_subnet("10.213.0.0/16", []) == "10.213.0.0/28"
    # another hub's network, or Docker's own, overlapping the first ones: skipped
    assert settings.free_subnet("10.213.0.0/16", ["10.213.0.0/27", "10.213.0.40/29"]) == (
        "10.213.0.48/28")
    with pytest.raises(LookupError, match=r"every /28 of 10.213.0.0/27 is in use"):
        settings.free_subnet("10.213.0.0/27", ["10.213.0.0/28", "10.213.0.16/28"])


@pytest.mark.parametrize("stack", ["compose.yaml", "stack.yaml"])
def test_each_default_is_written_once(stack: str) -> None:
    """compose.yaml and stack.yaml pass each setting of settings.DEFAULTS on without a default
    of their own (``${NAME:-}``): two defaults had disagreed (GPU memory 16G there, 8G here)."""
    hub = yaml.safe_load((HUB / stack).read_text())["services"]["hub"]
    passed = {k: v for k, v in hub["environment"].items() if k in DEFAULTS}
    assert passed, f"{stack} passes none of the settings"
    # no GPU on a swarm; the helpers' image is the hub's own (compose builds it: its name)
    fixed = {"GSLAB_HUB_GPU": "no"} if stack == "stack.yaml" else {"GSLAB_HUB_IMAGE": hub["image"]}
    assert passed == {k: fixed.get(k, f"${{{k}:-}}") for k in passed}


def test_tls_is_on_unless_loopback_or_off_by_name(tmp_path: Path) -> None:
    assert tls.tls_mode({}, tmp_path) == "self-signed"
    assert tls.tls_mode({"GSLAB_HUB_BIND": "127.0.0.1"}, tmp_path) == "off"
    assert tls.tls_mode({"GSLAB_HUB_TLS": "off"}, tmp_path) == "off"
    (tmp_path / "cert.pem").touch()
    (tmp_path / "key.pem").touch()
    assert tls.tls_mode({"GSLAB_HUB_TLS": "off"}, tmp_path) == "site"
    with pytest.raises(ValueError, match="GSLAB_HUB_TLS must be auto or off, not 'on'"):
        tls.tls_mode({"GSLAB_HUB_TLS": "on"}, tmp_path)
    assert tls.names_for({"GSLAB_HUB_TLS_NAMES": "lab lab 10.0.0.5 ::1"}) == (
        ["localhost", "lab"], ["127.0.0.1", "::1", "10.0.0.5"])
