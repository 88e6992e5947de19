"""Run settings: what the command line turns into, with the defaults for real use.

Defaults talk to public resolvers and servers; tests and benchmarks must always pass explicit
loopback or lab addresses instead.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

# Public UDP resolvers asked besides the system resolver. From a censored network, answers from
# these are often forged on the path (which hold-on and the injection probe detect).
DEFAULT_RESOLVERS: tuple[tuple[str, int], ...] = (("8.8.8.8", 53), ("1.1.1.1", 53))


@dataclass(frozen=True, slots=True)
class DohServer:
    """A DNS-over-HTTPS control resolver; `bootstrap` addresses avoid resolving its own name."""

    url: str
    bootstrap: tuple[str, ...] = ()


DEFAULT_DOH: tuple[DohServer, ...] = (
    DohServer("https://cloudflare-dns.com/dns-query", ("1.1.1.1", "1.0.0.1")),
    DohServer("https://dns.google/dns-query", ("8.8.8.8", "8.8.4.4")),
    DohServer("https://dns.quad9.net/dns-query", ("9.9.9.9", "149.112.112.112")),
)

# An address that runs no DNS service (a web server abroad): any DNS answer "from" it was
# forged by something on the path.
DEFAULT_INJECTION_PROBE = "93.184.215.14"
DEFAULT_BENIGN_SNI = "example.com"
# Clash/Mihomo's default fake-ip range: a local proxy in fake-ip mode answers every name with a
# placeholder from it (design section 9). Benchmark space (RFC 2544): no public name lives there.
DEFAULT_FAKE_IP_POOLS: tuple[str, ...] = ("198.18.0.0/16",)

ALL_STAGES: frozenset[str] = frozenset({"dns", "tcp", "tls", "http"})


@dataclass(frozen=True, slots=True)
class Config:
    """Everything a run needs to know; built by the CLI, read by the runner."""

    resolvers: tuple[tuple[str, int], ...] = DEFAULT_RESOLVERS
    system_resolver: bool = True
    # Overrides resolv.conf (tests and labs); None = read the OS configuration.
    system_nameservers: tuple[tuple[str, int], ...] | None = None
    doh: tuple[DohServer, ...] = DEFAULT_DOH
    injection_probe: tuple[str, int] | None = (DEFAULT_INJECTION_PROBE, 53)
    benign_sni: str = DEFAULT_BENIGN_SNI
    ca_bundle: str | None = None  # PEM path; None = certifi / system default store
    timeout: float = 5.0  # per stage
    hold_on: float = 0.5  # seconds to keep listening after the first UDP response
    concurrency: int = 64  # sites in flight
    per_address: int = 8  # connections in flight to one address
    rate: float | None = None  # queries per second per resolver; None = unlimited
    stages: frozenset[str] = field(default=ALL_STAGES)
    ipv6: bool = True  # ask AAAA and connect to IPv6 answers
    body_cap: int = 256 * 1024  # bytes of HTTP body read
    max_redirects: int = 10
    # After a reset/timeout on (address, port), later failures there within this many seconds may
    # be a censor's residual penalty for an earlier site, not evidence against the later one.
    residual_window: float = 180.0
    control: str | None = None  # control server URL
    control_token: str | None = None
    # CIDRs whose addresses count as public, not special-purpose (labs and test networks that
    # use 198.18.0.0/15 or 10.0.0.0/8); passed to the analysis, recorded in the JSON settings.
    public_ranges: tuple[str, ...] = ()
    # The user's own proxy as the outside view (`--via`): socks5://, socks5h://, http:// URL
    # (may hold a password: the JSON settings show it without).
    via: str | None = None
    # CIDRs a local proxy's fake-ip answers come from (a sign that the path is not direct).
    fake_ip_pools: tuple[str, ...] = DEFAULT_FAKE_IP_POOLS
    # *_PROXY environment variables that were set and that the direct path ignored.
    ignored_proxy_env: tuple[str, ...] = ()
    # Remember our own triggers across runs ($XDG_STATE_HOME/reachcheck/triggers.json) to
    # explain residual blocking left by an earlier run and to keep out of its penalty box.
    residual_memory: bool = True


def public_network(text: str) -> str:
    """One `public_ranges` entry, normalised ("10.1.2.3/8" -> "10.0.0.0/8"); ValueError with
    one line when it is not an IP network (`--public-range` and a saved run's settings)."""
    try:
        return ipaddress.ip_network(str(text).strip(), strict=False).compressed
    except ValueError:
        shown = text if len(text) <= 60 else text[:60] + "..."
        raise ValueError(f"{shown!r} is not an IP network (CIDR, e.g. 198.18.0.0/15)") from None
