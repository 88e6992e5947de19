"""DNS-over-HTTPS control resolver (RFC 8484 POST), pinned to bootstrap addresses.

Rules:
1. DoH is the control: an on-path injector cannot forge it, so its answers are what the name
   really resolves to. It must not depend on the system resolver, hence the bootstrap
   addresses (IP in the URL, Host + `sni_hostname` = the URL's host, certificate verified).
2. Keep-alive ON here (unlike http.py): every query goes to the same server, and a handshake
   per query would dominate the cost of a run. One httpx client per DohClient.
3. We build the query with dnspython and POST it ourselves: dnspython >= 2.9's own DoH needs
   the httpx2 fork.
"""

from __future__ import annotations

import asyncio
import base64
import importlib.util
import ssl
from typing import Literal

import dns.message
import dns.rcode
import dns.rdatatype
import httpx

from reachcheck.model import DnsQuery, DnsResponse
from reachcheck.probes.errors import classify

CONTENT_TYPE = "application/dns-message"
MAX_MESSAGE = 65535
RAW_KEEP = 4096  # bytes of the answer kept as evidence
# HTTP/1.1 has no multiplexing: a few kept-alive connections serve concurrent queries. With the
# optional `h2` package one HTTP/2 connection carries them all.
_HTTP2 = importlib.util.find_spec("h2") is not None
_CONNECTIONS = 8


class QuestionMismatch(Exception):
    """The server answered something other than what we asked."""


class DohClient:
    """Queries one DoH server for the whole run; call `aclose()` at the end."""

    def __init__(
        self, url: str, bootstrap: tuple[str, ...], ssl_context: ssl.SSLContext, timeout: float
    ) -> None:
        self.url = url
        self._url = httpx.URL(url)
        self._host = self._url.host
        self._bootstrap = tuple(bootstrap)
        self._preferred = 0  # the bootstrap address that last worked
        self._client = httpx.AsyncClient(
            verify=ssl_context,
            trust_env=False,
            follow_redirects=False,
            http2=_HTTP2,
            # pool=None: waiting for a free connection is our own queueing, not the server's.
            timeout=httpx.Timeout(timeout, pool=None),
            limits=httpx.Limits(
                max_connections=_CONNECTIONS, max_keepalive_connections=_CONNECTIONS
            ),
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def query(self, qname: str, qtype: Literal["A", "AAAA"]) -> DnsQuery:
        """Ask for `qname`/`qtype`; never raises for network or protocol failures."""
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        try:
            query = dns.message.make_query(qname, qtype, use_edns=0, payload=1232)
            query.id = 0  # RFC 8484 4.1: id 0 keeps answers cacheable
            wire = query.to_wire()
        except Exception as exc:  # noqa: BLE001 - an unencodable name
            return self._query(qname, qtype, 0.0, error=classify(exc))
        error = "error"
        for index in self._order():
            try:
                status, ctype, body = await self._post(index, wire)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                error = classify(exc)  # this bootstrap address is unusable: try the next
                continue
            except Exception as exc:  # noqa: BLE001
                return self._query(qname, qtype, _ms(loop.time() - t0), error=classify(exc))
            if index is not None:
                self._preferred = index
            elapsed = _ms(loop.time() - t0)
            return self._parse(query, qname, qtype, elapsed, status, ctype, body)
        return self._query(qname, qtype, _ms(loop.time() - t0), error=error)

    def _order(self) -> list[int | None]:
        """Bootstrap indexes, the last one that worked first; [None] = connect by name."""
        n = len(self._bootstrap)
        if n == 0:
            return [None]
        return [(self._preferred + i) % n for i in range(n)]

    async def _post(self, index: int | None, wire: bytes) -> tuple[int, str, bytes]:
        headers = {"content-type": CONTENT_TYPE, "accept": CONTENT_TYPE}
        extensions = {}
        target = self._url
        if index is not None:
            target = self._url.copy_with(host=self._bootstrap[index])
            host = f"[{self._host}]" if ":" in self._host else self._host
            headers["host"] = host if self._url.port is None else f"{host}:{self._url.port}"
            extensions["sni_hostname"] = self._host
        async with self._client.stream(
            "POST", target, content=wire, headers=headers, extensions=extensions
        ) as response:
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_MESSAGE:
                    break  # larger than any DNS message: garbage, stop reading
            return response.status_code, response.headers.get("content-type", ""), bytes(body)

    def _parse(
        self,
        query: dns.message.Message,
        qname: str,
        qtype: Literal["A", "AAAA"],
        elapsed: float,
        status: int,
        ctype: str,
        body: bytes,
    ) -> DnsQuery:
        if status != 200:
            return self._query(qname, qtype, elapsed, error="http_status")
        if ctype.split(";", 1)[0].strip().lower() != CONTENT_TYPE:
            return self._query(qname, qtype, elapsed, error="http_content_type")
        raw_b64 = base64.b64encode(body[:RAW_KEEP]).decode("ascii")
        try:
            message = dns.message.from_wire(body)
            if not query.is_response(message):
                raise QuestionMismatch("the response does not answer our question")
            response = _response(message, qtype, elapsed, raw_b64)
        except Exception as exc:  # noqa: BLE001 - garbage from the server
            bad = DnsResponse(elapsed, "MALFORMED", error=type(exc).__name__, raw_b64=raw_b64)
            return self._query(qname, qtype, elapsed, (bad,), error="dns_malformed")
        return self._query(qname, qtype, elapsed, (response,), accepted=0)

    def _query(
        self,
        qname: str,
        qtype: Literal["A", "AAAA"],
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


def _response(
    message: dns.message.Message, qtype: str, elapsed: float, raw_b64: str
) -> DnsResponse:
    wanted = dns.rdatatype.from_text(qtype)
    addresses: list[str] = []
    ttls: list[int] = []
    cnames: list[str] = []
    for rrset in message.answer:
        for rdata in rrset:
            if rrset.rdtype == wanted:
                addresses.append(rdata.address)
                ttls.append(rrset.ttl)
            elif rrset.rdtype == dns.rdatatype.CNAME:
                cnames.append(rdata.target.to_text().rstrip(".").lower())
    return DnsResponse(
        arrived_ms=elapsed,
        rcode=dns.rcode.to_text(message.rcode()),
        addresses=tuple(addresses),
        cnames=tuple(cnames),
        ttls=tuple(ttls),
        has_opt=message.edns >= 0,
        ede=tuple(int(option.code) for option in message.extended_errors()),
        raw_b64=raw_b64,
    )


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 3)
