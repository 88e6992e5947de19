"""Facts derived once per site and shared by every rule: what the control says, which addresses
are genuine, which connection attempts failed.

"Genuine" addresses are those an unfiltered network would use for the site: given by a control
(DoH resolvers or the control server), TLS-validated for the name (a target-SNI handshake or a
fetch whose TLS verified), or the IP literal of the target itself. Later-stage failures only
count as evidence on genuine addresses; a failure on a forged address is the DNS lie's fault.

Addresses the control server verified (a verified target-SNI handshake, or the page fetched
there over one) are genuine too, whatever the DoH control answered (`control_verified`): CDNs give
different vantage points different addresses.

A TLS-validated address is control-free truth: the name exists and has that address, so a
resolver answering NXDOMAIN (or nothing, or another address that fails) is lying even when no
control is available (`name_exists`, `known_a`).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

from reachcheck.analysis import bogons
from reachcheck.model import DnsQuery, DnsResponse, HttpFetch, Observations, TlsHandshake

# Names that are private by construction: special-purpose answers for them are normal.
_PRIVATE_SUFFIXES = (
    "local", "localhost", "localdomain", "internal", "lan", "home", "home.arpa", "intranet",
    "corp", "private",
)  # fmt: skip
PROBE_ROLES = ("system", "probe")
ControlState = str  # "resolves" | "empty" | "nxdomain" | "failed" | "unavailable"


def is_v6(addr: str) -> bool:
    """True for an IPv6 literal."""
    return ":" in addr


def is_public_name(domain: str) -> bool:
    """A name that should resolve to public addresses (not single-label, not a private suffix)."""
    if "." not in domain.strip("."):
        return False
    return not any(domain == s or domain.endswith("." + s) for s in _PRIVATE_SUFFIXES)


def responded(resp: DnsResponse) -> bool:
    """The response is a real answer about the name (not a malformed datagram)."""
    return resp.rcode != "MALFORMED"


def target_handshakes(obs: Observations) -> tuple[TlsHandshake, ...]:
    """Every target-SNI handshake: the explicit ones and those the HTTP fetches made."""
    own = [t for t in obs.tls if t.kind == "target"]
    own += [f.tls for f in obs.http if f.tls is not None and f.tls.kind == "target"]
    return tuple(own)


@dataclass(frozen=True, slots=True)
class Facts:
    """What every rule needs to know about one site, computed once."""

    obs: Observations
    domain: str
    public_name: bool
    control_queries: tuple[DnsQuery, ...]
    control_state: ControlState
    control_addresses: frozenset[str]
    control_by_type: dict[str, frozenset[str]]
    validated: frozenset[str]
    literal: frozenset[str]
    control_fetch: HttpFetch | None  # the control server's fetch, if it answered
    public_ranges: tuple[str, ...] = ()  # CIDRs treated as public (--public-range)
    # Addresses the control server verified for the name (handshake or page): genuine.
    control_verified: frozenset[str] = frozenset()
    # Results of rules other rules reuse (bogon, censor IPs, forged responses), computed once
    # per site: the rules are pure functions of these facts.
    memo: dict[object, Any] = field(default_factory=dict, compare=False, repr=False)

    def is_bogon(self, addr: str) -> bool:
        """`addr` is special-purpose, the ranges declared public excepted."""
        return bogons.is_bogon(addr, self.public_ranges)

    @property
    def name_exists(self) -> bool:
        """The name exists: a control resolves it (or says it exists without an address), or,
        when no control could tell, a verified target-SNI handshake for it succeeded."""
        if self.control_state in ("resolves", "empty"):
            return True
        if self.control_state == "nxdomain":
            return False  # the control's word wins over a certificate (wildcards, overrides)
        return self.public_name and bool(self.validated)

    @property
    def known_a(self) -> frozenset[str]:
        """IPv4 addresses the name is known to have: the control's A answers or, when no control
        could tell, the TLS-validated ones (a control that says otherwise wins)."""
        ctrl = self.control_by_type.get("A", frozenset())
        if self.control_state not in ("unavailable", "failed") or not self.public_name:
            return ctrl
        return ctrl | frozenset(a for a in self.validated if not is_v6(a))

    @property
    def genuine(self) -> frozenset[str]:
        """Addresses known to belong to the site."""
        return self.control_addresses | self.validated | self.literal | self.control_verified

    @property
    def control_no_address(self) -> bool:
        """The control answered the A question with NOERROR and no address (a dangling CNAME,
        or a name with other records only) and no control gave any address: the name exists
        but has nowhere to connect, so a resolver's NXDOMAIN denies the user nothing."""
        return self.control_state == "empty" and any(
            q.qtype == "A" and q.answer is not None and q.answer.rcode == "NOERROR"
            for q in self.control_queries
        )

    @property
    def stages(self) -> frozenset[str]:
        """The stages the run measured (all of them when not recorded)."""
        return frozenset(self.obs.stages_checked or ("dns", "tcp", "tls", "http"))

    @property
    def control_available(self) -> bool:
        """Some control (DoH resolver or control server) told us anything about the name."""
        return self.control_state != "unavailable" or self.control_server_ok

    @property
    def control_server_ok(self) -> bool:
        """The control server answered."""
        return self.obs.control is not None and self.obs.control.ok

    def failed_on(self, addresses: frozenset[str]) -> bool:
        """Some connection attempt (TCP, target TLS, HTTP) on one of `addresses` failed; a
        handshake (or a fetch whose handshake) is `possibly_residual` does not count: it may be
        the penalty for another site on the same address."""
        obs = self.obs
        return (
            any(not c.ok and c.address in addresses for c in obs.tcp)
            or any(
                not t.ok and not t.possibly_residual and t.address in addresses
                for t in target_handshakes(obs)
            )
            or any(
                not f.ok and f.address in addresses and not (f.tls and f.tls.possibly_residual)
                for f in obs.http
            )
        )


