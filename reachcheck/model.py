"""The data reachcheck passes between its layers: observations, anomalies, results.

Rules of this module:
1. Everything here is a frozen, slotted dataclass of plain values (str, int, float, bool, None,
   tuples and str-keyed dicts of those). No IO, no clocks, no imports beyond the stdlib and
   the JSON codec (`jsoncodec.py`).
2. Probes *produce* observations; analysis *consumes* them and produces `Anomaly` and the verdict;
   renderers only read `SiteResult`. Nothing here decides anything.
3. Every type round-trips through JSON (`to_json` / `from_json`), so a saved run can be re-judged
   by the analysis exactly as the live run was (`rejudge.py`). Field names are the JSON contract
   (`schema: "reachcheck/1"`); renaming one is an incompatible change.

Error names are OONI-style snake_case strings (see `probes/errors.py`): `timeout`, `refused`,
`reset`, `eof`, `unreachable`, `cert_invalid`, `cert_hostname`, `cert_unknown_ca`, ...
"""

from __future__ import annotations

import typing
from dataclasses import dataclass, field
from typing import Any, Literal

# The JSON codec is its own module; its two names stay importable from the model.
from reachcheck.jsoncodec import from_json as from_json
from reachcheck.jsoncodec import to_json as to_json

SCHEMA = "reachcheck/1"
# The error names of a failed certificate verification (probes/errors.py produces them; the
# analysis reads them): one definition for both sides of the observations.
CERT_ERRORS = frozenset({"cert_hostname", "cert_unknown_ca", "cert_expired", "cert_invalid"})

Stage = Literal["dns", "tcp", "tls", "http"]
Verdict = Literal[
    "accessible",
    "dns_blocked",
    "tcp_blocked",
    "tls_blocked",
    "http_blocked",
    "site_down",
    "inconclusive",
]
VERDICTS: tuple[str, ...] = typing.get_args(Verdict)
BLOCKED_VERDICTS: frozenset[str] = frozenset(
    {"dns_blocked", "tcp_blocked", "tls_blocked", "http_blocked"}
)
Confidence = Literal["confirmed", "likely", "none"]

# Which role a DNS resolver plays in the judgement.
#  system:    the nameservers from the OS configuration (what the user's browser would ask)
#  probe:     extra UDP resolvers given with --resolver (ISP / public resolvers seen from here)
#  injection: an address that runs no DNS service; any answer from it is forged on the path
#  control:   DNS-over-HTTPS resolvers an on-path injector cannot forge
DnsRole = Literal["system", "probe", "injection", "control"]


# --------------------------------------------------------------------------------------- DNS


@dataclass(frozen=True, slots=True)
class DnsResponse:
    """One DNS response as it arrived (UDP may bring several per query: injection)."""

    arrived_ms: float  # since the query was sent
    rcode: str  # "NOERROR", "NXDOMAIN", "SERVFAIL", "REFUSED", ... or "MALFORMED"
    addresses: tuple[str, ...] = ()  # A/AAAA answers of the asked type, in wire order
    cnames: tuple[str, ...] = ()  # CNAME targets in the answer section, lowercase, no dot
    ttls: tuple[int, ...] = ()  # TTL of each address record, same order as `addresses`
    has_opt: bool = False  # EDNS OPT record present (forged answers often lack it)
    ede: tuple[int, ...] = ()  # extended DNS error codes (RFC 8914): 15-18 = blocked/censored
    error: str | None = None  # parse problem when rcode == "MALFORMED"
    raw_b64: str | None = None  # the datagram, base64, kept as evidence (bounded size)


