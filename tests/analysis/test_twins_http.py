"""Twins for the HTTP rules (http.py): pairs of observations one fact apart, where the fact flips
exactly one condition, with the exact outcome on both sides. Mutation testing
(tools/mutation/run.sh) found each of them unpinned."""

from __future__ import annotations

import dataclasses

import pytest

from reachcheck.analysis.http import registrable
from tests.analysis.builders import (
    CDN_OTHER,
    DOMAIN,
    REAL,
    REAL2,
    control,
    ctrl_server,
    fetch,
    hop,
    obs,
    system,
    tcp,
)  # fmt: skip
from tests.analysis.twins import (
    HTTP_URL,
    REAL3,
    kinds_of,
    one_of,
)  # fmt: skip


def test_registrable_keeps_ip_literals_whole_only() -> None:
    assert registrable("x.123.example.com") == "example.com"  # a digit label mid-name
    assert registrable("10.1.2.3") == "10.1.2.3"


def test_request_failures_look_at_every_fetch() -> None:
    good = fetch(REAL2, url=HTTP_URL)
    bad = fetch(REAL, ok=False, url=HTTP_URL, error="reset")
    ctrl = control(REAL, REAL2)
    # A successful fetch first: the failing one after it still counts.
    o = obs(system(REAL, REAL2), ctrl, tcp(REAL, port=80), good, bad, target=HTTP_URL)
    assert kinds_of(o) == ["http.reset"]
    # A failure on a non-genuine address first.
    off = fetch(CDN_OTHER, ok=False, url=HTTP_URL, error="timeout")
    o = obs(system(REAL, CDN_OTHER), control(REAL), tcp(CDN_OTHER, port=80), tcp(REAL, port=80),
            off, bad, target=HTTP_URL)  # fmt: skip
    assert kinds_of(o) == ["http.reset"]
    # A failure that never connected first (its TCP stage failed).
    o = obs(system(REAL, REAL2), ctrl, tcp(REAL2, port=80, error="timeout"), tcp(REAL, port=80),
            fetch(REAL2, ok=False, url=HTTP_URL, error="timeout"), bad, target=HTTP_URL)
    assert kinds_of(o) == ["http.reset", "tcp.timeout"]


def test_control_redirect_hop_counts_as_where_the_site_goes() -> None:
    probe = fetch(REAL, url=HTTP_URL, final_url="http://www.coingecko.co.uk/",
                  redirects=(hop(HTTP_URL, "http://www.coingecko.co.uk/"),))  # fmt: skip
    via = fetch(REAL, url=HTTP_URL, final_url=f"https://{DOMAIN}/uk",
                redirects=(hop(HTTP_URL, "http://www.coingecko.co.uk/"),))  # fmt: skip
    o = obs(system(REAL), control(REAL), tcp(REAL, port=80), probe, target=HTTP_URL,
            control_server=ctrl_server(http=via))  # fmt: skip
    assert kinds_of(o) == []
    stays = fetch(REAL, url=HTTP_URL)
    # Twin: the control stays and the probe ends on another page than the control's.
    elsewhere = dataclasses.replace(probe, title="Regional notice", body_length=900)
    o = obs(system(REAL), control(REAL), tcp(REAL, port=80), elsewhere, target=HTTP_URL,
            control_server=ctrl_server(http=stays))  # fmt: skip
    assert kinds_of(o) == ["http.body_diff", "http.redirect_offsite"]
    # ... but ending on the control's own page, the redirect is where the site sends everyone.
    o = obs(system(REAL), control(REAL), tcp(REAL, port=80), probe, target=HTTP_URL,
            control_server=ctrl_server(http=stays))  # fmt: skip
    assert kinds_of(o) == []


def test_same_headers_match_even_when_all_are_common() -> None:
    from reachcheck.analysis.http import compare

    common = ("date", "server")
    assert compare(fetch(REAL, names=common), fetch(REAL, names=common))[2] is True
    # The probe's uncommon names are a subset of the control's: they still share one.
    assert compare(fetch(REAL, names=("date", "x-a")),
                   fetch(REAL, names=("date", "x-a", "x-b")))[2] is True  # fmt: skip
    assert compare(fetch(REAL, length=1), fetch(REAL, length=1))[1] is True


def test_no_diff_when_the_control_got_an_error_page() -> None:
    o = obs(system(REAL), control(REAL), tcp(REAL, port=80),
            fetch(REAL, url=HTTP_URL, status=200, length=4800),
            control_server=ctrl_server(http=fetch(REAL, url=HTTP_URL, status=503, length=300,
                                                  title="Service Unavailable")),
            target=HTTP_URL)  # fmt: skip
    assert kinds_of(o) == []


def test_throttled_detail_gives_rate_size_and_time() -> None:
    slow = dataclasses.replace(fetch(REAL), body_length=20_000, body_ms=1000.0)
    o = obs(system(REAL), control(REAL), tcp(REAL), slow)
    assert one_of(o, "http.throttled").detail == (
        f"page from {REAL} arrived at 20 KiB/s (20000 bytes in 1.0 s)")


def test_registrable_of_a_name_with_a_numeric_label() -> None:
    assert registrable("a.123.com") == "123.com"


def test_blockpage_after_a_verified_fetch() -> None:
    verified = fetch(REAL)
    page = fetch(REAL, url=HTTP_URL, body="<title>AGCOM Stop Page</title>")
    o = obs(system(REAL), control(REAL), tcp(REAL), tcp(REAL, port=80), verified, page)
    assert kinds_of(o) == ["http.blockpage"]


