"""Both sides of every named threshold of the analysis: a value just inside and one just outside,
so moving a constant or flipping `<` to `<=` fails a test (mutation testing found such rules
that no test pinned: tools/mutation/run.sh)."""

from __future__ import annotations

import dataclasses

import pytest

from reachcheck.analysis import anomalies, judge
from reachcheck.analysis.http import (
    THROTTLE_MIN_BYTES,
    THROTTLE_MIN_MS,
    THROTTLE_RATE,
    THROTTLE_RATIO,
    compare,
    transfer_rate,
)
from reachcheck.model import HttpFetch, Observations
from tests.analysis.builders import (
    CDN_OTHER,
    DOMAIN,
    REAL,
    control,
    ctrl_server,
    fetch,
    hs,
    obs,
    system,
    tcp,
)


def _timed(length: int | None, ms: float | None) -> HttpFetch:
    return dataclasses.replace(fetch(REAL), body_length=length, body_ms=ms)


def _site(f: HttpFetch, control_fetch: HttpFetch | None = None) -> Observations:
    server = ctrl_server(http=control_fetch) if control_fetch is not None else None
    return obs(system(REAL), control(REAL), tcp(REAL), hs(REAL, kind="benign"), f,
               control_server=server)  # fmt: skip


def _kinds(o: Observations) -> list[str]:
    return [a.kind for a in anomalies(o)]


def test_the_constants_are_the_documented_ones() -> None:
    # The cases below are written against these values (design §4: ~512 kbit/s for 1 s).
    assert (THROTTLE_RATE, THROTTLE_MIN_MS, THROTTLE_MIN_BYTES, THROTTLE_RATIO) == (
        65536, 1000.0, 16384, 10.0)


# ------------------------------------------------------------------------------ throttling

# (bytes, ms, throttled): each pair sits on both sides of one threshold, the others well met.
THROTTLE_EDGES = [
    # THROTTLE_MIN_MS: 20 kB at 20 kB/s is slow; only the duration decides.
    (20_000, 1000.0, True),
    (19_980, 999.0, False),
    # THROTTLE_MIN_BYTES: 2 s transfers, far below the rate.
    (16_384, 2000.0, True),
    (16_383, 2000.0, False),
    # THROTTLE_RATE: exactly 64 KiB/s is not below it; one byte per 2 s less is.
    (131_071, 2000.0, True),  # 65535.5 B/s
    (131_072, 2000.0, False),  # 65536 B/s
    (200_000, 2000.0, False),  # well above the rate
]


@pytest.mark.parametrize(("length", "ms", "throttled"), THROTTLE_EDGES)
def test_throttle_thresholds(length: int, ms: float, throttled: bool) -> None:
    result = judge(_site(_timed(length, ms)))
    assert [a.kind for a in result.anomalies] == (["http.throttled"] if throttled else [])
    assert result.verdict == "accessible"  # no control server: reported, never a verdict
    assert ("slow" in result.summary) is throttled


def test_transfer_rate_guards() -> None:
    assert transfer_rate(_timed(20_000, 500.0)) == 40_000.0
    assert transfer_rate(_timed(1_000, 3000.0)) == pytest.approx(333.333, abs=0.001)
    assert transfer_rate(_timed(20_000, 0.0)) is None  # no duration: no rate
    assert transfer_rate(_timed(20_000, 1.0)) == 20_000_000.0  # 1 ms is a duration
    assert transfer_rate(_timed(20_000, -1.0)) is None
    assert transfer_rate(_timed(20_000, None)) is None
    assert transfer_rate(_timed(None, 500.0)) is None


SLOW = _timed(20_000, 1000.0)  # 20,000 B/s


