"""No site secret can reach the hub's image (issue #22, attack 8: a test that can fail).

The hub's secrets are made after its image is built (``make hub-env``), so looking for them
in the image proves nothing. Here secrets are planted where a careless build would take them:
the build folder's ``.env`` (the site's API token and passwords), a cookie secret and a
database beside it, a TLS key, and the shell's environment of the build. The hub image is
built from that folder with its real Dockerfile, as compose builds it, and every byte of it
(each file, the config, the history) is searched for them. The same search, run on an image
built carelessly from the same folder (everything copied, no .dockerignore), must find them:
that is what shows the search can fail.

Run by ``make test-hub-hostile``."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import tarfile
import uuid
from pathlib import Path

from tests.deploy.conftest import COMPOSE
from tests.utils import run

PIP_CERT = Path(os.environ.get("PIP_CERT_FILE", "/etc/ssl/certs/ca-certificates.crt"))


def plant(context: Path) -> dict[str, str]:
    """Secrets where a site keeps them next to the build; their values by where."""
    planted = {where: f"canary-{where}-{secrets.token_hex(16)}" for where in
               ("env-file", "cookie-secret", "database", "tls-key", "build-environment")}
    (context / ".env").write_text(f"GSLAB_HUB_API_TOKEN={planted['env-file']}\n")
    (context / "data").mkdir()
    (context / "data" / "jupyterhub_cookie_secret").write_text(planted["cookie-secret"])
    (context / "data" / "jupyterhub.sqlite").write_text(planted["database"])
    (context / "tls").mkdir()
    (context / "tls" / "key.pem").write_text(
        f"-----BEGIN PRIVATE KEY-----\n{planted['tls-key']}\n-----END PRIVATE KEY-----\n")
    return planted


def build(context: Path, tag: str, planted: dict[str, str]) -> None:
    """The hub image as `make hub` builds it: ``docker compose build`` of the folder's
    compose.yaml, which reads the folder's .env and the shell's environment, where a secret
    is waiting for any build argument that would ask for it."""
    env = {"HUB_IMAGE": tag, "HUB_NAME": f"gslab-hub-secret-test-{uuid.uuid4().hex[:6]}",
           "DOCKER_GID": "999", "GSLAB_HUB_API_TOKEN": planted["build-environment"]}
    if PIP_CERT.is_file():
        env["PIP_CERT_FILE"] = str(PIP_CERT)
    built = run("docker", "compose", "-f", context / "compose.yaml", "build", "hub", env=env,
                check=False, timeout=900)
    assert built.returncode == 0, built.stderr[-3000:]


def found_in(image: str, planted: dict[str, str]) -> set[str]:
    """Which planted values are anywhere in the image: its files, config and history."""
    needles = {where: value.encode() for where, value in planted.items()}
    meta = (run("docker", "image", "inspect", image).stdout
            + run("docker", "history", "--no-trunc", image).stdout).encode()
    found = {where for where, needle in needles.items() if needle in meta}
    container = run("docker", "create", image).stdout.strip()
    try:
        export = subprocess.Popen(["docker", "export", container], stdout=subprocess.PIPE)
        assert export.stdout is not None
        with tarfile.open(fileobj=export.stdout, mode="r|") as tar:
            for member in tar:
                if not member.isfile():
                    continue
                data = tar.extractfile(member)
                content = data.read() if data is not None else b""
                found |= {where for where, needle in needles.items() if needle in content}
        assert export.wait() == 0
    finally:
        run("docker", "rm", "-f", container, check=False)
    return found


def test_no_planted_secret_reaches_the_hub_image_and_the_search_would_see_one(
        tmp_path: Path, docker_engine: None) -> None:
    context = tmp_path / "hub"
    shutil.copytree(COMPOSE / "hub", context, ignore=shutil.ignore_patterns(".env", "data", "tls"))
    planted = plant(context)
    tag = f"gslab-hub-secret-test:{uuid.uuid4().hex[:8]}"
    try:
        build(context, tag, planted)
        leaked = found_in(tag, planted)
        assert not leaked, f"planted secrets in the hub image: {sorted(leaked)}"

        # The same search finds them in a careless build of the same folder: every file
        # copied (no .dockerignore) and the token asked for as a build argument.
        (context / ".dockerignore").unlink()
        (context / "Careless.Dockerfile").write_text(
            (context / "Dockerfile").read_text() + "\nARG GSLAB_HUB_API_TOKEN\n"
            "COPY . /srv/jupyterhub/site/\n"
            "RUN echo \"$GSLAB_HUB_API_TOKEN\" > /tmp/site-token\n")
        compose = context / "compose.yaml"
        compose.write_text(compose.read_text().replace(
            "      secrets: [pipcert]\n", "      secrets: [pipcert]\n"
            "      dockerfile: Careless.Dockerfile\n      args: [GSLAB_HUB_API_TOKEN]\n", 1))
        build(context, tag + "-careless", planted)
        assert found_in(tag + "-careless", planted) == set(planted)
    finally:
        for image in (tag, tag + "-careless"):
            run("docker", "image", "rm", "-f", image, check=False)
