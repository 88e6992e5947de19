"""The answer that survives the injection race (design §5.1), on recorded observations.

The China crypto case: every DoH control blocked, two UDP resolvers abroad both raced by forged
answers, the real address reached only by the late answers, where the SNI is reset.
"""

from __future__ import annotations

import dataclasses

from reachcheck.analysis import judge, survivor
from reachcheck.model import TcpConnect
from tests.analysis.builders import (
    DOMAIN,
    FORGED,
    FORGED2,
    REAL,
    fetch,
    hs,
    query,
    resp,
    tcp,
)
from tests.analysis.builders import obs as observations

ABROAD1 = "udp:10.0.1.53:53"
ABROAD2 = "udp:10.0.2.53:53"


def raced(resolver: str, *forged: str, real: str = REAL) -> object:
    rs = [resp(a, ms=2.0 + i) for i, a in enumerate(forged or (FORGED,))]
    return query("probe", *rs, resp(real, ms=150.0), resolver=resolver)


def doh_blocked() -> object:
    return query("control", error="timeout")


def survivor_tcp(addr: str = REAL, ok: bool = True) -> TcpConnect:
    return dataclasses.replace(tcp(addr, ok=ok), sources=(survivor.SOURCE,))


def test_late_answer_agreed_by_two_resolvers_is_a_survivor() -> None:
    queries = [raced(ABROAD1, FORGED), raced(ABROAD2, FORGED2)]
    assert survivor.survivors(queries) == (REAL,)  # type: ignore[arg-type]


def test_one_resolver_alone_is_not_enough() -> None:
    # A lone late answer could be a second forgery: agreement across resolvers is required.
    assert survivor.survivors([raced(ABROAD1, FORGED)]) == ()  # type: ignore[list-item]


def test_no_race_no_survivor() -> None:
    # Clean twin: each resolver answered once; nothing raced, nothing to add.
    queries = [query("probe", resp(REAL), resolver=ABROAD1),
               query("probe", resp(REAL), resolver=ABROAD2)]
    assert survivor.survivors(queries) == ()


def test_late_answer_repeating_a_forged_address_is_not_a_survivor() -> None:
    queries = [
        query("probe", resp(FORGED, ms=2), resp(FORGED2, ms=3), resp(FORGED, ms=150),
              resolver=ABROAD1),
        query("probe", resp(FORGED2, ms=2), resp(FORGED, ms=150), resolver=ABROAD2),
    ]
    assert survivor.survivors(queries) == ()


def test_special_purpose_late_answer_is_never_a_survivor() -> None:
    queries = [raced(ABROAD1, FORGED, real="10.0.0.1"), raced(ABROAD2, FORGED2, real="10.0.0.1")]
    assert survivor.survivors(queries) == ()  # type: ignore[arg-type]


def _china(real_tls_ok: bool) -> object:
    """Forged DNS on both resolvers abroad, DoH blocked, the survivor tried (as the runner
    does): SNI reset there when blocked, a verified page when not."""
    items: list[object] = [
        raced(ABROAD1, FORGED), raced(ABROAD2, FORGED2), doh_blocked(),
        tcp(FORGED, error="timeout"),
        survivor_tcp(REAL), hs(REAL, kind="benign"),
    ]
    if real_tls_ok:
        items.append(fetch(REAL))
    else:
        items.append(fetch(REAL, ok=False, error="reset", tls_ok=False))
    return observations(*items)


def test_double_block_reports_the_sni_reset_on_the_survivor() -> None:
    result = judge(_china(real_tls_ok=False))  # type: ignore[arg-type]
    assert result.verdict == "dns_blocked" and result.confidence == "confirmed"
    kinds = {a.kind for a in result.anomalies}
    assert {"dns.injection", "tls.sni_filtering"} <= kinds
    sni = next(a for a in result.anomalies if a.kind == "tls.sni_filtering")
    assert survivor.NOTE in sni.detail and not sni.confirmed  # weighed below a control
    assert "TLS cut off" in result.summary
    assert result.reachable_with_trusted_dns is False  # working DNS alone will not get through


def test_survivor_that_verifies_makes_trusted_dns_work() -> None:
    result = judge(_china(real_tls_ok=True))  # type: ignore[arg-type]
    assert result.verdict == "dns_blocked"
    assert not any(a.kind.startswith("tls.") for a in result.anomalies)
    assert result.reachable_with_trusted_dns is True


def test_without_survivors_tried_trusted_dns_stays_unknown() -> None:
    result = judge(observations(raced(ABROAD1, FORGED), raced(ABROAD2, FORGED2), doh_blocked(),
                                tcp(FORGED, error="timeout")))
    assert result.verdict == "dns_blocked" and result.reachable_with_trusted_dns is None


def test_clean_twin_is_accessible_and_untouched() -> None:
    o = observations(query("probe", resp(REAL), resolver=ABROAD1),
                     query("probe", resp(REAL), resolver=ABROAD2), doh_blocked(),
                     tcp(REAL), hs(REAL, kind="benign"), fetch(REAL))
    result = judge(o)
    assert result.verdict == "accessible" and result.anomalies == ()
    assert DOMAIN in result.url
