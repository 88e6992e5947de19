"""Client for a reachcheck control server (`check --control URL`).

`measure` never raises for network or server failures: it returns a `ControlMeasurement` with
`ok=False` and `error` set, so the runner can treat the control like any other probe and the
analysis can ignore a failed control ("a control failure never makes blocked").

Error names: a transport failure is classified like the probes' (`timeout`, `refused`, `reset`,
`cert_unknown_ca`, ...); an HTTP answer other than 200 becomes the server's error name
(`unauthorized`, `forbidden`, `rate_limited`, `busy`, `bad_request`, `too_large`) or
`http_status_NNN`, followed by `: reason` when the server gave one; an unreadable 200 is
`bad_response`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import ssl
from typing import Any

import httpx

from reachcheck import __version__, model
from reachcheck.model import ControlMeasurement, Target
from reachcheck.probes.errors import classify

_REASON_CAP = 200  # characters of a server's error reason kept
_RETRY_STATUSES = (429, 503)
_RETRY_AFTER_CAP = 5.0  # seconds: waiting longer would stall the whole run


class ControlClient:
    """One connection pool to one control server, shared by every site of a run.

    `ssl_context` (or `ca_bundle`) verifies the server; neither = the default trust store.
    `timeout` bounds one whole request: keep it above the server's own worst case (a few
    stages of its per-stage timeout). `max_concurrency` keeps a big run under the server's
    in-flight cap; `busy_retries` retries a 503/429 after its Retry-After (capped).
    `transport` replaces the network (tests).
    """

    # The runner sends only the addresses its own resolvers gave: the server resolves the name
    # from outside itself (an outside view, `runner.probeset.OutsideView`).
    measures_control_addresses = False

    def __init__(
        self,
        url: str,
        token: str | None = None,
        *,
        ssl_context: ssl.SSLContext | None = None,
        ca_bundle: str | None = None,
        timeout: float = 45.0,
        max_concurrency: int = 8,
        busy_retries: int = 2,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.url = url
        self._endpoint = url.rstrip("/") + "/v1/measure"
        if ssl_context is None:
            ssl_context = ssl.create_default_context(cafile=ca_bundle) if ca_bundle else None
        verify: ssl.SSLContext | bool = ssl_context or True
        headers = {"User-Agent": f"reachcheck/{__version__}", "Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        # trust_env off: proxies and SSL_CERT_FILE from the environment would change what is
        # measured without the user saying so; the probes ignore them too.
        self._client = httpx.AsyncClient(
            verify=verify, timeout=timeout, headers=headers, trust_env=False,
            follow_redirects=False, transport=transport,
        )
        self._slots = asyncio.Semaphore(max_concurrency)
        self._busy_retries = busy_retries

    def _failed(self, error: str) -> ControlMeasurement:
        return ControlMeasurement(server=self.url, ok=False, error=error)

    async def measure(self, target: Target, addresses: list[str]) -> ControlMeasurement:
        """Ask the control server to measure `target`; `addresses` are the probe's own."""
        payload = {"url": target.url, "addresses": list(dict.fromkeys(addresses))[:16]}
        async with self._slots:
            for attempt in range(self._busy_retries + 1):
                try:
                    response = await self._client.post(self._endpoint, json=payload)
                except (httpx.HTTPError, OSError, ssl.SSLError) as exc:
                    return self._failed(classify(exc))
                wait = _retry_delay(response)
                if wait is None or attempt == self._busy_retries:
                    return self._read(response)
                await asyncio.sleep(wait)
        raise AssertionError("unreachable")  # the loop always returns

    def _read(self, response: httpx.Response) -> ControlMeasurement:
        try:
            data: Any = response.json()
        except ValueError:
            data = None
        if response.status_code != 200:
            return self._failed(_error_name(response.status_code, data))
        if not isinstance(data, dict):
            return self._failed("bad_response: body is not a JSON object")
        try:
            measurement: ControlMeasurement = model.from_json(ControlMeasurement, data)
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            return self._failed(f"bad_response: {type(exc).__name__}")
        # `server` names the server as this run reached it, whatever the server calls itself.
        return dataclasses.replace(measurement, server=self.url)

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()

    async def __aenter__(self) -> ControlClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def _retry_delay(response: httpx.Response) -> float | None:
    """Seconds to wait before retrying a 429/503, or None when it should not be retried."""
    if response.status_code not in _RETRY_STATUSES:
        return None
    value = response.headers.get("retry-after", "1")
    try:
        seconds = float(value)
    except ValueError:
        return None  # an HTTP-date: do not bother, report the failure
    return seconds if 0 <= seconds <= _RETRY_AFTER_CAP else None


def _error_name(status: int, data: Any) -> str:
    name = f"http_status_{status}"
    reason = None
    if isinstance(data, dict):
        if isinstance(data.get("error"), str) and data["error"].isidentifier():
            name = data["error"]
        if isinstance(data.get("reason"), str):
            reason = data["reason"][:_REASON_CAP]
    return f"{name}: {reason}" if reason else name
