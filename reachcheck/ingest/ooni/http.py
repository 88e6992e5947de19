"""OONI `requests` -> one reachcheck `HttpFetch` (the redirect chain, the final response).

OONI stores requests newest first; the last element is the first hop. Each earlier hop
becomes an `HttpHop` (status and Location), the newest one the fetch's final response: status,
headers (OONI's `headers_list`, or the older `headers` object), body (a string, or base64 in an
object) with its truncation flag, title and length computed like our probe does.

`address`: the request's own `address` (v0.5). v0.4 does not record it; it is deduced only
when the system resolver gave exactly one address for the name (the only one the GET could
use), else left empty, so a failure is not pinned on an address by guesswork.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Any

from reachcheck.ingest.ooni.failures import error_name
from reachcheck.ingest.ooni.values import (
    as_dict,
    as_int,
    as_list,
    as_str,
    seconds_to_ms,
    split_endpoint,
)
from reachcheck.model import HttpFetch, HttpHop, TlsHandshake
from reachcheck.probes.http_content import body_head, extract_title, select_headers


def _body(response: dict[str, Any]) -> bytes | None:
    return _bytes(response.get("body"))


def _headers(response: dict[str, Any]) -> list[tuple[bytes, bytes]]:
    pairs = as_list(response.get("headers_list"))
    if not pairs:
        pairs = [[k, v] for k, v in as_dict(response.get("headers")).items()]
    out = []
    for pair in pairs:
        if not isinstance(pair, list) or len(pair) != 2 or not isinstance(pair[0], str):
            continue
        value = _bytes(pair[1])
        if value is not None:
            out.append((pair[0].encode("utf-8", "replace"), value))
    return out


def _bytes(value: Any) -> bytes | None:
    """A string, or OONI's {"format": "base64", "data": ...} for non-UTF-8 bytes."""
    if isinstance(value, str):
        return value.encode("utf-8", errors="surrogatepass")
    data = as_dict(value)
    if data.get("format") == "base64" and isinstance(data.get("data"), str):
        try:
            return base64.b64decode(data["data"])
        except (binascii.Error, ValueError):
            return None
    return None


def _address(entry: dict[str, Any]) -> str | None:
    endpoint = split_endpoint(entry.get("address"))
    return endpoint[0] if endpoint else None


def map_requests(test_keys: dict[str, Any], url: str, sole_address: str | None,
                 handshakes: tuple[TlsHandshake, ...] = ()) -> tuple[HttpFetch, ...]:
    """The probe's fetch of `url`, or () when OONI made no request (see the module docstring).

    `http_experiment_failure` also counts: with no request recorded it is the fetch's error
    (the step failed before a request was logged); after a redirect response it is the failure
    of the next hop (v0.5 logs no request for a hop whose DNS or connect failed)."""
    chain = [as_dict(r) for r in reversed(as_list(test_keys.get("requests")))]
    chain = [r for r in chain if r]
    experiment_failure = as_str(test_keys.get("http_experiment_failure"))
    if not chain:
        if experiment_failure is None:
            return ()
        return (HttpFetch(url=url, address=sole_address or "", ok=False, elapsed_ms=0.0,
                          error=error_name(experiment_failure) or "error"),)
    final_status = as_int(as_dict(chain[-1].get("response")).get("code"))
    next_hop_failed = (experiment_failure is not None and chain[-1].get("failure") is None
                       and final_status is not None and 300 <= final_status < 400)
    hops = []
    for entry in chain if next_hop_failed else chain[:-1]:
        response = as_dict(entry.get("response"))
        status = as_int(response.get("code"))
        kept, _names = select_headers(_headers(response))
        hops.append(HttpHop(
            url=as_str(as_dict(entry.get("request")).get("url")) or url,
            address=_address(entry),
            status=status if status else None,
            location=kept.get("location"),
            error=error_name(as_str(entry.get("failure"))),
        ))
    final = chain[-1]
    if next_hop_failed:
        return (HttpFetch(url=url, address=hops[0].address or "", ok=False,
                          elapsed_ms=0.0, error=error_name(experiment_failure) or "error",
                          redirects=tuple(hops), final_url=hops[-1].location),)
    response = as_dict(final.get("response"))
    status = as_int(response.get("code")) or None
    failure = as_str(final.get("failure"))
    headers = _headers(response)
    kept, names = select_headers(headers)
    body = _body(response)
    ok = failure is None and status is not None
    address = _address(final) or (sole_address if not hops else None) or ""
    final_url = as_str(as_dict(final.get("request")).get("url")) or ""
    return (HttpFetch(
        url=url,
        address=address,
        ok=ok,
        elapsed_ms=seconds_to_ms(final.get("t0"), final.get("t")),
        error=None if ok else (error_name(failure) or "error"),
        status=status,
        title=extract_title(body, kept.get("content-type")) if body else None,
        body_length=len(body) if body is not None else None,
        body_truncated=response.get("body_is_truncated") is True,
        body_sha256=hashlib.sha256(body).hexdigest() if body is not None else None,
        body_head=body_head(body) if body else None,
        headers=kept,
        header_names=names,
        redirects=tuple(hops),
        final_url=final_url or None,
        tls=_handshake(handshakes, address) if final_url.startswith("https:") else None,
    ),)


def _handshake(handshakes: tuple[TlsHandshake, ...], address: str) -> TlsHandshake | None:
    """The measured name's handshake on the fetch's address (a successful one first): the
    GET ran over it, so the HTTP failure comes after it."""
    mine = [t for t in handshakes if t.address == address]
    return next((t for t in mine if t.ok), mine[0] if mine else None)
