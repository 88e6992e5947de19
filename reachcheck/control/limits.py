"""Admission control for the control server: a per-client token bucket and an in-flight cap.

Both answer immediately (never queue): a public server that queues work under load only turns
overload into timeouts. The clock is injected so the tests need no sleeps.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(slots=True)
class _Bucket:
    tokens: float
    stamp: float


class ClientRequestLimiter:
    """Token buckets keyed by client address: `rate` requests per second, bursts of `burst`.

    The table is bounded (`max_clients`, least recently seen evicted first) so a flood from many
    source addresses cannot grow memory without limit; an evicted client simply starts full.
    """

    def __init__(
        self,
        rate: float,
        burst: int,
        *,
        max_clients: int = 65536,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self.rate = rate
        self.burst = burst
        self._max = max_clients
        self._clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def acquire(self, client: str) -> float:
        """Take one token for `client`: 0.0 when allowed, else seconds until one is available."""
        now = self._clock()
        bucket = self._buckets.pop(client, None)
        if bucket is None:
            bucket = _Bucket(float(self.burst), now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.stamp) * self.rate)
        bucket.stamp = now
        self._buckets[client] = bucket  # re-insert: most recently seen last
        while len(self._buckets) > self._max:
            self._buckets.popitem(last=False)
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self.rate


class InflightGate:
    """At most `limit` measurements at once; `try_enter` refuses instead of waiting."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("limit must be >= 1")
        self.limit = limit
        self.inflight = 0

    def try_enter(self) -> bool:
        """Claim a slot; False when all are taken. Pair a True with `leave()`."""
        if self.inflight >= self.limit:
            return False
        self.inflight += 1
        return True

    def leave(self) -> None:
        """Release a slot claimed by `try_enter`."""
        self.inflight -= 1


def retry_after(seconds: float) -> str:
    """A Retry-After header value: whole seconds, at least 1."""
    return str(max(1, math.ceil(seconds)))
