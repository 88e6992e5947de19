"""Twins for the rules that joined the analysis with the hard cases of design §5.1 and the proxy
vantage point (hardcases.py, localproxy.py, page_cluster.py, pages.py, survivor.py, tls.py,
vantage.py): pairs of observations one fact apart, with the exact outcome on both sides. The
mutation run on the merged analysis (tools/mutation/run.sh) found each of them unpinned."""

from __future__ import annotations

import dataclasses

import pytest

from reachcheck.analysis import context, judge, localproxy, pages, survivor, tls, vantage
from reachcheck.analysis.page_cluster import candidate_pages
from reachcheck.model import ControlMeasurement, PageCluster
from tests.analysis.builders import (
    FORGED,
    FORGED2,
    REAL,
    REAL2,
    cert,
    control,
    ctrl_server,
    fetch,
    hs,
    obs,
    query,
    resp,
    system,
    tcp,
)  # fmt: skip
from tests.analysis.test_local_proxy import FAKE, clash_fake_ip, ttl1
from tests.analysis.test_page_cluster import _site
from tests.analysis.twins import outcome

# ---- hardcases.own_dns_special: every resolver that answered must agree it is private


def test_own_dns_special_needs_the_probe_answers_private_too() -> None:
    # The control says 127.0.0.1, but our resolver gives a public address: not "the site's own
    # DNS points to a private address"; the answers merely differ.
    assert outcome(obs(system(REAL), control("127.0.0.1"))) == (
        "inconclusive", "none", ["dns.inconsistent"])
    # Twin: our resolver agrees on the private address: the site's own DNS is broken.
    assert outcome(obs(system("127.0.0.1"), control("127.0.0.1")))[:2] == ("site_down", "likely")


# ---- localproxy: one local answerer means exactly one datagram per query


def test_a_duplicated_datagram_is_no_local_answerer() -> None:
    o = clash_fake_ip()
    assert localproxy.detect(context.build(o)) is not None  # every resolver, one answer each
    system_query, *rest = o.dns
    twice = dataclasses.replace(system_query, responses=(ttl1(FAKE), ttl1(FAKE, ms=0.6)))
    assert localproxy.detect(context.build(dataclasses.replace(o, dns=(twice, *rest)))) is None


# ---- page_cluster: how many earlier sites the detail names


@pytest.mark.parametrize(("n", "ellipsis"), [(5, False), (6, True)])
def test_cluster_detail_names_five_sites_then_an_ellipsis(n: int, ellipsis: bool) -> None:
    page = _site("home.test", "45.1.1.1")
    (key, *_) = candidate_pages(page)
    others = tuple(f"s{i}.test" for i in range(n))
    clustered = dataclasses.replace(page, page_clusters=(PageCluster(key, others),))
    (a,) = [x for x in judge(clustered).anomalies if x.kind == "http.blockpage"]
    assert a.detail.count(".test") == 5
    assert (" ...)" in a.detail) is ellipsis


def test_a_saved_cluster_for_another_page_is_no_evidence() -> None:
    page = _site("home.test", "45.1.1.1")
    other = PageCluster("sha256:" + "0" * 64, ("a.test", "b.test", "c.test"))
    assert judge(dataclasses.replace(page, page_clusters=(other,))).verdict == "accessible"


# ---- pages: the length ratio is strict, and a failed control server has no variance


@pytest.mark.parametrize(("mine", "theirs", "differs"), [(7, 10, True), (71, 100, False)])
def test_length_ratio_of_exactly_seventy_percent_is_another_page(mine: int, theirs: int,
                                                                 differs: bool) -> None:
    page = fetch(REAL, title="", length=mine)
    assert pages.differs(page, fetch(REAL, title="", length=theirs)) is differs


def test_a_failed_control_server_says_nothing_about_variance() -> None:
    page = dataclasses.replace(fetch(REAL), body_sha256="ab" * 32)
    ok = ControlMeasurement("https://control.lab.test", True, None, http=page, http_repeat=page)
    assert pages.variance(ok) == "stable"
    failed = dataclasses.replace(ok, ok=False, error="timeout")
    assert pages.variance(failed) == "unknown"


