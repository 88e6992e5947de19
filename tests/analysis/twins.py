"""Shared pieces of the twin tests (test_twins_*.py): a few more addresses and resolvers, and
short ways to read a judgement."""

from __future__ import annotations

from reachcheck.analysis import anomalies, judge
from reachcheck.model import Anomaly, Observations
from tests.analysis.builders import DOMAIN, REAL, query, resp

HTTP_URL = f"http://{DOMAIN}/"
PROBE_REAL = query("probe", resp(REAL))
DOH_SERVFAIL = query("control", resp(rcode="SERVFAIL"))  # the control answered, uselessly
REAL3 = "151.101.1.10"  # more genuine CDN nodes
REAL4 = "151.101.2.10"


def kinds_of(o: Observations) -> list[str]:
    """The sorted anomaly kinds of `o`."""
    return sorted(a.kind for a in anomalies(o))


def one_of(o: Observations, kind: str) -> Anomaly:
    """The one anomaly of `kind` (fails if there is none or several)."""
    (a,) = [a for a in anomalies(o) if a.kind == kind]
    return a


def outcome(o: Observations) -> tuple[str, str, list[str]]:
    """(verdict, confidence, sorted anomaly kinds) of `o`."""
    r = judge(o)
    return r.verdict, r.confidence, sorted(a.kind for a in r.anomalies)