@pytest.mark.parametrize(
    ("control_bytes", "verdict"),
    [
        (200_000, "http_blocked"),  # exactly THROTTLE_RATIO x faster (1 s each)
        (199_990, "accessible"),  # just under
        (2_000_000, "http_blocked"),  # 100x: far beyond
        (40_000, "accessible"),  # 2x: a slow server is slow from everywhere
    ],
)
def test_throttle_ratio_against_the_control_server(control_bytes: int, verdict: str) -> None:
    result = judge(_site(SLOW, _timed(control_bytes, 1000.0)))
    assert (result.verdict, [a.kind for a in result.anomalies]) == (verdict, ["http.throttled"])
    if verdict == "http_blocked":
        assert result.confidence == "likely"
    else:  # reported with both rates
        assert "the control server got" in result.reason and "slow" in result.summary


def test_throttle_needs_a_control_fetch_that_succeeded() -> None:
    failed = dataclasses.replace(_timed(2_000_000, 1000.0), ok=False, error="timeout")
    assert judge(_site(SLOW, failed)).verdict == "accessible"
    unmeasured = _timed(2_000_000, None)
    assert judge(_site(SLOW, unmeasured)).verdict == "accessible"


def test_throttled_on_a_non_genuine_address_is_not_reported() -> None:
    # Cleartext, so nothing validates the address: only a control can make it genuine.
    url = f"http://{DOMAIN}/"
    other = dataclasses.replace(fetch(CDN_OTHER, url=url), body_length=20_000, body_ms=2000.0)
    o = obs(system(REAL, CDN_OTHER), control(REAL), tcp(CDN_OTHER, port=80), other, target=url)
    assert "http.throttled" not in _kinds(o)
    # The twin without any control: nothing says the address is not the site's, so it counts.
    o = obs(system(CDN_OTHER), tcp(CDN_OTHER, port=80), other, target=url)
    assert "http.throttled" in _kinds(o)


# -------------------------------------------------------------------- OONI page comparison

CTRL = fetch(REAL, length=5000)


@pytest.mark.parametrize(
    ("length", "same_body"),
    [(3501, True), (3500, False), (7142, True), (7143, False)],  # proportion 0.7 both ways
)
def test_body_length_proportion(length: int, same_body: bool) -> None:
    assert compare(fetch(REAL, length=length), CTRL)[1] is same_body


def test_body_length_undecided_when_either_is_empty_or_truncated() -> None:
    assert compare(fetch(REAL, length=0), CTRL)[1] is None
    assert compare(fetch(REAL, length=4000), fetch(REAL, length=0))[1] is None
    cut = dataclasses.replace(fetch(REAL, length=100), body_truncated=True)
    assert compare(cut, CTRL)[1] is None
    assert compare(fetch(REAL, length=100), cut)[1] is None


@pytest.mark.parametrize(
    ("ctrl_status", "decided"), [(199, False), (200, True), (299, True), (300, False)]
)
def test_status_compared_only_when_the_control_got_a_2xx(ctrl_status: int, decided: bool) -> None:
    status = compare(fetch(REAL, status=403), fetch(REAL, status=ctrl_status))[0]
    assert status is (False if decided else None)


def test_title_words_of_five_letters_or_more() -> None:
    ctrl = fetch(REAL, title="Cryptocurrency Prices Charts")
    assert compare(fetch(REAL, title="Cryptocurrency Prices Charts Abcd"), ctrl)[3] is True
    assert compare(fetch(REAL, title="Cryptocurrency Prices Charts Abcde"), ctrl)[3] is False
    assert compare(fetch(REAL, title="CRYPTOCURRENCY prices charts"), ctrl)[3] is True
    cut = dataclasses.replace(fetch(REAL, title="Other"), body_truncated=True)
    assert compare(cut, ctrl)[3] is None  # a cut body may have lost the real title
    assert compare(fetch(REAL, title=""), ctrl)[3] is None


def test_header_names_common_ones_say_nothing() -> None:
    site = ("date", "x-site-id")
    assert compare(fetch(REAL, names=site), fetch(REAL, names=site))[2] is True
    assert compare(fetch(REAL, names=("date", "x-site-id", "server")),
                   fetch(REAL, names=("date", "x-site-id")))[2] is True  # fmt: skip
    assert compare(fetch(REAL, names=("date", "server")), fetch(REAL, names=site))[2] is False
    assert compare(fetch(REAL, names=()), fetch(REAL, names=site))[2] is None
