"""One OONI measurement -> `Observations` for the analysis, plus its `source` record.

Accepted shapes: a measurement document (`test_name`, `test_keys`, ...), or the measurement
API's answer holding it in `raw_measurement` (an object or a JSON string). Only Web
Connectivity is mapped (every version: the v0.4 keys and the v0.5 "LTE" additions); another
test raises `OtherTest`, a structure that cannot be read raises `Malformed`.

What OONI did not measure stays absent (no benign-SNI handshake, no hold-on window beyond
v0.5's duplicate responses, no injection probe): the analysis then judges without them, as it
does when a live run skips a stage. The mapping table is in docs/ooni-mapping.md.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any

from reachcheck.ingest.ooni.connect import map_tcp, map_tls
from reachcheck.ingest.ooni.control import map_control
from reachcheck.ingest.ooni.dns import map_queries
from reachcheck.ingest.ooni.http import map_requests
from reachcheck.ingest.ooni.values import Malformed, as_int, as_str, ip_literal
from reachcheck.model import DnsQuery, Observations
from reachcheck.targets import TargetError, parse_target

WEB_CONNECTIVITY = "web_connectivity"


class OtherTest(Exception):
    """A measurement of another OONI test (counted and skipped); args[0] is its name."""


@dataclass(frozen=True, slots=True)
class Mapped:
    """A measurement ready for `judge()`, and where it came from."""

    observations: Observations
    source: dict[str, Any]


def unwrap(value: Any) -> tuple[dict[str, Any], str | None]:
    """(the measurement, the API's measurement_uid) from a document or an API answer."""
    if not isinstance(value, dict):
        raise Malformed("not a JSON object")
    uid = as_str(value.get("measurement_uid"))
    raw = value.get("raw_measurement")
    if raw is None:
        return value, uid
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except (ValueError, RecursionError):
            raise Malformed("raw_measurement is not valid JSON") from None
    if not isinstance(raw, dict):
        raise Malformed("raw_measurement is not an object")
    return raw, uid or as_str(raw.get("measurement_uid"))


def _rfc3339(text: str | None) -> str | None:
    """"2023-11-30 17:41:34" (OONI's UTC) -> "2023-11-30T17:41:34Z"."""
    if not text:
        return None
    text = text.strip().replace(" ", "T", 1)
    return text if text.endswith("Z") or "+" in text[10:] else text + "Z"


def _asn(value: Any) -> str | None:
    number = as_int(value)
    if number is not None:
        return f"AS{number}"
    return as_str(value)


def _sources(queries: tuple[DnsQuery, ...], control_addrs: set[str]) -> dict[str, tuple[str, ...]]:
    found: dict[str, dict[str, None]] = {}
    for q in queries:
        for r in q.responses:
            for a in r.addresses:
                found.setdefault(a, {})[q.role] = None
    for a in control_addrs:
        found.setdefault(a, {})["control"] = None
    return {a: tuple(roles) for a, roles in found.items()}


def _sole_system_address(queries: tuple[DnsQuery, ...]) -> str | None:
    addrs = {a for q in queries if q.role == "system" for r in q.responses for a in r.addresses}
    return next(iter(addrs)) if len(addrs) == 1 else None


# The same URLs are measured by many probes: parse each once (Target is immutable).
_target = functools.lru_cache(maxsize=16384)(parse_target)


def map_measurement(value: Any) -> Mapped:
    """Map one published measurement (see the module docstring)."""
    m, uid = unwrap(value)
    test_name = m.get("test_name")
    if not isinstance(test_name, str) or not test_name:
        raise Malformed("not an OONI measurement (no test_name)")
    if test_name != WEB_CONNECTIVITY:
        raise OtherTest(test_name)
    tk = m.get("test_keys")
    if not isinstance(tk, dict):
        raise Malformed("test_keys is not an object")
    text = as_str(m.get("input"))
    if not text:
        raise Malformed("no input URL")
    try:
        target = _target(text)
    except TargetError as exc:
        raise Malformed(f"input {text[:80]!r}: {exc}") from None
    target_given = text
    dns = () if target.is_ip else map_queries(tk, target.domain, ip_literal(m.get("resolver_ip")))
    control = map_control(m, tk, target.domain, target.url, target.is_ip)
    control_addrs = {a for q in (control.dns if control else ()) for r in q.responses
                     for a in r.addresses}
    runtime = m.get("test_runtime")
    tls = map_tls(tk, target.domain) if not target.is_ip else ()
    observations = Observations(
        target=target,
        dns=dns,
        tcp=map_tcp(tk, _sources(dns, control_addrs)),
        tls=tls,
        http=map_requests(tk, target.url, _sole_system_address(dns), tls),
        control=control,
        elapsed_ms=round(runtime * 1000, 3) if isinstance(runtime, (int, float)) else 0.0,
    )
    blocking = tk.get("blocking")
    source: dict[str, Any] = {
        "kind": "ooni",
        "measurement_uid": uid,
        "report_id": as_str(m.get("report_id")) or None,
        "input": target_given,
        "probe_cc": as_str(m.get("probe_cc")),
        "probe_asn": _asn(m.get("probe_asn")),
        "measured_at": _rfc3339(as_str(m.get("measurement_start_time"))),
        "test_version": as_str(m.get("test_version")),
        "ooni_blocking": blocking if isinstance(blocking, (str, bool)) else None,
        "ooni_accessible": tk.get("accessible") if isinstance(tk.get("accessible"), bool)
        else None,
    }
    return Mapped(observations, source)
