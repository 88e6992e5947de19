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
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from reachcheck.model import HttpFetch, HttpHop, TlsHandshake
from reachcheck.probes import http_content as hc
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
    """httpcore trace hook: TLS facts at the moment the handshake completes."""

    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.started: float | None = None
        self.elapsed_ms: float | None = None
        self.facts: tuple[Any, Any, Any] = (None, None, None)

    async def __call__(self, name: str, info: dict[str, Any]) -> None:
        if name == "connection.start_tls.started":
            self.started = self._loop.time()
        elif name == "connection.start_tls.complete" and self.started is not None:
            self.elapsed_ms = round((self._loop.time() - self.started) * 1000, 3)
            stream = info.get("return_value")
            if stream is not None:
                self.facts = tls_facts(stream.get_extra_info("ssl_object"))


class HttpProber:
    """Pinned GETs for a whole run (one httpx transport; no connection reuse)."""

    def __init__(
        self,
        contexts: TlsContexts | ssl.SSLContext,
        *,
        timeout: float,
        body_cap: int = 256 * 1024,
        max_redirects: int = 10,
    ) -> None:
        self._contexts = contexts if isinstance(contexts, TlsContexts) else None
        verify = contexts.verified if isinstance(contexts, TlsContexts) else contexts
        self._timeout = timeout
        # The per-stage timeouts do not bound a server that drips bytes; this does.
        self._hop_deadline = 3 * timeout
        self._body_cap = body_cap
        self._max_redirects = max_redirects
        # The transport, not AsyncClient: even with follow_redirects=False the client parses
        # the Location of every 3xx and raises on a garbage one, losing the response. A bare
        # transport also never consults *_PROXY variables (trust_env=False for good measure).
        self._transport = httpx.AsyncHTTPTransport(
            verify=verify,
            trust_env=False,
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=0),
        )
        self._timeouts = httpx.Timeout(timeout, pool=None).as_dict()

    async def aclose(self) -> None:
        await self._transport.aclose()

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
        extensions: dict[str, Any] = {"trace": trace, "timeout": self._timeouts}
        if tls and not _is_ip(host):
            extensions["sni_hostname"] = host
        headers = {"Host": host_header, **REQUEST_HEADERS}
        request = httpx.Request(
            "GET", url.copy_with(host=address), headers=headers, extensions=extensions
        )
        try:
            async with asyncio.timeout(self._hop_deadline):
                response = await self._transport.handle_async_request(request)
                loop = asyncio.get_running_loop()
                body_start = loop.time()
                try:
                    hop.status = response.status_code
                    hop.raw_headers = list(response.headers.raw)
                    await self._read_body(response, hop)
                finally:
                    hop.body_ms = _ms(loop.time() - body_start)
                    await response.aclose()
        except Exception as exc:  # noqa: BLE001
            hop.error = classify(exc)
        if tls and trace.started is not None:
            hop.tls = await self._tls_record(url, host, address, trace, hop)
        return hop

    async def _read_body(self, response: httpx.Response, hop: _Hop) -> None:
        decoder = hc.BodyDecoder(response.headers.get("content-encoding"))
        raw_budget = 2 * self._body_cap + 65536  # compressed input that never inflates
        async for chunk in response.aiter_raw():
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
                address, port, sni, self._contexts, timeout=self._timeout
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
