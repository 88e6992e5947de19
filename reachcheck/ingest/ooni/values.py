"""Tolerant readers for the loosely typed values of OONI JSON (shared by the mappers).

OONI data spans a decade of probes: a field may be missing, null, a number as a string, or an
object where a list was expected. These helpers return a safe default instead of raising, so
one odd field never drops a measurement; a measurement whose *structure* is wrong is rejected
by the mapper with `Malformed`.
"""

from __future__ import annotations

import functools
import ipaddress
from typing import Any


class Malformed(ValueError):
    """A measurement that cannot be mapped; the message says why in one line."""


def as_dict(value: Any) -> dict[str, Any]:
    """`value` if it is an object, else {}."""
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    """`value` if it is an array, else []."""
    return value if isinstance(value, list) else []


def as_str(value: Any) -> str | None:
    """`value` if it is a string, else None."""
    return value if isinstance(value, str) else None


def as_int(value: Any) -> int | None:
    """An integer (bools excluded), or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def seconds_to_ms(t0: Any, t: Any) -> float:
    """Milliseconds from t0 to t (OONI's seconds since the measurement start), 0 if unknown."""
    if isinstance(t0, (int, float)) and isinstance(t, (int, float)) and t >= t0:
        return round((t - t0) * 1000, 3)
    return 0.0


def ip_literal(text: Any) -> str | None:
    """The compressed form of an IP address string, or None."""
    if not isinstance(text, str):
        return None
    return _ip_literal(text)


# Addresses repeat across measurements (CDNs, resolvers, the same sites); parsing them was
# the mapper's largest cost.
@functools.lru_cache(maxsize=65536)
def _ip_literal(text: str) -> str | None:
    try:
        return ipaddress.ip_address(text.strip("[]")).compressed
    except ValueError:
        return None


def split_endpoint(text: Any) -> tuple[str, int] | None:
    """("ip", port) from OONI's "1.2.3.4:443" / "[2001:db8::1]:443", or None."""
    if not isinstance(text, str) or ":" not in text:
        return None
    host, _, port = text.rpartition(":")
    address = ip_literal(host)
    if address is None or not port.isdigit() or not 0 < int(port) < 65536:
        return None
    return address, int(port)
