"""http.throttled: slow transfers are reported; only a control server's faster fetch makes
them a verdict (a slow server is slow from everywhere)."""

from __future__ import annotations

import dataclasses

import pytest

from reachcheck.analysis import judge
from reachcheck.model import HttpFetch
from tests.analysis.builders import REAL, control, ctrl_server, fetch, hs, obs, system, tcp


def _timed(f: HttpFetch, length: int, ms: float) -> HttpFetch:
    return dataclasses.replace(f, body_length=length, body_ms=ms)


SLOW = _timed(fetch(REAL), 160_000, 5_500.0)  # ~28 KiB/s, like a 200 kbit/s shaper


def _site(f: HttpFetch, control_fetch: HttpFetch | None = None) -> object:
    server = ctrl_server(http=control_fetch) if control_fetch is not None else None
    return obs(system(REAL), control(REAL), tcp(REAL), hs(REAL, kind="benign"), f,
               control_server=server)


def test_slow_page_is_reported_but_not_held_against_the_network() -> None:
    result = judge(_site(SLOW))
    assert result.verdict == "accessible"
    assert [a.kind for a in result.anomalies] == ["http.throttled"]
    assert "slow" in result.summary and "KiB/s" in result.reason


def test_control_server_much_faster_makes_it_http_blocked() -> None:
    fast = _timed(fetch(REAL), 160_000, 40.0)
    result = judge(_site(SLOW, fast))
    assert (result.verdict, result.confidence) == ("http_blocked", "likely")
    assert "http.throttled" in {a.kind for a in result.anomalies}


def test_control_server_as_slow_is_not_blocking() -> None:
    result = judge(_site(SLOW, _timed(fetch(REAL), 160_000, 5_000.0)))
    assert result.verdict == "accessible"


@pytest.mark.parametrize(
    ("length", "ms"),
    [
        (160_000, 500.0),  # fast enough
        (4_000, 3_000.0),  # too small a page to measure a rate
        (200_000, 800.0),  # too short a transfer to measure a rate
    ],
)
def test_fast_or_unmeasurable_transfers_are_not_throttling(length: int, ms: float) -> None:
    result = judge(_site(_timed(fetch(REAL), length, ms)))
    assert result.verdict == "accessible"
    assert result.anomalies == ()
