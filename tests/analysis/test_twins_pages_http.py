"""Twins for the page and HTTP rules and the verdict's hard cases (http.py, pages.py,
page_cluster.py, cleartext_check.py, strength.py, verdict.py, hardcases.py, residual_memory.py,
context.py): pairs of observations one fact apart, with the exact outcome on both sides.

What they pin: every fetch of a site is looked at (a skipped one never hides the ones after it);
the port of a URL follows its scheme; a redirect is the site's own only when it ends on the
control's page with the control's status; the control's second status decides whether a status
difference is evidence; the body-length ratio is symmetric; a shared body hash wins over titles
and lengths; title words match only when equal; the control's variance from its two fetches;
cluster keys (minimum body size, title length, titles holding a colon) and the cluster's detail;
a control server's handshake vouches for an address only for the site's own SNI; the failure
kinds of the outside view; the issuer in the ambiguous-certificate reason; the rewriting
resolver's addresses; a verified handshake for an https target; the wait after a residual block.

The mutation run (tools/mutation/run.sh) found each of them unpinned: a changed comparison,
a `continue` turned into `break`, or a changed constant there left `tests/analysis` green.
"""

from __future__ import annotations

import dataclasses

import pytest

from reachcheck.analysis import judge
from reachcheck.model import HttpFetch, Observations, OwnTrigger, PageCluster
from tests.analysis.builders import (
    CDN_OTHER,
    DOMAIN,
    REAL,
    REAL2,
    cert,
    control,
    ctrl_server,
    fetch,
    hop,
    hs,
    interned,
    obs,
    query,
    system,
    tcp,
)  # fmt: skip
from tests.analysis.twins import HTTP_URL, kinds_of, one_of, outcome

SHA_A = "a1" * 32  # body hashes as the probes record them (64 hex digits)
SHA_B = "b2" * 32
SHA_C = "c3" * 32
OFFSITE = "http://notice.example.net/"  # another registrable domain than the site's


def _page(addr: str = REAL, body_sha256: str | None = None, **kw: object) -> HttpFetch:
    """A cleartext page of the http:// target fetched on `addr` (with its body hash)."""
    page = fetch(addr, url=HTTP_URL, **kw)  # type: ignore[arg-type]
    return dataclasses.replace(page, body_sha256=body_sha256)


def _with(f: HttpFetch, **kw: object) -> HttpFetch:
    return dataclasses.replace(f, **kw)  # type: ignore[arg-type]


def _server(first: HttpFetch, again: HttpFetch | None = None) -> object:
    """A control server that fetched the page once (or twice, `again`)."""
    server = ctrl_server(tcp_=(tcp(REAL, port=80),), http=first)
    return dataclasses.replace(server, http_repeat=again)


def _clear(*fetches: HttpFetch, server: object = None, addrs: tuple[str, ...] = (REAL,)
           ) -> Observations:
    """The http:// target on `addrs` (all genuine, all connected on port 80)."""
    return obs(system(*addrs), control(*addrs), *(tcp(a, port=80) for a in addrs), *fetches,
               target=HTTP_URL, control_server=server)  # type: ignore[arg-type]


# ---- http.request_failures


def test_a_broken_redirect_does_not_hide_a_reset_after_it() -> None:
    # A redirect that arrived whole with a broken Location is the site's own; the reset on the
    # next address is still a request failure.
    broken = _with(_page(REAL, ok=False, error="http_protocol"), status=302)
    reset = _page(REAL2, ok=False, error="reset")
    assert kinds_of(_clear(broken, addrs=(REAL, REAL2))) == []
    assert kinds_of(_clear(broken, reset, addrs=(REAL, REAL2))) == ["http.reset"]


@pytest.mark.parametrize(("port", "kinds"), [(443, ["http.reset"]), (80, [])])
def test_the_port_of_a_fetch_follows_its_scheme_in_any_case(port: int, kinds: list[str]) -> None:
    # A saved fetch whose URL spells the scheme in capitals (URL schemes are case-insensitive)
    # and records no handshake: it went to port 443, so only a connect there shows the request
    # got as far as the server.
    failed = fetch(REAL, ok=False, url=f"HTTPS://{DOMAIN}/", error="reset")
    assert failed.tls is None
    o = obs(system(REAL), control(REAL), tcp(REAL, port=port), failed)
    assert kinds_of(o) == kinds


# ---- http.redirect_offsite


def test_a_redirect_ends_on_the_controls_page_only_with_the_controls_status() -> None:
    ctrl = _page(status=404)  # the control got the page under another status (no 2xx: no diff)
    moved = _page(status=404, redirects=(hop(HTTP_URL, OFFSITE),))
    assert kinds_of(_clear(moved, server=_server(ctrl))) == []  # the site sends everyone there
    twin = _with(moved, status=200)  # the same page, another status: not the control's own
    assert kinds_of(_clear(twin, server=_server(ctrl))) == ["http.redirect_offsite"]