@dataclass(frozen=True, slots=True)
class DnsQuery:
    """One question (name, type) sent to one resolver, with every response it drew."""

    resolver: str  # "udp:IP:PORT" or the DoH URL
    role: DnsRole
    transport: Literal["udp", "doh"]
    qname: str
    qtype: Literal["A", "AAAA"]
    elapsed_ms: float  # until the first response (or the failure)
    responses: tuple[DnsResponse, ...] = ()
    error: str | None = None  # transport failure when no response came: timeout, refused, ...
    # Index in `responses` of the answer a stub resolver would have accepted (the first valid
    # one). With injection this is usually the forged one: it is what the browser got.
    accepted: int | None = None
    # Exchanges made: a timeout is asked again (after a pause) before it counts as one.
    attempts: int = 1

    @property
    def answer(self) -> DnsResponse | None:
        """The response a stub resolver would have used, or None."""
        if self.accepted is None or self.accepted >= len(self.responses):
            return None
        return self.responses[self.accepted]


# --------------------------------------------------------------------------------- TCP / TLS


@dataclass(frozen=True, slots=True)
class TcpConnect:
    """A TCP connect to one address."""

    address: str
    port: int
    ok: bool
    elapsed_ms: float
    error: str | None = None
    # Where the address came from: any of "system", "probe", "control", "literal".
    sources: tuple[str, ...] = ()
    # True when this connect failed within the residual-blocking window after a trigger on the
    # same (address, port) by another site: it may be that site's penalty, not evidence here.
    possibly_residual: bool = False


@dataclass(frozen=True, slots=True)
class CertInfo:
    """The leaf certificate a server presented."""

    subject: str  # RFC 4514-ish "CN=...,O=..."
    issuer: str
    sans: tuple[str, ...] = ()
    not_before: str | None = None  # RFC 3339 UTC
    not_after: str | None = None
    sha256: str | None = None  # hex fingerprint of the DER


@dataclass(frozen=True, slots=True)
class TlsHandshake:
    """A TLS handshake to one address with one SNI.

    kind "benign": a harmless SNI, verification off (does *a* TLS server answer here?).
    kind "target": the site's own name, verified against the trust store.
    """

    address: str
    port: int
    sni: str | None
    kind: Literal["benign", "target"]
    ok: bool  # the handshake completed (for "target": and the certificate verified)
    elapsed_ms: float
    error: str | None = None  # reset / timeout / eof / cert_hostname / cert_unknown_ca / ...
    version: str | None = None
    cipher: str | None = None
    cert: CertInfo | None = None  # presented leaf (also captured when verification failed)
    # Offset of the handshake start from the start of the run, so the analysis can tell
    # whether a failure followed an earlier trigger on the same address (residual blocking).
    started_ms: float | None = None
    # True when an earlier handshake to this address in this run was reset or timed out within
    # the residual-blocking window: this failure may be a penalty for another site.
    possibly_residual: bool = False


# -------------------------------------------------------------------------------------- HTTP


@dataclass(frozen=True, slots=True)
class HttpHop:
    """One request of a redirect chain."""

    url: str
    address: str | None
    status: int | None
    location: str | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class HttpFetch:
    """A GET of the URL pinned to one address, redirects followed by hand."""

    url: str
    address: str
    ok: bool  # a final response arrived (any status)
    elapsed_ms: float
    error: str | None = None  # reset / timeout / eof / http_protocol / too_many_redirects / ...
    status: int | None = None
    title: str | None = None
    body_length: int | None = None  # bytes read (capped)
    # Time from the response headers to the end of the body read (or its failure): with
    # body_length, the transfer rate a throttling censor slows down.
    body_ms: float | None = None
    body_truncated: bool = False
    body_sha256: str | None = None
    # The start of the decoded body, kept so fingerprints can be re-matched from a saved file.
    body_head: str | None = None
    headers: dict[str, str] = field(default_factory=dict)  # selected, lower-case names
    header_names: tuple[str, ...] = ()  # every response header name, lower case
    redirects: tuple[HttpHop, ...] = ()  # hops before the final response
    final_url: str | None = None
    tls: TlsHandshake | None = None  # facts of the handshake the fetch itself made (https)


# ---------------------------------------------------------------------------- control server


