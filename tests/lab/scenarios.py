"""The lab's censorship scenarios, as data.

Each `Scenario` is one site (its own address in the world namespace) plus what the censor does
to it and what reachcheck must conclude. `SCENARIOS` holds every censored scenario next to a
clean twin (same world setup, censor not targeting it) that must come out `accessible` with no
anomaly: the twins are how the lab proves it raises no false alarm.

Kinds covered (OONI webconnectivityqa kinds, ooni.md §3; censorship.md (b)): on-path DNS
injection (racing, NXDOMAIN, drop-the-real-answer), lying ISP resolver (NXDOMAIN, bogon,
blockpage IP, ghost names), SNI reset with and without residual tuple blocking (and a CDN
neighbour on the punished address), Host-header reset, IP blackhole/reset, TLS MITM, HTTP
blockpage, throttling, DNS+SNI together (the mainland China crypto-site case), site down
(NXDOMAIN, closed port), server-side certificate mistakes (must not be called blocked).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field, replace
from typing import Literal

# ----------------------------------------------------------------------------- fixed addresses
# Only 10.0.0.0/8 and 198.18.0.0/15: nothing here may ever leave the machine.
CLIENT_ADDR = "10.77.0.2"  # client end of the client<->censor veth
CENSOR_CLIENT_SIDE = "10.77.0.1"
CENSOR_WORLD_SIDE = "10.77.1.1"
WORLD_ADDR = "10.77.1.2"  # world end of the censor<->world veth
ISP_RESOLVER = "10.53.0.53"  # the client's "system" resolver, run by the censor (the ISP)
PUBLIC_RESOLVER = "198.18.0.53"  # a resolver "abroad" (a public resolver stand-in): --resolver
PUBLIC_RESOLVER2 = "198.18.0.54"  # a second honest resolver abroad (runs that ask two)
DOH_ADDR = "198.18.0.43"  # DoH control resolver, https://doh.test/dns-query
DOH_NAME = "doh.test"
INJECTION_PROBE = "198.18.0.99"  # a world address running no DNS service
BLOCKPAGE_ADDR = "10.10.34.34"  # Iran's national blockpage address (a known censor address)
MITM_ADDR = "198.18.3.1"  # the censor's TLS interceptor (cert from an untrusted "national" CA)
# A second interceptor that shows ONE certificate (its own name, untrusted CA) for every SNI.
MITM_ONE_ADDR = "198.18.3.3"
MITM_ONE_NAME = "filter-appliance.test"
# A filtering appliance lying DNS points to (an address no fingerprint lists): HTTPS with its
# own untrusted certificate for every SNI, the national blockpage on port 80.
BLOCKPAGE_SERVER = "198.18.3.4"
FORGED_POOL = "198.18.200."  # forged answers point here; nothing answers there (GFW-like)
BOGON_ANSWER = "10.66.0.7"  # private address a lying resolver hands out; not a known censor IP
SITE_NET = "198.18.1."  # site i gets SITE_NET + (10 + i)
BENIGN_SNI = "benign.test"
# The control server (`reachcheck control serve`, started by `Lab.start_control()`): HTTPS with
# a lab-CA certificate naming both CONTROL_NAME and the address, so the client can use the IP URL
# (no hosts file, no DNS for the control itself).
CONTROL_ADDR = "198.18.0.80"
CONTROL_NAME = "control.test"
CONTROL_PORT = 8443
# How far away "abroad" is: the public resolver answers after this delay, so an on-path
# injector (which answers at once) wins the race, as the GFW does against resolvers abroad.
PUBLIC_RESOLVER_DELAY_MS = 60

# Iranian national blockpage (matches fingerprint nat_ir_iframe_forward_ipv4).
IR_BLOCKPAGE = (
    '<html><head><meta http-equiv="Content-Type" content="text/html; charset=windows-1256">'
    "<title>M1-4</title></head><body>"
    '<iframe src="http://10.10.34.34?type=Invalid Site&policy=MainPolicy " '
    'style="width: 100%; height: 100%" scrolling="no" marginwidth="0" marginheight="0" '
    'frameborder="0" vspace="0" hspace="0"></iframe></body></html>'
)
# A filtering page no fingerprint knows (an ISP's or a vendor's own): only a comparison with the
# control server's fetch can tell it from the site. Longer than the genuine pages, other title.
UNKNOWN_BLOCKPAGE = (
    "<!doctype html><html><head><title>Access restricted</title></head><body>"
    "<h2>Access restricted</h2><p>This resource is not available on this network in "
    "accordance with the regulations of the communications authority. If you believe the "
    "restriction is an error, contact your service provider's customer support quoting the "
    "reference shown below.</p><p>Reference: RX-7731-4402-AE</p></body></html>"
)

# A notice page the filter serves on the genuine address with the site's own server software
# (the very header names the site sends): no fingerprint knows it, headers match, only the
# content (title, size) tells it from the site's page. Several times the genuine page's size.
NOTICE_PAGE = (
    "<!doctype html><html><head><title>Important service notice</title></head><body>"
    "<h1>Important service notice</h1><p>The page you asked for cannot be shown on this "
    "connection. Access to this address has been limited following an instruction received "
    "by your provider. For details about the instruction and how to request a review, please "
    "see the provider's notice board or call customer care with the case number below.</p>"
    "<p>Case number: NT-5520-1187-QX</p></body></html>"
)

# Myanmar national blockpage (matches fingerprint nat_mm_transportcomms_block).
MM_BLOCKPAGE = (
    "<html><head><title>Blocked</title></head><body><p>You have tried to access a web page "
    "which has been blocked as per directive received from the Ministry of Transport and "
    "Communications of Myanmar</p></body></html>"
)


# ----------------------------------------------------------------------------- censor actions
@dataclass(frozen=True)
class InjectDns:
    """On-path injector: a forged UDP answer for the name races the real one (to any resolver
    address, including the injection probe). `forged=()` forges NXDOMAIN. `drop_real` drops
    the query after forging, so only the injection probe can show the forgery. `poison_isp`:
    the ISP resolver's cache holds the forged answer too (its own upstream queries crossed the
    injector), as in mainland China."""

    forged: tuple[str, ...] = (FORGED_POOL + "1",)
    drop_real: bool = False
    poison_isp: bool = True


@dataclass(frozen=True)
class IspDns:
    """The client's own ISP resolver lies: `answer=None` is NXDOMAIN, else these A records."""

    answer: tuple[str, ...] | None = None


