"""Health latency of the control server while idle and slow clients hold connections (issue 17).

    python bench/control_idle.py                       # 0 and 1,000 idle, plus 100 slowloris
    python bench/control_idle.py --idle 1000 --sources 40 --requests 300

Starts `reachcheck control serve --plain-http` on 127.0.0.1 in a child process (loopback only;
its resolver is a closed loopback port, nothing is measured), opens IDLE connections that never
send a byte (spread over SOURCES loopback addresses, 127.0.0.2..., so the per-client cap of 32
does not displace them) and SLOW connections that send one header byte per second, then times
REQUESTS sequential `GET /v1/health` on fresh connections from 127.0.0.1. Raises RLIMIT_NOFILE
for itself and the server. Prints p50/p95/max latency and how many idle connections survived.
"""

from __future__ import annotations

import argparse
import http.client
import resource
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def health_ms(port: int) -> float:
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/v1/health")
    response = conn.getresponse()
    response.read()
    conn.close()
    if response.status != 200:
        raise RuntimeError(f"health answered {response.status}")
    return (time.perf_counter() - started) * 1000


def latencies(port: int, n: int) -> str:
    ms = sorted(health_ms(port) for _ in range(n))
    p95 = ms[min(len(ms) - 1, int(len(ms) * 0.95))]
    return f"p50 {statistics.median(ms):6.2f} ms  p95 {p95:6.2f} ms  max {ms[-1]:6.2f} ms"


def still_open(sock: socket.socket) -> bool:
    sock.setblocking(False)
    try:
        return sock.recv(1) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--idle", type=int, default=1000)
    parser.add_argument("--sources", type=int, default=40)
    parser.add_argument("--slow", type=int, default=100)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, 8192) if hard != resource.RLIM_INFINITY else 8192
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, want), hard))
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "reachcheck", "control", "serve", "--listen", f"127.0.0.1:{port}",
         "--plain-http", "--resolver", "127.0.0.1:9"],
        cwd=ROOT, stderr=subprocess.DEVNULL)
    idle: list[socket.socket] = []
    slow: list[socket.socket] = []
    stop = threading.Event()
    try:
        for _ in range(100):
            try:
                health_ms(port)
                break
            except OSError:
                time.sleep(0.1)
        print(f"{'no other clients':<34} {latencies(port, args.requests)}")
        for i in range(args.idle):
            source = f"127.0.0.{2 + i % args.sources}"
            idle.append(socket.create_connection(("127.0.0.1", port), source_address=(source, 0)))
        print(f"{f'{args.idle} idle connections':<34} {latencies(port, args.requests)}")
        for i in range(args.slow):
            source = f"127.0.1.{2 + i % args.sources}"
            slow.append(socket.create_connection(("127.0.0.1", port), source_address=(source, 0)))

        def drip() -> None:
            head = b"GET /v1/health HTTP/1.1\r\nHost: x\r\n" + b"X: y\r\n" * 100
            for i in range(len(head)):
                if stop.wait(1.0):
                    return
                for sock in slow:
                    try:
                        sock.send(head[i:i + 1])
                    except OSError:
                        pass

        threading.Thread(target=drip, daemon=True).start()
        label = f"+ {args.slow} slowloris connections"
        print(f"{label:<34} {latencies(port, args.requests)}")
        print(f"idle connections still open: {sum(still_open(s) for s in idle)}/{len(idle)} "
              "(closed at the 10 s head deadline when the run took longer)")
    finally:
        stop.set()
        for sock in idle + slow:
            sock.close()
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