def test_a_fetch_ending_on_the_controls_page_does_not_hide_the_next_one() -> None:
    ctrl = _page()
    own = _page(REAL, redirects=(hop(HTTP_URL, OFFSITE),))  # ends on the control's page
    notice = _page(REAL2, title="Restricted content notice", length=900,
                   redirects=(hop(HTTP_URL, OFFSITE, addr=REAL2),))
    server = _server(ctrl)
    assert kinds_of(_clear(own, server=server, addrs=(REAL, REAL2))) == []
    assert kinds_of(_clear(own, notice, server=server, addrs=(REAL, REAL2))) == [
        "http.body_diff", "http.redirect_offsite"]


# ---- http.diff: status


@pytest.mark.parametrize(("again", "kinds"), [
    (200, ["http.status_diff"]),  # the control got 200 twice: the 403 here is evidence
    (201, []),  # its status changes from fetch to fetch (a higher one the second time)
    (199, []),  # ... or a lower one
])
def test_the_controls_second_status_decides_a_status_diff(again: int, kinds: list[str]) -> None:
    blocked = _page(status=403, title="Forbidden by policy", length=700)
    server = _server(_page(status=200), _page(status=again))
    assert kinds_of(_clear(blocked, server=server)) == kinds


def test_a_cdn_challenge_does_not_hide_a_status_diff_after_it() -> None:
    challenge = _page(REAL, status=403, title="Just a moment...", length=700)
    blocked = _page(REAL2, status=403, title="Forbidden by policy", length=700)
    server = _server(_page())
    assert kinds_of(_clear(challenge, server=server, addrs=(REAL, REAL2))) == []
    o = _clear(challenge, blocked, server=server, addrs=(REAL, REAL2))
    assert kinds_of(o) == ["http.status_diff"]
    assert one_of(o, "http.status_diff").addresses == (REAL2,)


# ---- pages.differs: what "the same page" is


@pytest.mark.parametrize(("mine", "kinds"), [
    (4500, []),  # within the ratio, shorter than the control's
    (5500, []),  # within the ratio, longer: the ratio is symmetric
    (7500, ["http.body_diff"]),  # beyond it
    (3000, ["http.body_diff"]),
])
def test_without_titles_the_length_ratio_decides_both_ways(mine: int, kinds: list[str]) -> None:
    ctrl = _page(title="", length=5000)
    assert kinds_of(_clear(_page(title="", length=mine), server=_server(ctrl))) == kinds


@pytest.mark.parametrize("make", [lambda o: o, interned])
def test_the_same_body_hash_is_the_same_page_whatever_the_other_fields(make: object) -> None:
    # A saved or imported record whose title and length disagree with the control's while the
    # body hash is the same: the hash wins (read from a file, the two hashes are two objects).
    ctrl = _page(title="Cryptocurrency Prices Charts", length=5000, body_sha256=SHA_A)
    mine = _page(title="Another heading entirely", length=900, body_sha256=SHA_A)
    o = make(_clear(mine, server=_server(ctrl)))  # type: ignore[operator]
    assert kinds_of(o) == []
    twin = make(_clear(_with(mine, body_sha256=SHA_B), server=_server(ctrl)))  # type: ignore[operator]
    assert kinds_of(twin) == ["http.body_diff"]


@pytest.mark.parametrize(("title", "kinds"), [
    ("Cryptocurrency Prices Charts", []),  # the same long title words: the same page
    ("Cryptocurrency", ["http.body_diff"]),  # a subset of them is another page
    ("Cryptocurrency Prices Charts Archive", ["http.body_diff"]),  # a superset too
])
def test_title_words_match_only_when_equal(title: str, kinds: list[str]) -> None:
    ctrl = _page(length=5000)
    assert kinds_of(_clear(_page(title=title, length=900), server=_server(ctrl))) == kinds


# ---- pages.variance: the control's two fetches


NOTICE = dict(title="Restricted content notice", length=900, body_sha256=SHA_C)


@pytest.mark.parametrize(("first", "again", "expected"), [
    # The same status and body hash twice: stable, so a different page is evidence.
    (dict(status=200), dict(status=200), ("http_blocked", "likely", ["http.body_diff"])),
    # The status changes (lower the second time, or higher): the page varies, no evidence.
    (dict(status=503), dict(status=200), ("accessible", "confirmed", [])),
    (dict(status=200), dict(status=503), ("accessible", "confirmed", [])),
])
def test_a_control_status_change_either_way_is_variance(
    first: dict[str, object], again: dict[str, object], expected: tuple[object, ...]
) -> None:
    # Both control fetches got the same body (hash); the probe's page matches neither.
    ctrl1 = _page(body_sha256=SHA_A, **first)  # type: ignore[arg-type]
    ctrl2 = _page(body_sha256=SHA_A, **again)  # type: ignore[arg-type]
    mine = _page(status=ctrl1.status, **NOTICE)  # type: ignore[arg-type]
    assert outcome(_clear(mine, server=_server(ctrl1, ctrl2))) == expected


