"""Hand-built SiteResults covering every model type, for output and CLI tests."""

from __future__ import annotations

from reachcheck.model import (
    BLOCKED_VERDICTS,
    Anomaly,
    CertInfo,
    ControlMeasurement,
    DnsQuery,
    DnsResponse,
    HttpFetch,
    HttpHop,
    SiteResult,
    TcpConnect,
    TlsHandshake,
)
from reachcheck.targets import parse_target

ADDRESS = "127.0.0.2"  # loopback: these results describe a lab, never a public host


def make_result(given: str, verdict: str = "accessible", *, full: bool = True,
                anomalies: int | None = None) -> SiteResult:
    """A SiteResult for `given` with the verdict asked for and (when `full`) every kind of
    observation filled in, so codecs and the schema see nested objects of each type."""
    target = parse_target(given)
    blocked = verdict in BLOCKED_VERDICTS
    n_anomalies = anomalies if anomalies is not None else (2 if blocked else 0)
    found = tuple(
        Anomaly(stage="dns", kind="dns.injection",
                detail=f"evidence {i} for {target.domain}: two differing answers",
                addresses=(ADDRESS,), resolvers=("udp:127.0.0.1:5353",), confirmed=True)
        for i in range(n_anomalies)
    )
    if not full:
        return SiteResult(target=given, domain=target.domain, url=target.url,
                          verdict=verdict,  # type: ignore[arg-type]
                          confidence="likely" if blocked else "none", anomalies=found,
                          reason=f"judged {verdict}", summary=f"{verdict} mechanism")
    cert = CertInfo(subject=f"CN={target.domain}", issuer="CN=Lab CA", sans=(target.domain,),
                    not_before="2025-01-01T00:00:00Z", not_after="2035-01-01T00:00:00Z",
                    sha256="ab" * 32)
    tls = TlsHandshake(address=ADDRESS, port=target.port, sni=target.domain, kind="target",
                       ok=not blocked, elapsed_ms=3.5, error="reset" if blocked else None,
                       version="TLSv1.3", cipher="TLS_AES_128_GCM_SHA256", cert=cert,
                       started_ms=10.0)
    query = DnsQuery(
        resolver="udp:127.0.0.1:5353", role="probe", transport="udp", qname=target.domain,
        qtype="A", elapsed_ms=1.25,
        responses=(DnsResponse(arrived_ms=1.25, rcode="NOERROR", addresses=(ADDRESS,),
                               ttls=(300,), has_opt=True, raw_b64="AAAA"),),
        accepted=0)
    fetch = HttpFetch(url=target.url, address=ADDRESS, ok=True, elapsed_ms=7.0, status=200,
                      title="Lab page", body_length=120, body_sha256="cd" * 32,
                      body_head="<html>", headers={"server": "lab"},
                      header_names=("server", "content-type"),
                      redirects=(HttpHop(url=target.url, address=ADDRESS, status=301,
                                         location=target.url),),
                      final_url=target.url, tls=tls)
    return SiteResult(
        target=given, domain=target.domain, url=target.url,
        verdict=verdict,  # type: ignore[arg-type]
        confidence="confirmed" if blocked else "none", anomalies=found,
        reason=f"judged {verdict}", dns=(query,),
        tcp=(TcpConnect(address=ADDRESS, port=target.port, ok=True, elapsed_ms=0.5,
                        sources=("probe",)),),
        tls=(tls,), http=(fetch,),
        control=ControlMeasurement(server="http://127.0.0.1:9/", ok=True, dns=(query,)),
        elapsed_ms=42.0, reachable_with_trusted_dns=True if blocked else None,
        summary=f"{verdict} mechanism")