@dataclass(frozen=True, slots=True)
class ControlMeasurement:
    """What an outside control server (`--control URL`) observed for the same site."""

    server: str
    ok: bool  # the control server answered
    error: str | None = None
    dns: tuple[DnsQuery, ...] = ()
    tcp: tuple[TcpConnect, ...] = ()
    tls: tuple[TlsHandshake, ...] = ()
    http: HttpFetch | None = None
    # The probe's address as the control server saw the request come from (its public
    # address, or a NAT's, or a reverse proxy's in front of the server); None from older servers.
    client_address: str | None = None
    # A second fetch of the same URL by the control server, so the analysis knows the page's
    # own variance (dynamic and parked pages differ from fetch to fetch). None: fetched once,
    # variance unknown.
    http_repeat: HttpFetch | None = None
    # Who measured: a control server (`--control`) or the user's own proxy (`--via`), whose
    # view plays the same role. `server` is then the proxy URL without its password.
    kind: Literal["control_server", "proxy"] = "control_server"


# ---------------------------------------------------------------------- residual memory


@dataclass(frozen=True, slots=True)
class OwnTrigger:
    """A recent failure of our own target-SNI handshake on (address, port) while the benign
    SNI passed there (what sets off a censor's residual block), remembered across runs under
    $XDG_STATE_HOME/reachcheck/. Used to explain a failure and to keep out of the penalty box,
    never as evidence of blocking by itself."""

    address: str
    port: int
    at: str  # RFC 3339 UTC: when that handshake failed
    age_s: float  # seconds between that failure and this site's check
    sni: str | None = None  # the name that was reset (often another site on the address)
    error: str | None = None  # reset / timeout / eof
    # This run found the address still punished (its benign-SNI handshake or connect failed
    # too), so the site's own SNI was not sent there: re-probing would only prolong the block.
    active: bool = False


@dataclass(frozen=True, slots=True)
class PageCluster:
    """The same cleartext page served, in this run, for unrelated sites (a run-level fact):
    a page that many unrelated domains return is the censor's, not theirs."""

    key: str  # "sha256:<hex>" of the body, or "title:<title>"
    domains: tuple[str, ...]  # other, unrelated domains seen with it earlier in the run


# ---------------------------------------------------------------------------- observations


@dataclass(frozen=True, slots=True)
class Target:
    """A site to check, as parsed from the command line or a sites file."""

    given: str  # as written by the user
    domain: str  # IDNA (punycode) lower-case host, or an IP literal
    url: str  # normalised URL; a bare domain means https://DOMAIN/
    scheme: Literal["http", "https"] = "https"
    port: int = 443
    is_ip: bool = False


@dataclass(frozen=True, slots=True)
class Observations:
    """Everything the probes recorded for one target: the analysis's whole input."""

    target: Target
    dns: tuple[DnsQuery, ...] = ()
    tcp: tuple[TcpConnect, ...] = ()
    tls: tuple[TlsHandshake, ...] = ()
    http: tuple[HttpFetch, ...] = ()
    control: ControlMeasurement | None = None
    elapsed_ms: float = 0.0
    # The stages the run was set to measure ("dns", "tcp", "tls", "http"), e.g. `--only dns`
    # gives ("dns",). Empty: not recorded (older files, imports): judged from what is there.
    stages_checked: tuple[str, ...] = ()
    # The tun device the default route goes through (a VPN or a proxy's TUN mode), or None:
    # then the "direct" path is not direct (gathered once per run, see probes/route.py).
    default_route_tun: str | None = None
    # http:// fetches (Host = the site) of an https target on addresses where HTTPS failed
    # verification or that no genuine answer gave: censors serve their blockpage in cleartext.
    cleartext_fetches: tuple[HttpFetch, ...] = ()
    # Recent triggers of our own earlier probes (an earlier run) on the site's addresses.
    own_triggers: tuple[OwnTrigger, ...] = ()
    # This site's cleartext page was served for unrelated sites earlier in the run.
    page_clusters: tuple[PageCluster, ...] = ()


