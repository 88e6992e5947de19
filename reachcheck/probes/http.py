"""HTTP GET probe: httpx pinned to a chosen address, redirects followed by hand.

Rules:
1. Pinning: the IP goes in the URL, `Host` and the `sni_hostname` extension carry the name, so
   the certificate is verified against the name while we choose the address.
2. Keep-alive off: httpx's pool is keyed by IP, so a reused connection would carry the previous
   site's SNI and TLS session to the next site on a shared CDN address.
3. `follow_redirects=False`: httpx would copy the old SNI onto a cross-host hop and resolve the new
   host with the system resolver. Each hop is re-pinned here (same host: same address; other
   host: the caller's `resolve`).
4. Everything from the server is hostile: body, headers, title and redirect count are capped,
   and any failure becomes an error name on the HttpFetch, never an exception.
5. Cost (design §3): requests go straight to httpcore's pool (no httpx Request/Response/URL
   per request), on a native asyncio network backend (`_AsyncioBackend`, one asyncio.Protocol
   per connection) instead of anyio's: the same httpcore exceptions, chained to the same
   underlying OSError/SSLError. The backend's `start_tls` records the handshake's timing and
   facts (no httpcore trace hook).
"""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
import ipaddress
import ssl
from collections.abc import AsyncIterable, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, cast

import httpcore
import httpx

from reachcheck.model import HttpFetch, HttpHop, TlsHandshake
from reachcheck.probes import http_content as hc
from reachcheck.probes.connector import Connector, create_connection
from reachcheck.probes.errors import classify, is_cert_error
from reachcheck.probes.tls import TlsContexts, presented_certificate, tls_facts

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_LOCATION = 2048
REQUEST_HEADERS = {
    "User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "Accept-Language": "en-US,en;q=0.9",
    "Accept-Encoding": "gzip, deflate",  # what BodyDecoder can bound; never br/zstd
}
_REQUEST_HEADERS = tuple((k.encode("ascii"), v.encode("ascii")) for k, v in REQUEST_HEADERS.items())
Resolve = Callable[[str], Awaitable[list[str]]]


@dataclass
class _Hop:
    """What one request produced so far (filled progressively, so a failure keeps the rest)."""

    status: int | None = None
    raw_headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytearray = field(default_factory=bytearray)
    truncated: bool = False
    error: str | None = None
    tls: TlsHandshake | None = None
    body_ms: float | None = None


class _TlsTrace:
    """The TLS facts of one request's handshake, filled in by `_AsyncioStream.start_tls` (found
    through `_TLS_TRACE`: no httpcore trace hook, which costs an await per httpcore event)."""

    __slots__ = ("started", "elapsed_ms", "facts")

    def __init__(self) -> None:
        self.started: float | None = None
        self.elapsed_ms: float | None = None
        self.facts: tuple[Any, Any, Any] = (None, None, None)


