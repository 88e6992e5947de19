"""Many timers on one event-loop timer, for the thousands of exchanges a big scan keeps open."""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Callable, Hashable


class Timer:
    """A timer of `Timers` (cancel() is all a caller needs, like asyncio.TimerHandle)."""

    __slots__ = ("when", "callback", "cancelled")

    def __init__(self, when: float, callback: Callable[[], None]) -> None:
        self.when, self.callback, self.cancelled = when, callback, False

    def cancel(self) -> None:
        self.cancelled = True


class Timers:
    """Many timers on one event-loop timer: FIFO lanes of non-decreasing deadlines.

    A scan keeps thousands of exchanges open, each with a timer (retransmit, expiry, hold-on
    end); on the loop's heap every one costs a handle and O(log n) Python comparisons, and
    cancelled ones linger there. Timers of one lane (one kind of delay) are created in deadline
    order, so a deque per lane is a priority queue; a timer out of order (a hold-on window cut
    short by the timeout) goes to the loop. Callbacks run exactly as loop timers would, in
    deadline order per lane.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._lanes: dict[Hashable, collections.deque[Timer]] = {}
        self._handle: asyncio.TimerHandle | None = None
        self._armed = float("inf")

    def call_at(
        self, when: float, callback: Callable[[], None], lane: Hashable
    ) -> Timer | asyncio.TimerHandle:
        queue = self._lanes.get(lane)
        if queue is None:
            queue = self._lanes[lane] = collections.deque()
        elif queue and queue[-1].when > when:
            return self._loop.call_at(when, callback)
        timer = Timer(when, callback)
        queue.append(timer)
        if when < self._armed:
            self._arm(when)
        return timer

    def _arm(self, when: float) -> None:
        if self._handle is not None:
            self._handle.cancel()
        self._armed = when
        self._handle = self._loop.call_at(when, self._fire)

    def _fire(self) -> None:
        self._handle = None
        self._armed = float("inf")
        now = self._loop.time() + 1e-6  # the loop runs timers up to its clock resolution early
        for queue in list(self._lanes.values()):
            while queue and queue[0].when <= now:
                timer = queue.popleft()
                if not timer.cancelled:
                    timer.callback()
        nxt = float("inf")
        for queue in self._lanes.values():
            while queue and queue[0].cancelled:
                queue.popleft()
            if queue and queue[0].when < nxt:
                nxt = queue[0].when
        if nxt < self._armed:
            self._arm(nxt)

    def close(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
        self._handle = None
        self._armed = float("inf")
        self._lanes.clear()

