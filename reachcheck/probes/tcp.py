"""TCP connect probe: does a SYN to this address and port get an answer?"""

from __future__ import annotations

import asyncio

from reachcheck.model import TcpConnect
from reachcheck.probes.connector import Connector, create_connection
from reachcheck.probes.errors import classify


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
    loop = asyncio.get_running_loop()
    started = loop.time()
    try:
        async with asyncio.timeout(timeout):
            # A bare Protocol: cheaper than open_connection and we never read. NUMERICHOST:
            # a name here is a caller bug, and resolving it would hide the DNS stage.
            transport, _ = await create_connection(
                asyncio.Protocol, address, port, connector=connector
            )
    except Exception as exc:  # noqa: BLE001 - every failure becomes an observation
        return TcpConnect(
            address=address,
            port=port,
            ok=False,
            elapsed_ms=_ms(loop.time() - started),
            error=classify(exc),
            sources=tuple(sources),
        )
    elapsed = loop.time() - started
    transport.abort()
    return TcpConnect(address, port, True, _ms(elapsed), sources=tuple(sources))


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 3)
