"""Second looks of one site's plan (design §5.1), kept apart from the main plan in site.py:

- the answer that survives the injection race, tried when no control resolved the name;
- http:// (Host = the site) on an https target's address that failed verification or that no
  genuine answer gave, where censors serve their blockpage in cleartext;
- the penalty box left by an earlier run's trigger (`runner/memory.py`): recorded, left alone.
"""

from __future__ import annotations

import asyncio
import ipaddress
import time
import urllib.parse

from reachcheck.analysis import survivor
from reachcheck.model import HttpFetch, Target, TcpConnect, TlsHandshake
from reachcheck.runner.probeset import ResolveFn
from reachcheck.runner.recorder import Recorder
from reachcheck.runner.session import Session

Sources = dict[str, tuple[str, ...]]


def survivor_sources(session: Session, rec: Recorder) -> Sources:
    """When no control resolved the name, the answers that survived the injection race, to be
    tried like genuine addresses (TCP, TLS, HTTP), marked "survivor" in their
    TcpConnect.sources: called once the hold-on windows are over, so every late response is
    in (`analysis.survivor`). Empty when there is nothing (new) to try."""
    if any(q.role == "control" and q.answer is not None for q in rec.dns):
        return {}  # a control answered (addresses, NXDOMAIN...): its word outweighs a survivor's
    if rec.control is not None and rec.control.ok:
        return {}  # the control server resolved from outside
    ranges = session.config.public_ranges
    done = {c.address for c in rec.tcp}
    found = [a for a in survivor.survivors(rec.dns, ranges)
             if a not in done and _usable_family(a, session.config.ipv6)]
    return {a: (survivor.SOURCE,) for a in found}


def _usable_family(address: str, ipv6: bool) -> bool:
    return ipv6 or ipaddress.ip_address(address).version == 4


CLEARTEXT_CHECKS = 2  # http:// fetches per site at most (they cost a connection each)


def cleartext_candidates(rec: Recorder, addresses: list[str], sources: Sources) -> list[str]:
    """Addresses of an https target worth an http:// fetch: a TLS server answered (the connect
    worked) but no verified handshake for the site did, and either the certificate failed
    verification or, while a control resolved the name, the address is none of its answers
    (`analysis.cleartext_check` matches the page against blockpage fingerprints)."""
    targets = [t for t in rec.tls if t.kind == "target"]
    targets += [f.tls for f in rec.http if f.tls is not None]
    verified = {t.address for t in targets if t.ok}
    live = {c.address for c in rec.tcp if c.ok}
    has_control = any("control" in s for s in sources.values())
    out: list[str] = []
    for address in addresses:
        tried = [t for t in targets if t.address == address]
        if not tried or address in verified or address not in live:
            continue
        cert_failed = any((t.error or "").startswith("cert_") for t in tried)
        stranger = has_control and "control" not in sources.get(address, ())
        if cert_failed or stranger:
            out.append(address)
    return out[:CLEARTEXT_CHECKS]


async def cleartext_checks(
    session: Session, target: Target, rec: Recorder, addresses: list[str], sources: Sources,
    resolve: ResolveFn,
) -> None:
    """http:// (Host = the site) on the addresses `cleartext_candidates` picks: a censor's
    blockpage server or interceptor usually serves its page there in cleartext."""
    picked = cleartext_candidates(rec, addresses, sources)
    if not picked:
        return
    assert session.http is not None
    split = urllib.parse.urlsplit(target.url)
    url = urllib.parse.urlunsplit(("http", target.domain, split.path or "/", split.query, ""))
    cfg = session.config
    for address in picked:
        started = session.clock_ms()
        async with session.addresses.hold(address):
            try:
                async with asyncio.timeout(2 * cfg.timeout + 1.0):
                    fetched = await session.http.fetch(
                        url, target.domain, address, resolve=resolve
                    )
            except TimeoutError:
                fetched = HttpFetch(url, address, ok=False,
                                    elapsed_ms=session.clock_ms() - started, error="timeout")
        rec.cleartext.append(fetched)


def boxed(session: Session, rec: Recorder, address: str, port: int, tcp: TcpConnect,
           hs: TlsHandshake) -> bool:
    """Whether an earlier run's trigger on (address, port) still holds the tuple in the
    censor's penalty box: remembered (`runner.memory`) and the benign handshake (or its
    connect) fails now. Sending the site's SNI there would only prolong the penalty, so the
    caller leaves the address alone; the remembered trigger goes into the observations."""
    assert session.memory is not None
    punished = not tcp.ok or not hs.ok
    trigger = session.memory.recall(address, port, time.time(), active=punished)
    if trigger is None:
        return False
    rec.own_triggers.append(trigger)
    return punished
