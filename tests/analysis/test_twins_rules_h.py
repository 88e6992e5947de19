"""Twin cases for the last survivors of the final mutation run (batch B5): rules the mutation
run found unpinned. Each pair is one fact apart, with the exact outcome on both sides: the
first of several remembered triggers, the control's kind for the proxy view, a public range
written with host bits."""

from __future__ import annotations

import dataclasses

from reachcheck.analysis import context, judge, outside, pages
from reachcheck.config import DEFAULT_FAKE_IP_POOLS
from reachcheck.model import OwnTrigger
from tests.analysis.builders import (
    FORGED,
    REAL,
    control,
    ctrl_server,
    fetch,
    hs,
    query,
    resp,
    system,
    tcp,
)  # fmt: skip
from tests.analysis.builders import obs as observations
from tests.analysis.twins import outcome


def _trigger(age_s: float) -> OwnTrigger:
    return OwnTrigger(REAL, 443, "2026-11-29T19:00:00Z", age_s, "www.coingecko.com", "reset",
                      True)


def _boxed() -> list[object]:
    return [system(REAL), control(REAL), tcp(REAL),
            hs(REAL, error="reset", kind="benign", residual=True)]


def test_the_wait_is_counted_from_the_first_active_trigger() -> None:
    o = observations(*_boxed())
    one = judge(dataclasses.replace(o, own_triggers=(_trigger(42.0),)))
    two = judge(dataclasses.replace(o, own_triggers=(_trigger(42.0), _trigger(100.0))))
    for r in (one, two):
        assert r.verdict == "inconclusive", r.reason
        assert "42 s ago" in r.reason and "run again in about 138 s" in r.reason
    later_first = judge(dataclasses.replace(o, own_triggers=(_trigger(100.0), _trigger(42.0))))
    assert "run again in about 80 s" in later_first.reason


def test_only_a_proxy_view_says_reachable_via_proxy() -> None:
    local = [system(REAL), control(REAL), tcp(REAL, error="timeout")]
    server = ctrl_server(dns=(control(REAL),), tcp_=(tcp(REAL),), tls_=(hs(REAL),),
                         http=fetch(REAL))
    proxy = dataclasses.replace(server, server="socks5://127.0.0.1:1080", kind="proxy")
    assert judge(observations(*local, control_server=proxy)).reachable_via_proxy is True
    assert judge(observations(*local, control_server=server)).reachable_via_proxy is None


def test_a_public_range_with_host_bits_still_disables_the_pool() -> None:
    """`--public-range` allows host bits (as bogons does): 198.18.1.1/15 is 198.18.0.0/15."""
    o = observations(system("198.18.5.5"), control(REAL), tcp(REAL), hs(REAL, kind="benign"),
                     fetch(REAL))
    assert judge(o, fake_ip_pools=DEFAULT_FAKE_IP_POOLS).local_proxy is not None
    for written in ("198.18.0.0/15", "198.18.1.1/15"):
        lab = judge(o, fake_ip_pools=DEFAULT_FAKE_IP_POOLS, public_ranges=(written,))
        assert lab.local_proxy is None


def test_the_controls_connects_agree_only_when_all_fail_alike() -> None:
    """No control handshake at the address: its failed connects are compared, all of them."""
    def agreement(*theirs: object) -> str:
        facts = context.build(observations(system(REAL), control(REAL), control_server=ctrl_server(
            tcp_=theirs)))  # type: ignore[arg-type]
        return outside.tls_agreement(facts, (REAL, 443), "timeout")

    assert agreement(tcp(REAL, error="timeout"), tcp(REAL, error="timeout")) == "same"
    assert agreement(tcp(REAL, error="timeout"), tcp(REAL, error="reset")) == "differs"


def test_a_title_on_one_side_only_is_judged_by_size() -> None:
    """Titles compare only when both pages have one: else the body size decides."""
    untitled = dataclasses.replace(fetch(REAL, title=""), body_sha256=None)
    titled = dataclasses.replace(fetch(REAL, title="Access Denied Blocked"), body_sha256=None)
    assert pages.differs(untitled, untitled) is False
    assert pages.differs(titled, untitled) is False  # same size: the same page
    assert pages.differs(dataclasses.replace(titled, body_length=500), untitled) is True


def test_only_resolvers_asked_the_same_type_must_answer_alike() -> None:
    """No control: the injection probe's A answer, drawn alike by the system resolver's A
    query, is an interceptor's. The system resolver's AAAA answer (empty) is another question
    and does not count against it."""
    alike = [query("injection", resp(FORGED)), system(FORGED)]
    assert outcome(observations(*alike)) == ("inconclusive", "none", [])
    assert outcome(observations(*alike, system(qtype="AAAA"))) == ("inconclusive", "none", [])
