"""The web connectivity test helper's answer (`control`) -> `ControlMeasurement`.

The test helper (TH) measures the same URL from a data centre, as our control server does:
DNS (DoH to a public resolver in current helpers), a TCP connect and (for 443) a TLS handshake
per endpoint, and a GET. It returns no timings, no certificates and no body, only the body's
length, the title and the first value of each header; those are what the model receives.
`ip_info` (ASN and flags per address) is derivable from the rest and is dropped.

The control is `ok` only when OONI recorded no `control_failure` and the answer holds data.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from reachcheck.ingest.ooni.failures import dns_outcome, error_name
from reachcheck.ingest.ooni.values import (
    as_dict,
    as_int,
    as_list,
    as_str,
    ip_literal,
    split_endpoint,
)
from reachcheck.model import (
    ControlMeasurement,
    DnsQuery,
    DnsResponse,
    HttpFetch,
    TcpConnect,
    TlsHandshake,
)

TH_RESOLVER = "ooni-th"


def server_name(measurement: dict[str, Any]) -> str:
    """The TH as the measurement names it: "ooni-th:https://1.th.ooni.org"."""
    backend = as_dict(measurement.get("test_helpers")).get("backend")
    address = as_str(as_dict(backend).get("address")) or as_str(backend)
    return f"{TH_RESOLVER}:{address}" if address else TH_RESOLVER


def _dns(control: dict[str, Any], domain: str) -> tuple[DnsQuery, ...]:
    dns = as_dict(control.get("dns"))
    if not dns:
        return ()
    rcode, error = dns_outcome(as_str(dns.get("failure")))
    raw = [x for x in as_list(dns.get("addrs")) if isinstance(x, str)]
    addrs = [a for a in (ip_literal(x) for x in raw) if a]
    # Old helpers list CNAME targets among the addresses ("wikispaces.com"): keep them as
    # CNAMEs, so a name with a CNAME and no address reads as such (a dangling CNAME).
    cnames = tuple(x.rstrip(".").lower() for x in raw if ip_literal(x) is None)
    v4 = tuple(a for a in addrs if ":" not in a)
    v6 = tuple(a for a in addrs if ":" in a)

    def query(qtype: str, addresses: tuple[str, ...]) -> DnsQuery:
        responses = () if error else (DnsResponse(0.0, rcode or "NOERROR", addresses,
                                                  cnames if qtype == "A" else ()),)
        return DnsQuery(resolver=TH_RESOLVER, role="control", transport="doh", qname=domain,
                        qtype=qtype, elapsed_ms=0.0, responses=responses,  # type: ignore[arg-type]
                        error=error, accepted=0 if responses else None)

    # The TH resolves both families but reports one list: an AAAA query only with IPv6
    # answers, so an empty list never reads as "the name has no IPv6".
    return (query("A", v4),) + ((query("AAAA", v6),) if v6 else ())


def _endpoints(control: dict[str, Any], key: str
               ) -> Iterator[tuple[str, int, bool, str | None, dict[str, Any]]]:
    """The test helper's per-endpoint results under `key` ("tcp_connect", "tls_handshake"):
    (address, port, ok, error name, the entry)."""
    for endpoint, raw in as_dict(control.get(key)).items():
        where = split_endpoint(endpoint)
        if where is None:
            continue
        entry = as_dict(raw)
        ok = entry.get("status") is True
        error = None if ok else (error_name(as_str(entry.get("failure"))) or "error")
        yield where[0], where[1], ok, error, entry


def _tcp(control: dict[str, Any]) -> tuple[TcpConnect, ...]:
    return tuple(TcpConnect(address, port, ok, 0.0, error, sources=("control",))
                 for address, port, ok, error, _ in _endpoints(control, "tcp_connect"))


def _tls(control: dict[str, Any], domain: str) -> tuple[TlsHandshake, ...]:
    return tuple(
        TlsHandshake(address, port, as_str(entry.get("server_name")) or domain, "target", ok,
                     0.0, error)
        for address, port, ok, error, entry in _endpoints(control, "tls_handshake")
    )


def _http(control: dict[str, Any], url: str) -> HttpFetch | None:
    http = as_dict(control.get("http_request"))
    if not http:
        return None
    status = as_int(http.get("status_code"))
    length = as_int(http.get("body_length"))
    failure = as_str(http.get("failure"))
    ok = failure is None and status is not None and status > 0
    headers = {str(k).lower(): str(v) for k, v in as_dict(http.get("headers")).items()
               if str(k).lower() != "set-cookie"}
    return HttpFetch(
        url=url, address="", ok=ok, elapsed_ms=0.0,
        error=None if ok else (error_name(failure) or "error"),
        status=status if status is not None and status > 0 else None,
        title=as_str(http.get("title")) or None,
        body_length=length if length is not None and length >= 0 else None,
        headers=headers,
        header_names=tuple(str(k).lower() for k in as_dict(http.get("headers"))),
    )


def map_control(measurement: dict[str, Any], test_keys: dict[str, Any], domain: str,
                url: str, is_ip: bool) -> ControlMeasurement | None:
    """The TH's view, or None when the measurement has no control at all."""
    control = as_dict(test_keys.get("control"))
    failure = as_str(test_keys.get("control_failure"))
    if not control and failure is None:
        return None
    server = server_name(measurement)
    if failure is not None or not control:
        return ControlMeasurement(server=server, ok=False,
                                  error=error_name(failure) if failure else "empty")
    return ControlMeasurement(
        server=server, ok=True,
        dns=() if is_ip else _dns(control, domain),
        tcp=_tcp(control),
        tls=_tls(control, domain),
        http=_http(control, url),
    )
