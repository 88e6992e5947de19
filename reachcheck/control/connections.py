"""Connection admission for the control server: per-client caps and a request-head deadline.

uvicorn's `limit_concurrency` counts open connections, and nothing there times out a connection
that never sends a request, so 64 idle sockets turned every request into a 503 (issue 17). This
module replaces it with two rules:

- Head deadline: a connection must deliver a complete request head within `head_deadline`
  seconds of opening (and of each previous response); past it, it is closed. This bounds idle
  sockets and slowloris heads (uvicorn has no header-read timeout).
- Caps: at most `per_client` connections per client address and `total` in all. A connection
  past either cap closes the oldest connection of that client (or, for `total`, of anyone) that
  is still waiting for its head; it is refused only when all of those are busy with requests.
  Idle connections therefore never starve a request, and a client flooding idle sockets only
  displaces its own.

TLS note: asyncio calls `connection_made` after the TLS handshake, so a TCP connection that
never finishes its handshake is bounded by asyncio's own handshake timeout (60 s), not here.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from typing import Any

import h11

HEAD_DEADLINE = 10.0  # seconds for a request head; browsers and curl send theirs at once
PER_CLIENT = 32  # connections per client address; a probe uses one at a time
TOTAL = 4096  # connections in all (also capped by RLIMIT_NOFILE, see `total_cap`)
FD_RESERVE = 128  # descriptors kept for the measurements' own sockets, logs and files


def total_cap(wanted: int = TOTAL) -> int:
    """`wanted`, lowered so the connections leave FD_RESERVE descriptors under RLIMIT_NOFILE."""
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (ImportError, OSError, ValueError):
        return wanted
    if soft == resource.RLIM_INFINITY:
        return wanted
    return max(16, min(wanted, soft - FD_RESERVE))


class ConnectionTable:
    """Which connections are open, per client, and which of them wait for a request head.

    Pure bookkeeping (no IO): `admit` says which connections to close to make room.
    Connections are any hashable objects; clients are address strings.
    """

    def __init__(self, per_client: int = PER_CLIENT, total: int = TOTAL,
                 exempt: frozenset[str] = frozenset()) -> None:
        if per_client < 1 or total < 1:
            raise ValueError("caps must be >= 1")
        self.per_client = per_client
        self.total = total
        self.exempt = exempt  # e.g. trusted reverse proxies: all their clients share one address
        self._client: dict[Any, str] = {}  # every open connection -> its client
        self._count: dict[str, int] = {}
        self._waiting: OrderedDict[Any, None] = OrderedDict()  # waiting for a head, oldest first
        self._waiting_of: dict[str, OrderedDict[Any, None]] = {}

    def __len__(self) -> int:
        return len(self._client)

    def count(self, client: str) -> int:
        """Open connections of `client`."""
        return self._count.get(client, 0)

    def admit(self, conn: Any, client: str) -> list[Any] | None:
        """Register `conn` (waiting for its head): the connections to close to make room for it,
        or None when there is no room (close `conn` itself)."""
        victims: list[Any] = []
        if client not in self.exempt and self.count(client) >= self.per_client:
            oldest = next(iter(self._waiting_of.get(client, ())), None)
            if oldest is None:
                return None
            victims.append(oldest)
            self.remove(oldest)
        if len(self._client) >= self.total:
            oldest = next(iter(self._waiting), None)
            if oldest is None:
                return victims or None
            victims.append(oldest)
            self.remove(oldest)
        self._client[conn] = client
        self._count[client] = self.count(client) + 1
        self.waiting(conn)
        return victims

    def waiting(self, conn: Any) -> None:
        """`conn` waits for a (next) request head: it may be closed to make room."""
        client = self._client.get(conn)
        if client is None:
            return
        self._waiting[conn] = None
        self._waiting_of.setdefault(client, OrderedDict())[conn] = None

    def busy(self, conn: Any) -> None:
        """`conn` delivered a request head: it is never closed to make room."""
        client = self._client.get(conn)
        if client is None:
            return
        self._waiting.pop(conn, None)
        mine = self._waiting_of.get(client)
        if mine is not None:
            mine.pop(conn, None)
            if not mine:
                del self._waiting_of[client]

    def remove(self, conn: Any) -> None:
        """Forget `conn` (closed); a second call is a no-op."""
        self.busy(conn)
        client = self._client.pop(conn, None)
        if client is None:
            return
        left = self._count[client] - 1
        if left:
            self._count[client] = left
        else:
            del self._count[client]


def guarded_protocol(table: ConnectionTable, head_deadline: float = HEAD_DEADLINE) -> type:
    """uvicorn's h11 protocol class with `table`'s caps and the head deadline applied
    (pass it as `uvicorn.Config(http=...)`)."""
    # Imported here: uvicorn is the optional `control` extra, and the CLI reads this
    # module's defaults without it.
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class GuardedH11Protocol(H11Protocol):
        _deadline: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            victims = table.admit(self, self.client[0] if self.client else "")
            if victims is None:
                transport.close()
                return
            for victim in victims:
                victim.transport.close()
            self._arm()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self.conn.their_state is not h11.IDLE:  # the head is in: a request runs
                self._disarm()
                table.busy(self)

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
                table.waiting(self)
                self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            table.remove(self)
            super().connection_lost(exc)

        def _arm(self) -> None:
            self._disarm()
            self._deadline = self.loop.call_later(head_deadline, self._head_overdue)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _head_overdue(self) -> None:
            self._deadline = None
            if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
                self.transport.close()

    return GuardedH11Protocol
