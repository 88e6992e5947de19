"""`--via`: the user's own proxy abroad as the outside view, and a local "VPN" in the path.

- Real proxies in the world (tests/lab/proxies.py): dante (SOCKS5) and tinyproxy (HTTP CONNECT
  with Basic auth). One reachcheck run per proxy over the scenarios an outside view decides
  (blackhole, reset, interceptor, blockpage, site down) and their clean twins; each must meet
  the scenario's `control_*` expectations (the proxy plays the control server's role), and
  `reachable_via_proxy` must say whether the site answered through the proxy. The same
  scenarios without `--via` are judged in test_scenarios.py (the one-vantage answers).
- A proxy refusing our credentials stops the run before it starts (exit 2, one line).
- Local VPN (Clash TUN + fake-ip, tests/lab/fakeclash.py): every DNS query hijacked to fake-ip
  placeholders, every connection carried by the local proxy (one name routed DIRECT through the
  censor): no site may come out blocked, every result says the path is not direct, and the run
  warns.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from reachcheck.model import BLOCKED_VERDICTS
from tests.lab import netns, proxies
from tests.lab.conftest import Run, run_reachcheck
from tests.lab.scenarios import BY_NAME
from tests.lab.test_scenarios import _explain, _has, _kinds

pytestmark = pytest.mark.lab

VIA = ["ip-blackhole", "ip-blackhole~twin", "ip-reset", "ip-reset~twin", "tls-mitm",
       "tls-mitm~twin", "tls-mitm-one-cert", "tls-mitm-one-cert~twin",
       "http-blockpage", "http-blockpage~twin", "server-down", "server-blackholed", "dns-and-sni",
       "unknown-blockpage-403"]
VPN = ["dns-injection", "dns-injection~twin", "sni-reset", "sni-reset~twin", "ip-blackhole",
       "tls-mitm", "http-blockpage", "isp-bogon", "site-nxdomain"]
VPN_DIRECT = ("tradingview.test",)  # sni-reset's name: the local proxy sends it DIRECT


@pytest.fixture(scope="module")
def proxied(lab: netns.Lab) -> netns.Lab:
    why = proxies.missing_tools()
    if why:
        pytest.fail("lab proxies unavailable: " + "; ".join(why))
    proxies.start_proxies(lab)
    return lab


def _run(lab: netns.Lab, names: list[str], *extra: str, **kw: Any) -> Run:
    lab.reset_residual()
    return run_reachcheck(lab, [BY_NAME[n].target for n in names], *extra, **kw)


@pytest.fixture(scope="module", params=["socks5", "http"])
def via_run(request: pytest.FixtureRequest, proxied: netns.Lab) -> Run:
    url = proxies.socks_url() if request.param == "socks5" else proxies.http_url()
    return _run(proxied, VIA, "--via", url)


@pytest.mark.parametrize("name", VIA)
def test_with_via(name: str, via_run: Run) -> None:
    scenario = BY_NAME[name]
    result = via_run.by_domain[scenario.domain]
    why = f"{name} ({scenario.note}) via proxy: {_explain(result)}"
    view = result["control"]
    assert view is not None and view["kind"] == "proxy" and view["ok"] is True, \
        f"proxy view: {view and view['error']}; {why}"
    assert result["verdict"] in (scenario.control_verdicts or scenario.verdicts), why
    want = scenario.control_anomalies or scenario.anomalies
    missing = [k for k in sorted(want) if not _has(_kinds(result), k)]
    assert not missing, f"missing anomalies {missing}: {why}"
    if scenario.twin_of is not None:
        assert _kinds(result) == [], f"a clean twin must show no anomaly: {why}"
    if scenario.control_confirmed:
        assert result["confidence"] == "confirmed", why
    assert result["reachable_via_proxy"] is (scenario.server == "up"), why
    assert result["local_proxy"] is None, why


def test_via_turns_inconclusive_into_confirmed(via_run: Run) -> None:
    """The issue's promise: what one vantage leaves inconclusive, the proxy decides."""
    expected = {"ip-blackhole": "tcp_blocked", "ip-reset": "tcp_blocked",
                "tls-mitm-one-cert": "tls_blocked", "server-blackholed": "site_down"}
    for name, verdict in expected.items():
        result = via_run.by_domain[BY_NAME[name].domain]
        assert (result["verdict"], result["confidence"]) == (verdict, "confirmed"), \
            f"{name}: {_explain(result)}"
    assert via_run.code == 1, via_run.stderr


def test_wrong_proxy_password(proxied: netns.Lab) -> None:
    code, doc, stderr = proxied.reachcheck([BY_NAME["ip-reset~twin"].target], "--via",
                                           proxies.http_url("not-the-password"))
    assert code == 2 and doc is None, stderr
    assert stderr.strip().startswith("reachcheck: error: proxy http://labuser:***@"), stderr
    assert "not-the-password" not in stderr


@pytest.fixture(scope="module", params=["pool-declared", "pool-unknown"])
def vpn_run(request: pytest.FixtureRequest, proxied: netns.Lab) -> Iterator[Run]:
    """With the proxy's fake-ip range given (--fake-ip-pool), and without: then the hijacked
    DNS itself (one TTL-1 answer from every resolver, the injection probe too) must show it."""
    pool = ["--fake-ip-pool", proxies.FAKE_POOL] if request.param == "pool-declared" else []
    with proxies.local_vpn(proxied, direct=VPN_DIRECT):
        yield _run(proxied, VPN, *pool, quiet=False)


@pytest.mark.parametrize("name", VPN)
def test_local_vpn_claims_no_block(name: str, vpn_run: Run) -> None:
    result = vpn_run.by_domain[BY_NAME[name].domain]
    why = f"{name} behind a local fake-ip proxy: {_explain(result)}"
    fake = [a for q in result["dns"] if q["role"] == "system" for r in q["responses"]
            for a in r["addresses"]]
    assert fake and all(a.startswith("10.98.") for a in fake), f"not hijacked: {fake}; {why}"
    assert result["verdict"] not in BLOCKED_VERDICTS, why
    assert result["local_proxy"], why


def test_local_vpn_warns(vpn_run: Run) -> None:
    assert "warning: the path is not direct" in vpn_run.stderr, vpn_run.stderr
    assert "--via" in vpn_run.stderr
    assert vpn_run.code != 1, vpn_run.stderr
