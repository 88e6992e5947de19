"""The verdict reads an anomaly's structured qualifiers (`error`, `ambiguous`), never the words
of its `detail`: a site, SNI or error text that happens to contain "timeout" or "ambiguous"
must not change a judgement."""

from __future__ import annotations

import dataclasses

from reachcheck.analysis import anomalies, context, judge, verdict
from reachcheck.model import Anomaly, Observations, SiteResult, from_json, to_json
from tests.analysis.builders import REAL, control, hs, obs, system, tcp

WORDY = "timeout-ambiguous.example"  # a name holding both words the old rules looked for


def _sni_obs(error: str, domain: str) -> Observations:
    return obs(system(REAL), control(REAL), tcp(REAL), hs(REAL, kind="benign"),
               hs(REAL, error=error, sni=domain), target=domain)


def test_sni_filtering_carries_its_error() -> None:
    found = anomalies(_sni_obs("timeout", WORDY))
    assert [(a.kind, a.error, a.ambiguous) for a in found] == [
        ("tls.sni_filtering", "timeout", False)
    ]


def test_dropped_wording_follows_the_error_not_the_name() -> None:
    reset = judge(_sni_obs("reset", WORDY))
    dropped = judge(_sni_obs("timeout", WORDY))
    assert "timeout" in reset.anomalies[0].detail  # the name is in the text...
    assert "dropped" not in reset.summary  # ...yet a reset is not described as a drop
    assert "dropped" in dropped.summary
    assert reset.verdict == dropped.verdict == "tls_blocked"


def _genuine_reset(benign_fails: bool, domain: str) -> Observations:
    benign = hs(REAL, kind="benign", ok=not benign_fails,
                error="reset" if benign_fails else None)
    return obs(system(REAL), control(REAL), tcp(REAL), benign,
               hs(REAL, error="reset", sni=domain), target=domain)


def test_ambiguous_is_a_field_and_decides() -> None:
    both = judge(_genuine_reset(True, WORDY))
    assert [(a.kind, a.ambiguous, a.error) for a in both.anomalies] == [
        ("tls.reset", True, "reset")
    ]
    assert (both.verdict, both.confidence) == ("inconclusive", "none")


def test_ambiguous_word_in_a_name_is_not_ambiguity() -> None:
    # No benign handshake at all: nothing contradicts the reset, so it stays "likely".
    o = obs(system(REAL), control(REAL), tcp(REAL), hs(REAL, error="reset", sni=WORDY),
            target=WORDY)
    r = judge(o)
    assert [(a.kind, a.ambiguous) for a in r.anomalies] == [("tls.reset", False)]
    assert (r.verdict, r.confidence) == ("tls_blocked", "likely")


def test_verdict_ignores_detail_text() -> None:
    # The same anomalies with their detail rewritten to the words the old rules matched decide
    # exactly as before: the text is for people only.
    o = _genuine_reset(False, "www.example.com")
    facts = context.build(o, ())
    found = anomalies(o)
    noisy = [dataclasses.replace(a, detail="timeout ambiguous") for a in found]
    assert verdict.decide(facts, noisy).verdict == verdict.decide(facts, found).verdict
    assert verdict.decide(facts, noisy).confidence == verdict.decide(facts, found).confidence


def test_qualifiers_round_trip_and_default_for_older_files() -> None:
    r = judge(_genuine_reset(True, WORDY))
    data = to_json(r)
    assert data["anomalies"][0]["ambiguous"] is True and data["anomalies"][0]["error"] == "reset"
    assert from_json(SiteResult, data) == r
    old = {k: v for k, v in data["anomalies"][0].items() if k not in ("error", "ambiguous")}
    back = from_json(Anomaly, old)
    assert (back.error, back.ambiguous) == (None, False)