@pytest.mark.parametrize(("hashes", "expected"), [
    ((SHA_A, SHA_A), ("http_blocked", "likely", ["http.body_diff"])),  # one page: stable
    # Two bodies and two titles: a dynamic page (either order of the hashes), no evidence.
    ((SHA_A, SHA_B), ("accessible", "confirmed", [])),
    ((SHA_B, SHA_A), ("accessible", "confirmed", [])),
])
def test_the_same_body_hash_twice_is_stable_and_only_that(
    hashes: tuple[str, str], expected: tuple[object, ...]
) -> None:
    ctrl1 = _page(title="Cheap flights hotels deals", body_sha256=hashes[0])
    ctrl2 = _page(title="Buy this domain today", body_sha256=hashes[1])
    mine = _page(**NOTICE)  # type: ignore[arg-type]
    assert outcome(_clear(mine, server=_server(ctrl1, ctrl2))) == expected


# ---- page_cluster: keys and the detail


OTHERS = ("alpha.test", "beta.test", "gamma.test")


def _clustered(page: HttpFetch, key: str) -> Observations:
    """The http:// target serving `page`, with a saved cluster `key` of three unrelated sites."""
    o = _clear(page)
    return dataclasses.replace(o, page_clusters=(PageCluster(key, OTHERS),))


@pytest.mark.parametrize(("length", "kinds"), [(63, []), (64, ["http.blockpage"]),
                                               (65, ["http.blockpage"])])
def test_a_body_hash_is_a_cluster_key_from_min_body_on(length: int, kinds: list[str]) -> None:
    page = _page(title="", length=length, body_sha256=SHA_A)
    assert kinds_of(_clustered(page, f"sha256:{SHA_A}")) == kinds


@pytest.mark.parametrize(("title", "kinds"), [("Off", []), ("Stop", ["http.same_page"])])
def test_a_title_of_four_characters_is_a_cluster_key(title: str, kinds: list[str]) -> None:
    page = _page(title=title, length=30)  # no hash key: too short
    assert kinds_of(_clustered(page, f"title:{title.lower()}")) == kinds


def test_the_cluster_detail_names_the_body_hash_prefix() -> None:
    page = _page(title="", length=500, body_sha256=SHA_A)
    hit = one_of(_clustered(page, f"sha256:{SHA_A}"), "http.blockpage")
    assert hit.detail == (
        f"the same page (body sha256 {SHA_A[:16]}) was served for 3 unrelated site(s) earlier "
        "in this run (alpha.test, beta.test, gamma.test): a blockpage confirmed by the cluster")
    assert hit.confirmed


def test_the_cluster_detail_keeps_a_title_holding_a_colon_whole() -> None:
    page = _page(title="Notice: access restricted", length=30)
    hit = one_of(_clustered(page, "title:notice: access restricted"), "http.same_page")
    assert hit.detail == (
        "the same page (title 'notice: access restricted') was served for 3 unrelated site(s) "
        "earlier in this run (alpha.test, beta.test, gamma.test) (a shared title alone: not "
        "decisive)")


# ---- cleartext_check


SERVER = "45.33.20.80"  # a filtering server the DNS points to
OTHER_SERVER = "45.33.20.81"
MM_PAGE = (
    "<html><head><title>Blocked</title></head><body><p>You have tried to access a web page "
    "which has been blocked as per directive received from the Ministry of Transport and "
    "Communications of Myanmar</p></body></html>"
)


def _plain(address: str, body: str) -> HttpFetch:
    return HttpFetch(url=f"http://{DOMAIN}/", address=address, ok=True, elapsed_ms=5.0,
                     status=200, title="x", body_length=len(body), body_head=body)


def test_an_unknown_cleartext_page_does_not_hide_a_blockpage_after_it() -> None:
    own = cert(issuer="CN=Filter Appliance", subject="CN=filter", sha="bb")
    https = [tcp(SERVER), hs(SERVER, kind="benign", crt=own),
             hs(SERVER, error="cert_unknown_ca", crt=own)]
    o = obs(system(SERVER, OTHER_SERVER), query("control", error="timeout"), *https)
    plain = _plain(OTHER_SERVER, "<html><head><title>Moved</title></head>Use HTTPS.</html>")
    only = judge(dataclasses.replace(o, cleartext_fetches=(plain,)))
    assert only.verdict == "inconclusive"
    both = dataclasses.replace(o, cleartext_fetches=(plain, _plain(SERVER, MM_PAGE)))
    assert outcome(both) == ("http_blocked", "confirmed", ["http.blockpage"])
    assert one_of(both, "http.blockpage").addresses == (SERVER,)


