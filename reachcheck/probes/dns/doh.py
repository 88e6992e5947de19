"""DNS-over-HTTPS control resolver (RFC 8484 POST), pinned to bootstrap addresses.

Rules:
1. DoH is the control: an on-path injector cannot forge it, so its answers are what the name
   really resolves to. It must not depend on the system resolver, hence the bootstrap
   addresses (we connect to the IP; SNI and Host/:authority = the URL's host; certificate
   verified against that host).
2. One DohClient per server for the whole run, on raw asyncio (httpx's pool rescans its queue
   per request: O(N*M) with hundreds of queued queries, half the client CPU of a big run).
   ALPN offers h2: then ONE connection carries every query as concurrent streams (`h2conn`).
   A server that only speaks HTTP/1.1 gets a small keep-alive pool, requests waiting on a
   semaphore (`h1conn`).
3. Connections come and go (GOAWAY, EOF, keep-alive timeouts): a request that lost its
   connection before its answer is sent once more on a new one. Every wait is bounded: the
   connect phase by `timeout` per bootstrap address, a request by `timeout`, the whole query by
   2 x `timeout` (the runner's own guard is 2 x timeout + 1 s).
4. Answers are parsed with `wire`'s fast parser; garbage is kept as MALFORMED evidence.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Literal
from urllib.parse import urlsplit

from reachcheck.model import DnsQuery, DnsResponse
from reachcheck.probes.connector import Connector, create_connection
from reachcheck.probes.dns.h1conn import CONTENT_TYPE, DohFailure, H1Connection, Response
from reachcheck.probes.dns.h2conn import H2Connection
from reachcheck.probes.dns.wire import ParsedResponse, build_query, parse_response
from reachcheck.probes.errors import classify
from reachcheck.probes.timing import ms

__all__ = ["CONTENT_TYPE", "DohClient"]

NOT_OUR_QUESTION = "the response does not answer our question"
H1_POOL = 8  # HTTP/1.1 connections per server (no multiplexing there)
QType = Literal["A", "AAAA"]
Conn = H1Connection | H2Connection


class DohClient:
    """Queries one DoH server for the whole run; call `aclose()` at the end."""

    def __init__(
        self,
        url: str,
        bootstrap: tuple[str, ...],
        ssl_context: ssl.SSLContext,
        timeout: float,
        *,
        connector: Connector | None = None,
    ) -> None:
        self.url = url
        self._connector = connector  # through a proxy (probes/connector.py); None = direct
        parts = urlsplit(url)
        self._host = parts.hostname or ""
        self._port = parts.port or 443
        host = f"[{self._host}]" if ":" in self._host else self._host
        self._authority = host if parts.port is None else f"{host}:{parts.port}"
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._bootstrap = tuple(bootstrap)
        self._preferred = 0  # the bootstrap address that last worked
        self._timeout = timeout
        self._ssl = _alpn_context(ssl_context)
        self._h2: H2Connection | None = None
        self._connecting: asyncio.Future[H2Connection | None] | None = None
        self._h1_mode = False  # the server answered ALPN with http/1.1 (or nothing)
        self._h1_idle: list[H1Connection] = []
        self._h1_slots = asyncio.Semaphore(H1_POOL)
        self._all: set[Conn] = set()  # every open connection, closed by aclose()

    async def aclose(self) -> None:
        if self._connecting is not None:
            self._connecting.cancel()
        for conn in list(self._all):
            conn.close()
        self._all.clear()

    async def query(self, qname: str, qtype: QType) -> DnsQuery:
        """Ask for `qname`/`qtype`; never raises for network or protocol failures."""
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        try:
            wire = build_query(qname, qtype)  # id 0 (RFC 8484 4.1: keeps answers cacheable)
        except Exception as exc:  # noqa: BLE001 - an unencodable name
            return self._query(qname, qtype, 0.0, error=classify(exc))
        try:
            async with asyncio.timeout(2 * self._timeout):
                response = await self._exchange(wire)
        except DohFailure as exc:
            return self._query(qname, qtype, ms(loop.time() - t0), error=exc.name)
        except Exception as exc:  # noqa: BLE001 - TimeoutError, and anything unforeseen
            return self._query(qname, qtype, ms(loop.time() - t0), error=classify(exc))
        return self._parse(qname, qtype, ms(loop.time() - t0), response)

    # ------------------------------------------------------------------ requests

    async def _exchange(self, wire: bytes) -> Response:
        """One request, resent once on a new connection if its connection went away."""
        try:
            return await self._attempt(wire)
        except DohFailure as exc:
            if not exc.retry:
                raise
        return await self._attempt(wire)

    async def _attempt(self, wire: bytes) -> Response:
        if not self._h1_mode:
            conn = await self._shared()
            if conn is not None:
                async with asyncio.timeout(self._timeout):
                    return await conn.request(wire)
        async with asyncio.timeout(self._timeout):
            await self._h1_slots.acquire()  # FIFO wait for one of H1_POOL connections
        try:
            h1 = self._idle_h1()
            if h1 is None:
                new = await self._open()
                if isinstance(new, H2Connection):  # the server learned h2 meanwhile
                    self._h1_mode, self._h2 = False, new
                    async with asyncio.timeout(self._timeout):
                        return await new.request(wire)
                h1 = new
            async with asyncio.timeout(self._timeout):
                response = await h1.request(wire)
            if h1.idle:
                self._h1_idle.append(h1)
            else:
                h1.close()
            return response
        finally:
            self._h1_slots.release()

    def _idle_h1(self) -> H1Connection | None:
        while self._h1_idle:
            conn = self._h1_idle.pop()
            if conn.idle:
                return conn
            self._all.discard(conn)
        return None

    async def _shared(self) -> H2Connection | None:
        """The HTTP/2 connection, opened once for all waiting queries; None = use HTTP/1.1."""
        conn = self._h2
        if conn is not None and conn.usable:
            return conn
        if self._connecting is None:
            self._connecting = asyncio.ensure_future(self._connect_shared())
            # Its failure is reported to every waiter; if all of them gave up, nobody reads it.
            self._connecting.add_done_callback(_consume)
        # Shielded: one query's timeout must not cancel the connect the others wait for.
        return await asyncio.shield(self._connecting)

    async def _connect_shared(self) -> H2Connection | None:
        try:
            conn = await self._open()
        finally:
            self._connecting = None
        if isinstance(conn, H2Connection):
            self._h2 = conn
            return conn
        self._h1_mode = True
        self._h1_idle.append(conn)
        return None

    # ------------------------------------------------------------------ connecting

    async def _open(self) -> Conn:
        """A new connection, trying each bootstrap address (last good one first)."""
        error = DohFailure("error")
        for index in self._order():
            host = self._host if index is None else self._bootstrap[index]
            try:
                async with asyncio.timeout(self._timeout):
                    transport, _ = await create_connection(
                        lambda: _AlpnSwitch(self._authority, self._path),
                        host,
                        self._port,
                        connector=self._connector,
                        numeric=index is not None,
                        ssl=self._ssl,
                        server_hostname=self._host,
                    )
            except Exception as exc:  # noqa: BLE001 - this address is unusable: try the next
                error = DohFailure(classify(exc))
                continue
            if index is not None:
                self._preferred = index
            conn = transport.get_protocol()
            assert isinstance(conn, (H1Connection, H2Connection))
            self._all = {c for c in self._all if not c.closed}  # forget dead ones (few)
            self._all.add(conn)
            return conn
        raise error

    def _order(self) -> list[int | None]:
        """Bootstrap indexes, the last one that worked first; [None] = connect by name."""
        n = len(self._bootstrap)
        if n == 0:
            return [None]
        return [(self._preferred + i) % n for i in range(n)]

    # ------------------------------------------------------------------ answers

    def _parse(self, qname: str, qtype: QType, elapsed: float, response: Response) -> DnsQuery:
        status, ctype, body = response
        if status != 200:
            return self._query(qname, qtype, elapsed, error="http_status")
        if ctype.split(";", 1)[0].strip().lower() != CONTENT_TYPE:
            return self._query(qname, qtype, elapsed, error="http_content_type")
        parsed = parse_response(body, qname, qtype, 0)
        if parsed is None:  # the stream carries our answer or nothing: another one is garbage
            parsed = ParsedResponse(0, "MALFORMED", error=NOT_OUR_QUESTION)
        answer = parsed.to_model(body, elapsed)
        if answer.error is not None:
            return self._query(qname, qtype, elapsed, (answer,), error="dns_malformed")
        return self._query(qname, qtype, elapsed, (answer,), accepted=0)

    def _query(
        self,
        qname: str,
        qtype: QType,
        elapsed: float,
        responses: tuple[DnsResponse, ...] = (),
        *,
        error: str | None = None,
        accepted: int | None = None,
    ) -> DnsQuery:
        return DnsQuery(
            resolver=self.url,
            role="control",
            transport="doh",
            qname=qname,
            qtype=qtype,
            elapsed_ms=elapsed,
            responses=responses,
            error=error,
            accepted=accepted,
        )


class _AlpnSwitch(asyncio.Protocol):
    """Placeholder protocol: once TLS is up, hands the transport to the protocol ALPN chose.

    asyncio calls `connection_made` after the handshake and before any application data, so
    swapping protocols there loses nothing (the h2 server's SETTINGS may already be queued).
    """

    def __init__(self, authority: str, path: str) -> None:
        self._authority, self._path = authority, path

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        ssl_object = transport.get_extra_info("ssl_object")
        alpn = ssl_object.selected_alpn_protocol() if ssl_object is not None else None
        conn: Conn
        if alpn == "h2":
            conn = H2Connection(self._authority, self._path)
        else:
            conn = H1Connection(self._authority, self._path)
        transport.set_protocol(conn)
        conn.connection_made(transport)


def _alpn_context(base: ssl.SSLContext) -> ssl.SSLContext:
    """A copy of `base` (same trust, same checks) that offers ALPN h2 and http/1.1.

    The run's verified context is shared with the target handshakes and the HTTP prober (and
    httpcore sets ALPN on it per connection), so ALPN must not be set on it: a private context
    keeps their ClientHellos unchanged and our protocol choice stable.
    """
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.verify_mode = base.verify_mode
    ctx.check_hostname = base.check_hostname
    ctx.verify_flags = base.verify_flags
    ctx.minimum_version = base.minimum_version
    ctx.maximum_version = base.maximum_version
    ctx.options = base.options
    cas = base.get_ca_certs(binary_form=True)
    if cas:
        ctx.load_verify_locations(cadata=b"".join(cas))
    elif base.verify_mode != ssl.CERT_NONE:
        ctx.load_default_certs()  # `base` trusts the system store (loaded lazily, not listed)
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    return ctx


def _consume(fut: asyncio.Future[H2Connection | None]) -> None:
    if not fut.cancelled():
        fut.exception()
