"""One pinned HTTP/1.1 GET on a fresh connection, read into a `Hop`.

Rules:
1. Pinning: the IP goes in the URL, `Host` and the `sni_hostname` extension carry the name, so
   the certificate is verified against the name while the caller chooses the address.
2. A fresh connection per request (keep-alive off): a reused connection would carry the
   previous site's SNI and TLS session to the next site on a shared CDN address. So no pool:
   each request gets its own httpcore connection on its own `AsyncioBackend`, whose
   `TlsRecord` is this request's handshake. httpcore's connection, not httpx's client: even
   with follow_redirects=False the client parses the Location of every 3xx and raises on a
   garbage one, losing the response, and httpx's models cost more than the request here; the
   connection never consults *_PROXY variables either.
3. Everything from the server is hostile: the body is capped (decoded and raw), and any network
   or protocol failure becomes an error name on the Hop, never an exception (only a URL that
   cannot be pinned raises, before anything is sent).
"""

from __future__ import annotations

import asyncio
import ipaddress
import ssl
from collections.abc import AsyncIterable
from dataclasses import dataclass, field
from typing import Any

import httpcore
import httpx

from reachcheck.model import TlsHandshake
from reachcheck.probes import http_content as hc
from reachcheck.probes.connector import Connector
from reachcheck.probes.errors import classify
from reachcheck.probes.http_backend import AsyncioBackend, TlsRecord
from reachcheck.probes.timing import ms

REQUEST_HEADERS = {
    "User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "Accept-Language": "en-US,en;q=0.9",
    "Accept-Encoding": "gzip, deflate",  # what BodyDecoder can bound; never br/zstd
}
_REQUEST_HEADERS = tuple((k.encode("ascii"), v.encode("ascii")) for k, v in REQUEST_HEADERS.items())
# The schemes httpcore's pool accepts (it refuses others with UnsupportedProtocol, as here).
_SCHEMES = frozenset({"http", "https", "ws", "wss"})


@dataclass
class Hop:
    """What one request produced so far (filled progressively, so a failure keeps the rest)."""

    status: int | None = None
    raw_headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytearray = field(default_factory=bytearray)
    truncated: bool = False
    error: str | None = None
    tls: TlsHandshake | None = None  # filled in by the prober from `handshake`
    body_ms: float | None = None
    handshake: TlsRecord = field(default_factory=TlsRecord)


class PinnedGet:
    """GETs pinned to an address, one fresh connection each, with a run's fixed settings."""

    def __init__(
        self,
        ssl_context: ssl.SSLContext,
        *,
        timeout: float,
        hop_deadline: float,
        body_cap: int,
        connector: Connector | None = None,
    ) -> None:
        self._ssl_context = ssl_context
        self._connector = connector  # through a proxy (probes/connector.py); None = direct
        self._hop_deadline = hop_deadline  # the per-stage timeouts do not bound a drip
        self._body_cap = body_cap
        self._timeouts = httpx.Timeout(timeout, pool=None).as_dict()

    async def __call__(self, url: httpx.URL, host: str, address: str) -> Hop:
        """GET `url` from `address` as `host` (rule 1)."""
        hop = Hop()
        tls = url.scheme == "https"
        host_header = f"[{host}]" if ":" in host else host
        if url.port is not None:
            host_header += f":{url.port}"
        extensions: dict[str, Any] = {"timeout": self._timeouts}
        if tls and not is_ip_literal(host):
            extensions["sni_hostname"] = host
        headers = [(b"Host", host_header.encode("ascii")), *_REQUEST_HEADERS]
        # The pinned URL: the address for the host, the rest of `url` unchanged. (A failure
        # here raises: the prober records it as the whole fetch's error.)
        if is_ip_literal(address):
            raw_host = address.encode("ascii")
        else:  # not expected (addresses are IPs); httpx validates whatever this is
            raw_host = url.copy_with(host=address).raw_host
        target = httpcore.URL(
            scheme=url.raw_scheme, host=raw_host, port=url.port, target=url.raw_path
        )
        request = httpcore.Request("GET", target, headers=headers, extensions=extensions)
        connection: httpcore.AsyncHTTPConnection | None = None
        try:
            if url.scheme not in _SCHEMES:
                raise httpcore.UnsupportedProtocol(
                    f"Request URL has an unsupported protocol '{url.scheme}://'."
                )
            connection = httpcore.AsyncHTTPConnection(
                origin=request.url.origin,
                ssl_context=self._ssl_context,
                http1=True,
                http2=False,
                retries=0,
                network_backend=AsyncioBackend(hop.handshake, self._connector),  # rule 2
            )
            async with asyncio.timeout(self._hop_deadline):
                response = await connection.handle_async_request(request)
                loop = asyncio.get_running_loop()
                body_start = loop.time()
                try:
                    hop.status = response.status
                    hop.raw_headers = list(response.headers)
                    await self._read_body(response, hop)
                finally:
                    hop.body_ms = ms(loop.time() - body_start)
                    await response.aclose()
        except Exception as exc:  # noqa: BLE001
            hop.error = classify(exc)
        finally:
            if connection is not None:
                await connection.aclose()  # rule 2: never kept alive
        return hop

    async def _read_body(self, response: httpcore.Response, hop: Hop) -> None:
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


def is_ip_literal(host: str) -> bool:
    """Whether `host` is an IPv4 or IPv6 address (not a name)."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
