"""The hub never takes a password over plain HTTP by default (issue #22, attack 2).

A hub that students reach over the classroom network (``HUB_BIND`` all addresses, the
default) serves HTTPS with a certificate it makes once and keeps in its data volume (a site's
own certificate replaces it: test_hub_options), and every cookie it and the labs set is
``Secure``. Plain HTTP is for a hub bound to 127.0.0.1 (the tests, a reverse proxy on the
same machine) or when the site says so by name (``GSLAB_HUB_TLS=off``, a TLS proxy in front).

Run by ``make test-hub-hostile``."""

from __future__ import annotations

import hashlib
import re
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from grayscott.classroom.client import server_ready
from tests.deploy.conftest import Hub, started_hub
from tests.utils import run, wait_for


def served_certificate(hub: Hub) -> str:
    host, port = hub.url.split("://")[1].split(":")
    return ssl.get_server_certificate((host, int(port)))


def fingerprint(pem: str) -> str:
    digest = hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest().upper()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


@pytest.fixture(scope="module")
def open_hub(docker_engine: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    """A hub as `make hub` starts it on a classroom network: bound to every address."""
    folder = tmp_path_factory.mktemp("open-hub")
    with started_hub(folder, {"HUB_BIND": "0.0.0.0"}, verify=False) as hub:
        pem = folder / "served.pem"
        if hub.url.startswith("https://"):
            pem.write_text(served_certificate(hub))
            hub.verify = str(pem)
        yield hub


def test_a_hub_on_the_network_serves_https_with_a_certificate_of_its_own(open_hub: Hub) -> None:
    hub = open_hub
    assert hub.url.startswith("https://"), f"{hub.url}: passwords would travel in clear"
    # the certificate names the address students use, and verifies against itself
    assert hub.api("GET", "/").status_code == 200
    try:  # no login page in clear on that port
        plain = requests.get(hub.url.replace("https://", "http://") + "/hub/login", timeout=10)
        assert plain.status_code != 200, plain.text[:300]
    except requests.ConnectionError:
        pass  # the TLS server hung up on plain HTTP
    # `make hub` printed the fingerprint students can compare with their browser's
    up = hub.script("up")
    assert fingerprint(served_certificate(hub)) in up.stdout, up.stdout


def test_every_cookie_of_the_hub_and_the_lab_is_secure(open_hub: Hub) -> None:
    hub = open_hub
    password = hub.script("admin", "teacher-tls").stdout.split("password ")[1].split()[0]
    session = hub.login("teacher-tls", password)
    assert session.get(f"{hub.url}/hub/api/user", timeout=30).status_code == 200
    assert hub.api("POST", "/users/teacher-tls/server").status_code in (201, 202)
    wait_for(lambda: server_ready(hub, "teacher-tls"), 180, f"the lab\n{hub.logs()[-3000:]}")
    lab = session.get(f"{hub.url}/user/teacher-tls/lab", timeout=60)
    assert lab.status_code == 200, lab.url
    cookies = {c.name: c.secure for c in session.cookies}
    assert any(name.startswith("jupyterhub-user-") for name in cookies), cookies  # the lab's
    insecure = [name for name, secure in cookies.items() if not secure]
    assert not insecure, f"cookies without Secure: {insecure}"


def test_the_certificate_outlives_a_restart(open_hub: Hub) -> None:
    """Students accepted (or a teacher installed) this certificate: `make hub` again, after a
    settings change or a reboot, must serve the same one."""
    hub = open_hub
    before = fingerprint(served_certificate(hub))
    run("docker", "restart", hub.name)
    wait_for(lambda: hub_answers(hub), 120, "the restarted hub")
    assert fingerprint(served_certificate(hub)) == before


def hub_answers(hub: Hub) -> bool:
    try:
        return hub.api("GET", "/").status_code == 200
    except requests.RequestException:
        return False


def test_plain_http_on_the_network_only_when_asked_by_name(
        docker_engine: None, tmp_path: Path) -> None:
    with started_hub(tmp_path, {"HUB_BIND": "0.0.0.0", "GSLAB_HUB_TLS": "off"}) as hub:
        assert hub.url.startswith("http://")
        assert hub.api("GET", "/").status_code == 200
        warned = re.search(r"plain HTTP.*GSLAB_HUB_TLS=off", hub.logs())
        assert warned, hub.logs()[-2000:]
