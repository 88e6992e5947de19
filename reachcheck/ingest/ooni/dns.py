"""OONI `queries` (and v0.5 `x_dns_duplicate_responses`) -> reachcheck `DnsQuery`s.

- Only queries for the measured name are kept: the control speaks about that name alone, so a
  redirect hop's lookups (v0.5 `depth=N`) would read as lies about the wrong name.
- Engines: `system`/`getaddrinfo` (and other OS resolvers) -> role "system"; `udp` -> "probe"
  (`udp:IP:PORT`); `doh` -> "control" over DoH (an on-path injector cannot forge it, like our
  own DoH controls). Other engines (tcp, dot) have no place in the model and are dropped.
- getaddrinfo asks A and AAAA at once (`query_type` "ANY", or "A" in old probes): its IPv4
  answers become an A query and its IPv6 answers an AAAA query; an AAAA query is made only when
  there are IPv6 answers, because OONI did not record whether AAAA came back empty.
- A failure that is an answer (NXDOMAIN, no answer, SERVFAIL, REFUSED) becomes a response with
  that rcode; a timeout is a query with no response (`failures.dns_outcome`).
- Late responses to the same UDP query (`x_dns_duplicate_responses`, collected by v0.5 for
  500 ms) are appended to that query's responses: several differing answers = injection.
"""

from __future__ import annotations

from typing import Any

from reachcheck.ingest.ooni.failures import dns_outcome
from reachcheck.ingest.ooni.values import (
    as_dict,
    as_int,
    as_list,
    as_str,
    ip_literal,
    seconds_to_ms,
)
from reachcheck.model import DnsQuery, DnsResponse

SYSTEM_ENGINES = frozenset({"system", "getaddrinfo", "golang_net_resolver", "android", ""})
_Key = tuple[str, str, str]  # (resolver, role, qtype)


def _role(engine: str) -> tuple[str, str] | None:
    """(role, transport) for an OONI engine name, or None for engines the model lacks."""
    if engine in SYSTEM_ENGINES:
        return "system", "udp"
    if engine == "udp":
        return "probe", "udp"
    if engine == "doh":
        return "control", "doh"
    return None


def _resolver(engine: str, entry: dict[str, Any], resolver_ip: str | None) -> str:
    address = as_str(entry.get("resolver_address")) or ""
    if engine == "udp":
        return f"udp:{address}"
    if engine == "doh":
        return address or "doh"
    # The OS resolver: OONI knows only the egress address its queries left from (whoami).
    return f"getaddrinfo@{resolver_ip}" if resolver_ip else "getaddrinfo"


def _answers(entry: dict[str, Any]) -> tuple[list[str], list[str], list[str], list[int | None]]:
    """(IPv4 addresses, IPv6 addresses, CNAME targets, IPv4 TTLs) in answer order."""
    v4: list[str] = []
    v6: list[str] = []
    cnames: list[str] = []
    ttls: list[int | None] = []
    for answer in as_list(entry.get("answers")):
        answer = as_dict(answer)
        kind = answer.get("answer_type")
        if kind == "A" and (ip := ip_literal(answer.get("ipv4"))):
            v4.append(ip)
            ttls.append(as_int(answer.get("ttl")))
        elif kind == "AAAA" and (ip := ip_literal(answer.get("ipv6"))):
            v6.append(ip)
        elif kind == "CNAME" and (name := as_str(answer.get("hostname"))):
            cnames.append(name.rstrip(".").lower())
    return v4, v6, cnames, ttls


def _response(entry: dict[str, Any], addresses: list[str], cnames: list[str],
              arrived_ms: float, ttls: list[int | None] | None = None) -> DnsResponse | None:
    rcode, error = dns_outcome(as_str(entry.get("failure")))
    if error is not None:
        return None
    known_ttls = tuple(t for t in ttls or () if t is not None)
    return DnsResponse(
        arrived_ms=arrived_ms,
        rcode=rcode or "NOERROR",
        addresses=tuple(addresses),
        cnames=tuple(cnames),
        ttls=known_ttls if len(known_ttls) == len(addresses) else (),
        raw_b64=as_str(entry.get("raw_response")),
    )