# The current request's _TlsTrace (httpcore runs an HTTP/1.1 request in the caller's task).
_TLS_TRACE: contextvars.ContextVar[_TlsTrace | None] = contextvars.ContextVar(
    "reachcheck_tls_trace", default=None
)


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
    to the original exception so `classify` sees the same cause."""

    def __init__(self, conn: _Conn, transport: asyncio.Transport) -> None:
        self._conn = conn
        self._transport = transport

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
        trace = _TLS_TRACE.get()
        if trace is not None:
            trace.started = loop.time()
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
        if trace is not None and trace.started is not None:
            trace.elapsed_ms = round((loop.time() - trace.started) * 1000, 3)
            trace.facts = tls_facts(tls.get_extra_info("ssl_object"))
        return _AsyncioStream(self._conn, tls)

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


class _AsyncioBackend(httpcore.AsyncNetworkBackend):
    """Plain asyncio connections for httpcore (see rule 5), through `connector` if given."""

    def __init__(self, connector: Connector | None = None) -> None:
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
        return _AsyncioStream(conn, transport)

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> httpcore.AsyncNetworkStream:  # pragma: no cover - never used: addresses are pinned
        raise httpcore.ConnectError("unix sockets are not supported")

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class HttpProber:
    """Pinned GETs for a whole run (one httpx transport; no connection reuse)."""

    def __init__(
        self,
        contexts: TlsContexts | ssl.SSLContext,
        *,
        timeout: float,
        body_cap: int = 256 * 1024,
        max_redirects: int = 10,
        connector: Connector | None = None,
    ) -> None:
        self._connector = connector  # through a proxy (probes/connector.py); None = direct
        self._contexts = contexts if isinstance(contexts, TlsContexts) else None
        verify = contexts.verified if isinstance(contexts, TlsContexts) else contexts
        self._timeout = timeout
        # The per-stage timeouts do not bound a server that drips bytes; this does.
        self._hop_deadline = 3 * timeout
        self._body_cap = body_cap
        self._max_redirects = max_redirects
        # httpcore's pool, not httpx's AsyncClient or transport: even with
        # follow_redirects=False the client parses the Location of every 3xx and raises on a
        # garbage one, losing the response, and httpx's request/response models cost more than
        # the request itself here. The pool never consults *_PROXY variables. Keep-alive off.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=verify,
            max_connections=None,
            max_keepalive_connections=0,
            http1=True,
            http2=False,
            retries=0,
            network_backend=_AsyncioBackend(connector),  # rule 5
        )
        self._timeouts = httpx.Timeout(timeout, pool=None).as_dict()

    async def aclose(self) -> None:
        await self._pool.aclose()

    async def fetch(self, url: str, domain: str, address: str, *, resolve: Resolve) -> HttpFetch:
        """GET `url` from `address` as `domain`; redirects re-pinned via `resolve(host)`."""
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        try:
            return await self._fetch(url, domain, address, resolve, t0)
        except Exception as exc:  # noqa: BLE001 - e.g. an unparsable URL: still an observation
            return HttpFetch(url, address, False, _ms(loop.time() - t0), error=classify(exc))

    async def _fetch(
        self, url: str, domain: str, address: str, resolve: Resolve, t0: float
    ) -> HttpFetch:
        loop = asyncio.get_running_loop()
        cur, host, addr = httpx.URL(url), domain, address
        hops: list[HttpHop] = []
        first_tls: TlsHandshake | None = None
        for index in range(self._max_redirects + 1):
            hop = await self._request(cur, host, addr)
            if index == 0:
                first_tls = hop.tls
            location = _location(hop)
            if hop.status is None or hop.error is not None or location is None:
                if hop.status is None and index > 0:
                    hops.append(HttpHop(str(cur), addr, None, error=hop.error))
                return self._result(url, address, hop, hops, cur, first_tls, loop.time() - t0)
            nxt = _join(cur, location)
            if nxt is None or index == self._max_redirects:
                if nxt is not None:
                    hop.error = "too_many_redirects"
                return self._result(url, address, hop, hops, cur, first_tls, loop.time() - t0)
            hops.append(HttpHop(str(cur), addr, hop.status, location=location[:MAX_LOCATION]))
            if nxt.host.lower() != host.lower():
                host = nxt.host
                found = host if _is_ip(host) else await _first_address(resolve, host)
                if not found:
                    hops.append(HttpHop(str(nxt), None, None, error="dns"))
                    dns_fail = _Hop(error="dns")
                    return self._result(url, address, dns_fail, hops, nxt, first_tls,
                                        loop.time() - t0)  # fmt: skip
                addr = found
            cur = nxt
        raise AssertionError("unreachable: the loop returns on its last hop")

    async def _request(self, url: httpx.URL, host: str, address: str) -> _Hop:
        hop = _Hop()
        tls = url.scheme == "https"
        trace = _TlsTrace()
        host_header = f"[{host}]" if ":" in host else host
        if url.port is not None:
            host_header += f":{url.port}"
        extensions: dict[str, Any] = {"timeout": self._timeouts}
        if tls and not _is_ip(host):
            extensions["sni_hostname"] = host
        headers = [(b"Host", host_header.encode("ascii")), *_REQUEST_HEADERS]
        # The pinned URL: the address for the host, the rest of `url` unchanged.
        if _is_ip(address):
            raw_host = address.encode("ascii")
        else:  # not expected (addresses are IPs); httpx validates whatever this is
            raw_host = url.copy_with(host=address).raw_host
        target = httpcore.URL(
            scheme=url.raw_scheme, host=raw_host, port=url.port, target=url.raw_path
        )
        request = httpcore.Request("GET", target, headers=headers, extensions=extensions)
        token = _TLS_TRACE.set(trace)
        try:
            async with asyncio.timeout(self._hop_deadline):
                response = await self._pool.handle_async_request(request)
                loop = asyncio.get_running_loop()
                body_start = loop.time()
                try:
                    hop.status = response.status
                    hop.raw_headers = list(response.headers)
                    await self._read_body(response, hop)
                finally:
                    hop.body_ms = _ms(loop.time() - body_start)
                    await response.aclose()
        except Exception as exc:  # noqa: BLE001
            hop.error = classify(exc)
        finally:
            _TLS_TRACE.reset(token)
        if tls and trace.started is not None:
            hop.tls = await self._tls_record(url, host, address, trace, hop)
        return hop

    async def _read_body(self, response: httpcore.Response, hop: _Hop) -> None:
        encodings = [v for k, v in hop.raw_headers if k.lower() == b"content-encoding"]
        # Repeated headers joined as httpx joins them; only ASCII can name gzip/deflate.
        decoder = hc.BodyDecoder(b", ".join(encodings).decode("latin-1") if encodings else None)
        raw_budget = 2 * self._body_cap + 65536  # compressed input that never inflates
        stream = response.stream
        assert isinstance(stream, AsyncIterable)
        async for chunk in stream:
            if not chunk:
                continue
            raw_budget -= len(chunk)
            room = self._body_cap - len(hop.body)
            data = decoder.feed(chunk, room + 1)
            if len(data) > room or raw_budget < 0:
                hop.body += data[:room]
                hop.truncated = True
                return
            hop.body += data

    async def _tls_record(
        self, url: httpx.URL, host: str, address: str, trace: _TlsTrace, hop: _Hop
    ) -> TlsHandshake:
        port = url.port or 443
        sni = None if _is_ip(host) else host
        if trace.elapsed_ms is not None:
            version, cipher, cert = trace.facts
            return TlsHandshake(address, port, sni, "target", True, trace.elapsed_ms,
                                version=version, cipher=cipher, cert=cert)  # fmt: skip
        version = cipher = cert = None
        if is_cert_error(hop.error) and self._contexts is not None:
            version, cipher, cert = await presented_certificate(
                address, port, sni, self._contexts, timeout=self._timeout,
                connector=self._connector,
            )
        elapsed = round((asyncio.get_running_loop().time() - (trace.started or 0)) * 1000, 3)
        return TlsHandshake(address, port, sni, "target", False, elapsed, error=hop.error,
                            version=version, cipher=cipher, cert=cert)  # fmt: skip

    def _result(
        self,
        url: str,
        address: str,
        hop: _Hop,
        hops: list[HttpHop],
        final: httpx.URL,
        tls: TlsHandshake | None,
        elapsed: float,
    ) -> HttpFetch:
        headers, names = hc.select_headers(hop.raw_headers)
        body = bytes(hop.body)
        has_body = hop.status is not None
        return HttpFetch(
            url=url,
            address=address,
            ok=hop.status is not None and hop.error is None,
            elapsed_ms=_ms(elapsed),
            error=hop.error,
            status=hop.status,
            title=hc.extract_title(body, headers.get("content-type")) if has_body else None,
            body_length=len(body) if has_body else None,
            body_ms=hop.body_ms if has_body else None,
            body_truncated=hop.truncated,
            body_sha256=hashlib.sha256(body).hexdigest() if has_body else None,
            body_head=hc.body_head(body) if has_body else None,
            headers=headers,
            header_names=names,
            redirects=tuple(hops),
            final_url=str(final),
            tls=tls,
        )


def _location(hop: _Hop) -> str | None:
    if hop.status not in REDIRECT_STATUSES:
        return None
    for name, value in hop.raw_headers:
        if name.lower() == b"location":
            return value.decode("latin-1").strip() or None
    return None


def _join(base: httpx.URL, location: str) -> httpx.URL | None:
    """The next hop's URL, or None when the Location is not a followable http(s) URL."""
    try:
        nxt = base.join(location)
    except Exception:  # noqa: BLE001 - httpx.InvalidURL and friends on garbage
        return None
    return nxt if nxt.scheme in ("http", "https") and nxt.host else None


async def _first_address(resolve: Resolve, host: str) -> str | None:
    try:
        addresses = await resolve(host)
    except Exception:  # noqa: BLE001 - a resolver failure is the hop's "dns" error
        return None
    return addresses[0] if addresses else None


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 3)
