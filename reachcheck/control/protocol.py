"""The control API's wire format: `POST /v1/measure` request validation and limits.

Request:  `{"url": "https://example.com/", "addresses": ["192.0.2.1", ...]}` where `addresses`
are the ones the probe resolved (and will connect to). Unknown keys are ignored so newer probes
can talk to older servers.
Response: `model.to_json(ControlMeasurement)` (200), or `{"error": NAME, "reason": TEXT}` with
400 bad_request, 401 unauthorized, 403 forbidden, 408 timeout (slow body), 413 too_large,
429 rate_limited, 503 busy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reachcheck import strictjson
from reachcheck.control.policy import parse_ip
from reachcheck.model import Target
from reachcheck.targets import TargetError, parse_target

API_VERSION = "v1"
MAX_BODY = 8 * 1024  # bytes of request body
MAX_URL = 2048  # characters
MAX_ADDRESSES = 16


class RequestError(ValueError):
    """A request the server will not serve; `status` and `name` go to the client."""

    def __init__(self, status: int, name: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.name = name
        self.reason = reason

    def body(self) -> dict[str, str]:
        """The JSON error document."""
        return {"error": self.name, "reason": self.reason}


def bad(reason: str) -> RequestError:
    """A 400 with `reason`."""
    return RequestError(400, "bad_request", reason)


@dataclass(frozen=True, slots=True)
class MeasureRequest:
    """A validated measurement request."""

    target: Target
    addresses: tuple[str, ...]  # canonical (compressed) form, deduplicated, in given order


def parse_measure_request(raw: bytes) -> MeasureRequest:
    """Validate a request body; raise RequestError(400) naming the first problem."""
    if len(raw) > MAX_BODY:
        raise RequestError(413, "too_large", f"request body over {MAX_BODY} bytes")
    try:
        data: Any = strictjson.loads(raw)
    except strictjson.StrictJsonError as exc:  # also deep nesting, huge numbers, NaN
        raise bad(f"body is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise bad("body must be a JSON object")
    url = data.get("url")
    if not isinstance(url, str) or not url:
        raise bad("'url' must be a non-empty string")
    if len(url) > MAX_URL:
        raise bad(f"'url' longer than {MAX_URL} characters")
    try:
        target = parse_target(url)
    except TargetError as exc:
        raise bad(f"'url': {exc}") from None
    given = data.get("addresses", [])
    if not isinstance(given, list):
        raise bad("'addresses' must be a list of IP addresses")
    if len(given) > MAX_ADDRESSES:
        raise bad(f"'addresses' holds more than {MAX_ADDRESSES} entries")
    addresses: list[str] = []
    for item in given:
        ip = parse_ip(item) if isinstance(item, str) else None
        if ip is None:
            raise bad(f"'addresses': {str(item)[:64]!r} is not an IP address")
        if ip.compressed not in addresses:
            addresses.append(ip.compressed)
    return MeasureRequest(target=target, addresses=tuple(addresses))
