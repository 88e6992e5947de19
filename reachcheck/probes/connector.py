"""The probes' one seam for opening a connection: straight to the address, or through a proxy.

Every probe that connects (TCP, TLS, the pinned HTTP fetch, DoH) calls `create_connection`
instead of `loop.create_connection(..., host, port)`. With no `connector` it is exactly that
call (NUMERICHOST: names are never resolved here). With one, the connector returns a socket
already connected to (host, port) *through* the proxy, and asyncio wraps it the same way, TLS
included (`ssl=` / `server_hostname=`), so the probes measure through the proxy with their own
code: no copies of them.

A connector raises like a direct connect does (OSError, TimeoutError; the proxy library's own
errors are mapped to names in `probes/errors.py`) and never resolves a name itself unless the
proxy does (socks5h, HTTP CONNECT).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

# connector(host, port) -> a socket connected to host:port (through a proxy).
Connector = Callable[[str, int], Awaitable[socket.socket]]
P = TypeVar("P", bound=asyncio.BaseProtocol)


async def create_connection(
    factory: Callable[[], P],
    host: str,
    port: int,
    *,
    connector: Connector | None = None,
    numeric: bool = True,
    **kwargs: Any,
) -> tuple[asyncio.Transport, P]:
    """`loop.create_connection(factory, host, port, **kwargs)`, or the same on a socket the
    `connector` opened. `numeric`: the host must be an IP literal (no resolution)."""
    loop = asyncio.get_running_loop()
    if connector is None:
        flags = socket.AI_NUMERICHOST if numeric else 0
        transport, protocol = await loop.create_connection(
            factory, host, port, flags=flags, **kwargs
        )
        return transport, protocol
    sock = await connector(host, port)
    try:
        kwargs.pop("local_addr", None)  # the proxy chose the source: nothing to bind
        transport, protocol = await loop.create_connection(factory, sock=sock, **kwargs)
    except BaseException:
        sock.close()
        raise
    return transport, protocol
