"""Twins for a few more rules (http.py's redirect exemption, the control's status variance and
redirect_offsite's "ends on the control's page"; outside.py's endpoint and failure-kind
matching; pages.py's same-page and variance tests; localproxy.py's truthful local answer;
page_cluster.py's cluster scan and addresses; survivor.mark's subset test): pairs of
observations one fact apart, with the exact outcome on both sides. The mutation run
(tools/mutation/run.sh) found each of them unpinned.

Some observations here are ones our own probes never produce (an eof carrying a redirect
status, a control status of 299, a handshake error named just "cert"): saved runs are data, and
the analysis must judge them by its rules all the same."""

from __future__ import annotations

import dataclasses

from reachcheck.analysis import context, judge, outside, pages, survivor
from reachcheck.model import Anomaly, PageCluster
from tests.analysis.builders import (
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
from tests.analysis.twins import HTTP_URL, REAL3, outcome

BIG = "151.101.66.10"  # sorts after REAL


def test_an_eof_with_a_redirect_status_is_still_an_eof() -> None:
    # Only a broken redirect (http_protocol) is exempt: an eof is reported whatever its status.
    f = fetch(REAL, ok=False, error="eof", tls_ok=True)
    o = obs(system(REAL), tcp(REAL), hs(REAL, kind="benign"), dataclasses.replace(f, status=302))
    assert outcome(o) == ("inconclusive", "none", ["http.eof"])
    twin = obs(system(REAL), tcp(REAL), hs(REAL, kind="benign"),
               dataclasses.replace(f, error="http_protocol", status=302))
    assert outcome(twin) == ("inconclusive", "none", [])


def _ctrl299(again: int) -> object:
    c = fetch(REAL, url=HTTP_URL, status=299)
    return dataclasses.replace(ctrl_server(dns=(control(REAL),), http=c),
                               http_repeat=fetch(REAL, url=HTTP_URL, status=again))


def test_a_control_status_above_the_small_ints_is_compared_by_value() -> None:
    # The control got 299 twice (two int objects after a JSON load): a steady status, so our
    # 403 differs from it.
    o = obs(system(REAL), tcp(REAL, port=80), fetch(REAL, url=HTTP_URL, status=403),
            target=HTTP_URL, control_server=_ctrl299(299))
    assert outcome(o) == ("http_blocked", "likely", ["http.status_diff"])
    # Twin: the control's own status changed between its fetches: nothing to hold against us.
    twin = obs(system(REAL), tcp(REAL, port=80), fetch(REAL, url=HTTP_URL, status=403),
               target=HTTP_URL, control_server=_ctrl299(298))
    assert outcome(twin) == ("accessible", "confirmed", [])


def test_a_control_steady_on_a_403_is_not_varying() -> None:
    # The control got 403 on both fetches (two int objects): its page is stable, so ours,
    # another page with the same status, differs from it.
    ctrl = dataclasses.replace(
        ctrl_server(dns=(control(REAL),), http=fetch(REAL, url=HTTP_URL, status=403)),
        http_repeat=fetch(REAL, url=HTTP_URL, status=403))
    mine = fetch(REAL, url=HTTP_URL, status=403, title="Access Denied Blocked", length=900)
    o = obs(system(REAL), tcp(REAL, port=80), mine, target=HTTP_URL, control_server=ctrl)
    assert outcome(o) == ("http_blocked", "likely", ["http.body_diff"])
    # Twin: the control's second fetch got another status: its page varies, no body_diff.
    varying = dataclasses.replace(ctrl, http_repeat=fetch(REAL, url=HTTP_URL, status=404))
    twin = obs(system(REAL), tcp(REAL, port=80), mine, target=HTTP_URL, control_server=varying)
    assert outcome(twin) == ("accessible", "confirmed", [])


def test_the_controls_handshake_on_another_address_says_nothing_here() -> None:
    # Both our handshakes with REAL were reset; the control's one succeeded on another address.
    def seen(where: str) -> object:
        return obs(system(REAL), tcp(REAL), hs(REAL, kind="benign", error="reset"),
                   hs(REAL, error="reset"),
                   control_server=ctrl_server(dns=(control(REAL),), tcp_=(tcp(REAL),),
                                              tls_=(hs(where),)))
    assert outcome(seen(BIG)) == ("inconclusive", "none", ["tls.reset"])
    # Twin: the control completed the handshake on this very address: blocked here.
    assert outcome(seen(REAL)) == ("tls_blocked", "confirmed", ["tls.reset"])


def test_a_control_failing_two_ways_is_not_failing_the_same_way() -> None:
    def agreement(*theirs: str) -> str:
        server = ctrl_server(dns=(control(REAL),), tcp_=tuple(tcp(REAL, error=e) for e in theirs))
        facts = context.build(obs(system(REAL), tcp(REAL, error="timeout"), control_server=server))
        return outside.tcp_agreement(facts, (REAL, 443), "timeout")
    assert agreement("timeout", "refused") == "differs"
    assert agreement("timeout") == "same"


def test_a_handshake_error_named_cert_is_a_certificate_failure() -> None:
    # Our error is "cert" itself (read from a file, not the code's literal): a certificate
    # failure like the control's, so the control did not reach further than we did.
    def agreement(mine: str) -> str:
        facts = context.build(obs(system(REAL), control_server=ctrl_server(
            dns=(control(REAL),), tcp_=(tcp(REAL),),
            tls_=(hs(REAL, error="cert_unknown_ca"), hs(REAL, error="reset")))))
        return outside.tls_agreement(facts, (REAL, 443), mine)
    assert agreement("".join(["ce", "rt"])) == "differs"
    assert agreement("timeout") == "reached"


def test_a_smaller_hash_is_not_the_same_page() -> None:
    # Another title, a body of the same size, a hash that sorts before the reference's: not
    # shown to be the same page (the size alone cannot tell).
    ref = dataclasses.replace(fetch(REAL), body_sha256="22")
    page = dataclasses.replace(fetch(REAL, title="Blocked Here Now"), body_sha256="11")
    assert pages.differs(page, ref) is None
    assert pages.differs(dataclasses.replace(page, body_sha256="22"), ref) is False


def test_a_control_page_losing_its_title_varies() -> None:
    # The control's two fetches: the same size, one with the title, one without: it varies.
    first = dataclasses.replace(fetch(REAL, url=HTTP_URL, title=""), body_sha256="1")
    again = dataclasses.replace(fetch(REAL, url=HTTP_URL), body_sha256="2")
    assert pages.variance(dataclasses.replace(ctrl_server(http=first), http_repeat=again)) == (
        "varies")
    # Twin: both carry the title: stable (the sizes match).
    same = dataclasses.replace(first, title=again.title)
    assert pages.variance(dataclasses.replace(ctrl_server(http=same), http_repeat=again)) == (
        "stable")


def _every_resolver_says(control_addr: str) -> object:
    return obs(query("system", resp(REAL, ms=0.5)), query("probe", resp(REAL, ms=0.5)),
               query("injection", resp(REAL, ms=0.5)), control(control_addr), tcp(REAL))


def test_the_controls_address_alone_makes_a_local_answer_truthful() -> None:
    # Every resolver, the injection probe too, gave REAL (a normal TTL); nothing verified it,
    # but the control resolved REAL as well: DNS is answered locally, with the truth.
    r = judge(_every_resolver_says(REAL))
    assert r.local_proxy is not None and "the real address" in r.local_proxy
    assert (r.verdict, r.confidence, r.anomalies) == ("accessible", "likely", ())
    # Twin: the control resolved another address: the injection probe's answer is forged.
    twin = judge(_every_resolver_says(REAL3))
    assert twin.local_proxy is None
    assert (twin.verdict, twin.confidence) == ("dns_blocked", "confirmed")


MY_TITLE = "title:cryptocurrency prices charts"


def _clustered(*clusters: PageCluster) -> object:
    o = obs(system(REAL), tcp(REAL, port=80), fetch(REAL, url=HTTP_URL),
            fetch(REAL3, url=HTTP_URL, ok=False), target=HTTP_URL)
    return dataclasses.replace(o, page_clusters=clusters)


def test_a_cluster_after_an_unrelated_one_still_counts() -> None:
    # The run saw two clusters; ours is the second. The blockpage evidence names only the
    # address whose page arrived (the failed fetch of REAL3 served no page).
    other = PageCluster("title:something else entirely", ("a.example", "b.example"))
    mine = PageCluster(MY_TITLE, ("a.example", "b.example"))
    r = judge(_clustered(other, mine))
    assert [(a.kind, a.addresses) for a in r.anomalies] == [("http.same_page", (REAL,))]
    assert (r.verdict, r.confidence) == ("accessible", "likely")
    # Twin: only the unrelated cluster: no evidence at all.
    twin = judge(_clustered(other))
    assert (twin.verdict, twin.anomalies) == ("accessible", ())


def test_a_survivor_note_needs_every_address_on_a_survivor() -> None:
    tcp_a = Anomaly("tcp", "tcp.timeout", "timed out", (REAL, REAL3))
    assert survivor.mark([tcp_a], frozenset({REAL})) == [tcp_a]
    (marked,) = survivor.mark([tcp_a], frozenset({REAL, REAL3}))
    assert survivor.NOTE in marked.detail and marked.confirmed is False


def _redirected_to_a_warning(status: int) -> object:
    mine = fetch(REAL, url=HTTP_URL, status=status,
                 redirects=(hop(HTTP_URL, "http://warning.isp.test/"),))
    return obs(system(REAL), tcp(REAL, port=80), mine, target=HTTP_URL,
               control_server=ctrl_server(dns=(control(REAL),), http=fetch(REAL, url=HTTP_URL)))


def test_the_controls_page_with_a_higher_status_is_not_the_controls_page() -> None:
    # Our fetch went through an offsite hop and ended on the control's page, but with 203
    # where the control got 200: not the control's own ending, so the hop is reported.
    assert outcome(_redirected_to_a_warning(203)) == (
        "http_blocked", "likely", ["http.redirect_offsite", "http.status_diff"])
    # Twin: the same page with the control's status: the site sends everyone there.
    assert outcome(_redirected_to_a_warning(200)) == ("accessible", "confirmed", [])
