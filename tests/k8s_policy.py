"""What a NetworkPolicy lets a pod reach, evaluated from its egress rules as the API defines
them (a rule allows a destination when one of its peers holds the address, outside the peer's
``except``, and one of its ports matches; no ``to`` or no ``ports`` means any). Used on the
policies ``gslab k8s render``, the kustomize bases and the Z2JH values produce, so the tests
ask the question that matters (can a lab open 169.254.169.254:80?) rather than compare YAML.

Peers that select pods or namespaces stand for pods the policy names (kube-system's DNS): an
address given here is never taken to be one of them, so an allowed address is one any pod at
that address could be.
"""

from __future__ import annotations

import ipaddress
from typing import Any

#: what no lab may open by default, one address per range the policies must keep closed
#: (cloud metadata over HTTP, the RFC 1918 ranges, the carrier-grade NAT range some clusters
#: use for pods and nodes, the rest of link-local (EKS pod identity, ECS credentials), and
#: IPv6's unique-local (AWS's metadata fd00:ec2::254) and link-local ranges)
CLOSED = [("169.254.169.254", 80), ("10.0.0.1", 22), ("10.96.0.1", 443),
          ("172.16.5.4", 6443), ("172.31.255.1", 10250), ("192.168.1.10", 80),
          ("100.64.0.10", 443), ("169.254.170.23", 80), ("fd00:ec2::254", 80),
          ("fe80::1", 80)]
#: the cluster's DNS (a Service address in a private range; NodeLocal DNSCache's address)
DNS = [("10.96.0.10", 53), ("169.254.20.10", 53)]
#: addresses on the internet
INTERNET = [("140.82.112.3", 443), ("151.101.0.223", 443), ("2a04:4e42::223", 443)]


def _holds(block: dict[str, Any], address: str) -> bool:
    ip = ipaddress.ip_address(address)
    cidr = ipaddress.ip_network(block["cidr"])
    if ip.version != cidr.version or ip not in cidr:
        return False
    return not any(ip in ipaddress.ip_network(cut) for cut in block.get("except", [])
                   if ipaddress.ip_network(cut).version == ip.version)


def _port_matches(ports: list[dict[str, Any]] | None, port: int, protocol: str) -> bool:
    if not ports:
        return True
    return any(p.get("protocol", "TCP") == protocol and p.get("port") in (None, port)
               for p in ports)


def egress_allows(policy: dict[str, Any], address: str, port: int,
                  protocol: str = "TCP") -> bool:
    """Whether ``policy`` (a NetworkPolicy object or its spec) lets its pods open
    ``address:port``."""
    spec = policy.get("spec", policy)
    if "Egress" not in spec.get("policyTypes", []):
        return True
    for rule in spec.get("egress") or []:
        if not _port_matches(rule.get("ports"), port, protocol):
            continue
        peers = rule.get("to")
        if not peers or any("ipBlock" in peer and _holds(peer["ipBlock"], address)
                            for peer in peers):
            return True
    return False
