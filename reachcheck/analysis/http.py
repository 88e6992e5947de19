"""HTTP anomalies: the request fails after the connection was made, a blockpage or an offsite
redirect is served in cleartext, or the page differs from the control server's.

A response that arrived over a verified TLS handshake came from the site itself (a censor cannot
forge it without a trusted CA): its CAPTCHA, 403 or geo-block page is the site's own choice, so
fingerprints, redirects and diffs are only judged on cleartext responses. Page differences are
judged by content and the control's own variance (`pages`), not by OONI's header-name rule.
"""

from __future__ import annotations

import urllib.parse

from reachcheck.analysis import fingerprints, pages
from reachcheck.analysis.context import Facts
from reachcheck.model import Anomaly, HttpFetch

ERROR_KINDS = {"reset": "http.reset", "timeout": "http.timeout", "eof": "http.eof"}
# Failures that belong to another stage, or are the site's own doing (a redirect loop).
NOT_HTTP = frozenset(
    {"refused", "unreachable", "too_many_redirects", "cert_hostname", "cert_unknown_ca",
     "cert_expired", "cert_invalid", "tls_protocol"}
)  # fmt: skip
# OONI's common header names: sharing only these says nothing about being the same site.
COMMON_HEADERS = frozenset(
    {"date", "content-type", "server", "cache-control", "vary", "set-cookie", "location",
     "expires", "x-powered-by", "content-encoding", "last-modified", "accept-ranges", "pragma",
     "x-frame-options", "etag", "x-content-type-options", "age", "via", "p3p",
     "x-xss-protection", "content-language", "cf-ray", "strict-transport-security", "link",
     "x-varnish",
     # Framing and hop-by-hop headers: nearly every HTTP/1.1 response has them, so sharing
     # them says nothing (a blockpage sent with Content-Length would otherwise "match").
     "content-length", "connection", "transfer-encoding", "keep-alive"}
)  # fmt: skip
# Public suffixes with two labels: enough for a "same site" test, not a full PSL.
_TWO_LEVEL = frozenset(
    {"co.uk", "org.uk", "ac.uk", "gov.uk", "me.uk", "com.cn", "net.cn", "org.cn", "gov.cn",
     "edu.cn", "com.au", "net.au", "org.au", "co.jp", "ne.jp", "or.jp", "co.kr", "or.kr",
     "com.br", "com.tr", "co.in", "co.id", "or.id", "go.id", "co.za", "com.hk", "com.tw",
     "com.sg", "com.mx", "co.nz", "com.ru", "com.ua", "co.il", "com.my", "com.vn", "com.pk",
     "com.ar", "co.th", "in.th", "com.sa", "com.eg", "com.ng", "co.ke", "com.ph"}
)  # fmt: skip


def registrable(host: str) -> str:
    """The registrable domain of `host`: last two labels, three under a known 2-level suffix."""
    host = host.strip(".").lower()
    labels = host.split(".")
    if ":" in host or labels[-1].isdigit():
        return host  # an IP literal is its own "site"
    n = 3 if ".".join(labels[-2:]) in _TWO_LEVEL else 2
    return ".".join(labels[-n:])


def _port(url: str) -> int:
    parts = urllib.parse.urlsplit(url)
    try:
        explicit = parts.port
    except ValueError:
        explicit = None
    return explicit or (443 if parts.scheme == "https" else 80)


def cleartext(f: HttpFetch) -> bool:
    """The final response was not protected by a verified TLS handshake."""
    final = f.final_url or f.url
    return final.startswith("http://") or f.tls is None or not f.tls.ok


# A redirect whose head arrived (status parsed) but could not be followed (OONI QA
# redirectWithBrokenLocation: the site's own broken Location header, for everyone).
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


def request_failures(facts: Facts, suspects: frozenset[str]) -> list[Anomaly]:
    """http.reset / http.timeout / http.eof / http.error: the request fails after TLS (https) or
    TCP (http) to that address succeeded, on a genuine address (or, with no control at all, an
    address no DNS rule flagged)."""
    out: list[Anomaly] = []
    seen: set[str] = set()
    tcp_ok = {(c.address, c.port) for c in facts.obs.tcp if c.ok}  # ports matter
    for f in facts.obs.http:
        if f.ok or f.error in NOT_HTTP or f.address in suspects:
            continue
        if f.error == "http_protocol" and f.status in REDIRECT_STATUSES:
            continue  # a redirect arrived whole but its Location is broken: the site's own
        if facts.control_available and f.address not in facts.genuine:
            continue
        https = f.url.startswith("https://")
        connected = f.tls.ok if f.tls is not None else (
            not https and (f.address, _port(f.url)) in tcp_ok
        )
        if not connected:
            continue  # the failure belongs to TCP or TLS, judged there
        kind = ERROR_KINDS.get(f.error or "", "http.error")
        if kind in seen:
            continue
        seen.add(kind)
        after = "TLS" if https else "TCP"
        detail = f"GET {f.url} via {f.address} failed ({f.error}) after {after} succeeded"
        out.append(Anomaly("http", kind, detail, (f.address,), error=f.error))
    return out