@dataclass(frozen=True)
class SniReset:
    """RST when the ClientHello carries the name. `residual_s` > 0: afterwards the
    (client, address, 443) tuple is punished for that long (`residual` = drop or reset)."""

    residual_s: int = 0
    residual: Literal["drop", "reset"] = "drop"


@dataclass(frozen=True)
class HostReset:
    """RST when a cleartext HTTP request carries `Host: name` (port 80)."""


@dataclass(frozen=True)
class IpBlock:
    """Every packet to the site's address dropped (blackhole) or answered with a TCP reset."""

    how: Literal["drop", "reset"] = "drop"


@dataclass(frozen=True)
class TlsMitm:
    """Port 443 of the site's address is DNATed to an interceptor whose certificate comes
    from a CA the client does not trust. `one_cert`: the interceptor shows one certificate
    (its own name) for every SNI, the benign one too, like many filtering appliances."""

    one_cert: bool = False


@dataclass(frozen=True)
class HttpBlockpage:
    """Port 80 of the site's address is DNATed to a transparent proxy serving a blockpage
    (chosen by the Host header). `status`: its status line. `framing`: "http11" sends
    Content-Length and `Connection: close` like the genuine servers; "http10" is a bare
    HTTP/1.0 answer (Content-Type only, body ends when the connection closes) as many
    injecting middleboxes send; "site" is the site's own server software (exactly its header
    names), so only the content differs."""

    body: str = MM_BLOCKPAGE
    status: str = "200 OK"
    framing: Literal["http11", "http10", "site"] = "http11"


@dataclass(frozen=True)
class Throttle:
    """Traffic from the site's address to the client is shaped to `kbit` (tc htb), like a
    policer on a TCP endpoint (OONI's DPIThrottleTrafficForTCPEndpoint)."""

    kbit: int = 200


