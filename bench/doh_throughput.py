"""Queries per second and client CPU per query of DohClient, over HTTP/2 and over HTTP/1.1.

    python bench/doh_throughput.py [--count 20000] [--inflight 2000] [--protocols h2,http1]

Loopback only: the server is tests/fakes/doh_h2_server.py on 127.0.0.1 in another process
(its CPU is not counted). Each name is asked A and AAAA (as a DNS-only scan does); the run is
bounded by --count, prints one line per protocol and exits. The client must stay well under
0.3 ms of CPU per query for the tool's targets (>= 2,000 names/s DNS-only).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import ssl
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from reachcheck.probes.dns.doh import DohClient  # noqa: E402


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def scan(port: int, ca: str, count: int, inflight: int) -> tuple[float, float, int, int]:
    """(seconds, client CPU seconds, answered, failed) for `count` names x (A, AAAA)."""
    ctx = ssl.create_default_context(cafile=ca)
    doh = DohClient(f"https://dns.test:{port}/dns-query", ("127.0.0.1",), ctx, 10.0)
    try:
        await doh.query("warm-up.test", "A")  # connect and handshake outside the figures
        jobs = iter([(f"n{i}.bench.test", t) for i in range(count) for t in ("A", "AAAA")])
        results: list[bool] = []

        async def worker() -> None:  # `inflight` workers: no per-query task or semaphore
            for name, qtype in jobs:
                query = await doh.query(name, qtype)  # type: ignore[arg-type]
                results.append(query.error is None and query.answer is not None)

        start, cpu0 = time.perf_counter(), cpu()
        await asyncio.gather(*(worker() for _ in range(inflight)))
        elapsed, used = time.perf_counter() - start, cpu() - cpu0
    finally:
        await doh.aclose()
    answered = sum(results)
    return elapsed, used, answered, len(results) - answered


def run(protocol: str, count: int, inflight: int) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    argv = [sys.executable, "-m", "tests.fakes.doh_h2_server"]
    server = subprocess.Popen(
        argv + (["--http1"] if protocol == "http1" else []),
        cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert server.stdout is not None
        port, ca = server.stdout.readline().split()
        elapsed, used, answered, failed = asyncio.run(scan(int(port), ca, count, inflight))
    finally:
        server.stdin.close()  # type: ignore[union-attr]  # the server exits when stdin closes
        server.wait(10)
    queries = answered + failed
    print(
        f"{protocol:>5}: {queries / elapsed:,.0f} queries/s ({count / elapsed:,.0f} names/s, "
        f"A+AAAA), {queries} queries in {elapsed:.2f} s, {inflight} in flight, {failed} failed; "
        f"client CPU {used / queries * 1e6:.0f} us/query"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000, help="names (bounded run)")
    parser.add_argument("--inflight", type=int, default=2_000, help="queries in flight")
    parser.add_argument("--protocols", default="h2,http1")
    args = parser.parse_args()
    for protocol in args.protocols.split(","):
        run(protocol, args.count, args.inflight)


if __name__ == "__main__":
    main()
