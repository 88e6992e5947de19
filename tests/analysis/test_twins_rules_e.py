"""Twins for a few more rules (http.py's redirect exemption and the control's status variance,
outside.py's endpoint and failure-kind matching, pages.py's variance by status): pairs of
observations one fact apart, with the exact outcome on both sides. The mutation run
(tools/mutation/run.sh) found each of them unpinned.

Some observations here are ones our own probes never produce (an eof carrying a redirect
status, a control status of 299, a handshake error named just "cert"): saved runs are data, and
the analysis must judge them by its rules all the same."""

from __future__ import annotations

import dataclasses

from reachcheck.analysis import context, outside
from tests.analysis.builders import REAL, control, ctrl_server, fetch, hs, obs, system, tcp
from tests.analysis.twins import HTTP_URL, outcome

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
        facts = context.build(obs(system(REAL), tcp(REAL, error="timeout"), control_server=ctrl_server(
            dns=(control(REAL),), tcp_=tuple(tcp(REAL, error=e) for e in theirs))))
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
