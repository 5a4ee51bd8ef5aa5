"""A server flavour written into the variant table, and nowhere else, is started by every
runtime's dry run (Docker, Podman, Apptainer, Singularity, local, the Kubernetes render) with
the table's port, variables, root flag and local command, or refused by name in one line:
no runtime keeps a list of flavours or ports of its own (issue #28).

The table is a copy with two flavours added, read through ``GRAYSCOTT_VARIANTS``: ``marimo``
with a local command, ``voila`` without one (which the local runtime must refuse)."""

from __future__ import annotations

import os
import sys
import tomllib
from importlib import resources
from pathlib import Path

import pytest

from grayscott.variants import TABLE_ENV
from tests.test_gslab import gslab, one_line_error

NEW_FLAVOURS = """
[flavours.marimo]
parent = "light"
summary = "marimo notebooks: a flavour only this test's table has"
port = 2718
port_env = "MARIMO_PORT"
secret_env = "MARIMO_TOKEN"
health = "/health"
open = "/?access_token={secret}"
root_args = ["--marimo-as-root"]
local_command = ["{python}", "-m", "marimo", "edit", "--headless", "--port", "{port}",
                 "{workdir}", "{args}"]

[flavours.voila]
parent = "light"
summary = "Voila dashboards: no local command in the table"
port = 8866
port_env = "VOILA_PORT"
secret_env = "VOILA_TOKEN"
health = "/"
open = "/?token={secret}"
"""

#: what each runtime's dry run of ``marimo`` must say, from the table's facts alone
MARIMO = {
    "docker": ["MARIMO_TOKEN=", "docker run", "--publish 127.0.0.1:2718:2718",
               "--env MARIMO_PORT=2718", "--env MARIMO_TOKEN ", "gray-scott-lab:cpu-marimo"],
    "podman": ["MARIMO_TOKEN=", "podman run", "--publish 127.0.0.1:2718:2718",
               "--env MARIMO_PORT=2718", "gray-scott-lab:cpu-marimo"],
    "apptainer": ["APPTAINERENV_MARIMO_TOKEN=", "apptainer run --containall",
                  "--env MARIMO_PORT=2718", "gray-scott-lab_cpu-marimo.sif"],
    "singularity": ["SINGULARITYENV_MARIMO_TOKEN=", "singularity run --containall",
                    "--env MARIMO_PORT=2718", "gray-scott-lab_cpu-marimo.sif"],
    "local": ["MARIMO_TOKEN=", "MARIMO_PORT=2718",
              f"{sys.executable} -m marimo edit --headless --port 2718 {{workdir}} --after"],
}
#: the runtimes where the server runs as root when gslab does (here: a root-owned folder)
ROOT_AS_CALLER = ("docker", "podman", "local")


@pytest.fixture
def table_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The package's variant table plus ``marimo`` and ``voila``, their budgets included."""
    text = resources.files("grayscott").joinpath("data/variants.toml").read_text()
    assert "\n[budgets]\n" in text
    budgets = "".join(f"{target}-{flavour} = 900\n" for target in tomllib.loads(text)["targets"]
                      for flavour in ("marimo", "voila"))
    copy = tmp_path / "variants.toml"
    copy.write_text(text.replace("\n[budgets]\n", "\n[budgets]\n" + budgets) + NEW_FLAVOURS)
    monkeypatch.setenv(TABLE_ENV, str(copy))
    work = tmp_path / "work"
    work.mkdir()
    return work


@pytest.mark.parametrize("runtime", list(MARIMO))
def test_every_runtime_starts_a_flavour_only_the_table_knows(runtime: str,
                                                             table_copy: Path) -> None:
    result = gslab("run", "marimo", "--runtime", runtime, "--workdir", str(table_copy),
                   "--dry-run", "--", "--after")
    assert result.returncode == 0, result.stderr
    for fragment in MARIMO[runtime]:
        assert fragment.format(workdir=table_copy) in result.stdout, result.stdout
    if runtime in ROOT_AS_CALLER:
        assert ("--marimo-as-root" in result.stdout.split()) == (os.geteuid() == 0)


def test_the_kubernetes_render_serves_a_flavour_only_the_table_knows(table_copy: Path) -> None:
    result = gslab("k8s", "render", "cpu-marimo")
    assert result.returncode == 0, result.stderr
    for fragment in ("containerPort: 2718", "port: 2718", 'image: "gray-scott-lab:cpu-marimo"',
                     'path: "/health"', "MARIMO_TOKEN: "):
        assert fragment in result.stdout, result.stdout


@pytest.mark.parametrize("runtime", ["docker", "apptainer"])
def test_a_flavour_without_a_local_command_runs_in_images(runtime: str, table_copy: Path) -> None:
    result = gslab("run", "voila", "--runtime", runtime, "--workdir", str(table_copy),
                   "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "cpu-voila" in result.stdout and "VOILA_PORT=8866" in result.stdout


def test_the_local_runtime_refuses_a_flavour_without_a_local_command_by_name(
        table_copy: Path) -> None:
    one_line_error(gslab("run", "voila", "--runtime", "local", "--workdir", str(table_copy),
                         "--dry-run"), "voila", "local_command", "container")


def test_a_variant_table_that_is_not_there_is_one_line(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The commands read the table as gslab starts: a wrong path is an error, not a traceback."""
    monkeypatch.setenv(TABLE_ENV, str(tmp_path / "nowhere.toml"))
    one_line_error(gslab("run", "jupyter", "--dry-run"), TABLE_ENV, "nowhere.toml", "no such file")
