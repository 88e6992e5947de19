"""HTTP GET probe: redirects followed by hand, each hop pinned to a chosen address.

Rules:
1. Pinning: each hop goes to an address chosen here, with the name in `Host` and the SNI
   (`http_exchange.PinnedGet`: httpcore's HTTP/1.1 connection on a native asyncio backend, a
   fresh connection per request; httpx only parses and joins URLs).
2. Redirects by hand: a client would copy the old SNI onto a cross-host hop and resolve the new
   host with the system resolver. Each hop is re-pinned here (same host: same address; other
   host: the caller's `resolve`; an IP-literal Location: that address).
3. Every address a request would go to, redirect hops included, first passes the prober's
   `AddressPolicy` (default: all allowed); a refused hop fails with "forbidden", nothing sent.
   The control server's SSRF guard plugs in there.
4. Everything from the server is hostile: body, headers, title and redirect count are capped,
   and any failure becomes an error name on the HttpFetch, never an exception.
"""

from __future__ import annotations

import asyncio
import hashlib
import ssl
from collections.abc import Awaitable, Callable

import httpx

from reachcheck.model import HttpFetch, HttpHop, TlsHandshake
from reachcheck.probes import http_content as hc
from reachcheck.probes.connector import Connector
from reachcheck.probes.errors import classify, is_cert_error
from reachcheck.probes.http_exchange import Hop, PinnedGet, is_ip_literal
from reachcheck.probes.timing import ms
from reachcheck.probes.tls import TlsContexts, presented_certificate

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_LOCATION = 2048
Resolve = Callable[[str], Awaitable[list[str]]]
# address -> None when a request may go there, else why not (rule 3).
AddressPolicy = Callable[[str], str | None]


def allow_every_address(address: str) -> str | None:
    """The default AddressPolicy: every address may be requested."""
    return None


class HttpProber:
    """Pinned GETs for a whole run (no connection reuse)."""

    def __init__(
        self,
        contexts: TlsContexts | ssl.SSLContext,
        *,
        timeout: float,
        body_cap: int = 256 * 1024,
        max_redirects: int = 10,
        connector: Connector | None = None,
        address_policy: AddressPolicy = allow_every_address,
    ) -> None:
        self._connector = connector  # through a proxy (probes/connector.py); None = direct
        self._contexts = contexts if isinstance(contexts, TlsContexts) else None
        verify = contexts.verified if isinstance(contexts, TlsContexts) else contexts
        self._timeout = timeout
        self._max_redirects = max_redirects
        self._address_policy = address_policy
        self._get = PinnedGet(
            verify,
            timeout=timeout,
            # The per-stage timeouts do not bound a server that drips bytes; this does.
            hop_deadline=3 * timeout,
            body_cap=body_cap,
            connector=connector,
        )

    async def aclose(self) -> None:
        """Nothing to close: each request closes its own connection (rule 1)."""

    async def fetch(self, url: str, domain: str, address: str, *, resolve: Resolve) -> HttpFetch:
        """GET `url` from `address` as `domain`; redirects re-pinned via `resolve(host)`."""
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        try:
            return await self._fetch(url, domain, address, resolve, t0)
        except Exception as exc:  # noqa: BLE001 - e.g. an unparsable URL: still an observation
            return HttpFetch(url, address, False, ms(loop.time() - t0), error=classify(exc))

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
                found = host if is_ip_literal(host) else await _first_address(resolve, host)
                if not found:
                    hops.append(HttpHop(str(nxt), None, None, error="dns"))
                    dns_fail = Hop(error="dns")
                    return self._result(url, address, dns_fail, hops, nxt, first_tls,
                                        loop.time() - t0)  # fmt: skip
                addr = found
            cur = nxt
        raise AssertionError("unreachable: the loop returns on its last hop")

    async def _request(self, url: httpx.URL, host: str, address: str) -> Hop:
        if self._address_policy(address) is not None:  # rule 3: nothing is sent
            return Hop(error="forbidden")
        hop = await self._get(url, host, address)
        if url.scheme == "https" and hop.handshake.started is not None:
            hop.tls = await self._tls_record(url, host, address, hop)
        return hop

    async def _tls_record(self, url: httpx.URL, host: str, address: str, hop: Hop) -> TlsHandshake:
        port = url.port or 443
        sni = None if is_ip_literal(host) else host
        record = hop.handshake
        if record.elapsed_ms is not None:
            version, cipher, cert = record.facts
            return TlsHandshake(address, port, sni, "target", True, record.elapsed_ms,
                                version=version, cipher=cipher, cert=cert)  # fmt: skip
        version = cipher = cert = None
        if is_cert_error(hop.error) and self._contexts is not None:
            version, cipher, cert = await presented_certificate(
                address, port, sni, self._contexts, timeout=self._timeout,
                connector=self._connector,
            )
        elapsed = ms(asyncio.get_running_loop().time() - (record.started or 0))
        return TlsHandshake(address, port, sni, "target", False, elapsed, error=hop.error,
                            version=version, cipher=cipher, cert=cert)  # fmt: skip

    def _result(
        self,
        url: str,
        address: str,
        hop: Hop,
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
            elapsed_ms=ms(elapsed),
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


def _location(hop: Hop) -> str | None:
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