Action = Throttle | InjectDns | IspDns | SniReset | HostReset | IpBlock | TlsMitm | HttpBlockpage


# ----------------------------------------------------------------------------- scenarios
@dataclass(frozen=True)
class Scenario:
    """One lab site: its world setup, the censor's actions, and the expected judgement.

    `verdicts`: the verdicts the design allows for this setup (usually exactly one).
    `anomalies`: the exact kinds: all must be present and no other may appear; `"tls.*"`
    means any kind of that stage (at least one).
    `exists`: the name is in the world's zone (False: NXDOMAIN at every honest resolver).
    `server`: "down" = nothing listens (the world's kernel refuses connections); "blackhole" =
    the world drops every packet to the address (the host is dead, for the control server too).
    `cert`: the site's own certificate ("expired" / "wrong_host" are the site's mistakes).
    `shares_address_with`: put this site on another scenario's address (a CDN neighbour).
    `twin_of`: set on the generated clean twins.
    """

    name: str
    domain: str
    verdicts: frozenset[str]
    anomalies: frozenset[str] = frozenset()
    censor: tuple[Action, ...] = ()
    scheme: Literal["http", "https"] = "https"
    exists: bool = True
    server: Literal["up", "down", "blackhole"] = "up"
    cert: Literal["valid", "expired", "wrong_host"] = "valid"
    shares_address_with: str | None = None
    page_bytes: int = 0  # pad the page to about this size (throttling needs a real transfer)
    twin_of: str | None = None
    # For dns_blocked: whether the site works through the control's addresses (None: not
    # asserted). False is what tells a user that encrypted DNS alone will not get them through.
    reachable_with_trusted_dns: bool | None = None
    note: str = ""
    # A known reachcheck bug or missing feature this scenario exposes: the test is a strict
    # xfail (it turns red as soon as reachcheck is fixed, so the marker gets removed).
    known_gap: str = ""
    # With a control server (`--control`, test_control.py): the verdicts allowed (None: same as
    # `verdicts`), the exact anomalies (None: `anomalies`), whether the confidence must be
    # "confirmed", and a known gap of that run only.
    control_verdicts: frozenset[str] | None = None
    control_anomalies: frozenset[str] = frozenset()
    control_confirmed: bool = False
    control_gap: str = ""
    # With a control server that fetched the page ONCE (no `http_repeat`: the page's own
    # variance unknown), the verdicts allowed instead of `control_verdicts` (None: the same).
    control_verdicts_one_fetch: frozenset[str] | None = None
    # What the generated clean twin must come out as (None: accessible, or site_down for a
    # name that does not exist); for a twin that keeps a site's own mistake (a bad cert).
    twin_verdicts: frozenset[str] | None = None
    # Anomalies allowed but not required (the run's page cluster names the blockpage on
    # whichever member finishes after the others), in the runs with and without a control.
    optional_anomalies: frozenset[str] = frozenset()
    address: str = field(default="", compare=False)

    @property
    def target(self) -> str:
        """What reachcheck is given: a bare domain (https) or an http:// URL."""
        return self.domain if self.scheme == "https" else f"http://{self.domain}/"

    @property
    def title(self) -> str:
        """The <title> the genuine site serves (distinct per site)."""
        return f"Welcome to {self.domain}"


def _s(
    name: str,
    domain: str,
    verdicts: str | tuple[str, ...],
    anomalies: tuple[str, ...] = (),
    *censor: Action,
    **kw: object,
) -> Scenario:
    vs = frozenset((verdicts,) if isinstance(verdicts, str) else verdicts)
    for key in ("control_verdicts", "control_verdicts_one_fetch", "twin_verdicts"):
        cv = kw.pop(key, None)
        if cv is not None:
            kw[key] = frozenset((cv,) if isinstance(cv, str) else cv)  # type: ignore
    kw["control_anomalies"] = frozenset(kw.get("control_anomalies", ()))  # type: ignore
    kw["optional_anomalies"] = frozenset(kw.get("optional_anomalies", ()))  # type: ignore
    return Scenario(
        name, domain, vs, frozenset(anomalies), tuple(censor), **kw  # type: ignore[arg-type]
    )


