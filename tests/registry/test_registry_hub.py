"""The one-machine hub (compose/hub) running its labs from the site registry's image: a site
that serves its images from the registry sets ``GSLAB_HUB_CPU_IMAGE=HOST:PORT/PROJECT/...``;
``hub.sh up`` pulls it with the engine's login and the CA that ``gslab registry client-config``
installed (the spawner itself never pulls), and a student's lab starts from it."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.deploy.conftest import started_hub
from tests.registry.conftest import Pushed, Site, images
from tests.utils import run

STUDENT = "ada"


def test_the_hub_spawns_a_lab_from_the_registry_image(site: Site, pushed: Pushed,
                                                      tmp_path: Path) -> None:
    if "cpu-jupyter" not in images():
        pytest.skip("the hub's labs are cpu-jupyter: GSLAB_REGISTRY_IMAGES lacks it")
    ref = site.ref("cpu-jupyter")
    site.engine("docker", "login", "--username", "bob", "--password-stdin", site.endpoint,
                input_text=site.password("bob"))
    site.engine("docker", "rmi", ref, check=False)
    assert run("docker", "image", "inspect", ref, check=False).returncode != 0  # hub.sh pulls
    try:
        started = time.monotonic()
        with started_hub(tmp_path, {"GSLAB_HUB_CPU_IMAGE": ref},
                         env={"DOCKER_CONFIG": site.env["DOCKER_CONFIG"]}) as hub:
            site.bench["hub_up_pulling_cpu-jupyter_s"] = round(time.monotonic() - started, 1)
            site.bench["hub_spawn_from_registry_s"] = round(hub.spawn(STUDENT), 1)
            lab = json.loads(run("docker", "container", "inspect",
                                 f"{hub.name}-{STUDENT}").stdout)[0]
            assert lab["Config"]["Image"] == ref
            assert lab["Image"] == pushed.ids["cpu-jupyter"]  # the pushed image, unchanged
    finally:
        site.engine("docker", "rmi", ref, check=False)


def test_the_hub_says_how_to_log_in_when_the_registry_refuses(site: Site, pushed: Pushed,
                                                              tmp_path: Path) -> None:
    """No account on this engine: hub.sh up stops with one line naming the fix."""
    ref = site.ref("cpu-jupyter")
    (tmp_path / "anonymous").mkdir()
    env_file = tmp_path / "hub.env"
    env_file.write_text(f"GSLAB_HUB_CPU_IMAGE={ref}\nHUB_BIND=127.0.0.1\n")
    refused = run("bash", "compose/hub/hub.sh", "up", check=False,
                  env={"HUB_ENV_FILE": str(env_file), "HUB_NAME": f"{site.name}-hub-refused",
                       "DOCKER_CONFIG": str(tmp_path / "anonymous")})
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert refused.stderr.strip().splitlines()[-1] == (
        f"error: could not pull {ref}: docker login {site.endpoint} and its CA "
        "(gslab registry client-config)")
    assert run("docker", "ps", "-aq", "--filter", f"name={site.name}-hub-refused").stdout == ""
