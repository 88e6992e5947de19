"""The control server's HTTP side: a starlette app with auth, limits and access logs.

Order of checks for `POST /v1/measure`, cheapest first so floods cost little:
rate limit (429) -> bearer token (401) -> body size (413) and time (408) -> fields (400) ->
in-flight cap (503) -> SSRF guard (403, inside the measurement) -> measure (200).
Connections themselves are admitted by `connections.py` (caps, request-head deadline).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hmac
import json
import sys
import time
import traceback
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reachcheck import __version__, model
from reachcheck.control.connections import (
    HEAD_DEADLINE,
    PER_CLIENT,
    TOTAL,
    ConnectionTable,
    guarded_protocol,
    total_cap,
)
from reachcheck.control.limits import ClientRequestLimiter, InflightGate, retry_after
from reachcheck.control.measure import Measurer, MeasureSettings
from reachcheck.control.protocol import API_VERSION, MAX_BODY, RequestError, parse_measure_request

BODY_DEADLINE = 10.0  # seconds for a request body (8 KiB at most) to arrive
LOG_KEY = "reachcheck.access"  # scope key where handlers leave facts for the access log

Emit = Callable[[dict[str, Any]], None]


@dataclass(frozen=True, slots=True)
class ServerSettings:
    """Everything `create_app` needs; built by `reachcheck control serve`."""

    measure: MeasureSettings
    tokens: tuple[str, ...] = ()  # accepted bearer tokens; empty = no auth
    max_inflight: int = 16
    rate_per_client: float | None = 5.0  # measurements per second per client IP; None = off
    burst: int = 20
    body_deadline: float = BODY_DEADLINE  # seconds for a request body to arrive (408 past it)


def emit_stderr(record: dict[str, Any]) -> None:
    """Write one access-log record as a JSON line on stderr."""
    sys.stderr.write(json.dumps(record, separators=(",", ":")) + "\n")
    sys.stderr.flush()


def _now_rfc3339() -> str:
    now = dt.datetime.now(dt.UTC)
    return now.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class AccessLog:
    """ASGI middleware: one structured record per HTTP request, whatever the outcome."""

    def __init__(self, app: ASGIApp, emit: Emit) -> None:
        self.app = app
        self.emit = emit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        facts: dict[str, Any] = {}
        scope[LOG_KEY] = facts
        status = 500  # what the client gets if the app dies before answering

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            client = scope.get("client")
            record: dict[str, Any] = {
                "time": _now_rfc3339(),
                "client": client[0] if client else None,
                "method": scope["method"],
                "path": scope["path"],
                "status": status,
                "ms": round((time.perf_counter() - started) * 1000, 1),
            }
            record.update(facts)
            self.emit(record)


def _error(exc: RequestError, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(exc.body(), status_code=exc.status, headers=headers)


async def _read_body(request: Request, limit: int, deadline: float = BODY_DEADLINE) -> bytes:
    """The request body, refusing (413) past `limit` without buffering more than that, and
    (408) when it takes longer than `deadline` seconds to arrive (a slow client)."""
    try:
        async with asyncio.timeout(deadline):
            return await _read_capped(request, limit)
    except TimeoutError:
        raise RequestError(408, "timeout", f"request body took over {deadline:g} s") from None


async def _read_capped(request: Request, limit: int) -> bytes:
    too_large = RequestError(413, "too_large", f"request body over {limit} bytes")
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():  # chunked bodies carry no length: count as we go
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


class ControlApi:
    """The endpoint handlers and the state they share (limits, measurer)."""

    def __init__(self, settings: ServerSettings, measurer: Measurer, clock: Callable[[], float]):
        self.settings = settings
        self.measurer = measurer
        self.gate = InflightGate(settings.max_inflight)
        self.rate = (
            ClientRequestLimiter(settings.rate_per_client, settings.burst, clock=clock)
            if settings.rate_per_client
            else None
        )
        self._tokens = tuple(t.encode() for t in settings.tokens)

    def _authorized(self, request: Request) -> bool:
        if not self._tokens:
            return True
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            return False
        presented = given.strip().encode()
        # compare_digest on every token: the time taken does not reveal a matching prefix.
        matches = [hmac.compare_digest(presented, token) for token in self._tokens]
        return any(matches)

    async def health(self, request: Request) -> JSONResponse:
        """`GET /v1/health`: liveness and load, no auth (for load balancers)."""
        return JSONResponse(
            {
                "status": "ok",
                "api": API_VERSION,
                "version": __version__,
                "inflight": self.gate.inflight,
                "max_inflight": self.gate.limit,
            }
        )

    async def measure(self, request: Request) -> JSONResponse:
        """`POST /v1/measure`: measure one URL the way the probe does."""
        facts: dict[str, Any] = request.scope.setdefault(LOG_KEY, {})
        client = request.client.host if request.client else "unknown"
        if self.rate is not None:
            wait = self.rate.acquire(client)
            if wait > 0:
                err = RequestError(429, "rate_limited", "too many requests from this address")
                return _error(err, {"Retry-After": retry_after(wait)})
        if not self._authorized(request):
            err = RequestError(401, "unauthorized", "missing or wrong bearer token")
            return _error(err, {"WWW-Authenticate": 'Bearer realm="reachcheck-control"'})
        try:
            raw = await _read_body(request, MAX_BODY, self.settings.body_deadline)
            req = parse_measure_request(raw)
        except RequestError as exc:
            facts["reason"] = exc.reason
            return _error(exc)
        except ClientDisconnect:
            return JSONResponse({"error": "bad_request"}, status_code=400)
        facts["url"] = req.target.url
        if not self.gate.try_enter():
            err = RequestError(503, "busy", "too many measurements in flight, retry later")
            return _error(err, {"Retry-After": retry_after(1.0)})
        try:
            outcome = await self.measurer.measure(req)
        except RequestError as exc:
            facts["reason"] = exc.reason
            return _error(exc)
        except Exception as exc:  # noqa: BLE001 - a bug must not kill the server or leak details
            traceback.print_exc(file=sys.stderr)
            facts["reason"] = f"internal error: {type(exc).__name__}"
            return JSONResponse({"error": "internal"}, status_code=500)
        finally:
            self.gate.leave()
        body = model.to_json(outcome.measurement)
        # Where the request came from, for the probe's record of its vantage (run over time).
        body["client_address"] = request.client.host if request.client else None
        if outcome.skipped:
            # Not a model field: the client ignores it; it tells a person why no TCP/TLS
            # entry exists for these probe addresses.
            body["skipped_addresses"] = list(outcome.skipped)
            facts["skipped"] = list(outcome.skipped)
        return JSONResponse(body)


def create_app(
    settings: ServerSettings,
    *,
    measurer: Measurer | None = None,
    emit: Emit = emit_stderr,
    clock: Callable[[], float] = time.monotonic,
) -> Starlette:
    """The ASGI application of the control server."""
    api = ControlApi(settings, measurer or Measurer(settings.measure), clock)
    routes = [
        Route(f"/{API_VERSION}/health", api.health, methods=["GET"]),
        Route(f"/{API_VERSION}/measure", api.measure, methods=["POST"]),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        yield
        await api.measurer.aclose()

    app = Starlette(
        routes=routes, middleware=[Middleware(AccessLog, emit=emit)], lifespan=lifespan
    )
    app.state.api = api
    return app


def uvicorn_config(
    app: Starlette,
    host: str,
    port: int,
    *,
    certfile: str | None,
    keyfile: str | None,
    trusted_proxies: tuple[str, ...] = (),
    max_inflight: int = 16,
    per_client: int = PER_CLIENT,
    total: int = TOTAL,
    head_deadline: float = HEAD_DEADLINE,
) -> uvicorn.Config:
    """The uvicorn settings the server runs with (shared by the CLI and the tests).

    `max_inflight` is kept for callers; the in-flight gate lives in the app (ServerSettings).
    Connections are bounded by `reachcheck.control.connections` (`per_client`, `total`,
    `head_deadline`), not by uvicorn's `limit_concurrency`, which idle sockets could fill."""
    table = ConnectionTable(per_client, total_cap(total), exempt=frozenset(trusted_proxies))
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        ssl_certfile=certfile,
        ssl_keyfile=keyfile,
        access_log=False,  # AccessLog writes the structured one
        log_level="warning",
        server_header=False,
        # X-Forwarded-For is believed only from the named reverse proxies.
        proxy_headers=bool(trusted_proxies),
        forwarded_allow_ips=list(trusted_proxies) or None,
        http=guarded_protocol(table, head_deadline),
        ws="none",  # no WebSocket upgrades: the API has none, and an upgraded connection
        # would leave the guarded protocol (and the connection table) behind
        timeout_keep_alive=5,
        h11_max_incomplete_event_size=16 * 1024,
    )
