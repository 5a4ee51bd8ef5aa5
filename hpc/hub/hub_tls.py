"""Where the cluster hub listens, and whether it may listen there without TLS.

The hub's login page takes cluster (PAM) passwords, the same passwords as SSH to the cluster:
on plain HTTP anyone on the path (the campus network, the classroom's Wi-Fi) reads them, and
the session cookies travel without ``Secure``. So the hub serves HTTPS when given a
certificate, and refuses to start with PAM on plain HTTP on a non-loopback address unless
``GSLAB_HUB_ALLOW_HTTP=yes`` says that a TLS-terminating proxy (nginx, Apache, a site's load
balancer) sits in front and is the only way in. Kept apart from jupyterhub_config.py so that
each rule is a plain function of the settings.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

#: The opt-out's name and its one accepted value (a typo must not open plain HTTP).
ALLOW_HTTP = "GSLAB_HUB_ALLOW_HTTP"
PAM_NAMES = ("pam", "jupyterhub.auth.PAMAuthenticator")


class TlsRefused(ValueError):
    """A setting the hub must not start with; the message names the fix."""


@dataclass(frozen=True)
class Tls:
    bind_url: str
    cert: str = ""
    key: str = ""
    #: browsers reach the hub over HTTPS (its own, or the proxy's the opt-out names):
    #: its cookies may all be Secure
    browser_sees_https: bool = False


def is_pam(authenticator_class: object) -> bool:
    """JupyterHub's default authenticator, named or given as the class."""
    if isinstance(authenticator_class, str):
        return authenticator_class in PAM_NAMES
    return getattr(authenticator_class, "__name__", "") == "PAMAuthenticator"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name or "" (every address): not loopback
        return False


def tls_settings(env: Mapping[str, str], *, pam: bool) -> Tls:
    """The hub's bind URL and certificate from GSLAB_HUB_URL / _SSL_CERT / _SSL_KEY / _ALLOW_HTTP."""
    cert, key = env.get("GSLAB_HUB_SSL_CERT", ""), env.get("GSLAB_HUB_SSL_KEY", "")
    if bool(cert) != bool(key):
        raise TlsRefused("set both GSLAB_HUB_SSL_CERT and GSLAB_HUB_SSL_KEY (PEM files), or neither")
    for name, path in (("GSLAB_HUB_SSL_CERT", cert), ("GSLAB_HUB_SSL_KEY", key)):
        if path and not os.access(path, os.R_OK):
            raise TlsRefused(f"{name}={path} is not a readable file")
    url = env.get("GSLAB_HUB_URL") or ("https" if cert else "http") + "://0.0.0.0:8000"
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.port:
        raise TlsRefused(f"GSLAB_HUB_URL={url} must be http(s)://ADDRESS:PORT")
    if parts.scheme == "https" and not cert:
        raise TlsRefused(f"GSLAB_HUB_URL={url} is HTTPS: set GSLAB_HUB_SSL_CERT and "
                         "GSLAB_HUB_SSL_KEY to the certificate and its key")
    if parts.scheme == "http" and cert:
        raise TlsRefused(f"GSLAB_HUB_URL={url} is plain HTTP but a certificate is set: "
                         "make it https://")
    allow_http = env.get(ALLOW_HTTP, "")
    if allow_http not in ("", "yes"):
        raise TlsRefused(f"{ALLOW_HTTP} must be 'yes' or unset, not '{allow_http}'")
    if parts.scheme == "http" and pam and not is_loopback(parts.hostname or "") \
            and allow_http != "yes":
        raise TlsRefused(
            f"the hub would take cluster passwords (PAM) over plain HTTP on {url}: set "
            "GSLAB_HUB_SSL_CERT and GSLAB_HUB_SSL_KEY for HTTPS, or bind 127.0.0.1, or set "
            f"{ALLOW_HTTP}=yes only behind a TLS-terminating proxy (see hpc/README.md)")
    return Tls(url, cert, key, browser_sees_https=bool(cert) or allow_http == "yes")
