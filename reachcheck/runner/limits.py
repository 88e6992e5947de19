"""Limits shared by every site of a run: per-address connections, per-resolver query rate,
the residual-blocking tracker, and the open-files limit.

All of them are keyed by something many sites share (an address, a resolver), which is why they
live for the whole run and not per site. Each keeps memory proportional to what is in flight or
recent, not to the length of the run.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import time
from collections.abc import AsyncIterator, Callable, Hashable
from contextlib import asynccontextmanager

from reachcheck.model import TlsHandshake

# Errors after which some censors keep blocking the (client, server, port) tuple for a while.
# Timeouts count: a blackholed tuple looks like one. "eof" is included because FIN-based
# blockers show the same residual behaviour; over-flagging only makes the analysis more careful.
RESIDUAL_TRIGGERS: frozenset[str] = frozenset({"reset", "timeout", "eof"})


class AddressLimiter:
    """At most `limit` connections in flight to one address, across all sites.

    Semaphores exist only while someone holds or waits for them, so memory follows the
    number of addresses in use, not the number ever seen.
    """

    def __init__(self, limit: int) -> None:
        self._limit = max(1, limit)
        self._slots: dict[str, tuple[asyncio.Semaphore, int]] = {}

    @asynccontextmanager
    async def hold(self, address: str) -> AsyncIterator[None]:
        """Hold one connection slot for `address` for the duration of the block."""
        sem, users = self._slots.get(address, (None, 0))
        if sem is None:
            sem = asyncio.Semaphore(self._limit)
        self._slots[address] = (sem, users + 1)
        try:
            async with sem:
                yield
        finally:
            sem, users = self._slots[address]
            if users <= 1:
                del self._slots[address]
            else:
                self._slots[address] = (sem, users - 1)

    def __len__(self) -> int:
        return len(self._slots)


class RateLimiter:
    """A token bucket per key (one per resolver): at most `rate` acquisitions per second on
    average, with bursts of up to `burst`. None = unlimited.

    Implemented as GCRA (a virtual "theoretical arrival time" per key): each caller reserves
    the next slot and sleeps until it, so waiters are served in order without a wake-up storm.
    """

    def __init__(
        self,
        rate: float | None,
        *,
        burst: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._rate = rate if rate and rate > 0 else None
        self._clock = clock
        self._interval = 1.0 / self._rate if self._rate else 0.0
        # Default burst: a tenth of a second's worth, at least one query.
        burst = burst if burst is not None else max(1.0, (self._rate or 0.0) / 10)
        self._tolerance = (max(1.0, burst) - 1.0) * self._interval
        self._tat: dict[Hashable, float] = {}

    @property
    def unlimited(self) -> bool:
        """No rate set: `reserve` always returns 0."""
        return self._rate is None

    def reserve(self, key: Hashable) -> float:
        """Reserve the next slot for `key`; return how long to wait for it (seconds)."""
        if self._rate is None:
            return 0.0
        now = self._clock()
        tat = max(self._tat.get(key, now), now)
        self._tat[key] = tat + self._interval
        return max(0.0, tat - self._tolerance - now)

    async def acquire(self, key: Hashable) -> None:
        """Wait until a query to `key` is allowed."""
        delay = self.reserve(key)
        if delay > 0:
            await asyncio.sleep(delay)


class ResidualTracker:
    """Remembers when target-SNI handshakes to an (address, port) were reset or timed out.

    Residual blocking is per (client, address, port), not per site: after a trigger, some
    censors keep failing the tuple for up to ~180 s, so a later site on the same CDN address
    may fail for the earlier site's sake. Times are run milliseconds (the `started_ms` clock).
    """

    _KEEP = 4  # failure times kept per tuple: enough to see past concurrent failures

    def __init__(self, window_s: float = 180.0) -> None:
        self._window_ms = window_s * 1000.0
        self._fails: dict[tuple[str, int], collections.deque[float]] = {}
        self._notes = 0

    def recent_failure(self, address: str, port: int, now_ms: float) -> bool:
        """True when a trigger on this tuple ended within the window before `now_ms`."""
        times = self._fails.get((address, port), ())
        return any(now_ms - self._window_ms <= t <= now_ms for t in times)

    def note(self, hs: TlsHandshake, end_ms: float) -> TlsHandshake:
        """Record a target-SNI handshake that ended at `end_ms`; return it, flagged
        `possibly_residual` when it failed after an earlier trigger on the same tuple."""
        # Any trigger on the tuple that ended before this handshake did may have caused this
        # failure, a concurrent one included: the censor penalises every packet of the tuple
        # after the trigger, so a handshake already under way when a CDN neighbour was reset
        # stalls too. (The first failure to end is the trigger; later ones are suspect.)
        if not hs.ok and self.recent_failure(hs.address, hs.port, end_ms):
            hs = dataclasses.replace(hs, possibly_residual=True)
        if not hs.ok and hs.error in RESIDUAL_TRIGGERS:
            key = (hs.address, hs.port)
            times = self._fails.get(key)
            if times is None:
                times = self._fails[key] = collections.deque(maxlen=self._KEEP)
            times.append(end_ms)
        self._notes += 1
        if self._notes % 1024 == 0:
            self._prune(end_ms)
        return hs

    def _prune(self, now_ms: float) -> None:
        """Forget tuples whose last trigger is outside the window (keeps memory flat)."""
        cutoff = now_ms - self._window_ms
        for key in [k for k, ts in self._fails.items() if max(ts) < cutoff]:
            del self._fails[key]

    def __len__(self) -> int:
        return len(self._fails)


def raise_nofile_limit(target: int = 65536) -> int | None:
    """Raise the soft RLIMIT_NOFILE towards the hard limit (hold-on keeps sockets open, and
    many sites in flight need many descriptors). Return the new soft limit, None if unknown."""
    try:
        import resource
    except ImportError:  # not on POSIX
        return None
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        want = target if hard == resource.RLIM_INFINITY else min(target, hard)
        if soft != resource.RLIM_INFINITY and soft < want:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
            return want
        return soft
    except (ValueError, OSError):
        return None