def test_offsite_redirect_among_other_hops() -> None:
    hops = (hop(f"https://{DOMAIN}/", "http://warning.isp.test/"),  # not cleartext: skipped
            hop(HTTP_URL, f"https://{DOMAIN}/en"),  # same site
            hop(f"http://{DOMAIN}/en", "http://warning.isp.test/"))  # fmt: skip
    o = obs(system(REAL), control(REAL), tcp(REAL, port=80),
            fetch(REAL, url=HTTP_URL, redirects=hops), target=HTTP_URL)  # fmt: skip
    assert kinds_of(o) == ["http.redirect_offsite"]
    # Two fetches redirecting away: one anomaly.
    twice = fetch(REAL, url=HTTP_URL, redirects=(hop(HTTP_URL, "http://warning.isp.test/"),))
    o = obs(system(REAL), control(REAL), tcp(REAL, port=80), twice, twice, target=HTTP_URL)
    assert kinds_of(o) == ["http.redirect_offsite"]


def test_blockpage_in_a_redirect_location() -> None:
    # The Thai blockpage redirect: the final page itself matches nothing.
    hops = (hop(HTTP_URL, "http://103.86.50.16/blocked"),)
    o = obs(system(REAL), control(REAL), tcp(REAL, port=80),
            fetch(REAL, url=HTTP_URL, redirects=hops, final_url="http://103.86.50.16/blocked"),
            target=HTTP_URL)  # fmt: skip
    assert "http.blockpage" in kinds_of(o)


def test_throttled_details_round_like_people_do() -> None:
    slow = dataclasses.replace(fetch(REAL), body_length=20_000, body_ms=1050.0)
    fast = dataclasses.replace(fetch(REAL), body_length=1_000_000, body_ms=1000.0)
    o = obs(system(REAL), control(REAL), tcp(REAL), slow, control_server=ctrl_server(http=fast))
    assert one_of(o, "http.throttled").detail == (
        f"page from {REAL} arrived at 19 KiB/s (20000 bytes in 1.1 s); "
        "the control server got 977 KiB/s")


def test_throttled_time_rounds_on_the_millisecond() -> None:
    slow = dataclasses.replace(fetch(REAL), body_length=20_000, body_ms=1049.0)
    o = obs(system(REAL), control(REAL), tcp(REAL), slow)
    assert one_of(o, "http.throttled").detail.endswith("(20000 bytes in 1.0 s)")


def test_registrable_of_a_name_starting_with_digits() -> None:
    assert registrable("123.example.com") == "example.com"


def test_each_request_failure_kind_is_reported_once() -> None:
    fails = [fetch(a, ok=False, url=HTTP_URL, error=e)
             for a, e in ((REAL, "reset"), (REAL2, "reset"), (REAL3, "timeout"))]  # fmt: skip
    o = obs(system(REAL, REAL2, REAL3), control(REAL, REAL2, REAL3),
            *(tcp(a, port=80) for a in (REAL, REAL2, REAL3)), *fails, target=HTTP_URL)
    assert kinds_of(o) == ["http.reset", "http.timeout"]


def test_uncommon_headers_only_on_the_probe_are_not_shared() -> None:
    from reachcheck.analysis.http import compare

    assert compare(fetch(REAL, names=("date", "server", "x-a")),
                   fetch(REAL, names=("date", "server")))[2] is False  # fmt: skip


def test_a_slow_fetch_after_a_fast_one_is_throttling() -> None:
    fast = dataclasses.replace(fetch(REAL), body_length=200_000, body_ms=1000.0)
    slow = dataclasses.replace(fetch(REAL2), body_length=20_000, body_ms=2000.0)
    o = obs(system(REAL, REAL2), control(REAL, REAL2), tcp(REAL), tcp(REAL2), fast, slow)
    assert one_of(o, "http.throttled").addresses == (REAL2,)


@pytest.mark.parametrize(("length", "kib"), [(19_967, 19), (19_968, 20)])
def test_throttled_rate_rounds_to_whole_kib(length: int, kib: int) -> None:
    slow = dataclasses.replace(fetch(REAL), body_length=length, body_ms=1000.0)
    o = obs(system(REAL), control(REAL), tcp(REAL), slow)
    assert f"arrived at {kib} KiB/s " in one_of(o, "http.throttled").detail


def test_blockpage_after_a_redirect_to_cleartext() -> None:
    f = fetch(REAL, final_url=f"http://{DOMAIN}/blocked", body="<title>AGCOM Stop Page</title>")
    o = obs(system(REAL), control(REAL), tcp(REAL), f)
    assert kinds_of(o) == ["http.blockpage"]


def test_redirects_of_https_hops_are_not_judged() -> None:
    hops = (hop(f"https://{DOMAIN}/", "https://www.other-site.example/"),)
    o = obs(system(REAL), control(REAL), tcp(REAL), fetch(REAL, redirects=hops))
    assert kinds_of(o) == []


def test_status_codes_compare_by_value() -> None:
    from reachcheck.analysis.http import compare

    assert compare(fetch(REAL, status=int("403")), fetch(REAL, status=int("403")))[0] is True


def test_uncommon_headers_only_on_the_control_are_not_shared() -> None:
    from reachcheck.analysis.http import compare

    assert compare(fetch(REAL, names=("date", "server")),
                   fetch(REAL, names=("date", "server", "x-a")))[2] is False  # fmt: skip


def test_status_diff_after_a_verified_fetch() -> None:
    o = obs(system(REAL), control(REAL), tcp(REAL), tcp(REAL, port=80), fetch(REAL),
            fetch(REAL, url=HTTP_URL, status=403), target=HTTP_URL,
            control_server=ctrl_server(http=fetch(REAL, url=HTTP_URL)))  # fmt: skip
    assert kinds_of(o) == ["http.status_diff"]
