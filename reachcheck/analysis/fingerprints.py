"""Known blockpage and censor-DNS fingerprints (Citizen Lab, citizenlab/filtering-annotations).

Matching follows the data's own rules (`reachcheck/data/blockpage-fingerprints.json`):
- HTTP patterns are literal, case-sensitive substrings (never regexes: many contain metacharacters);
  body patterns are matched against the decoded body head, header patterns against each header
  serialised as "name: value" (header names compared case-insensitively).
- DNS signatures match an answer address exactly, or a CNAME target ignoring case/trailing dot.
- scope "injb" marks benign injections (router-update, pay-your-bill pages): known, not censorship.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources

BENIGN_SCOPE = "injb"
_NAMED_HEADER = re.compile(r"^([A-Za-z0-9-]+): ")


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """One matched signature."""

    name: str
    scope: str  # nat, isp, prod, inst, vbw, prov, br, injb
    country: str | None
    confidence: int  # the source's confidence_no_fp, 1-10

    @property
    def benign(self) -> bool:
        """A known non-censorship injection (captive or billing page)."""
        return self.scope == BENIGN_SCOPE


@dataclass(frozen=True, slots=True)
class _Sets:
    body: tuple[tuple[str, Fingerprint], ...]
    header: tuple[tuple[str, Fingerprint], ...]
    dns_ip: dict[str, tuple[Fingerprint, ...]]
    dns_host: dict[str, tuple[Fingerprint, ...]]


def _fp(rec: dict[str, object]) -> Fingerprint:
    conf = rec.get("confidence_no_fp")
    country = rec.get("country")
    return Fingerprint(
        name=str(rec["name"]),
        scope=str(rec.get("scope") or ""),
        country=country if isinstance(country, str) else None,
        confidence=conf if isinstance(conf, int) else 1,
    )


@functools.lru_cache(maxsize=8192)
def _norm_ip(text: str) -> str:
    if ":" not in text:
        return text  # IPv4 has one valid spelling (no leading zeros): normalising keeps it
    try:
        return ipaddress.ip_address(text).compressed
    except ValueError:
        return text


def _norm_host(text: str) -> str:
    return text.strip().rstrip(".").lower()


def _header_pattern(pattern: str) -> str:
    """Lower-case an embedded header name ("Location: http://..."), as names arrive lower-case."""
    m = _NAMED_HEADER.match(pattern)
    return pattern if m is None else m.group(1).lower() + pattern[m.end(1) :]


@functools.cache
def _load() -> _Sets:
    raw = resources.files("reachcheck.data").joinpath("blockpage-fingerprints.json").read_text(
        encoding="utf-8"
    )
    data = json.loads(raw)
    body: list[tuple[str, Fingerprint]] = []
    header: list[tuple[str, Fingerprint]] = []
    for rec in data["http"]:
        if rec.get("pattern_type", "contains") != "contains" or not rec.get("pattern"):
            continue  # the data has only literals; anything else would need its own matcher
        if rec["location"] == "body":
            body.append((rec["pattern"], _fp(rec)))
        else:
            header.append((_header_pattern(rec["pattern"]), _fp(rec)))
    ips: dict[str, list[Fingerprint]] = {}
    hosts: dict[str, list[Fingerprint]] = {}
    for rec in data["dns"]:
        if rec["value_type"] == "ip":
            ips.setdefault(_norm_ip(rec["value"]), []).append(_fp(rec))
        else:
            hosts.setdefault(_norm_host(rec["value"]), []).append(_fp(rec))
    return _Sets(
        body=tuple(body),
        header=tuple(header),
        dns_ip={k: tuple(v) for k, v in ips.items()},
        dns_host={k: tuple(v) for k, v in hosts.items()},
    )


def _unique(found: Iterable[Fingerprint]) -> tuple[Fingerprint, ...]:
    return tuple(dict.fromkeys(found))


def match_body(text: str | None) -> tuple[Fingerprint, ...]:
    """Fingerprints whose body pattern occurs in `text` (the kept body head)."""
    if not text:
        return ()
    return _unique(fp for pat, fp in _load().body if pat in text)


def match_headers(headers: Mapping[str, str]) -> tuple[Fingerprint, ...]:
    """Fingerprints whose header pattern occurs in one "name: value" line of `headers`."""
    # The probe joins a repeated header's values with ", " (RFC 9110 field combining), so a
    # blockpage's own "Server: X" after the site's may sit mid-value: test each part too.
    lines = [
        f"{name.lower()}: {part}"
        for name, value in headers.items()
        for part in dict.fromkeys((value, *value.split(", ")))
    ]
    if not lines:
        return ()
    return _unique(fp for pat, fp in _load().header for line in lines if pat in line)


def match_dns_answer(
    addresses: Iterable[str], cnames: Iterable[str] = ()
) -> tuple[Fingerprint, ...]:
    """Fingerprints of known censor DNS answers among `addresses` and `cnames`."""
    sets = _load()
    found: list[Fingerprint] = []
    for addr in addresses:
        found.extend(sets.dns_ip.get(_norm_ip(addr), ()))
    for name in cnames:
        found.extend(sets.dns_host.get(_norm_host(name), ()))
    return _unique(found)


def censor_addresses(addresses: Iterable[str]) -> frozenset[str]:
    """The members of `addresses` that are known censor DNS answers."""
    return frozenset(a for a in addresses if _norm_ip(a) in _load().dns_ip)
