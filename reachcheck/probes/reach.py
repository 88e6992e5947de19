"""The connect step of an outside view (the control server, the user's proxy with `--via`).

Every planned address is connected (for https: a verified handshake with the site's name, which
is the connect too), and a fetch then goes to the best address that worked: the view's own DoH
answers first, since the probe's may be forged. One place, so the control server and the proxy
view measure alike and the analysis can compare them with the same rules.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence

from reachcheck.model import TcpConnect, TlsHandshake
from reachcheck.probes.connector import Connector
from reachcheck.probes.tcp import tcp_connect
from reachcheck.probes.tls import TlsContexts, tls_handshake

# (address, which answers gave it: "control", "probe", "literal", ...)
Plan = Sequence[tuple[str, tuple[str, ...]]]


async def connect_plan(
    plan: Plan,
    domain: str,
    port: int,
    scheme: str,
    contexts: TlsContexts,
    *,
    timeout: float,
    connector: Connector | None = None,
) -> tuple[tuple[TcpConnect, ...], tuple[TlsHandshake, ...]]:
    """Connect to every planned address; for https the verified target handshake is the connect.
    Never raises for network failures."""
    if scheme == "https":
        pairs = await asyncio.gather(*(
            tls_handshake(a, port, domain, "target", contexts, timeout=timeout,
                          connector=connector)
            for a, _ in plan
        ))
        tcp = tuple(dataclasses.replace(c, sources=src)
                    for (c, _), (_, src) in zip(pairs, plan, strict=True))
        # Where the connect failed no handshake happened: the TcpConnect alone records it.
        return tcp, tuple(h for c, h in pairs if c.ok)
    conns = await asyncio.gather(*(
        tcp_connect(a, port, timeout=timeout, sources=src, connector=connector)
        for a, src in plan
    ))
    return tuple(conns), ()


def fetch_address(
    scheme: str,
    own: Sequence[str],
    tcp: Sequence[TcpConnect],
    tls: Sequence[TlsHandshake],
) -> str | None:
    """The address a fetch should be pinned to, or None when none can carry it: for https a
    verified handshake is needed (a fetch would only repeat the handshake's failure)."""
    if scheme == "https":
        usable = [h.address for h in tls if h.ok]
    else:
        usable = [c.address for c in tcp if c.ok]
    ranked = [a for a in own if a in usable] + usable  # the view's own answers first
    return ranked[0] if ranked else None