# ---- context: what a control server's handshake vouches for


@pytest.mark.parametrize("make", [lambda o: o, interned])
@pytest.mark.parametrize(("sni", "expected"), [
    (DOMAIN, ("tls_blocked", "confirmed", ["tls.reset"])),  # verified there: genuine
    ("other.example", ("dns_blocked", "likely", ["dns.inconsistent"])),  # another name's
])
def test_a_control_handshake_vouches_only_for_the_sites_own_sni(
    sni: str, expected: tuple[object, ...], make: object
) -> None:
    o = obs(system(CDN_OTHER), control(REAL), tcp(CDN_OTHER), hs(CDN_OTHER, error="reset"),
            control_server=ctrl_server(tcp_=(tcp(CDN_OTHER),), tls_=(hs(CDN_OTHER, sni=sni),)))
    assert outcome(make(o)) == expected  # type: ignore[operator]


# ---- strength: the outside view of a TCP failure


@pytest.mark.parametrize(("theirs", "expected"), [
    ("timeout", ("site_down", "confirmed", ["tcp.timeout"])),  # the same failure outside
    ("refused", ("inconclusive", "none", ["tcp.timeout"])),  # a different one: not the same
])
def test_a_tcp_failure_is_down_only_when_the_control_fails_alike(
    theirs: str, expected: tuple[object, ...]
) -> None:
    o = obs(system(REAL), control(REAL), tcp(REAL, error="timeout"),
            control_server=ctrl_server(tcp_=(tcp(REAL, error=theirs),)))
    assert outcome(o) == expected


# ---- hardcases: reasons


def test_the_ambiguous_certificate_reason_names_its_issuer() -> None:
    one = cert(issuer="CN=Filter Appliance", subject="CN=filter.local", sha="f1")
    o = obs(system(REAL), control(REAL), tcp(REAL), hs(REAL, kind="benign", crt=one),
            hs(REAL, error="cert_unknown_ca", crt=one))
    result = judge(o)
    assert (result.verdict, result.confidence) == ("inconclusive", "none")
    assert result.reason == (
        f"the certificate on {REAL} fails (cert_unknown_ca, issuer 'CN=Filter Appliance') and "
        "is shown for every name: the site's own, or an interceptor's; an outside view (--via "
        "or --control) would tell")
    assert result.summary == "Unclear: untrusted certificate (the site's own or an interceptor's)"


def test_the_rewriting_resolver_shows_its_first_three_addresses() -> None:
    ads = ("92.242.132.24", "92.242.132.25", "92.242.132.26", "92.242.132.27")
    result = judge(obs(system(*ads), control(rcode="NXDOMAIN")))
    assert (result.verdict, result.confidence) == ("site_down", "likely")
    assert result.reason == (
        "the control says the name does not exist; your resolver rewrites non-existent names "
        "(it answered 92.242.132.24, 92.242.132.25, 92.242.132.26)")


# ---- verdict: a verified handshake vouches for an https target only


@pytest.mark.parametrize(("target", "confidence"), [(DOMAIN, "confirmed"), (HTTP_URL, "likely")])
def test_a_verified_handshake_confirms_an_https_target_without_a_page(
    target: str, confidence: str
) -> None:
    result = judge(obs(system(REAL), control(REAL), tcp(REAL), hs(REAL), target=target))
    assert (result.verdict, result.confidence) == ("accessible", confidence)
    assert result.summary == "Verified TLS handshake; HTTP not checked"


# ---- residual_memory: when to run again


@pytest.mark.parametrize(("age", "wait"), [(170.0, 10), (179.4, 1), (200.0, 0)])
def test_the_wait_after_a_residual_block_never_goes_below_zero(age: float, wait: int) -> None:
    boxed = dataclasses.replace(tcp(REAL, error="timeout"), possibly_residual=True)
    trigger = OwnTrigger(REAL, 443, "2026-11-29T19:00:00Z", age, DOMAIN, "reset", True)
    o = dataclasses.replace(obs(system(REAL), control(REAL), boxed), own_triggers=(trigger,))
    result = judge(o)
    assert result.verdict == "inconclusive"
    assert result.reason.endswith(f"run again in about {wait} s")
    assert result.summary == (
        f"Not judged: penalty left by our own earlier probe; run again in ~{wait} s")
