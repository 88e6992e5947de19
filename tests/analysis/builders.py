"""Small builders for recorded observations, so each test reads like the network it describes.

Addresses: genuine site addresses are public-looking literals (never contacted: these tests are
pure); resolvers and censors live in 10.0.0.0/8 lab space.
"""

from __future__ import annotations

import json
import sys

from reachcheck.model import (
    CertInfo,
    ControlMeasurement,
    DnsQuery,
    DnsResponse,
    HttpFetch,
    HttpHop,
    Observations,
    TcpConnect,
    TlsHandshake,
    from_json,
    to_json,
)
from reachcheck.targets import parse_target

SYSTEM = "udp:10.0.0.53:53"
PROBE = "udp:10.0.0.54:53"
INJECTION = "udp:10.9.9.9:53"
DOH = "https://doh.lab.test/dns-query"
DOMAIN = "www.coingecko.com"
REAL = "151.101.65.10"  # the site's genuine address
REAL2 = "151.101.129.10"
CDN_OTHER = "151.101.193.10"  # another genuine CDN node, not in the control's answer
FORGED = "31.13.95.2"  # a GFW-style forged answer (a foreign company's address)
FORGED2 = "108.160.166.9"
REAL6 = "2a04:4e42::10"


def resp(
    *addrs: str, rcode: str = "NOERROR", ms: float = 5.0, cnames: tuple[str, ...] = ()
) -> DnsResponse:
    """One DNS response."""
    return DnsResponse(arrived_ms=ms, rcode=rcode, addresses=addrs, cnames=cnames)


def query(
    role: str,
    *responses: DnsResponse,
    qtype: str = "A",
    error: str | None = None,
    resolver: str | None = None,
    qname: str = DOMAIN,
) -> DnsQuery:
    """A query with its responses; the first well-formed one is the accepted one."""
    resolver = resolver or {"system": SYSTEM, "probe": PROBE, "injection": INJECTION}.get(role, DOH)
    accepted = next((i for i, r in enumerate(responses) if r.rcode != "MALFORMED"), None)
    return DnsQuery(
        resolver=resolver,
        role=role,  # type: ignore[arg-type]
        transport="doh" if role == "control" else "udp",
        qname=qname,
        qtype=qtype,  # type: ignore[arg-type]
        elapsed_ms=responses[0].arrived_ms if responses else 2000.0,
        responses=responses,
        # An explicit error stands (garbage-only answers: "dns_malformed"); otherwise a query
        # without responses timed out.
        error=error if error or responses else "timeout",
        accepted=accepted,
    )


def system(*addrs: str, qtype: str = "A", rcode: str = "NOERROR") -> DnsQuery:
    """The system resolver's single answer."""
    return query("system", resp(*addrs, rcode=rcode), qtype=qtype)


def control(*addrs: str, qtype: str = "A", rcode: str = "NOERROR") -> DnsQuery:
    """The DoH control's answer."""
    return query("control", resp(*addrs, rcode=rcode), qtype=qtype)


def tcp(addr: str, ok: bool | None = None, error: str | None = None, port: int = 443) -> TcpConnect:
    """A TCP connect; giving an error makes it a failure."""
    ok = error is None if ok is None else ok
    return TcpConnect(addr, port, ok, 10.0, None if ok else (error or "timeout"))


def cert(
    issuer: str = "CN=Lab Root", subject: str = f"CN={DOMAIN}", sha: str | None = "aa"
) -> CertInfo:
    """A presented leaf certificate."""
    return CertInfo(subject=subject, issuer=issuer, sans=(DOMAIN,), sha256=sha)


def hs(
    addr: str,
    ok: bool | None = None,
    error: str | None = None,
    kind: str = "target",
    sni: str | None = None,
    residual: bool = False,
    crt: CertInfo | None = None,
) -> TlsHandshake:
    """A TLS handshake (target SNI = the domain, benign SNI = example.org); an error fails it."""
    ok = error is None if ok is None else ok
    sni = sni or (DOMAIN if kind == "target" else "example.org")
    return TlsHandshake(
        addr, 443, sni, kind, ok, 20.0, None if ok else (error or "reset"),  # type: ignore[arg-type]
        cert=crt, possibly_residual=residual,
    )


