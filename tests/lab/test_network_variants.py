"""Whole-network variants, each a short reachcheck run of its own on the same lab.

- control unreachable: the censor drops all traffic to the DoH resolver; reachcheck must judge
  on control-free evidence only (design §5) and never call a clean site blocked;
- link down: the client's only link is down; everything fails at once -> inconclusive, exit 3,
  and the run says the local network looks down;
- DNS intercepted, control unreachable: every DNS datagram, whatever its address, is answered by
  the ISP resolver (the injection probe's silent address too) and DoH is cut: an answer from the
  injection probe then shows the interception, not a forgery, so a name that does not exist is
  never "blocked" (our own build machines look like this).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from reachcheck.model import BLOCKED_VERDICTS
from tests.lab import netns
from tests.lab.conftest import Run, run_reachcheck
from tests.lab.scenarios import BY_NAME

pytestmark = pytest.mark.lab

# Scenario -> verdicts allowed when no control resolver answers (design §5: injection, an SNI
# reset next to a passing benign SNI and verified TLS need no control; a lone NXDOMAIN from one
# resolver against another's TLS-validated answer is still DNS blocking, or at worst unclear).
NO_CONTROL: dict[str, frozenset[str]] = {
    "dns-injection~twin": frozenset({"accessible"}),
    "sni-reset~twin": frozenset({"accessible"}),
    "dns-injection": frozenset({"dns_blocked"}),
    "sni-reset": frozenset({"tls_blocked"}),
    "isp-nxdomain": frozenset({"dns_blocked", "inconclusive"}),
    "site-nxdomain": frozenset({"site_down", "inconclusive"}),
}


def _explain(r: dict[str, Any]) -> str:
    kinds = sorted({a["kind"] for a in r["anomalies"]})
    return f"{r['domain']}: verdict={r['verdict']} anomalies={kinds} reason={r['reason']!r}"


@pytest.fixture(scope="module")
def no_control_run(lab: netns.Lab) -> Iterator[Run]:
    lab.reset_residual()
    lab.set_control_blocked(True)
    try:
        yield run_reachcheck(lab, [BY_NAME[n].target for n in NO_CONTROL])
    finally:
        lab.set_control_blocked(False)


# Known reachcheck gaps (strict xfail: red again once fixed, so the marker gets removed).
NO_CONTROL_GAPS: dict[str, str] = {}


@pytest.mark.parametrize("name", [
    pytest.param(n, marks=[pytest.mark.xfail(reason=NO_CONTROL_GAPS[n], strict=True)]
                 if n in NO_CONTROL_GAPS else [])
    for n in sorted(NO_CONTROL)
])
def test_control_unreachable(name: str, no_control_run: Run) -> None:
    result = no_control_run.by_domain[BY_NAME[name].domain]
    doh = [q for q in result["dns"] if q["role"] == "control"]
    assert doh and all(not q["responses"] for q in doh), "the variant must cut the control off"
    assert result["verdict"] in NO_CONTROL[name], _explain(result)


def test_link_down(lab: netns.Lab) -> None:
    names = ["dns-injection~twin", "sni-reset", "site-nxdomain"]
    lab.set_link(False)
    try:
        run = run_reachcheck(lab, [BY_NAME[n].target for n in names], quiet=False)
    finally:
        lab.set_link(True)
    for r in run.doc["results"]:
        assert r["verdict"] == "inconclusive", _explain(r)
        assert r["verdict"] not in BLOCKED_VERDICTS
    assert run.code == 3, run.stderr
    assert "network looks down" in run.stderr


# Scenario -> verdicts allowed on a network that intercepts DNS, with no control answering.
INTERCEPTED: dict[str, frozenset[str]] = {
    "site-nxdomain": frozenset({"site_down", "inconclusive"}),
    "dns-injection~twin": frozenset({"accessible"}),
}


@pytest.fixture(scope="module")
def intercepted_run(lab: netns.Lab) -> Iterator[Run]:
    lab.reset_residual()
    lab.set_control_blocked(True)
    lab.set_dns_intercepted(True)
    try:
        yield run_reachcheck(lab, [BY_NAME[n].target for n in INTERCEPTED])
    finally:
        lab.set_dns_intercepted(False)
        lab.set_control_blocked(False)


@pytest.mark.parametrize("name", sorted(INTERCEPTED))
def test_dns_intercepted_without_control(name: str, intercepted_run: Run) -> None:
    result = intercepted_run.by_domain[BY_NAME[name].domain]
    probe = [q for q in result["dns"] if q["role"] == "injection"]
    assert probe and all(q["responses"] for q in probe), "the variant must answer the probe"
    assert result["verdict"] in INTERCEPTED[name], _explain(result)
    assert "dns.injection" not in {a["kind"] for a in result["anomalies"]}, _explain(result)
