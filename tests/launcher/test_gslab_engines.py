"""``gslab`` driving the real engines on the built images (``make test-launcher``).

Runtimes from GSLAB_TEST_RUNTIMES (docker, podman, apptainer, singularity); needs cpu-light and
cpu-jupyter built for them (and the .sif files for apptainer).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import h5py
import pytest

from grayscott.launcher import registry
from tests.test_gslab import gslab
from tests.utils import free_port

RUNTIMES = [r.strip() for r in os.environ.get("GSLAB_TEST_RUNTIMES", "docker").split(",") if r]
SERVING = [r for r in RUNTIMES if registry.RUNTIMES[r].stores_images]  # detached servers


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_batch_run_writes_into_the_workdir(runtime: str, workdir: Path) -> None:
    work = workdir  # owned by an ordinary user: the container must write as that user
    result = gslab("run", "light", "--runtime", runtime, "--workdir", str(work), "--",
                   "run", "-b", "numba-parallel", "-r", "48", "-c", "64", "-n", "2", "-s", "5",
                   "-o", "/work/out.h5")
    assert result.returncode == 0, result.stdout + result.stderr
    out = work / "out.h5"
    assert out.stat().st_uid == 12345
    with h5py.File(out) as f:
        assert f["matrix"].shape == (2, 48, 64)


def _start_detached(runtime: str, work: Path) -> tuple[str, str]:
    """``gslab run jupyter --detach`` on ``work``: (the contents API URL base, the name)."""
    port = free_port()
    result = gslab("run", "jupyter", "--runtime", runtime, "--detach", "--port", str(port),
                   "--workdir", str(work))
    assert result.returncode == 0, result.stdout + result.stderr
    url = re.search(rf"http://127\.0\.0\.1:{port}/lab\?token=([0-9a-f]+)", result.stdout)
    name = re.search(r"running as (\S+):", result.stdout)
    assert url and name, result.stdout
    return f"http://127.0.0.1:{port}/api/contents/{{}}?token={url.group(1)}", name.group(1)


def save_through_jupyter(api: str, path: str, text: str) -> int:
    """Save a text file through Jupyter's contents API, as JupyterLab does: the status."""
    body = json.dumps({"type": "file", "format": "text", "content": text}).encode()
    request = urllib.request.Request(api.format(path), data=body, method="PUT",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.mark.parametrize("runtime", SERVING)
def test_a_root_callers_root_owned_workdir_gets_the_labs_and_saves(runtime: str,
                                                                   tmp_path: Path) -> None:
    """``make lab`` from a fresh clone in a root shell (a cloud VM's login): the container
    runs as the folder's owner, so the labs are copied and the student's work is saved."""
    if os.geteuid() != 0:
        pytest.skip("needs a root caller (CI is one)")
    work = tmp_path / "work"
    work.mkdir()
    api, name = _start_detached(runtime, work)
    try:
        assert save_through_jupyter(api, "mywork.txt", "saved") == 201
        assert save_through_jupyter(api, "labs/cpu/tutorial/mywork.txt", "saved") == 201
    finally:
        gslab("stop", name)
    saved = work / "labs" / "cpu" / "tutorial" / "mywork.txt"
    assert saved.read_text() == "saved" and (work / "mywork.txt").stat().st_uid == 0


@pytest.mark.parametrize("runtime", SERVING)
def test_jupyter_detached_then_ps_logs_stop(runtime: str, workdir: Path) -> None:
    work = workdir
    api, name = _start_detached(runtime, work)
    try:
        with urllib.request.urlopen(api.format(""), timeout=10) as response:
            assert response.status == 200
            assert b'"labs"' in response.read()  # copied into the student's directory
        assert save_through_jupyter(api, "labs/mywork.txt", "saved") == 201
        assert (work / "labs" / "mywork.txt").stat().st_uid == 12345  # the folder's owner
        assert name in gslab("ps").stdout
        assert "Jupyter" in gslab("logs", name).stdout
    finally:
        stopped = gslab("stop", name)
    assert stopped.returncode == 0
    assert name not in gslab("ps").stdout
    missing = subprocess.run([runtime, "ps", "-a", "-q", "--filter", f"name={name}"],
                             capture_output=True, text=True, check=False)
    assert missing.stdout.strip() == ""


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_smoke_table_through_the_runtime(runtime: str) -> None:
    result = gslab("smoke", "cpu-light", "--runtime", runtime)
    assert result.returncode == 0, result.stdout + result.stderr
    rows = [line for line in result.stdout.splitlines() if "numba-parallel" in line]
    assert rows and "ok" in rows[0] and runtime in rows[0]


@pytest.mark.parametrize("runtime", [r for r in RUNTIMES if r == "podman"])
def test_bundle_from_docker_then_load_into_podman(runtime: str, tmp_path: Path) -> None:
    subprocess.run(["podman", "rmi", "-f", "gray-scott-lab:cpu-light"], capture_output=True,
                   check=False)
    made = gslab("bundle", "cpu-light", "-o", str(tmp_path / "bundle"))
    assert made.returncode == 0, made.stdout + made.stderr
    assert (tmp_path / "bundle" / "cpu-light.tar").stat().st_size > 100e6
    assert "cpu-light.tar" in (tmp_path / "bundle" / "README.md").read_text()
    loaded = gslab("load", str(tmp_path / "bundle"), "--runtime", runtime)
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    smoke = gslab("smoke", "cpu-light", "--runtime", runtime)
    assert smoke.returncode == 0, smoke.stdout + smoke.stderr
