"""Residual blocking left by our own earlier run (design §5.1), on recorded observations.

Run 1 saw a clear SNI block (reset, benign SNI passing). Run 2, inside the censor's residual
window, finds even the benign SNI failing on that address; the runner left it alone and
recorded the remembered trigger. The verdict must say why it cannot judge, never invent a
block from memory, and never read a bare TCP connect as "reachable".
"""

from __future__ import annotations

import dataclasses

from reachcheck.analysis import judge
from reachcheck.model import OwnTrigger
from tests.analysis.builders import REAL, REAL2, clean_https, control, hs, system, tcp
from tests.analysis.builders import obs as observations

DOMAIN_SNI = "www.coingecko.com"


def _trigger(address: str = REAL, active: bool = True) -> OwnTrigger:
    return OwnTrigger(address, 443, "2026-11-29T19:00:00Z", 42.0, DOMAIN_SNI, "reset", active)


def _boxed(connect_ok: bool) -> list[object]:
    """What run 2 records on a punished address: the connect (dropped, or completing) and the
    benign handshake (reset), both flagged; no target SNI sent."""
    items: list[object] = [dataclasses.replace(tcp(REAL, ok=connect_ok, error=None if
                                                   connect_ok else "timeout"),
                                               possibly_residual=not connect_ok)]
    if connect_ok:
        items.append(hs(REAL, error="reset", kind="benign", residual=True))
    return items


def test_second_run_in_the_penalty_box_says_why_it_cannot_judge() -> None:
    for connect_ok in (False, True):
        o = dataclasses.replace(observations(system(REAL), control(REAL), *_boxed(connect_ok)),
                                own_triggers=(_trigger(),))
        result = judge(o)
        assert result.verdict == "inconclusive", result.reason
        assert "our own probe of" in result.reason and "42 s ago" in result.reason
        assert "run again in about 138 s" in result.reason
        assert result.summary.startswith("Not judged: penalty left by our own earlier probe")
        assert result.anomalies == ()  # memory explains; it never accuses


def test_without_memory_the_same_observations_are_not_explained() -> None:
    # What the second run looked like before: a bare failure, or even a TCP connect read as
    # success when only the TLS stage is punished.
    result = judge(observations(system(REAL), control(REAL), *_boxed(True)))
    assert "our own probe" not in result.reason


def test_a_site_judged_on_another_address_keeps_its_verdict_with_a_note() -> None:
    o = observations(system(REAL, REAL2), control(REAL, REAL2), *_boxed(True),
                     *clean_https(REAL2))
    result = judge(dataclasses.replace(o, own_triggers=(_trigger(),)))
    assert result.verdict == "accessible"
    assert f"{REAL} left alone: still punished after our own probe" in result.reason


def test_an_inactive_memory_changes_nothing() -> None:
    o = observations(system(REAL), control(REAL), *clean_https(REAL))
    plain = judge(o)
    remembered = judge(dataclasses.replace(o, own_triggers=(_trigger(active=False),)))
    assert (remembered.verdict, remembered.reason) == (plain.verdict, plain.reason)
    assert remembered.own_triggers == (_trigger(active=False),)  # still in the record
