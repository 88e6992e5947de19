"""An httpcore network backend on plain asyncio: one asyncio.Protocol per connection.

httpcore's own backend runs on anyio; this one costs less per request (design §3) and raises
the same httpcore exceptions, chained to the same underlying OSError/SSLError, so
`errors.classify` names a failure the same way. Its `start_tls` records the handshake's timing
and facts in the backend's `TlsRecord` (cheaper than httpcore's trace hook, which costs an
await per httpcore event): build one backend per request to know that request's handshake.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any, cast

import httpcore

from reachcheck.probes.connector import Connector, create_connection
from reachcheck.probes.timing import ms
from reachcheck.probes.tls import tls_facts


class TlsRecord:
    """The TLS handshake of one connection: when it started, how long it took and its facts
    (version, cipher, leaf) once it completed; `started` stays None when none was attempted."""

    __slots__ = ("started", "elapsed_ms", "facts")

    def __init__(self) -> None:
        self.started: float | None = None
        self.elapsed_ms: float | None = None
        self.facts: tuple[Any, Any, Any] = (None, None, None)


_READ_HIGH = 256 * 1024  # buffered bytes before the socket stops being read (flow control)


class _Conn(asyncio.Protocol):
    """One connection's incoming bytes, for `_AsyncioStream` (one reader at a time)."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.eof = False
        self.exc: BaseException | None = None
        self.waiter: asyncio.Future[None] | None = None
        self.write_paused = False
        self.drain: asyncio.Future[None] | None = None
        self.reading_paused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # No isinstance check: uvloop's transports are not asyncio.Transport subclasses.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if len(self.buffer) > _READ_HIGH and self.transport is not None:
            self.reading_paused = True
            self.transport.pause_reading()
        self._wake()

    def eof_received(self) -> bool | None:
        self.eof = True
        self._wake()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.eof = True
        self.exc = exc
        self._wake()
        self.write_paused = False
        if self.drain is not None and not self.drain.done():
            self.drain.set_result(None)

    def pause_writing(self) -> None:
        self.write_paused = True

    def resume_writing(self) -> None:
        self.write_paused = False
        if self.drain is not None and not self.drain.done():
            self.drain.set_result(None)

    def _wake(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)


def _mapped(cls: type[Exception], exc: BaseException) -> Exception:
    """`cls` caused by `exc`, also as its context: httpcore's pool re-raises with `from None`,
    which clears the cause but not the context (that is how anyio's chains survive too)."""
    mapped = cls(str(exc))
    mapped.__cause__ = mapped.__context__ = exc
    return mapped


class _AsyncioStream(httpcore.AsyncNetworkStream):
    """httpcore's stream interface over `_Conn`; errors mapped as httpcore's anyio backend
    maps them (timeouts to *Timeout, OSError/SSLError to Connect/Read/WriteError), chained
    to the original exception so `classify` sees the same cause. `start_tls` fills `record`."""

    def __init__(self, conn: _Conn, transport: asyncio.Transport, record: TlsRecord) -> None:
        self._conn = conn
        self._transport = transport
        self._record = record

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        conn = self._conn
        if not conn.buffer and not conn.eof:
            conn.waiter = asyncio.get_running_loop().create_future()
            try:
                async with asyncio.timeout(timeout):
                    await conn.waiter
            except TimeoutError as exc:
                raise httpcore.ReadTimeout(str(exc)) from exc
            finally:
                conn.waiter = None
        if conn.buffer:
            data = bytes(conn.buffer[:max_bytes])
            del conn.buffer[:max_bytes]
            if conn.reading_paused and len(conn.buffer) <= _READ_HIGH // 2:
                conn.reading_paused = False
                self._transport.resume_reading()
            return data
        if conn.exc is not None:
            raise _mapped(httpcore.ReadError, conn.exc)
        return b""  # end of stream

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        conn = self._conn
        if conn.exc is not None or self._transport.is_closing():
            raise _mapped(httpcore.WriteError, conn.exc or ConnectionResetError())
        try:
            self._transport.write(buffer)
        except Exception as exc:
            raise httpcore.WriteError(str(exc)) from exc
        if conn.write_paused:
            conn.drain = asyncio.get_running_loop().create_future()
            try:
                async with asyncio.timeout(timeout):
                    await conn.drain
            except TimeoutError as exc:
                raise httpcore.WriteTimeout(str(exc)) from exc
            finally:
                conn.drain = None
            if conn.exc is not None:
                raise _mapped(httpcore.WriteError, conn.exc)

    async def aclose(self) -> None:
        self._transport.abort()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        record = self._record
        record.started = started = loop.time()
        try:
            async with asyncio.timeout(timeout):
                tls = await loop.start_tls(
                    self._transport, self._conn, ssl_context, server_hostname=server_hostname
                )
        except TimeoutError as exc:
            self._transport.abort()
            raise httpcore.ConnectTimeout(str(exc)) from exc
        except (OSError, EOFError) as exc:  # ssl.SSLError is an OSError
            self._transport.abort()
            raise httpcore.ConnectError(str(exc)) from exc
        except BaseException:
            self._transport.abort()
            raise
        if tls is None:  # the transport was closing
            raise httpcore.ConnectError("connection closed during the TLS handshake")
        record.elapsed_ms = ms(loop.time() - started)
        record.facts = tls_facts(tls.get_extra_info("ssl_object"))
        return _AsyncioStream(self._conn, tls, record)

    def get_extra_info(self, info: str) -> Any:
        if info == "ssl_object":
            return self._transport.get_extra_info("ssl_object")
        if info == "client_addr":
            return self._transport.get_extra_info("sockname")
        if info == "server_addr":
            return self._transport.get_extra_info("peername")
        if info == "socket":
            return self._transport.get_extra_info("socket")
        if info == "is_readable":
            conn = self._conn
            return bool(conn.buffer) or conn.eof or self._transport.is_closing()
        return None


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    """Plain asyncio connections for httpcore, through `connector` if given. One per request:
    the TLS handshake of its connection is recorded in `record`."""

    def __init__(self, record: TlsRecord, connector: Connector | None = None) -> None:
        self.record = record
        self._connector = connector

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.AsyncNetworkStream:
        conn = _Conn()
        try:
            async with asyncio.timeout(timeout):
                transport, _ = await create_connection(
                    lambda: conn,
                    host,
                    port,
                    connector=self._connector,
                    numeric=False,  # as before: the pinned URL holds an address anyway
                    local_addr=(local_address, 0) if local_address else None,
                )
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(str(exc)) from exc
        except OSError as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        for option in socket_options or ():
            transport.get_extra_info("socket").setsockopt(*option)
        return _AsyncioStream(conn, transport, self.record)

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> httpcore.AsyncNetworkStream:  # pragma: no cover - never used: addresses are pinned
        raise httpcore.ConnectError("unix sockets are not supported")

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
