"""Twins for the smaller rule modules (cleartext_check.py, context.py, hardcases.py, http.py,
localproxy.py, pages.py, residual_memory.py, strength.py, verdict.py): pairs of observations one
fact apart, with the exact outcome on both sides. The mutation run (tools/mutation/run.sh) found
each of them unpinned.

Some observations here are ones our own probes never produce (an accepted control response
that is a malformed datagram, a failed fetch that still carries a redirect's status, a fetch
URL of another scheme, a control resolver answering SERVFAIL for A and NOERROR for AAAA):
saved runs are data, and the analysis must judge them by its rules all the same."""

from __future__ import annotations

import dataclasses

from reachcheck.analysis import judge
from reachcheck.model import DnsResponse, HttpFetch, Observations, OwnTrigger
from tests.analysis.builders import (
    CDN_OTHER,
    DOMAIN,
    REAL,
    REAL2,
    control,
    ctrl_server,
    fetch,
    hop,
    hs,
    obs,
    query,
    resp,
    system,
    tcp,
)  # fmt: skip
from tests.analysis.twins import HTTP_URL, kinds_of, one_of, outcome

SERVER = "45.33.20.80"  # a blockpage server the DNS points to (public-looking, never contacted)
RT_WARNING = "http://warning.rt.ru/?id=17"  # Rostelcom's blockpage redirect (a fingerprint)
POOL = ("198.18.0.0/16",)
FAKE = "198.18.0.23"


# ---------------------------------------------------------------- cleartext_check.py


def _cleartext(
    address: str = SERVER, ok: bool = True, body: str = "<html>Moved</html>",
    redirects: tuple[object, ...] = (), error: str | None = None,
) -> HttpFetch:
    return HttpFetch(
        url=f"http://{DOMAIN}/", address=address, ok=ok, elapsed_ms=5.0,
        error=None if ok else (error or "reset"), status=302 if ok else None,
        title=None, body_length=len(body) if ok else None, body_head=body if ok else None,
        redirects=redirects,  # type: ignore[arg-type]
    )


def _on_server(*cleartext: HttpFetch) -> Observations:
    """The DNS points the site at SERVER, whose HTTPS fails verification; no control answered."""
    o = obs(system(SERVER), query("control", error="timeout"), tcp(SERVER),
            hs(SERVER, kind="benign"), fetch(SERVER, ok=False, error="cert_unknown_ca",
                                             tls_ok=False))
    return dataclasses.replace(o, cleartext_fetches=cleartext)


def test_a_blockpage_redirect_in_the_cleartext_hops_is_a_blockpage() -> None:
    # The page itself says nothing; its redirect goes to Rostelcom's warning page.
    warned = _cleartext(redirects=(hop(f"http://{DOMAIN}/", RT_WARNING, addr=SERVER),))
    found = one_of(_on_server(warned), "http.blockpage")
    assert "isp_ru_rostelcom_warning_forward (RU)" in found.detail
    assert found.addresses == (SERVER,)
    # Twin: a redirect to the site's own https page is no blockpage.
    plain = _cleartext(redirects=(hop(f"http://{DOMAIN}/", f"https://{DOMAIN}/", addr=SERVER),))
    assert "http.blockpage" not in kinds_of(_on_server(plain))


def test_a_failed_cleartext_fetch_is_no_blockpage_even_with_a_blockpage_redirect() -> None:
    # It failed (too many redirects) after a hop to the warning page: no page was served.
    failed = _cleartext(ok=False, error="too_many_redirects",
                        redirects=(hop(f"http://{DOMAIN}/", RT_WARNING, addr=SERVER),))
    assert "http.blockpage" not in kinds_of(_on_server(failed))


def test_a_failed_cleartext_fetch_does_not_hide_the_next_one() -> None:
    failed = _cleartext(address=CDN_OTHER, ok=False)
    warned = _cleartext(redirects=(hop(f"http://{DOMAIN}/", RT_WARNING, addr=SERVER),))
    assert one_of(_on_server(failed, warned), "http.blockpage").addresses == (SERVER,)


def test_one_blockpage_per_address() -> None:
    warned = _cleartext(redirects=(hop(f"http://{DOMAIN}/", RT_WARNING, addr=SERVER),))
    assert [a.kind for a in judge(_on_server(warned, warned)).anomalies].count(
        "http.blockpage") == 1


# ---------------------------------------------------------------- context.py


