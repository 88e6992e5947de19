"""More twins for the smaller rule modules (context.py, hardcases.py, http.py, localproxy.py,
pages.py, residual_memory.py): pairs of observations one fact apart, with the exact outcome on
both sides. The mutation run (tools/mutation/run.sh) found each of them unpinned.

Some observations here are ones our own probes never produce (a control server's handshake
with an unrelated SNI, a system query over DoH, answers that arrived "before" the query was
sent, a negative body length): saved runs are data, and the analysis must judge them by its
rules all the same."""

from __future__ import annotations

import dataclasses

from reachcheck.analysis import judge
from reachcheck.model import DnsResponse, HttpFetch, Observations, OwnTrigger
from tests.analysis.builders import (
    CDN_OTHER,
    DOMAIN,
    REAL,
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
from tests.analysis.twins import HTTP_URL, kinds_of, outcome

IP = "151.101.65.10"  # a target given as an IP literal
AD_SERVER = "92.242.132.24"  # an ISP's search/ad server that answers for dead names
POOL = ("198.18.0.0/16",)
FAKE = "198.18.0.23"


# ---------------------------------------------------------------- context.py


RT_WARNING = "http://warning.rt.ru/?id=17"  # Rostelcom's blockpage redirect (a fingerprint)


def _literal_target(control_sni: str | None) -> Observations:
    """https://IP/: the certificate there fails verification, and http:// on IP redirects to
    Rostelcom's warning page; the control server completed a handshake on IP with
    `control_sni` (or none at all: "none")."""
    verified = dataclasses.replace(hs(IP), sni=control_sni)
    server = None if control_sni == "none" else ctrl_server(tls_=(verified,))
    warned = HttpFetch(
        url=f"http://{IP}/", address=IP, ok=True, elapsed_ms=5.0, status=302, title=None,
        body_length=18, body_head="<html>Moved</html>",
        redirects=(hop(f"http://{IP}/", RT_WARNING, addr=IP),),
    )
    o = obs(tcp(IP), hs(IP, kind="benign", sni="example.org"),
            fetch(IP, url=f"https://{IP}/", ok=False, error="cert_unknown_ca", tls_ok=False),
            target=f"https://{IP}/", control_server=server)
    return dataclasses.replace(o, cleartext_fetches=(warned,))


def test_a_literal_the_control_server_verified_too_stays_the_sites() -> None:
    # The IP literal is the site's own address whether or not the control server also verified
    # it: the blockpage there is served on an address failing verification, not a foreign one.
    for control_sni in ("none", None, IP):
        (found,) = [a for a in judge(_literal_target(control_sni)).anomalies
                    if a.kind == "http.blockpage"]
        assert f"http:// on {IP} (Host {IP}), an address failing verification over HTTPS" in (
            found.detail), control_sni


def _other_address(control_sni: str) -> Observations:
    """The system resolver gives CDN_OTHER (the control's DNS says REAL); the target SNI is
    reset there, the benign one passes; the control server completed a handshake on CDN_OTHER
    with `control_sni`."""
    return obs(system(CDN_OTHER), control(REAL), tcp(CDN_OTHER), hs(CDN_OTHER, kind="benign"),
               hs(CDN_OTHER, error="reset"),
               control_server=ctrl_server(tls_=(hs(CDN_OTHER, sni=control_sni),)))


def test_a_control_handshake_for_another_name_does_not_vouch_for_the_address() -> None:
    # With the site's own SNI the control server verified CDN_OTHER: it is genuine, so the
    # reset there is SNI filtering.
    assert outcome(_other_address(DOMAIN)) == ("tls_blocked", "confirmed", ["tls.sni_filtering"])
    # Twin: a handshake for another name (sorting after the domain) proves nothing about it:
    # the answer is only inconsistent with the control's.
    assert outcome(_other_address("zz.other.test")) == (
        "dns_blocked", "likely", ["dns.inconsistent"])


# ---------------------------------------------------------------- hardcases.py


def _rewritten(probe_rcode: str) -> Observations:
    """The control says NXDOMAIN; the system resolver answers its ad server; the probe
    resolver answers `probe_rcode` with no address."""
    return obs(system(AD_SERVER), query("probe", resp(rcode=probe_rcode)),
               control(rcode="NXDOMAIN"))


def test_a_rewritten_dead_name_is_confirmed_only_by_a_probe_nxdomain() -> None:
    agrees = judge(_rewritten("NXDOMAIN"))
    assert (agrees.verdict, agrees.confidence) == ("site_down", "confirmed")
    assert "rewrites non-existent names" in agrees.reason
    # Twin: a probe resolver that failed (SERVFAIL, REFUSED) does not agree the name is dead.
    for rcode in ("SERVFAIL", "REFUSED"):
        failed = judge(_rewritten(rcode))
        assert (failed.verdict, failed.confidence) == ("site_down", "likely"), rcode
        assert "rewrites non-existent names" in failed.reason


# ---------------------------------------------------------------- http.py


PROMO = "http://promo.example.net/"


def _promo(control_hops: tuple[object, ...]) -> Observations:
    """Our cleartext fetch redirects to PROMO and ends on another page there; the control
    server's fetch takes `control_hops` and ends on the site's own page."""
    ctrl = fetch(REAL, url=HTTP_URL, redirects=control_hops,  # type: ignore[arg-type]
                 final_url=f"https://{DOMAIN}/")
    return obs(system(REAL), control(REAL), tcp(REAL, port=80),
               fetch(REAL, url=HTTP_URL, redirects=(hop(HTTP_URL, PROMO),), final_url=PROMO,
                     title="Special offers today", length=900),
               target=HTTP_URL, control_server=ctrl_server(http=ctrl))


def test_an_offsite_hop_the_control_server_took_too_is_not_offsite() -> None:
    # The control server also passed through promo.example.net (then came back): the site
    # sends everyone there, so only the page differs.
    assert kinds_of(_promo((hop(HTTP_URL, PROMO), hop(PROMO, f"https://{DOMAIN}/")))) == [
        "http.body_diff"]
    # Twin: the control server went straight to the https page: the hop is offsite.
    assert kinds_of(_promo((hop(HTTP_URL, f"https://{DOMAIN}/"),))) == [
        "http.body_diff", "http.redirect_offsite"]


# ---------------------------------------------------------------- localproxy.py


def test_a_system_answer_over_doh_is_no_fake_ip_answer() -> None:
    # A resolver reached over DoH is not the one a fake-ip proxy answers for (it intercepts
    # UDP): a pool address from it is no sign of a local proxy.
    udp = system(FAKE)
    assert judge(obs(udp, control(REAL)), fake_ip_pools=POOL).local_proxy is not None
    over_doh = dataclasses.replace(udp, transport="doh")
    assert judge(obs(over_doh, control(REAL)), fake_ip_pools=POOL).local_proxy is None


def _local(ms: float) -> Observations:
    """Every UDP resolver, the injection probe too, draws one answer FAKE with TTL 1 after
    `ms`."""
    r = DnsResponse(arrived_ms=ms, rcode="NOERROR", addresses=(FAKE,), ttls=(1,))
    return obs(query("system", r), query("probe", r), query("injection", r), control(REAL))


def test_a_local_answer_time_is_never_below_zero() -> None:
    # Arrival times before the query (a clock step, a hand-edited run) are shown as 0 ms.
    for ms in (-5.0, -0.2):
        found = judge(_local(ms)).local_proxy
        assert found is not None and "TTL 1, within 0 ms" in found, found
    found = judge(_local(7.0)).local_proxy
    assert found is not None and "TTL 1, within 7 ms" in found


# ---------------------------------------------------------------- pages.py


def _sized(page_length: int, control_length: int) -> Observations:
    """A cleartext page without title or hash, of `page_length` bytes; the control server's
    page (no title either) has `control_length`."""
    def untitled(length: int) -> HttpFetch:
        return fetch(REAL, url=HTTP_URL, title="", body="<html>x</html>", length=length)

    return obs(system(REAL), control(REAL), tcp(REAL, port=80), untitled(page_length),
               target=HTTP_URL, control_server=ctrl_server(http=untitled(control_length)))


def test_a_negative_body_length_tells_nothing() -> None:
    # Lengths far apart: another page.
    assert kinds_of(_sized(900, 5000)) == ["http.body_diff"]
    assert kinds_of(_sized(5000, 900)) == ["http.body_diff"]
    # Twin: a negative length (only a hand-edited run holds one) is no length: nothing to
    # compare, no body difference, on either side.
    assert kinds_of(_sized(-5, 5000)) == []
    assert kinds_of(_sized(5000, -5)) == []


# ---------------------------------------------------------------- residual_memory.py


def _boxed(sni: str | None) -> Observations:
    """Our own earlier probe (SNI `sni`) still punishes REAL: the benign handshake is reset."""
    trigger = OwnTrigger(REAL, 443, "2026-11-29T19:00:00Z", 42.0, sni, "reset", True)
    o = obs(system(REAL), control(REAL), dataclasses.replace(tcp(REAL), possibly_residual=False),
            hs(REAL, error="reset", kind="benign", residual=True))
    return dataclasses.replace(o, own_triggers=(trigger,))


def test_the_remembered_trigger_names_its_sni() -> None:
    named = judge(_boxed(DOMAIN))
    assert named.verdict == "inconclusive"
    assert f"our own probe of {REAL}:443 42 s ago (SNI {DOMAIN}: reset," in named.reason
    # Twin: a trigger without a recorded SNI is "a handshake".
    bare = judge(_boxed(None))
    assert bare.verdict == "inconclusive"
    assert f"our own probe of {REAL}:443 42 s ago (a handshake: reset," in bare.reason
