"""TCP connect probe: does a SYN to this address and port get an answer?

`open_tcp` is the one TCP connect of the probes: `tcp_connect` closes what it opened at once,
`tls.py` goes on to a handshake on it. Both therefore time and name a failed connect alike.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from reachcheck.model import TcpConnect
from reachcheck.probes.connector import Connector, create_connection
from reachcheck.probes.errors import classify
from reachcheck.probes.timing import ms


@dataclass(frozen=True, slots=True)
class OpenedTcp:
    """A connect's outcome: the open transport (None when it failed), its time, its error."""

    transport: asyncio.Transport | None
    protocol: asyncio.Protocol | None
    elapsed_ms: float
    error: str | None = None
    connected_at: float = 0.0  # loop time when the connection was up (a TLS handshake's start)


async def open_tcp(
    address: str, port: int, *, timeout: float, connector: Connector | None = None
) -> OpenedTcp:
    """Connect to `address`:`port` with a bare Protocol; never raises for network failures.

    The caller owns the transport of a success and must abort it.
    """
    loop = asyncio.get_running_loop()
    started = loop.time()
    try:
        async with asyncio.timeout(timeout):
            # A bare Protocol: cheaper than open_connection and nothing reads here. NUMERICHOST:
            # a name here is a caller bug, and resolving it would hide the DNS stage.
            transport, protocol = await create_connection(
                asyncio.Protocol, address, port, connector=connector
            )
    except Exception as exc:  # noqa: BLE001 - every failure becomes an observation
        return OpenedTcp(None, None, ms(loop.time() - started), classify(exc))
    connected_at = loop.time()
    return OpenedTcp(transport, protocol, ms(connected_at - started), None, connected_at)


async def tcp_connect(
    address: str,
    port: int,
    *,
    timeout: float,
    sources: tuple[str, ...] = (),
    connector: Connector | None = None,
) -> TcpConnect:
    """Connect to `address`:`port` and close at once; never raises for network failures.

    `address` must be an IP literal (no name resolution happens here on purpose: the DNS
    stage is measured separately). `sources` says where the address came from; `connector`
    opens the connection through a proxy instead (probes/connector.py).
    """
    opened = await open_tcp(address, port, timeout=timeout, connector=connector)
    if opened.transport is not None:
        opened.transport.abort()
    return TcpConnect(
        address=address,
        port=port,
        ok=opened.error is None,
        elapsed_ms=opened.elapsed_ms,
        error=opened.error,
        sources=tuple(sources),
    )
