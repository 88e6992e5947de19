"""Targets: a domain or URL as a user writes it -> `Target`.

Sites files (one target per line, `#` comments, Citizen Lab CSVs) are parsed here too.
"""

from __future__ import annotations

import ipaddress
import urllib.parse

from reachcheck.model import Target


class TargetError(ValueError):
    """A target that cannot be checked; the message says why in one line."""


def parse_target(text: str) -> Target:
    """Parse a bare domain, a host:port or an http(s) URL into a Target.

    A bare domain means https://DOMAIN/. Names are IDNA-encoded and lower-cased.
    """
    given = text
    text = text.strip()
    if not text:
        raise TargetError("empty target")
    if "://" not in text:
        text = "https://" + text
    try:
        parts = urllib.parse.urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise TargetError(f"not a valid URL: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise TargetError(f"unsupported scheme {scheme!r} (use http or https)")
    host = parts.hostname
    if not host:
        raise TargetError("no host name")
    is_ip = False
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        domain = _idna(host)
    else:
        domain, is_ip = ip.compressed, True
    port = port or (443 if scheme == "https" else 80)
    netloc = f"[{domain}]" if ":" in domain else domain
    if port != (443 if scheme == "https" else 80):
        netloc += f":{port}"
    path = parts.path or "/"
    url = urllib.parse.urlunsplit((scheme, netloc, path, parts.query, ""))
    return Target(given=given, domain=domain, url=url, scheme=scheme, port=port, is_ip=is_ip)  # type: ignore[arg-type]


def _idna(host: str) -> str:
    host = host.rstrip(".").lower()
    try:
        encoded = host.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise TargetError(f"invalid host name {host!r}: {exc}") from None
    labels = encoded.split(".")
    if len(encoded) > 253 or any(not 0 < len(label) <= 63 for label in labels):
        raise TargetError(f"invalid host name {host!r}")
    for label in labels:
        if not all(c.isalnum() or c in "-_" for c in label) or label.startswith("-"):
            raise TargetError(f"invalid host name {host!r}")
    return encoded
