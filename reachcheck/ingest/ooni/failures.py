"""THE one table from OONI failure strings to reachcheck's error names.

OONI normalises every failure to a snake_case string (ooni/spec data-formats/df-007-errors.md;
older Measurement Kit and test-helper names too). reachcheck's probes use their own names
(`probes/errors.py`). A failure that happened before any DNS response arrived is a transport
error on the query; a failure that *is* a DNS answer (NXDOMAIN, no answer, SERVFAIL, REFUSED)
becomes a response with that rcode, because that is what the resolver said.

Unknown strings (and OONI's own `unknown_failure: ...`) become `error`: nothing is guessed.
"""

from __future__ import annotations

from typing import Final

# Connection, TLS and HTTP failures -> reachcheck error names.
ERRORS: Final[dict[str, str]] = {
    # df-007 names (probe-cli netxlite)
    "connection_refused": "refused",
    "connection_reset": "reset",
    "generic_timeout_error": "timeout",
    "eof_error": "eof",
    "connection_already_closed": "eof",
    "host_unreachable": "unreachable",
    "network_unreachable": "unreachable",
    "network_down": "unreachable",
    "address_not_available": "unreachable",
    "ssl_invalid_hostname": "cert_hostname",
    "ssl_unknown_authority": "cert_unknown_ca",
    "ssl_invalid_certificate": "cert_invalid",
    "ssl_failed_handshake": "tls_protocol",
    "too_many_redirects": "too_many_redirects",
    "http_unexpected_redirect_url": "http_protocol",
    "http_invalid_redirect_location_host": "http_protocol",
    # test-helper names (oohelperd): how the control's own attempts failed
    "connection_refused_error": "refused",
    "connect_error": "error",
    "dns_lookup_error": "dns",
    # A name lookup that failed inside the HTTP step (a redirect hop's host)
    "dns_nxdomain_error": "dns",
    "dns_no_answer": "dns",
    "dns_server_failure": "dns",
    "dns_refused_error": "dns",
    # Measurement Kit / legacy probe names
    "connection_reset_error": "reset",
    "tcp_timed_out_error": "timeout",
    "ssl_error": "tls_protocol",
    "dns_server_misbehaving": "error",
}

# DNS failures that are an answer: -> the rcode of the response the resolver sent.
DNS_RCODES: Final[dict[str, str]] = {
    "dns_nxdomain_error": "NXDOMAIN",
    "dns_name_error": "NXDOMAIN",  # the test helper's name for NXDOMAIN
    "dns_no_answer": "NOERROR",  # the name exists, no record of this type
    # Android's getaddrinfo cannot tell NXDOMAIN from NODATA (EAI_NODATA): the weaker reading.
    "android_dns_cache_no_data": "NOERROR",
    "dns_refused_error": "REFUSED",
    "dns_server_failure": "SERVFAIL",
    "dns_servfail_error": "SERVFAIL",
    "dns_non_recoverable_failure": "SERVFAIL",  # EAI_FAIL: the resolver failed for good
}

# DNS failures without an answer: -> the transport error of the query.
DNS_ERRORS: Final[dict[str, str]] = {
    "generic_timeout_error": "timeout",
    "dns_temporary_failure": "timeout",  # EAI_AGAIN: no usable answer in time
    "connection_refused": "refused",
    "connection_reset": "reset",
    "host_unreachable": "unreachable",
    "network_unreachable": "unreachable",
    "eof_error": "eof",
    "dns_reply_with_wrong_query_id": "dns_malformed",
    "dns_bogon_error": "error",  # the engine dropped bogon answers; they are not recorded
}


def error_name(failure: str | None) -> str | None:
    """reachcheck's error name for an OONI connect/TLS/HTTP failure (None: no failure)."""
    if failure is None:
        return None
    return ERRORS.get(failure, "error")


def dns_outcome(failure: str | None) -> tuple[str | None, str | None]:
    """(rcode, error) for an OONI DNS failure: exactly one is set, or neither for success."""
    if failure is None:
        return None, None
    rcode = DNS_RCODES.get(failure)
    if rcode is not None:
        return rcode, None
    return None, DNS_ERRORS.get(failure, "error")