NOT_BLOCKED = ("accessible", "site_down", "inconclusive")
# The three unknown-blockpage sites get the same page from the proxy: whichever finishes after
# the other two is judged a blockpage confirmed by the run's page cluster (test_page_cluster.py).
CLUSTERED = ("accessible", "http_blocked")

_CENSORED: tuple[Scenario, ...] = (
    # The ISP resolver's cache holds the forged answer too: its single answer is inconsistent.
    _s("dns-injection", "coingecko.test", "dns_blocked", ("dns.injection", "dns.inconsistent"),
       InjectDns(),
       reachable_with_trusted_dns=True,
       note="forged A races the real answer from the resolver abroad; probe address answered"),
    _s("dns-injection-nxdomain", "bitfinex.test", "dns_blocked",
       ("dns.injection", "dns.nxdomain"), InjectDns(forged=()),
       note="forged NXDOMAIN races the real answer (the poisoned ISP resolver repeats it)"),
    # The resolver abroad only ever gets the forged answer: inconsistent, not raced.
    _s("dns-injection-probe-only", "binance.test", "dns_blocked",
       ("dns.injection", "dns.inconsistent"),
       InjectDns(drop_real=True, poison_isp=False),
       note="forged answer, real query dropped: no race; only the injection probe shows it"),
    _s("isp-nxdomain", "nxblocked.test", "dns_blocked", ("dns.nxdomain",), IspDns(None),
       reachable_with_trusted_dns=True,
       note="ISP resolver says NXDOMAIN; resolver abroad and DoH resolve it"),
    _s("isp-bogon", "bogonblocked.test", "dns_blocked", ("dns.bogon",),
       IspDns((BOGON_ANSWER,)), note="ISP resolver answers a private address (timeouts)"),
    _s("isp-blockpage-ip", "blockpageip.test", "dns_blocked", ("dns.*",),
       IspDns((BLOCKPAGE_ADDR,)), note="ISP resolver answers Iran's blockpage address"),
    _s("sni-reset", "tradingview.test", "tls_blocked", ("tls.sni_filtering",), SniReset(),
       note="RST on the target SNI; benign SNI to the same address passes"),
    _s("sni-reset-residual", "okx.test", "tls_blocked", ("tls.sni_filtering",),
       SniReset(residual_s=30, residual="drop"),
       note="RST on SNI, then the (client, address, 443) tuple is dropped for 30 s"),
    _s("cdn-neighbour", "cdnpeer.test", NOT_BLOCKED, (),
       shares_address_with="sni-reset-residual",
       note="unfiltered name on the residual-punished address: must not be blamed"),
    _s("host-reset", "huobi.test", "http_blocked", ("http.reset",), HostReset(),
       scheme="http", control_confirmed=True,
       note="RST on 'Host: huobi.test' in a cleartext request"),
    # A dead host looks exactly like a blackholed address from the client: without a control
    # server the honest answer is inconclusive (with the reason); the control server, which
    # connects, makes it tcp_blocked (confirmed).
    _s("ip-blackhole", "kraken.test", "inconclusive", ("tcp.timeout",), IpBlock("drop"),
       control_verdicts="tcp_blocked", control_anomalies=("tcp.timeout",),
       control_confirmed=True,
       note="every packet to the site's address dropped (the control server connects)"),
    # A RST to every SYN is what a closed port looks like too: without a control server the
    # honest answer is inconclusive, never site_down.
    _s("ip-reset", "bybit.test", "inconclusive", ("tcp.*",), IpBlock("reset"),
       control_verdicts="tcp_blocked", control_anomalies=("tcp.*",), control_confirmed=True,
       note="every SYN to the address answered with a RST"),
    _s("tls-mitm", "kucoin.test", "tls_blocked", ("tls.cert_invalid",), TlsMitm(),
       note="port 443 intercepted with a certificate from an untrusted CA"),
    _s("http-blockpage", "gateio.test", "http_blocked", ("http.blockpage",), HttpBlockpage(),
       scheme="http", control_anomalies=("http.blockpage",), control_confirmed=True,
       note="transparent proxy on the real address serves a national blockpage"),
    # Unknown blockpages: without a control server nothing tells them from the site's own page
    # (accessible is the honest answer); the control server's fetch of the genuine page shows
    # the difference (OONI's rule, design §4: http.status_diff / http.body_diff).
    _s("unknown-blockpage", "poloniex.test", CLUSTERED, (),
       HttpBlockpage(UNKNOWN_BLOCKPAGE, framing="http10"), scheme="http",
       optional_anomalies=("http.blockpage",),
       control_verdicts="http_blocked", control_anomalies=("http.body_diff",),
       control_verdicts_one_fetch="inconclusive",
       note="proxy serves a 200 page no fingerprint knows (bare HTTP/1.0 answer)"),
    _s("unknown-blockpage-403", "bitstamp.test", CLUSTERED, (),
       HttpBlockpage(UNKNOWN_BLOCKPAGE, status="403 Forbidden"), scheme="http",
       optional_anomalies=("http.blockpage",),
       control_verdicts="http_blocked", control_anomalies=("http.status_diff",),
       note="proxy answers 403 with a page no fingerprint knows"),
    _s("unknown-blockpage-http11", "bitmex.test", CLUSTERED, (),
       HttpBlockpage(UNKNOWN_BLOCKPAGE), scheme="http",
       optional_anomalies=("http.blockpage",),
       control_verdicts="http_blocked", control_anomalies=("http.body_diff",),
       control_verdicts_one_fetch="inconclusive",
       note="proxy serves a 200 unknown page with its own headers (Content-Length, Connection)"),
    _s("dns-and-sni", "coinmarketcap.test", "dns_blocked",
       ("dns.injection", "dns.inconsistent", "tls.*"),
       InjectDns(forged=(FORGED_POOL + "2",)), SniReset(), reachable_with_trusted_dns=False,
       note="China crypto-site case: forged DNS and an SNI reset on the genuine address"),
    # 160 kB at 200 kbit/s takes ~6.5 s: far beyond the 2 s stage timeout of the lab runs, so
    # the fetch may also end in http.timeout ("http.*": any HTTP kind besides http.throttled).
    _s("throttled", "bitget.test", ("http_blocked", "accessible"), ("http.throttled", "http.*"),
       Throttle(200), page_bytes=160_000, note="responses from the address shaped to 200 kbit/s"),
    _s("dns-blockpage-server", "bitpanda.test", "dns_blocked", ("dns.*", "http.blockpage"),
       IspDns((BLOCKPAGE_SERVER,)),
       note="ISP resolver points the https site at a blockpage server: its certificate fails, "
            "its http:// page (Host = the site) is a known blockpage"),
    _s("ghost-dns", "ghostsite.test", "dns_blocked", ("dns.*",), IspDns((BLOCKPAGE_ADDR,)),
       exists=False, note="name does not exist upstream; the ISP resolver still answers"),
    # Design 5.1, "the control fails the same way" only with the same kind of failure: the
    # site's own certificate names another host, so the control server's handshake completes
    # with a certificate error; here the SNI is reset. Not site_down (issue 16's lab case).
    _s("sni-reset-bad-cert", "badcertsni.test", "tls_blocked", ("tls.sni_filtering",),
       SniReset(), cert="wrong_host", control_anomalies=("tls.sni_filtering",),
       twin_verdicts=("site_down",),
       note="RST on the SNI of a site whose own certificate names another host"),
    # Design 5.1: one certificate for every SNI looks like the site's own bad certificate from
    # one vantage point: inconclusive, never site_down; the control server settles it.
    _s("tls-mitm-one-cert", "kucoinone.test", "inconclusive", (), TlsMitm(one_cert=True),
       control_verdicts="tls_blocked", control_anomalies=("tls.cert_invalid",),
       control_confirmed=True,
       note="interceptor showing one untrusted certificate for every SNI (benign too)"),
    # A notice page on the genuine address from the site's own server software (same header
    # names): headers match, so only a content comparison with the control's page shows it.
    _s("notice-same-server", "noticepage.test", "accessible", (),
       HttpBlockpage(NOTICE_PAGE, framing="site"), scheme="http",
       control_verdicts="http_blocked", control_anomalies=("http.body_diff",),
       control_verdicts_one_fetch="inconclusive",
       note="notice page on the genuine address with the site's exact header names"),
)