def blockpage(facts: Facts) -> list[Anomaly]:
    """http.blockpage: a cleartext response's body head or headers (or a redirect Location)
    match a known blockpage fingerprint; benign-scope ("injb") matches are not censorship."""
    out: list[Anomaly] = []
    for f in facts.obs.http:
        if not f.ok or not cleartext(f):
            continue
        headers = dict(f.headers)
        found = list(fingerprints.match_body(f.body_head)) + list(
            fingerprints.match_headers(headers)
        )
        for hop in f.redirects:
            if hop.location:
                found += fingerprints.match_headers({"location": hop.location})
        names = [
            fp.name + (f" ({fp.country})" if fp.country else "") for fp in found if not fp.benign
        ]
        if names:
            names = list(dict.fromkeys(names))
            detail = (
                f"response from {f.address} matches blockpage fingerprint(s): {', '.join(names)}"
            )
            out.append(Anomaly("http", "http.blockpage", detail, (f.address,), (), True))
    return out


def _host(url: str) -> str:
    return (urllib.parse.urlsplit(url).hostname or "").lower()


def redirect_offsite(facts: Facts) -> list[Anomaly]:
    """http.redirect_offsite: a cleartext hop redirects to another registrable domain that the
    control server's fetch does not reach too (www. and same-site redirects are normal), and
    the fetch does not end on the control's own page (the site's redirect, seen from outside)."""
    home = registrable(facts.domain)
    ctrl = facts.control_fetch
    ctrl_sites = set()
    if ctrl is not None:
        ctrl_sites = {registrable(_host(u)) for u in [ctrl.final_url or ""] if u}
        ctrl_sites |= {registrable(_host(h.location or "")) for h in ctrl.redirects if h.location}
    ctrl_m = facts.obs.control
    out: list[Anomaly] = []
    for f in facts.obs.http:
        if (ctrl is not None and ctrl_m is not None and ctrl.ok and f.ok
                and f.status == ctrl.status and not pages.differs_from_control(f, ctrl_m)):
            continue  # it ends on the control's own page: the site sends everyone there
        for hop in f.redirects:
            if not hop.url.startswith("http://") or not hop.location:
                continue
            target = _host(urllib.parse.urljoin(hop.url, hop.location))
            site = registrable(target) if target else home
            if site == home or site in ctrl_sites:
                continue
            detail = f"{hop.url} (via {hop.address}) redirects to another site: {hop.location}"
            out.append(Anomaly("http", "http.redirect_offsite", detail, (f.address,)))
            break
    return out[:1]


def _words(title: str | None) -> set[str]:
    return {w.lower() for w in (title or "").split() if len(w) >= 5}


def compare(
    probe: HttpFetch, ctrl: HttpFetch
) -> tuple[bool | None, bool | None, bool | None, bool | None]:
    """OONI's comparison: (status, body length, uncommon headers, long title words) matches;
    None where it cannot be decided."""
    if probe.status == ctrl.status:
        status: bool | None = True
    elif ctrl.status is None or not 200 <= ctrl.status < 300:
        status = None  # the control itself got an error page: no basis to compare
    else:
        status = False
    body: bool | None = None
    p_len, c_len = probe.body_length or 0, ctrl.body_length or 0
    if p_len > 0 and c_len > 0 and not probe.body_truncated and not ctrl.body_truncated:
        body = min(p_len / c_len, c_len / p_len) > 0.7
    headers: bool | None = None
    p_names, c_names = set(probe.header_names), set(ctrl.header_names)
    if p_names and c_names:
        headers = p_names == c_names or bool(
            (p_names - COMMON_HEADERS) & (c_names - COMMON_HEADERS)
        )
    title: bool | None = None
    if probe.title and not probe.body_truncated:
        title = _words(probe.title) == _words(ctrl.title)
    return status, body, headers, title


# Titles of the browser checks CDNs show to clients they distrust (Cloudflare's challenge and
# block pages, served with 403/503): the site's own CDN deciding, a known false-positive class
# of OONI's status rule (its QA scenario cloudflareCAPTCHA), not a censor's page.
CDN_CHALLENGE_TITLES = frozenset({"just a moment...", "attention required! | cloudflare"})


