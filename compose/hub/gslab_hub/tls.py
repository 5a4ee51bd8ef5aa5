"""HTTPS for the one-machine hub by default: which certificate it serves, and the one it makes
for itself when the site gave none.

Students type their password into the hub's login form, and the hub's cookies open their
labs: on a classroom network neither may travel in clear. So a hub reachable from the
network serves HTTPS even when nobody set a certificate up: it makes a self-signed one once,
keeps it in its data volume (students accept it once; ``make hub`` prints its fingerprint to
compare), and serves it until the site puts its own in HUB_TLS_DIR. Plain HTTP remains for a
hub bound to loopback (a TLS proxy on the same machine, the tests) and for a site that says
so by name, ``GSLAB_HUB_TLS=off`` (a TLS-terminating proxy in front of it).
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from collections.abc import Mapping
from pathlib import Path

#: Addresses that only this machine reaches: plain HTTP is no exposure there
LOOPBACK = ("127.0.0.1", "::1", "localhost")
#: The self-signed certificate's life; a new one is made when less than RENEW is left
VALIDITY = datetime.timedelta(days=397)
RENEW = datetime.timedelta(days=14)


def tls_mode(env: Mapping[str, str], site_dir: Path) -> str:
    """``site`` (HUB_TLS_DIR's cert.pem + key.pem), ``self-signed`` or ``off`` (plain HTTP),
    from GSLAB_HUB_TLS (auto, off) and the address the port is published on."""
    setting = env.get("GSLAB_HUB_TLS", "auto").strip().lower() or "auto"
    if setting not in ("auto", "off"):
        raise ValueError(f"GSLAB_HUB_TLS must be auto or off, not {setting!r}")
    if (site_dir / "cert.pem").is_file() and (site_dir / "key.pem").is_file():
        return "site"
    if setting == "off" or env.get("GSLAB_HUB_BIND", "0.0.0.0").strip() in LOOPBACK:
        return "off"
    return "self-signed"


def names_for(env: Mapping[str, str]) -> tuple[list[str], list[str]]:
    """(DNS names, IP addresses) the certificate must cover: loopback always, and the host's
    names and addresses that ``hub.sh`` passes in GSLAB_HUB_TLS_NAMES (space-separated)."""
    dns, ips = ["localhost"], ["127.0.0.1", "::1"]
    for item in env.get("GSLAB_HUB_TLS_NAMES", "").split():
        try:
            ipaddress.ip_address(item)
        except ValueError:
            if item not in dns:
                dns.append(item)
        else:
            if item not in ips:
                ips.append(item)
    return dns, ips


def self_signed(folder: Path, dns: list[str], ips: list[str]) -> tuple[Path, Path, bool]:
    """The hub's own certificate and key in ``folder`` (made if missing or about to expire;
    the key readable by the hub's user only); whether it was made now."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    if cert.is_file() and key.is_file() and not _expiring(cert):
        return cert, key, False
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    private = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, dns[-1]),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Gray-Scott Lab hub")])
    alt = [x509.DNSName(n) for n in dns] + [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    certificate = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
        .public_key(private.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + VALIDITY)
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(private, hashes.SHA256()))
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    new_key = key.with_suffix(".new")
    fd = os.open(new_key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(private.private_bytes(serialization.Encoding.PEM,
                                        serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption()))
    cert.with_suffix(".new").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    new_key.replace(key)
    cert.with_suffix(".new").replace(cert)
    return cert, key, True


def _expiring(cert: Path) -> bool:
    from cryptography import x509

    loaded = x509.load_pem_x509_certificate(cert.read_bytes())
    return loaded.not_valid_after_utc - datetime.datetime.now(datetime.UTC) < RENEW