_UNCENSORED: tuple[Scenario, ...] = (
    _s("site-nxdomain", "nonexistent.test", "site_down", (), exists=False,
       note="NXDOMAIN at every resolver (DoH included)"),
    # Nothing listens: the same RST a censor's IP reset gives, so site_down or inconclusive.
    # The refused connect is reported (never decisive without the control server's word).
    _s("server-down", "serverdown.test", ("site_down", "inconclusive"), ("tcp.refused",),
       server="down",
       control_verdicts="site_down", control_confirmed=True,
       note="resolves everywhere, port 443 closed"),
    # A dead host looks exactly like a censor's IP blackhole from the client: without a control
    # server it must not be called blocked; the control server settles it as site_down.
    _s("server-blackholed", "deadhost.test", ("inconclusive", "site_down"), ("tcp.timeout",),
       server="blackhole", control_verdicts="site_down", control_confirmed=True,
       note="resolves everywhere, every packet to the address dropped in the world too"),
    _s("cert-expired", "expiredcert.test", NOT_BLOCKED, (), cert="expired",
       note="the site's own certificate expired (trusted CA): a site mistake, not censorship"),
    _s("cert-wrong-host", "wronghost.test", NOT_BLOCKED, (), cert="wrong_host",
       note="the site serves a certificate for another name (trusted CA)"),
)