def test_a_control_servfail_for_a_is_not_a_name_without_address() -> None:
    # The control's A question failed (SERVFAIL); only its AAAA answered, empty. Nothing says
    # the name has no IPv4 address: the resolver's NXDOMAIN is evidence, as with a timeout.
    o = obs(system(rcode="NXDOMAIN"), query("control", resp(rcode="SERVFAIL")),
            query("control", resp(), qtype="AAAA"), tcp(REAL), hs(REAL, kind="benign"),
            fetch(REAL))
    assert outcome(o) == ("dns_blocked", "likely", ["dns.nxdomain"])
    # Twin: the control's A answer is NOERROR without an address: the name has nowhere to go.
    twin = obs(system(rcode="NXDOMAIN"), query("control", resp()),
               query("control", resp(), qtype="AAAA"), tcp(REAL), hs(REAL, kind="benign"),
               fetch(REAL))
    assert outcome(twin) == ("site_down", "confirmed", [])


# ---------------------------------------------------------------- hardcases.py

LAN = "10.1.2.3"


def test_a_private_name_pointing_to_a_private_address_is_not_a_dead_site() -> None:
    # nas.lan is private by construction: a 10.x answer, the control's too, is normal.
    o = obs(system(LAN), control(LAN), target="nas.lan")
    assert judge(o).summary != "Site down: its DNS points to a private address"
    # Twin: a public name the control too points at 10.x: the owner points it nowhere.
    twin = obs(system(LAN), control(LAN))
    r = judge(twin)
    assert (r.verdict, r.confidence, r.summary) == (
        "site_down", "likely", "Site down: its DNS points to a private address")


def test_a_malformed_control_datagram_is_not_the_sites_own_dns() -> None:
    # A saved run whose control query accepted a malformed datagram holding 10.1.2.3: no
    # control answered, so nothing says the site's own DNS points there.
    bad = DnsResponse(arrived_ms=5.0, rcode="MALFORMED", addresses=(LAN,))
    ctrl = dataclasses.replace(query("control", bad), accepted=0, error=None)
    assert ctrl.answer is not None and ctrl.answer.addresses == (LAN,)
    # (What it is instead is not pinned here: only that this rule does not fire.) Alone, or
    # next to a control query that failed (SERVFAIL):
    servfail = query("control", resp(rcode="SERVFAIL"))
    for o in (obs(system(LAN), ctrl), obs(system(LAN), ctrl, servfail)):
        r = judge(o)
        assert r.verdict != "site_down"
        assert r.summary != "Site down: its DNS points to a private address"
    # Twin: a well-formed control answer with that address: the rule fires.
    assert judge(obs(system(LAN), control(LAN))).summary == (
        "Site down: its DNS points to a private address")


def test_a_resolver_that_timed_out_does_not_stop_the_own_dns_rule() -> None:
    # The system resolver gave nothing; the control points the name at a private address.
    r = judge(obs(query("system"), control(LAN)))
    assert (r.verdict, r.confidence, r.summary) == (
        "site_down", "likely", "Site down: its DNS points to a private address")
    # Twin: the injection probe answering a public address is no resolver of the user's.
    r2 = judge(obs(system(LAN), control(LAN), query("injection", resp(REAL))))
    assert r2.summary == "Site down: its DNS points to a private address"


def test_the_own_dns_rule_names_up_to_three_addresses() -> None:
    three = ("10.1.2.3", "10.1.2.4", "10.1.2.5")
    r = judge(obs(system(*three), control(*three, "10.1.2.6")))
    assert "special-purpose addresses (10.1.2.3, 10.1.2.4, 10.1.2.5)" in r.reason


def test_a_cleartext_fetch_failing_differently_from_the_controls_is_named() -> None:
    # http:// site: we connect to a forged address and the request is reset; the control
    # server connects to the real one and its fetch times out. Both fail, differently.
    o = obs(system(CDN_OTHER), control(REAL), tcp(CDN_OTHER, port=80),
            fetch(CDN_OTHER, url=HTTP_URL, ok=False, error="reset"), target=HTTP_URL,
            control_server=ctrl_server(tcp_=(tcp(REAL, port=80),),
                                       http=fetch(REAL, url=HTTP_URL, ok=False,
                                                  error="timeout")))
    r = judge(o)
    assert (r.verdict, r.confidence) == ("inconclusive", "none")
    assert "the site fails here (reset) and from the control server, but differently " \
           "(timeout)" in r.reason