# --------------------------------------------------------------------------------- results


@dataclass(frozen=True, slots=True)
class Anomaly:
    """One deviation from what an unfiltered network shows, with its evidence."""

    stage: Stage
    kind: str  # "dns.injection", "tls.sni_filtering", ...
    detail: str  # one line a person can read
    addresses: tuple[str, ...] = ()
    resolvers: tuple[str, ...] = ()
    confirmed: bool = False  # direct evidence (no guess involved)
    # Qualifiers the verdict reads (`detail` is for people only): the failure behind the
    # anomaly ("timeout", "reset", ... as in the observations), and whether the contrast that
    # would make it evidence failed too (e.g. the benign-SNI handshake to the same address).
    error: str | None = None
    ambiguous: bool = False


@dataclass(frozen=True, slots=True)
class Vantage:
    """Where a result was measured from, so runs from different places can be told apart."""

    label: str | None = None  # the user's name for this vantage point (`check --label`)
    system_resolvers: tuple[str, ...] = ()  # "udp:IP:PORT" of the system resolver(s) asked
    resolvers: tuple[str, ...] = ()  # "udp:IP:PORT" of the probe resolvers asked
    doh: tuple[str, ...] = ()  # DoH control URLs
    control: str | None = None  # the control server's URL, when one was used
    # The client's public address as the control server saw it (ControlMeasurement's
    # client_address); the network (AS) behind it: None until an outside view reports it.
    public_address: str | None = None
    network: str | None = None


@dataclass(frozen=True, slots=True)
class SiteResult:
    """The judgement on one target, with every observation behind it."""

    target: str
    domain: str
    url: str
    verdict: Verdict
    confidence: Confidence
    anomalies: tuple[Anomaly, ...]
    reason: str  # one line: why this verdict
    dns: tuple[DnsQuery, ...] = ()
    tcp: tuple[TcpConnect, ...] = ()
    tls: tuple[TlsHandshake, ...] = ()
    http: tuple[HttpFetch, ...] = ()
    control: ControlMeasurement | None = None
    elapsed_ms: float = 0.0
    # DNS blocked, but the site answered (verified TLS / HTTP) on the control's addresses.
    reachable_with_trusted_dns: bool | None = None
    # The mechanism in words a non-expert understands, for the table.
    summary: str = ""
    # Runs over time (design section 11): which run this result belongs to, when the site's
    # measurement finished (RFC 3339 UTC), and from where. None in files written before them.
    run_id: str | None = None
    measured_at: str | None = None
    vantage: Vantage | None = None
    # The stages the run measured (see Observations.stages_checked; empty: not recorded).
    stages_checked: tuple[str, ...] = ()
    # Copied from the observations (so a saved run can be re-judged).
    default_route_tun: str | None = None
    # With --via: the site answered (verified TLS and a page, or a cleartext page) through the
    # user's proxy; False = it did not; None = no proxy view (none given, or it failed).
    reachable_via_proxy: bool | None = None
    # What showed that the measured path goes through a local proxy/VPN (fake-ip answers,
    # hijacked DNS, a tun default route), in one line; None = the path looks direct.
    local_proxy: str | None = None
    # Where the observations came from when another tool measured them (`import ooni`):
    # {"kind": "ooni", "measurement_uid", "report_id", "input", "probe_cc", "probe_asn",
    #  "measured_at", "test_version", "ooni_blocking", "ooni_accessible"}; None for our own.
    source: dict[str, Any] | None = None
    cleartext_fetches: tuple[HttpFetch, ...] = ()  # see Observations.cleartext_fetches
    own_triggers: tuple[OwnTrigger, ...] = ()  # see Observations.own_triggers
    page_clusters: tuple[PageCluster, ...] = ()  # see Observations.page_clusters