def _twin(s: Scenario) -> Scenario:
    """Same world setup, the censor leaves it alone: must be accessible (site_down for a name
    that does not exist upstream) with no anomaly."""
    first, _, rest = s.domain.partition(".")
    # "<label>-twin.<tld>": a censor string for the original name is never a substring of it.
    return replace(
        s, name=s.name + "~twin", domain=f"{first}-twin.{rest}",
        verdicts=s.twin_verdicts or frozenset({"accessible" if s.exists else "site_down"}),
        anomalies=frozenset(), censor=(), twin_of=s.name, shares_address_with=None,
        reachable_with_trusted_dns=None, known_gap="", control_verdicts=None,
        control_anomalies=frozenset(), control_confirmed=False, control_gap="",
        control_verdicts_one_fetch=None,
        note=f"clean twin of {s.name}",
    )


def _build() -> tuple[Scenario, ...]:
    out: list[Scenario] = []
    for s in _CENSORED:
        out.append(s)
        if s.censor:
            out.append(_twin(s))
    out.extend(_UNCENSORED)
    by_name: dict[str, Scenario] = {}
    placed: list[Scenario] = []
    for i, s in enumerate(out):
        addr = by_name[s.shares_address_with].address if s.shares_address_with else ""
        s = replace(s, address=addr or f"{SITE_NET}{10 + i}")
        by_name[s.name] = s
        placed.append(s)
    _check(placed)
    return tuple(placed)


def _check(scenarios: list[Scenario]) -> None:
    """Guard the data: unique names, lab-only addresses, no censor string hitting another site."""
    names = [s.name for s in scenarios]
    assert len(set(names)) == len(names), "duplicate scenario names"
    lab = (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("198.18.0.0/15"))
    domains = [s.domain for s in scenarios] + [BENIGN_SNI, DOH_NAME]
    for s in scenarios:
        assert s.domain.endswith(".test"), s
        assert any(ipaddress.ip_address(s.address) in n for n in lab), s
        if any(isinstance(a, (SniReset, HostReset, InjectDns)) for a in s.censor):
            # iptables string matching is a substring match: it would hit these too.
            hit = [d for d in domains if d != s.domain and s.domain in d]
            assert not hit, f"{s.name}: censor string {s.domain!r} also matches {hit}"


SCENARIOS: tuple[Scenario, ...] = _build()
BY_NAME: dict[str, Scenario] = {s.name: s for s in SCENARIOS}