class _Builder:
    """Accumulates queries by (resolver, role, qtype), in first-seen order."""

    def __init__(self, domain: str) -> None:
        self.domain = domain
        self.queries: dict[_Key, dict[str, Any]] = {}

    def add(self, key: _Key, transport: str, elapsed_ms: float,
            response: DnsResponse | None, error: str | None) -> None:
        q = self.queries.get(key)
        if q is None:
            q = self.queries[key] = {"transport": transport, "elapsed_ms": elapsed_ms,
                                     "responses": [], "error": None}
        if response is not None:
            q["responses"].append(response)
        elif q["error"] is None and not q["responses"]:
            q["error"] = error

    def build(self) -> tuple[DnsQuery, ...]:
        out = []
        for (resolver, role, qtype), q in self.queries.items():
            responses = tuple(q["responses"])
            out.append(DnsQuery(
                resolver=resolver, role=role, transport=q["transport"],  # type: ignore[arg-type]
                qname=self.domain, qtype=qtype,  # type: ignore[arg-type]
                elapsed_ms=q["elapsed_ms"], responses=responses,
                error=None if responses else (q["error"] or "error"),
                accepted=0 if responses else None,
            ))
        return tuple(out)


def map_queries(test_keys: dict[str, Any], domain: str,
                resolver_ip: str | None) -> tuple[DnsQuery, ...]:
    """The probe's DNS queries for `domain` (see the module docstring)."""
    builder = _Builder(domain)
    starts: dict[tuple[str, str], Any] = {}
    for raw in as_list(test_keys.get("queries")):
        entry = as_dict(raw)
        engine = as_str(entry.get("engine")) or ""
        role = _role(engine)
        hostname = (as_str(entry.get("hostname")) or "").rstrip(".").lower()
        if role is None or hostname != domain:
            continue
        resolver = _resolver(engine, entry, resolver_ip)
        qtype = as_str(entry.get("query_type")) or "A"
        elapsed = seconds_to_ms(entry.get("t0"), entry.get("t"))
        v4, v6, cnames, ttls = _answers(entry)
        _rcode, error = dns_outcome(as_str(entry.get("failure")))
        if qtype == "AAAA" or (qtype == "A" and engine not in SYSTEM_ENGINES):
            starts[(resolver, qtype)] = entry.get("t0")
            addrs = v4 if qtype == "A" else v6
            response = _response(entry, addrs, cnames, elapsed, ttls if qtype == "A" else None)
            builder.add((resolver, role[0], qtype), role[1], elapsed, response, error)
            continue
        # getaddrinfo: one lookup for both families ("ANY", or "A" holding AAAA answers too).
        builder.add((resolver, role[0], "A"), role[1], elapsed,
                    _response(entry, v4, cnames, elapsed, ttls), error)
        if v6:
            builder.add((resolver, role[0], "AAAA"), role[1], elapsed,
                        _response(entry, v6, cnames, elapsed), error)
    for raw in as_list(test_keys.get("x_dns_duplicate_responses")):
        entry = as_dict(raw)
        hostname = (as_str(entry.get("hostname")) or "").rstrip(".").lower()
        qtype = as_str(entry.get("query_type")) or ""
        resolver = _resolver("udp", entry, resolver_ip)
        key = (resolver, "probe", qtype)
        if hostname != domain or qtype not in ("A", "AAAA") or key not in builder.queries:
            continue
        v4, v6, cnames, ttls = _answers(entry)
        arrived = seconds_to_ms(starts.get((resolver, qtype)), entry.get("t"))
        response = _response(entry, v4 if qtype == "A" else v6, cnames, arrived,
                             ttls if qtype == "A" else None)
        if response is not None:
            builder.add(key, "udp", 0.0, response, None)
    return builder.build()
