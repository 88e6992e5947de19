"""Names per second of UdpDnsMux with hold-on, against the fake DNS server in another process.

    python bench/dns_throughput.py [--count 10000] [--hold-on 0.5] [--qtypes A,AAAA]

Loopback only: the server is tests/fakes/dns_server.py on 127.0.0.1. Sends a bounded number of
queries, prints the figure and exits. The issue's target: >= 2,000 names/s with a 0.5 s hold-on.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from reachcheck.probes.dns.mux import UdpDnsMux  # noqa: E402
from reachcheck.probes.dns.wire import build_query  # noqa: E402


async def scan(port: int, count: int, hold_on: float, qtypes: list[str], sockets: int,
               outstanding: int) -> tuple[float, int, int]:
    """(seconds, answered, failed) for `count` names, each asked for every type in `qtypes`."""
    server = ("127.0.0.1", port)
    async with UdpDnsMux(sockets=sockets, max_outstanding=outstanding) as mux:

        async def one(i: int, qtype: str) -> bool:
            name = f"n{i}.bench.test"
            query = await mux.query(server, name, qtype, "probe", timeout=2.0, hold_on=hold_on,
                                    query_wire=build_query(name, qtype))
            return query.answer is not None

        start = time.perf_counter()
        results = await asyncio.gather(*(one(i, t) for i in range(count) for t in qtypes))
        elapsed = time.perf_counter() - start
    answered = sum(results)
    return elapsed, answered, len(results) - answered


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000, help="names (bounded run)")
    parser.add_argument("--hold-on", type=float, default=0.5)
    parser.add_argument("--qtypes", default="A", help="comma-separated: A or A,AAAA")
    parser.add_argument("--sockets", type=int, default=4)
    parser.add_argument("--outstanding", type=int, default=256)
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.dns_server"],
        cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        qtypes = args.qtypes.split(",")
        before = resource.getrusage(resource.RUSAGE_SELF)
        elapsed, answered, failed = asyncio.run(
            scan(port, args.count, args.hold_on, qtypes, args.sockets, args.outstanding)
        )
        after = resource.getrusage(resource.RUSAGE_SELF)
    finally:
        server.stdin.close()  # type: ignore[union-attr]  # the server exits when stdin closes
        server.wait(10)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    # Client CPU per name is the figure that survives a busy machine: wall-clock names/s
    # drops when other processes share the two cores with the client and the server.
    print(
        f"{args.count / elapsed:,.0f} names/s ({len(qtypes)} queries each, "
        f"{answered / elapsed:,.0f} answered queries/s): {args.count} names in "
        f"{elapsed:.2f} s, hold-on {args.hold_on} s, {failed} failed; "
        f"client CPU {cpu / args.count * 1e6:.0f} us/name "
        f"({(after.ru_stime - before.ru_stime) / args.count * 1e6:.0f} us of it in the kernel)"
    )


if __name__ == "__main__":
    main()