# ---------------------------------------------------------------- http.py


def test_a_fetch_of_another_scheme_is_connected_on_port_80() -> None:
    # A saved fetch of ws:// (neither http nor https): the default port is 80, where TCP
    # connected, so the reset after it is an HTTP failure.
    url = f"ws://{DOMAIN}/"
    o = obs(system(REAL), control(REAL), tcp(REAL, port=80),
            fetch(REAL, url=url, ok=False, error="reset"), target=HTTP_URL)
    assert kinds_of(o) == ["http.reset"]
    # Twin: TCP connected on 443 only: the failure is not after a connect on its port.
    twin = obs(system(REAL), control(REAL), tcp(REAL, port=443),
               fetch(REAL, url=url, ok=False, error="reset"), target=HTTP_URL)
    assert kinds_of(twin) == []


def test_a_reset_after_a_redirect_head_is_an_http_failure() -> None:
    # The 302 head arrived, then the connection was reset: not the site's broken Location.
    reset = dataclasses.replace(fetch(REAL, url=HTTP_URL, ok=False, error="reset"), status=302)
    o = obs(system(REAL), control(REAL), tcp(REAL, port=80), reset, target=HTTP_URL)
    assert kinds_of(o) == ["http.reset"]
    broken = dataclasses.replace(reset, error="http_protocol")
    twin = obs(system(REAL), control(REAL), tcp(REAL, port=80), broken, target=HTTP_URL)
    assert kinds_of(twin) == []


def _offsite(ctrl_final: str, ctrl_hops: tuple[object, ...] = ()) -> Observations:
    """Our cleartext fetch redirects to coingecko.co.uk and ends on another page than the
    control's; the control server's fetch ends at `ctrl_final`."""
    ours = fetch(REAL, url=HTTP_URL, redirects=(hop(HTTP_URL, "https://coingecko.co.uk/"),),
                 final_url="https://coingecko.co.uk/", title="Regional Edition Landing",
                 length=900)
    theirs = fetch(REAL, url=HTTP_URL, final_url=ctrl_final, redirects=ctrl_hops)  # type: ignore[arg-type]
    return obs(system(REAL), control(REAL), tcp(REAL, port=80), ours, target=HTTP_URL,
               control_server=ctrl_server(http=theirs))


def test_an_offsite_redirect_the_control_ends_on_too_is_the_sites() -> None:
    # The control's fetch ends on coingecko.co.uk as well (no hop recorded): the site's own.
    assert "http.redirect_offsite" not in kinds_of(_offsite("https://www.coingecko.co.uk/"))
    # Twin: the control stays on the site: that redirect is evidence.
    assert "http.redirect_offsite" in kinds_of(_offsite(HTTP_URL))


def _body_diff(repeat: HttpFetch | None) -> Observations:
    ctrl = fetch(REAL, url=HTTP_URL)
    ours = fetch(REAL, url=HTTP_URL, title="Access Denied", length=300)
    server = dataclasses.replace(ctrl_server(http=ctrl), http_repeat=repeat)
    return obs(system(REAL), control(REAL), tcp(REAL, port=80), ours, target=HTTP_URL,
               control_server=server)


NOTE = "the control fetched it once, so the page's own variance is unknown"


def test_a_body_diff_against_a_single_control_fetch_says_its_variance_is_unknown() -> None:
    once = _body_diff(None)
    assert NOTE in one_of(once, "http.body_diff").detail
    assert outcome(once) == ("inconclusive", "none", ["http.body_diff"])
    # Twin: the control fetched the same page twice (stable): no note, and it is evidence.
    twice = _body_diff(fetch(REAL, url=HTTP_URL))
    assert NOTE not in one_of(twice, "http.body_diff").detail
    assert outcome(twice) == ("http_blocked", "likely", ["http.body_diff"])


def test_a_status_diff_weighs_likely() -> None:
    o = obs(system(REAL), control(REAL), tcp(REAL, port=80),
            fetch(REAL, url=HTTP_URL, status=403), target=HTTP_URL,
            control_server=ctrl_server(http=fetch(REAL, url=HTTP_URL)))
    assert outcome(o) == ("http_blocked", "likely", ["http.status_diff"])
    twin = obs(system(REAL), control(REAL), tcp(REAL, port=80),
               fetch(REAL, url=HTTP_URL), target=HTTP_URL,
               control_server=ctrl_server(http=fetch(REAL, url=HTTP_URL)))
    assert outcome(twin) == ("accessible", "confirmed", [])


