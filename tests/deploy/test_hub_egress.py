"""A student's lab reaches its hub and nothing else on the host or the site's private ranges
(issue #22, attack 6), against real hubs on the Docker engine.

From inside a lab (a kernel of the student's server, her user) the test opens TCP connections
to listeners it starts itself and first reaches from the host, so that a refusal means the
path is closed, not that nothing listened:

- the host, a listener bound to 0.0.0.0: by the lab network's gateway address, docker0's
  address and every other global address of the host's own interfaces;
- the site's LAN and a cloud's metadata service: a network namespace joined to the host by a
  veth pair, holding a private address (192.168.x.2) and 169.254.169.254, routed by the host
  as a LAN machine and a cloud's metadata address are (forwarded, not the host's own). A
  container on another Docker network would not do: Docker's own isolation already drops
  traffic between its bridges.

Two hubs: the default (GSLAB_HUB_LAB_EGRESS unset: ``none``, no route out at all) and
``internet`` (a default route; the host, private, link-local and shared ranges dropped by
rules the hub installs and ``make hub-down`` removes), then that hub switched back to
``none``: the student's network is made again, closed. That the internet itself is reachable
in ``internet`` cannot be shown here: this machine has no route to it.

Run by ``make test-hub-hostile``; the engine's host must let the test be root (a network
namespace, iptables to read).
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import random
import shutil
import socket
import socketserver
import subprocess
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from grayscott.classroom.client import execute, open_kernel, server_ready
from tests.deploy.conftest import Hub, started_hub
from tests.utils import free_port, run, wait_for

COURSE = "egress-course-password-2026"
STUDENT = "ada"
METADATA = "169.254.169.254"

#: What the kernel runs: a TCP connection to each target at once (4 s each), the hub's API,
#: whether the lab has a default route; one JSON line.
PROBE = """
import json, socket, urllib.request
from concurrent.futures import ThreadPoolExecutor
targets = {targets!r}
def reach(item):
    s = socket.socket(); s.settimeout(4)
    try:
        s.connect(tuple(item))
        return "connected"
    except OSError as exc:
        return type(exc).__name__ + ": " + str(exc)
    finally:
        s.close()
with ThreadPoolExecutor(len(targets)) as pool:
    reached = dict(zip(targets, pool.map(reach, targets.values())))
hub = urllib.request.urlopen("http://hub:8081/hub/api/", timeout=10)
routes = [line.split() for line in open("/proc/net/route").read().splitlines()[1:]]
print("PROBE", json.dumps({{"reached": reached, "hub_api": hub.status,
                           "hub_version": json.load(hub).get("version"),
                           "default_route": any(r[1] == "00000000" for r in routes)}}))