def diff(facts: Facts) -> list[Anomaly]:
    """http.status_diff / http.body_diff: a cleartext page differs from the control server's.
    Status: another code than the control's 2xx (not when the control's two fetches disagree
    on it). Body: by content, never by header names (`pages`): another page than every
    control fetch; not reported when the control's own fetches vary (dynamic, parked)."""
    ctrl_m = facts.obs.control
    ctrl = facts.control_fetch
    if ctrl_m is None or ctrl is None or not ctrl.ok:
        return []
    var = pages.variance(ctrl_m)
    repeat = ctrl_m.http_repeat
    for f in facts.obs.http:
        if not f.ok or not cleartext(f):
            continue
        status = compare(f, ctrl)[0]
        if status is False:
            if repeat is not None and repeat.ok and repeat.status != ctrl.status:
                continue  # the control's own status changes from fetch to fetch
            if (f.title or "").strip().lower() in CDN_CHALLENGE_TITLES:
                continue  # the site's CDN asks this client for a browser check: not a censor
            detail = f"status {f.status} from {f.address}; the control server got {ctrl.status}"
            return [Anomaly("http", "http.status_diff", detail, (f.address,))]
        if status and var != "varies" and pages.differs_from_control(f, ctrl_m):
            detail = (
                f"page from {f.address} differs from the control server's "
                f"({f.body_length} vs {ctrl.body_length} bytes, "
                f"title {f.title!r} vs {ctrl.title!r})"
            )
            if var == "unknown":
                detail += "; the control fetched it once, so the page's own variance is unknown"
            return [Anomaly("http", "http.body_diff", detail, (f.address,))]
    return []


# Throttling: a page that trickles in below this rate (~512 kbit/s) for at least this long is
# worth reporting; no working broadband or mobile link is that slow for a whole second unless
# something shapes the flow. Short or tiny transfers say nothing about the rate.
THROTTLE_RATE = 64 * 1024  # bytes per second
THROTTLE_MIN_MS = 1000.0
THROTTLE_MIN_BYTES = 16 * 1024
# With a control server: its fetch of the same page must be this many times faster before the
# slowness counts against the network rather than the server.
THROTTLE_RATIO = 10.0


def transfer_rate(f: HttpFetch) -> float | None:
    """Bytes per second of the body read, or None when the transfer was too short to tell."""
    if f.body_ms is None or f.body_length is None or f.body_ms <= 0:
        return None
    return f.body_length / (f.body_ms / 1000.0)


def _slow(f: HttpFetch) -> float | None:
    rate = transfer_rate(f)
    if (
        rate is None
        or (f.body_ms or 0) < THROTTLE_MIN_MS
        or (f.body_length or 0) < THROTTLE_MIN_BYTES
    ):
        return None
    return rate if rate < THROTTLE_RATE else None


def throttle_confirmed_by_control(facts: Facts) -> bool:
    """The control server fetched the page at least THROTTLE_RATIO times faster than we did."""
    ctrl = facts.control_fetch
    ctrl_rate = transfer_rate(ctrl) if ctrl is not None and ctrl.ok else None
    rates = [r for f in facts.obs.http if (r := _slow(f)) is not None]
    return bool(rates) and ctrl_rate is not None and ctrl_rate >= THROTTLE_RATIO * min(rates)


def throttled(facts: Facts) -> list[Anomaly]:
    """http.throttled: the page arrived far slower than a working link delivers it (design §4).
    Reported on its own; it decides the verdict only when a control server got the same page
    much faster (a slow server is slow from everywhere)."""
    for f in facts.obs.http:
        rate = _slow(f)
        if rate is None or (facts.control_available and f.address not in facts.genuine):
            continue
        detail = (
            f"page from {f.address} arrived at {rate / 1024:.0f} KiB/s "
            f"({f.body_length} bytes in {(f.body_ms or 0) / 1000:.1f} s)"
        )
        ctrl = facts.control_fetch
        ctrl_rate = transfer_rate(ctrl) if ctrl is not None and ctrl.ok else None
        if ctrl_rate is not None:
            detail += f"; the control server got {ctrl_rate / 1024:.0f} KiB/s"
        return [Anomaly("http", "http.throttled", detail, (f.address,))]
    return []


def analyze(facts: Facts, suspects: frozenset[str]) -> list[Anomaly]:
    """Every HTTP anomaly of the site."""
    return [
        *request_failures(facts, suspects),
        *throttled(facts),
        *blockpage(facts),
        *redirect_offsite(facts),
        *diff(facts),
    ]
