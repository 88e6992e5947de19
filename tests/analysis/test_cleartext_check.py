"""The cleartext page behind an HTTPS failure (design §5.1), on recorded observations.

The DNS points the site at a blockpage server (an address no fingerprint lists) that serves
HTTPS with its own certificate to every SNI and its blockpage on port 80. Without looking at
the cleartext page this was `inconclusive` (one certificate for every name looks like the
server's own mistake); the http:// fetch with Host = the site shows the blockpage.
"""

from __future__ import annotations

import dataclasses

from reachcheck.analysis import judge
from reachcheck.model import HttpFetch, Observations
from reachcheck.rejudge import observations_of
from tests.analysis.builders import DOMAIN, REAL, cert, control, fetch, hs, query, system, tcp
from tests.analysis.builders import obs as observations

SERVER = "45.33.20.80"  # the blockpage server the DNS points to (never contacted: pure)
MM_PAGE = (
    "<html><head><title>Blocked</title></head><body><p>You have tried to access a web page "
    "which has been blocked as per directive received from the Ministry of Transport and "
    "Communications of Myanmar</p></body></html>"
)
PLAIN_PAGE = "<html><head><title>Moved</title></head><body>Please use HTTPS.</body></html>"


def _https_on_server() -> list[object]:
    own = cert(issuer="CN=Filter Appliance", subject="CN=filter", sha="bb")
    bad = dataclasses.replace(
        fetch(SERVER, ok=False, error="cert_unknown_ca", tls_ok=False),
        tls=hs(SERVER, error="cert_unknown_ca", crt=own),
    )
    return [tcp(SERVER), hs(SERVER, kind="benign", crt=own), bad]


def _plain(address: str, body: str) -> HttpFetch:
    return HttpFetch(url=f"http://{DOMAIN}/", address=address, ok=True, elapsed_ms=5.0,
                     status=200, title="x", body_length=len(body), body_head=body)


def _no_control(*cleartext: HttpFetch) -> Observations:
    o = observations(system(SERVER), query("control", error="timeout"), *_https_on_server())
    return dataclasses.replace(o, cleartext_fetches=cleartext)


def test_without_the_cleartext_page_it_is_inconclusive() -> None:
    # The state before the http:// fetch: nothing tells a censor from a broken server.
    assert judge(_no_control()).verdict == "inconclusive"


def test_blockpage_in_cleartext_is_direct_evidence() -> None:
    result = judge(_no_control(_plain(SERVER, MM_PAGE)))
    assert result.verdict == "http_blocked" and result.confidence == "confirmed"
    hit = next(a for a in result.anomalies if a.kind == "http.blockpage")
    assert "nat_mm_transportcomms_block" in hit.detail and hit.addresses == (SERVER,)
    assert hit.confirmed  # a fingerprint is direct evidence, in the record too
    assert result.cleartext_fetches and observations_of(result).cleartext_fetches  # re-judgeable


def test_an_unknown_cleartext_page_is_no_evidence() -> None:
    result = judge(_no_control(_plain(SERVER, PLAIN_PAGE)))
    assert result.verdict == "inconclusive"
    assert not any(a.kind == "http.blockpage" for a in result.anomalies)


def test_with_a_control_the_dns_lie_leads_and_the_blockpage_is_reported() -> None:
    o = observations(system(SERVER), control(REAL), *_https_on_server(),
                     tcp(REAL), hs(REAL, kind="benign"), fetch(REAL))
    result = judge(dataclasses.replace(o, cleartext_fetches=(_plain(SERVER, MM_PAGE),)))
    assert result.verdict == "dns_blocked"
    assert {"dns.inconsistent", "http.blockpage"} <= {a.kind for a in result.anomalies}
    assert result.reachable_with_trusted_dns is True
