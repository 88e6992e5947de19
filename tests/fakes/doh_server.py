"""A DNS-over-HTTPS app for FakeServer (RFC 8484 POST and GET ?dns=).

    doh = DohApp({"site.test": ["198.18.0.10", "2001:db8::10"]},
                 cnames={"www.site.test": "site.test"})
    with FakeServer(tls=True, app=doh) as srv:
        DohClient(srv.url("dns.test", "/dns-query"), ("127.0.0.1",), ctx, timeout=2)

Names in `records` answer with their addresses of the asked type (NOERROR, maybe empty);
names in `cnames` answer with a CNAME then the target's addresses; anything else is NXDOMAIN.
Names in `ede` also carry that Extended DNS Error code (15 = Blocked, 16 = Censored).
Requests to other paths go to `fallback` (an HttpApp), so fault pages can share the server.
"""

from __future__ import annotations

import base64
import ipaddress
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

import dns.edns
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

from tests.fakes.http_server import Behavior, HttpApp, Page, Request, serve_http

if TYPE_CHECKING:
    from tests.fakes.tls_server import FakeServer

CONTENT_TYPE = "application/dns-message"


def _norm(name: str) -> str:
    return name.lower().rstrip(".")


@dataclass
class DohApp:
    records: Mapping[str, Sequence[str]] = field(default_factory=dict)
    cnames: Mapping[str, str] = field(default_factory=dict)
    path: str = "/dns-query"
    ede: Mapping[str, int] = field(default_factory=dict)  # name -> RFC 8914 code to attach
    ttl: int = 300
    fallback: HttpApp = field(default_factory=HttpApp)
    queries: list[tuple[str, str]] = field(default_factory=list)  # (qname, qtype) served

    def answer(self, wire: bytes) -> bytes:
        """The wire response to a wire query."""
        query = dns.message.from_wire(wire)
        response = dns.message.make_response(query)
        response.flags |= dns.flags.RA
        question = query.question[0]
        qname = _norm(question.name.to_text())
        qtype = dns.rdatatype.to_text(question.rdtype)
        self.queries.append((qname, qtype))
        if qname in self.ede:
            response.use_edns(0, options=[dns.edns.EDEOption(self.ede[qname])])
        name = qname
        owner = question.name
        if name in self.cnames:
            target = _norm(self.cnames[name])
            response.answer.append(
                dns.rrset.from_text(owner, self.ttl, "IN", "CNAME", target + ".")
            )
            name, owner = target, dns.name.from_text(target + ".")
        if name not in self.records:
            response.set_rcode(dns.rcode.NXDOMAIN)
            return response.to_wire()
        version = 4 if qtype == "A" else 6
        addrs = [a for a in self.records[name] if ipaddress.ip_address(a).version == version]
        if addrs and qtype in ("A", "AAAA"):
            response.answer.append(dns.rrset.from_text_list(owner, self.ttl, "IN", qtype, addrs))
        return response.to_wire()

    def route(self, req: Request) -> Behavior:
        url = urlsplit(req.path)
        if url.path != self.path:
            return self.fallback.route(req)
        try:
            if req.method == "POST":
                wire = req.body
            else:
                b64 = parse_qs(url.query)["dns"][0]
                wire = base64.urlsafe_b64decode(b64 + "=" * (-len(b64) % 4))
            data = self.answer(wire)
        except Exception:  # noqa: BLE001 - a bad query is a 400, whatever broke
            return Page("Bad Request", status=400)
        return Page(body=data, content_type=CONTENT_TYPE)

    def __call__(self, sock: socket.socket, server: FakeServer, sni: str | None) -> None:
        serve_http(sock, server, sni, self.route)
