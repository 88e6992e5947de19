"""Per-client token buckets and the in-flight gate."""

from __future__ import annotations

import pytest

from reachcheck.control.limits import ClientRequestLimiter, InflightGate, retry_after


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_bucket_allows_a_burst_then_refuses_with_the_wait() -> None:
    clock = Clock()
    limiter = ClientRequestLimiter(rate=2.0, burst=3, clock=clock)
    assert [limiter.acquire("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.acquire("a") == pytest.approx(0.5)
    clock.now += 0.5  # one token back at 2/s
    assert limiter.acquire("a") == 0.0
    assert limiter.acquire("a") > 0


def test_buckets_are_per_client() -> None:
    limiter = ClientRequestLimiter(rate=1.0, burst=1, clock=Clock())
    assert limiter.acquire("a") == 0.0
    assert limiter.acquire("a") > 0
    assert limiter.acquire("b") == 0.0


def test_bucket_never_refills_past_the_burst() -> None:
    clock = Clock()
    limiter = ClientRequestLimiter(rate=1.0, burst=2, clock=clock)
    limiter.acquire("a")
    clock.now += 3600
    assert [limiter.acquire("a") for _ in range(3)][-1] > 0


def test_client_table_is_bounded() -> None:
    limiter = ClientRequestLimiter(rate=1.0, burst=1, max_clients=2, clock=Clock())
    for client in ("a", "b", "c"):
        limiter.acquire(client)
    # "a" was evicted (least recently seen), so it starts with a full bucket again.
    assert limiter.acquire("a") == 0.0
    assert limiter.acquire("c") > 0


def test_gate_refuses_past_the_limit_and_frees_slots() -> None:
    gate = InflightGate(2)
    assert gate.try_enter() and gate.try_enter()
    assert not gate.try_enter()
    gate.leave()
    assert gate.try_enter()
    assert gate.inflight == 2


@pytest.mark.parametrize(("seconds", "header"), [(0.01, "1"), (1.0, "1"), (2.2, "3")])
def test_retry_after_is_whole_seconds(seconds: float, header: str) -> None:
    assert retry_after(seconds) == header


def test_bad_settings_are_rejected() -> None:
    with pytest.raises(ValueError):
        ClientRequestLimiter(rate=0, burst=1)
    with pytest.raises(ValueError):
        InflightGate(0)