def fetch(
    addr: str,
    ok: bool = True,
    status: int = 200,
    url: str = f"https://{DOMAIN}/",
    error: str | None = None,
    tls_ok: bool | None = None,
    body: str = "<html><title>Cryptocurrency Prices Charts</title></html>",
    headers: dict[str, str] | None = None,
    names: tuple[str, ...] = ("date", "content-type", "x-site-id"),
    title: str = "Cryptocurrency Prices Charts",
    length: int = 5000,
    redirects: tuple[HttpHop, ...] = (),
    final_url: str | None = None,
) -> HttpFetch:
    """An HTTP fetch pinned to `addr`; https fetches carry their own target handshake."""
    https = url.startswith("https://")
    handshake = None
    if https:
        good = ok if tls_ok is None else tls_ok
        handshake = hs(addr, ok=good, error=None if good else (error or "reset"))
    return HttpFetch(
        url=url, address=addr, ok=ok, elapsed_ms=50.0, error=None if ok else (error or "reset"),
        status=status if ok else None, title=title if ok else None,
        body_length=length if ok else None, body_head=body if ok else None,
        headers=headers or {}, header_names=names if ok else (), redirects=redirects,
        final_url=final_url or (url if ok else None), tls=handshake,
    )


def hop(url: str, location: str, addr: str = REAL, status: int = 302) -> HttpHop:
    """A redirect hop."""
    return HttpHop(url=url, address=addr, status=status, location=location)


def ctrl_server(
    *, dns: tuple[DnsQuery, ...] = (), tcp_: tuple[TcpConnect, ...] = (),
    tls_: tuple[TlsHandshake, ...] = (), http: HttpFetch | None = None, ok: bool = True,
) -> ControlMeasurement:
    """What the control server saw."""
    return ControlMeasurement(
        "https://control.lab.test", ok, None if ok else "timeout", dns, tcp_, tls_, http
    )


def obs(
    *items: object, target: str = DOMAIN, control_server: ControlMeasurement | None = None
) -> Observations:
    """Observations from a flat list of queries, connects, handshakes and fetches, as a saved run
    holds them (`fresh`)."""
    return fresh(Observations(
        target=parse_target(target),
        dns=tuple(i for i in items if isinstance(i, DnsQuery)),
        tcp=tuple(i for i in items if isinstance(i, TcpConnect)),
        tls=tuple(i for i in items if isinstance(i, TlsHandshake)),
        http=tuple(i for i in items if isinstance(i, HttpFetch)),
        control=control_server,
    ))  # fmt: skip


def interned(o: Observations) -> Observations:
    """`o` with every string interned: the twin of `fresh`, as observations built in code hold
    them. A rule must judge both alike; one that tests identity (`is`) where it means equality
    judges one of them differently."""

    def walk(value: object) -> object:
        if isinstance(value, str):
            return sys.intern(value)
        if isinstance(value, list):
            return [walk(v) for v in value]
        if isinstance(value, dict):
            return {k: walk(v) for k, v in value.items()}
        return value

    back: Observations = from_json(Observations, walk(to_json(o)))  # type: ignore[arg-type]
    return back


def fresh(o: Observations) -> Observations:
    """`o` through a JSON round trip, as `report --rejudge` reads it: every string is a new
    object, never the interned literal of the code, so a rule that compares with `is` where it
    means `==` fails here as it would on a saved run."""
    back: Observations = from_json(Observations, json.loads(json.dumps(to_json(o))))
    assert back == o
    return back


def clean_https(addr: str = REAL) -> list[object]:
    """An unfiltered https site on `addr`: TCP, benign and target TLS, a verified fetch."""
    return [tcp(addr), hs(addr, kind="benign"), fetch(addr)]


def gfw_dns(*forged: str) -> DnsQuery:
    """GFW-style system query: forged answers race ahead of the real one."""
    forged = forged or (FORGED, FORGED2)
    rs = [resp(a, ms=2.0 + i) for i, a in enumerate(forged)]
    return query("system", *rs, resp(REAL, ms=180.0))