# ---------------------------------------------------------------- pages.py


def _titled(title: str) -> Observations:
    """Our cleartext page, shorter than the control's, under `title`; the control's page is
    titled "Bitcoin Price News" and was fetched twice alike."""
    ctrl = fetch(REAL, url=HTTP_URL, title="Bitcoin Price News")
    server = dataclasses.replace(ctrl_server(http=ctrl), http_repeat=ctrl)
    return obs(system(REAL), control(REAL), tcp(REAL, port=80),
               fetch(REAL, url=HTTP_URL, title=title, length=1000), target=HTTP_URL,
               control_server=server)


def test_title_words_of_five_letters_count() -> None:
    # "Chart" (five letters) instead of "Price": another page.
    assert kinds_of(_titled("Bitcoin Chart News")) == ["http.body_diff"]
    # Twin: the same words of five letters or more ("News" differs, four letters): the same.
    assert kinds_of(_titled("Bitcoin Price Home")) == []


# ---------------------------------------------------------------- localproxy.py


def _local(ttl: int, ms: float = 0.3) -> Observations:
    """Every UDP resolver, the injection probe too, draws one answer FAKE with `ttl`."""
    r = DnsResponse(arrived_ms=ms, rcode="NOERROR", addresses=(FAKE,), ttls=(ttl,))
    return obs(query("system", r), query("probe", r), query("injection", r), control(REAL))


def test_a_ttl_of_two_is_not_a_fake_ip_answer() -> None:
    assert judge(_local(2)).local_proxy is None
    found = judge(_local(1)).local_proxy
    assert found is not None and "TTL 1, within 0 ms" in found


def test_a_ttl_of_zero_is_tiny() -> None:
    found = judge(_local(0)).local_proxy
    assert found is not None and "TTL 0, within 0 ms" in found


def test_the_local_answer_time_is_the_slowest_answer() -> None:
    found = judge(_local(1, ms=3.2)).local_proxy
    assert found is not None and "TTL 1, within 3 ms" in found


def test_a_public_range_elsewhere_keeps_the_fake_ip_pool() -> None:
    o = obs(system(FAKE), control(REAL))
    found = judge(o, fake_ip_pools=POOL, public_ranges=("10.0.0.0/8",)).local_proxy
    assert found is not None and f"DNS answers {FAKE} from a fake-ip pool" in found
    assert judge(o, fake_ip_pools=POOL, public_ranges=("198.18.0.0/15",)).local_proxy is None


def test_a_fake_ip_answer_after_a_genuine_one_is_found() -> None:
    o = obs(system(REAL, FAKE), control(REAL))
    found = judge(o, fake_ip_pools=POOL).local_proxy
    assert found is not None and f"DNS answers {FAKE} from a fake-ip pool" in found
    assert judge(obs(system(REAL), control(REAL)), fake_ip_pools=POOL).local_proxy is None


# ---------------------------------------------------------------- residual_memory.py


def test_a_site_handshaken_elsewhere_but_not_fetched_keeps_its_verdict() -> None:
    # Our own earlier trigger still punishes REAL; REAL2 completed a verified handshake (HTTP
    # not measured): the site was measured there, so it is judged, with a note.
    boxed = [dataclasses.replace(tcp(REAL), possibly_residual=False),
             hs(REAL, error="reset", kind="benign", residual=True)]
    o = obs(system(REAL, REAL2), control(REAL, REAL2), *boxed, tcp(REAL2),
            hs(REAL2, kind="benign"), hs(REAL2))
    trigger = OwnTrigger(REAL, 443, "2026-11-29T19:00:00Z", 42.0, DOMAIN, "reset", True)
    r = judge(dataclasses.replace(o, stages_checked=("dns", "tcp", "tls"),
                                  own_triggers=(trigger,)))
    assert r.verdict == "accessible"
    assert f"{REAL} left alone: still punished after our own probe" in r.reason


# ---------------------------------------------------------------- verdict.py


def test_an_http_timeout_is_described_as_such() -> None:
    o = obs(system(REAL), control(REAL), tcp(REAL), hs(REAL, kind="benign"),
            fetch(REAL, ok=False, error="timeout", tls_ok=True),
            control_server=ctrl_server(http=fetch(REAL)))
    r = judge(o)
    assert (r.verdict, r.confidence, r.summary) == (
        "http_blocked", "confirmed", "HTTP request times out after connecting")