"""


class Accepting(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


class Greet(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        self.request.sendall(b"host service\n")


@contextmanager
def host_listener() -> Iterator[int]:
    """A service of the host's, on every address (0.0.0.0): its port."""
    server = Accepting(("0.0.0.0", 0), Greet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


def ip_cmd(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run("ip", *args, check=check)


@dataclass
class SiteLan:
    """The network namespace standing in for a LAN machine and a metadata service."""

    lan_address: str
    port: int


@contextmanager
def site_lan() -> Iterator[SiteLan]:
    """A namespace behind a veth pair: 192.168.N.2/30 and 169.254.169.254 on its side, a
    listener on both, the host routing to them (as to its LAN and a cloud's metadata)."""
    if shutil.which("ip") is None:
        pytest.fail("iproute2's `ip` is missing: apt-get install iproute2")
    used = [ipaddress.ip_interface(word).network for word in ip_cmd(
        "-4", "-o", "addr", "show").stdout.split() if "/" in word and word[0].isdigit()]
    third = next(n for n in range(200, 250) if not any(
        ipaddress.ip_network(f"192.168.{n}.0/24").overlaps(u) for u in used))
    host_side, lan = f"192.168.{third}.1", f"192.168.{third}.2"
    tag = uuid.uuid4().hex[:6]
    ns, veth_host, veth_ns = f"gslab-egress-{tag}", f"egh{tag}", f"egn{tag}"
    port = free_port()
    if ip_cmd("route", "show", f"{METADATA}/32", check=False).stdout.strip():
        pytest.fail(f"this host already routes {METADATA}: the test would change that")
    listener = None
    ip_cmd("netns", "add", ns)
    try:
        ip_cmd("link", "add", veth_host, "type", "veth", "peer", "name", veth_ns)
        ip_cmd("link", "set", veth_ns, "netns", ns)
        ip_cmd("addr", "add", f"{host_side}/30", "dev", veth_host)
        ip_cmd("link", "set", veth_host, "up")
        ip_cmd("route", "add", f"{METADATA}/32", "dev", veth_host, "src", host_side)
        for args in (("addr", "add", f"{lan}/30", "dev", veth_ns),
                     ("addr", "add", f"{METADATA}/32", "dev", veth_ns),
                     ("link", "set", veth_ns, "up"), ("link", "set", "lo", "up"),
                     ("route", "add", "default", "via", host_side)):
            ip_cmd("netns", "exec", ns, "ip", *args)
        listener = subprocess.Popen(
            ["ip", "netns", "exec", ns, "python3", "-c",
             f"import socket\ns = socket.create_server(('0.0.0.0', {port}), backlog=64)\n"
             "while True:\n    c, _ = s.accept(); c.sendall(b'site\\n'); c.close()"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_for(lambda: reachable(lan, port), 10, "the site LAN's listener")
        yield SiteLan(lan_address=lan, port=port)
    finally:
        if listener is not None:
            listener.kill()
            listener.wait()
        ip_cmd("route", "del", f"{METADATA}/32", "dev", veth_host, check=False)
        ip_cmd("link", "del", veth_host, check=False)
        ip_cmd("netns", "del", ns, check=False)


def reachable(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=3):
            return True
    except OSError:
        return False


def host_addresses() -> dict[str, str]:
    """The host's own global IPv4 addresses but the lab bridges' ({name: address}): docker0
    and the machine's own interfaces (eth0...), which a host service bound to 0.0.0.0 is on."""
    found = {}
    for line in ip_cmd("-4", "-o", "addr", "show", "scope", "global").stdout.splitlines():
        words = line.split()
        ifname, address = words[1], words[3].split("/")[0]
        if ifname.startswith(("br-", "veth", "egh")):
            continue
        found[f"host {ifname}"] = address
    assert "host docker0" in found, found
    return found


@dataclass
class Targets:
    host_port: int
    lan: SiteLan


@pytest.fixture(scope="module")
def targets(docker_engine: None) -> Iterator[Targets]:
    with host_listener() as port, site_lan() as lan:
        yield Targets(host_port=port, lan=lan)


def lab_hub(tmp_path_factory: pytest.TempPathFactory, settings: dict[str, str]
            ) -> Iterator[Hub]:
    """A hub of its own with STUDENT's lab running."""
    settings = {"GSLAB_HUB_AUTH": "shared", "GSLAB_HUB_SHARED_PASSWORD": COURSE,
                "GSLAB_HUB_MEM_LIMIT": "512M", "GSLAB_HUB_CPU_LIMIT": "1", **settings}
    with started_hub(tmp_path_factory.mktemp("egress-hub"), settings) as hub:
        assert hub.login(STUDENT, COURSE).get(f"{hub.url}/hub/api/user",
                                              timeout=30).status_code == 200
        assert hub.api("POST", f"/users/{STUDENT}/server").status_code in (201, 202)
        wait_for(lambda: server_ready(hub, STUDENT), 180,
                 f"{STUDENT}'s server\n{hub.logs()[-3000:]}", 0.2)
        yield hub


@pytest.fixture(scope="module")
def closed_hub(docker_engine: None, tmp_path_factory: pytest.TempPathFactory
               ) -> Iterator[Hub]:
    yield from lab_hub(tmp_path_factory, {})


@pytest.fixture(scope="module")
def internet_hub(docker_engine: None, tmp_path_factory: pytest.TempPathFactory
                 ) -> Iterator[Hub]:
    # A pool of its own: the rules are the pool's, and other hubs of this engine (other
    # tests) take their labs' networks from the default one
    pool = f"10.214.{16 * random.randrange(16)}.0/20"
    yield from lab_hub(tmp_path_factory, {"GSLAB_HUB_LAB_EGRESS": "internet",
                                          "GSLAB_HUB_LAB_SUBNETS": pool})


def lab_network(hub: Hub) -> dict[str, object]:
    name = f"{hub.name}-{STUDENT}-net"
    return dict(json.loads(run("docker", "network", "inspect", name).stdout)[0])


def probe(hub: Hub, targets: Targets) -> dict[str, object]:
    """From inside the student's lab (a kernel of hers): every target's outcome."""
    subnet = ipaddress.ip_network(lab_network(hub)["IPAM"]["Config"][0]["Subnet"])  # type: ignore[index]
    addresses = {"lab network's gateway": str(subnet[1]), **host_addresses()}
    holds = {a for a in host_addresses().values()}
    # the listeners answer the host itself: a refusal from the lab is the path, not them
    for what, address in addresses.items():
        if address in holds:
            assert reachable(address, targets.host_port), f"{what} {address}"
    for address in (targets.lan.lan_address, METADATA):
        assert reachable(address, targets.lan.port), address
    wanted = {f"{what} {address}": [address, targets.host_port]
              for what, address in addresses.items()}
    wanted[f"site LAN {targets.lan.lan_address}"] = [targets.lan.lan_address, targets.lan.port]
    wanted[f"metadata {METADATA}"] = [METADATA, targets.lan.port]
    _, ws_url = open_kernel(hub, STUDENT)
    printed = asyncio.run(execute(ws_url, PROBE.format(targets=wanted), token=hub.token))
    line = next((x for x in printed.splitlines() if x.startswith("PROBE ")), None)
    assert line is not None, printed
    outcome: dict[str, object] = json.loads(line.removeprefix("PROBE "))
    print(f"{hub.name}: {json.dumps(outcome, indent=1)}")
    return outcome


def assert_only_the_hub(outcome: dict[str, object]) -> None:
    reached = outcome["reached"]
    assert isinstance(reached, dict)
    opened = [what for what, result in reached.items() if result == "connected"]
    assert not opened, f"the lab reached {opened}: {reached}"
    # ...while the hub answers on the lab's network, by its name: the kernel reports to it
    assert outcome["hub_api"] == 200 and outcome["hub_version"], outcome


def test_by_default_a_lab_reaches_its_hub_and_nothing_else(closed_hub: Hub,
                                                         targets: Targets) -> None:
    outcome = probe(closed_hub, targets)
    assert_only_the_hub(outcome)
    # no way out at all: no default route, an internal network the host has no address on
    assert outcome["default_route"] is False, outcome
    network = lab_network(closed_hub)
    assert network["Internal"] is True, network


def test_with_internet_egress_the_host_lan_and_metadata_stay_closed(internet_hub: Hub,
                                                                  targets: Targets) -> None:
    outcome = probe(internet_hub, targets)
    assert_only_the_hub(outcome)
    # this mode has a way out (the internet, which this machine cannot reach to show)
    assert outcome["default_route"] is True, outcome


def test_a_network_made_for_internet_is_made_again_when_the_site_turns_it_off(
        internet_hub: Hub, targets: Targets) -> None:
    """The site sets GSLAB_HUB_LAB_EGRESS=none and runs `make hub` again: the student's
    network, made for internet, is made again at her next start, closed."""
    hub = internet_hub
    assert lab_network(hub)["Internal"] is False
    assert hub.api("DELETE", f"/users/{STUDENT}/server").status_code in (202, 204)
    wait_for(lambda: not hub.api("GET", f"/users/{STUDENT}").json()["servers"], 120,
             f"{STUDENT}'s server to stop")
    env_file = Path(hub.env["HUB_ENV_FILE"])
    env_file.write_text(env_file.read_text().replace("GSLAB_HUB_LAB_EGRESS=internet",
                                                     "GSLAB_HUB_LAB_EGRESS=none"))
    hub.script("up")
    assert hub.api("POST", f"/users/{STUDENT}/server").status_code in (201, 202)
    wait_for(lambda: server_ready(hub, STUDENT), 180,
             f"{STUDENT}'s server\n{hub.logs()[-3000:]}", 0.2)
    assert "made again for GSLAB_HUB_LAB_EGRESS=none" in hub.logs()
    outcome = probe(hub, targets)
    assert_only_the_hub(outcome)
    assert outcome["default_route"] is False, outcome
    assert lab_network(hub)["Internal"] is True


def egress_rules(hub: Hub) -> list[str]:
    """The host's firewall rules that name this hub (either iptables backend)."""
    found = []
    for save in ("iptables-nft-save", "iptables-legacy-save"):
        if shutil.which(save):
            found += [line for line in run(save, check=False).stdout.splitlines()
                      if hub.name in line]
    return found


def test_the_egress_rules_go_with_the_hub(internet_hub: Hub) -> None:
    # (put in at its start with internet; a start with none leaves them: harmless to closed
    # networks, and the hub would need NET_ADMIN's helper at every start to look)
    assert egress_rules(internet_hub), "no rules naming the internet hub were installed"
    internet_hub.script("down")
    assert egress_rules(internet_hub) == []