def _control_queries(obs: Observations) -> tuple[DnsQuery, ...]:
    queries = [q for q in obs.dns if q.role == "control"]
    if obs.control is not None and obs.control.ok:
        queries += obs.control.dns
    return tuple(queries)


def _control_state(queries: tuple[DnsQuery, ...]) -> ControlState:
    answers = [q.answer for q in queries if q.answer is not None and responded(q.answer)]
    rcodes = {a.rcode for a in answers}
    if any(a.addresses for a in answers):
        return "resolves"
    if "NOERROR" in rcodes:
        return "empty"  # the name exists but has no address (a CNAME or MX only)
    if "NXDOMAIN" in rcodes:
        return "nxdomain"
    return "failed" if answers else "unavailable"


def _validated(obs: Observations) -> frozenset[str]:
    return frozenset(
        t.address
        for t in target_handshakes(obs)
        if t.ok and (t.sni is None or t.sni == obs.target.domain)
    )


def _control_verified(obs: Observations) -> frozenset[str]:
    ctrl = obs.control
    if ctrl is None or not ctrl.ok:
        return frozenset()
    found = {
        t.address
        for t in ctrl.tls
        if t.ok and t.kind == "target" and (t.sni is None or t.sni == obs.target.domain)
    }
    # A page counts only over a verified handshake: in cleartext, an address the probe gave
    # (a censor's public blockpage server) can serve the control a page too.
    found |= {
        f.address
        for f in (ctrl.http, ctrl.http_repeat)
        if f is not None and f.ok and f.tls is not None and f.tls.ok
    }
    return frozenset(found)


def _literal(obs: Observations) -> frozenset[str]:
    if not obs.target.is_ip:
        return frozenset()
    return frozenset({ipaddress.ip_address(obs.target.domain).compressed})


def build(obs: Observations, public_ranges: tuple[str, ...] = ()) -> Facts:
    """Derive the shared facts from the observations (`public_ranges`: CIDRs not bogons)."""
    bogons.public_networks(tuple(public_ranges))  # a bad CIDR fails here, not mid-judgement
    queries = _control_queries(obs)
    by_type: dict[str, set[str]] = {"A": set(), "AAAA": set()}
    for q in queries:
        if q.answer is not None:
            by_type.setdefault(q.qtype, set()).update(q.answer.addresses)
    ctrl = obs.control
    return Facts(
        obs=obs,
        domain=obs.target.domain,
        public_name=not obs.target.is_ip and is_public_name(obs.target.domain),
        control_queries=queries,
        control_state=_control_state(queries),
        control_addresses=frozenset().union(*by_type.values()),
        control_by_type={k: frozenset(v) for k, v in by_type.items()},
        validated=_validated(obs),
        literal=_literal(obs),
        control_fetch=ctrl.http if ctrl is not None and ctrl.ok else None,
        public_ranges=tuple(public_ranges),
        control_verified=_control_verified(obs),
    )