# ---- survivor: the last of several racing answers, from the resolvers a user's system asks


def test_the_late_answer_is_the_last_of_three() -> None:
    q = query("system", resp(FORGED, ms=1), resp(FORGED2, ms=2), resp(REAL, ms=40))
    assert survivor._late(q) == frozenset({REAL})


def test_an_injection_probe_answer_backs_no_survivor() -> None:
    # One resolver raced (forged, then real); the only other "agreement" comes from the
    # injection probe's address, where no DNS runs: a survivor needs two real resolvers.
    raced = query("system", resp(FORGED, ms=1), resp(REAL, ms=40))
    probe = query("injection", resp(REAL))
    assert survivor.survivors([raced, probe]) == ()
    # Twin: the probe resolver agrees: now two resolvers back the late answer.
    assert survivor.survivors([raced, query("probe", resp(REAL))]) == (REAL,)


# ---- tls.outside_certs: the outside view's target handshake on the same endpoint only


def test_outside_certs_are_the_target_handshakes_on_that_endpoint() -> None:
    mine = hs(REAL, error="cert_unknown_ca", crt=cert(sha="11"))
    view = ctrl_server(tls_=(hs(REAL, kind="benign", crt=cert(sha="22")),
                             hs(REAL2, crt=cert(sha="33")),
                             hs(REAL, crt=cert(sha="44"))))
    facts = context.build(obs(system(REAL), control(REAL), tcp(REAL), mine,
                              control_server=view))
    assert [c.sha256 for c in tls.outside_certs(facts, mine)] == ["44"]


# ---- vantage.reachable_via_proxy: over https, only a verified handshake counts


@pytest.mark.parametrize(("target", "expected"), [("https://www.coingecko.com/", False),
                                                  ("http://www.coingecko.com/", True)])
def test_a_page_through_the_proxy_over_a_failed_handshake(target: str, expected: bool) -> None:
    page = fetch(REAL, url=target, tls_ok=False)  # the page came, its handshake did not verify
    proxy = dataclasses.replace(ctrl_server(http=page), kind="proxy")
    assert vantage.reachable_via_proxy(obs(system(REAL), control(REAL), target=target,
                                           control_server=proxy)) is expected


# ---- outside.fails_alike: our page failing counts among our failures


def test_a_page_failing_like_the_control_makes_the_site_down() -> None:
    # Our handshake verified, then the page was reset; the control server's handshake was reset
    # there: the only failure we saw is the page's, and it is the control's kind.
    o = obs(system(REAL), control(REAL), tcp(REAL), hs(REAL),
            fetch(REAL, ok=False, error="reset", tls_ok=True),
            control_server=ctrl_server(tcp_=(tcp(REAL),), tls_=(hs(REAL, error="reset"),)))
    assert outcome(o) == ("site_down", "confirmed", ["http.reset"])
    # Twin: the control's handshake stalled instead: not the same failure.
    other = obs(system(REAL), control(REAL), tcp(REAL), hs(REAL),
                fetch(REAL, ok=False, error="reset", tls_ok=True),
                control_server=ctrl_server(tcp_=(tcp(REAL),), tls_=(hs(REAL, error="timeout"),)))
    assert outcome(other) == ("inconclusive", "none", ["http.reset"])


def test_a_page_that_cannot_be_compared_does_not_differ_from_the_control() -> None:
    # No title on either side and our body truncated: `differs` cannot tell (None), so the
    # page is not shown to differ from the control's.
    page = dataclasses.replace(fetch(REAL, title="", length=900), body_truncated=True)
    ctrl = ControlMeasurement("https://control.lab.test", True, None,
                              http=fetch(REAL, title="", length=5000))
    assert pages.differs(page, ctrl.http) is None  # type: ignore[arg-type]
    assert pages.differs_from_control(page, ctrl) is False
    # Twin: comparable lengths far apart: it differs.
    other = fetch(REAL, title="", length=900)
    assert pages.differs_from_control(other, ctrl) is True
