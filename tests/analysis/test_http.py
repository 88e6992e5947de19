"""HTTP rules: failures after connecting, fingerprints, offsite redirects, OONI's page diff."""

from __future__ import annotations

import dataclasses

import pytest

from reachcheck.analysis import anomalies
from reachcheck.analysis.http import compare, registrable
from reachcheck.model import Observations
from tests.analysis.builders import DOMAIN, REAL, control, ctrl_server, fetch, hop, obs, system, tcp

HTTP_URL = f"http://{DOMAIN}/"
BASE = (system(REAL), control(REAL))


def kinds(o: Observations) -> list[str]:
    return sorted(a.kind for a in anomalies(o) if a.stage == "http")


def clear(**kw: object) -> Observations:
    """A cleartext target fetched from the genuine address, plus a control server's fetch."""
    server = kw.pop("server", None)
    return obs(*BASE, tcp(REAL, port=80), fetch(REAL, url=HTTP_URL, **kw), target=HTTP_URL,
               control_server=server)  # type: ignore[arg-type]


GOOD = fetch(REAL, url=HTTP_URL)

CASES = [
    ("reset-after-tcp", clear(ok=False, error="reset"), ["http.reset"]),
    ("timeout-after-tls",
     obs(*BASE, tcp(REAL), fetch(REAL, ok=False, error="timeout", tls_ok=True)),
     ["http.timeout"]),
    ("protocol-error", clear(ok=False, error="http_protocol"), ["http.error"]),
    # OONI QA redirectWithBrokenLocation: the 302 arrived whole, its Location is broken.
    ("broken-location-is-the-sites",
     obs(*BASE, tcp(REAL, port=80), dataclasses.replace(
         fetch(REAL, url=HTTP_URL, ok=False, error="http_protocol"), status=302),
         target=HTTP_URL, control_server=ctrl_server(http=GOOD)), []),
    ("protocol-error-after-a-200-head",  # twin: not a redirect
     obs(*BASE, tcp(REAL, port=80), dataclasses.replace(
         fetch(REAL, url=HTTP_URL, ok=False, error="http_protocol"), status=200),
         target=HTTP_URL, control_server=ctrl_server(http=GOOD)), ["http.error"]),
    ("tls-failure-is-not-http",
     obs(*BASE, tcp(REAL), fetch(REAL, ok=False, error="reset", tls_ok=False)),
     []),
    ("redirect-loop-is-site", clear(ok=False, error="too_many_redirects"), []),
    ("blockpage-body", clear(body="<title>AGCOM Stop Page</title>"), ["http.blockpage"]),
    ("benign-injection-ignored", clear(headers={"location": "http://unblock.mts.ru/"}), []),
    ("blockpage-text-over-verified-https",
     obs(*BASE, tcp(REAL), fetch(REAL, body="<title>AGCOM Stop Page</title>")), []),
    ("offsite", clear(redirects=(hop(HTTP_URL, "http://warning.isp.test/"),),
                      final_url="http://warning.isp.test/"), ["http.redirect_offsite"]),
    ("offsite-relative-is-same-site", clear(redirects=(hop(HTTP_URL, "/en"),)), []),
    ("offsite-control-goes-there-too",
     clear(redirects=(hop(HTTP_URL, "https://coingecko.co.uk/"),),
           server=ctrl_server(http=fetch(REAL, final_url="https://www.coingecko.co.uk/"))), []),
    ("status-diff", clear(status=403, server=ctrl_server(http=GOOD)), ["http.status_diff"]),
    # OONI QA idnaWithoutCensorship: the site redirects everyone to another domain; the page we
    # end on is the control's own (same status, title and size).
    ("offsite-ends-on-the-controls-page",
     clear(redirects=(hop(HTTP_URL, "https://yandex.com/"),), final_url="https://yandex.com/",
           server=ctrl_server(http=GOOD)), []),
    ("offsite-ends-on-another-page",  # twin: a notice page elsewhere is still offsite
     clear(redirects=(hop(HTTP_URL, "http://warning.isp.test/"),),
           final_url="http://warning.isp.test/", title="Access Restricted", length=900,
           server=ctrl_server(http=GOOD)), ["http.body_diff", "http.redirect_offsite"]),
    # OONI QA cloudflareCAPTCHA: the CDN shows this client a browser check (503).
    ("cdn-challenge-not-status-diff",
     clear(status=503, title="Just a moment...", server=ctrl_server(http=GOOD)), []),
    ("status-503-other-page",  # twin: another 503 page is a status difference
     clear(status=503, title="Service unavailable here", server=ctrl_server(http=GOOD)),
     ["http.status_diff"]),
    ("body-diff", clear(length=300, title="Access Denied", names=("date", "server"),
                        server=ctrl_server(http=GOOD)), ["http.body_diff"]),
    ("same-page", clear(length=4800, server=ctrl_server(http=GOOD)), []),
    ("https-captcha-not-diffed",
     obs(*BASE, tcp(REAL), fetch(REAL, status=403, title="Just a moment"),
         control_server=ctrl_server(http=fetch(REAL))), []),
]


@pytest.mark.parametrize(("case", "o", "expected"), CASES, ids=[c[0] for c in CASES])
def test_http_rules(case: str, o: Observations, expected: list[str]) -> None:
    assert kinds(o) == expected


@pytest.mark.parametrize(
    ("host", "site"),
    [("www.coingecko.com", "coingecko.com"), ("a.b.bbc.co.uk", "bbc.co.uk"),
     ("news.sina.com.cn", "sina.com.cn"), ("10.1.2.3", "10.1.2.3"),
     ("Example.ORG.", "example.org")],
)  # fmt: skip
def test_registrable(host: str, site: str) -> None:
    assert registrable(host) == site


@pytest.mark.parametrize(
    ("probe", "expected"),
    [
        (fetch(REAL), (True, True, True, True)),
        (fetch(REAL, status=500), (False, True, True, True)),
        (fetch(REAL, length=3400), (True, False, True, True)),  # proportion 0.68 <= 0.7
        (fetch(REAL, length=3600), (True, True, True, True)),  # 0.72 > 0.7
        (fetch(REAL, names=("date", "server")), (True, True, False, True)),  # only common names
        (fetch(REAL, title="Prices"), (True, True, True, False)),  # long words differ
    ],
)  # fmt: skip
def test_compare_follows_ooni(probe, expected) -> None:
    assert compare(probe, fetch(REAL)) == expected


def test_compare_undecided_when_control_got_an_error() -> None:
    assert compare(fetch(REAL, status=200), fetch(REAL, status=503))[0] is None


def _broken_redirect(status: int) -> Observations:
    return obs(*BASE, tcp(REAL, port=80), dataclasses.replace(
        fetch(REAL, url=HTTP_URL, ok=False, error="http_protocol"), status=status),
        target=HTTP_URL, control_server=ctrl_server(http=GOOD))


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_every_redirect_status_with_a_broken_location_is_the_sites(status: int) -> None:
    assert kinds(_broken_redirect(status)) == []


@pytest.mark.parametrize("status", [300, 304, 305, 306, 309])
def test_neighbouring_statuses_are_no_redirect(status: int) -> None:
    # 300/304 carry no Location to follow; 305/306 are obsolete: a broken answer is an error.
    assert kinds(_broken_redirect(status)) == ["http.error"]
