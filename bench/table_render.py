"""Time the end-of-run table for a long run (no network): `python bench/table_render.py`.

Renders N rows (default 10,000; a tenth of them blocked) to an 80-column console that writes
to memory, once in the default form (counts plus the sites that are not accessible) and once
with `--table full`, and prints the seconds each took.
"""

from __future__ import annotations

import argparse
import io
import time

from rich.console import Console

from reachcheck.output.table import Row, render_table


def rows(n: int) -> list[Row]:
    out = []
    for i in range(n):
        if i % 10 == 0:
            out.append(Row(f"site{i}.example.test", "dns_blocked", "confirmed",
                           "DNS answers forged on the path (3 responses)",
                           "2 differing responses to one A query to udp:198.18.0.53:53; "
                           "forged: 198.18.200.2"))
        else:
            out.append(Row(f"site{i}.example.test", "accessible", "confirmed",
                           "Reachable (verified HTTPS)", "verified TLS and HTTP 200 from "
                           "198.18.1.11"))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=10_000)
    parser.add_argument("--width", type=int, default=80)
    args = parser.parse_args()
    data = rows(args.n)
    for full in (False, True):
        out = io.StringIO()
        started = time.perf_counter()
        render_table(data, Console(file=out, width=args.width, highlight=False), full=full)
        took = time.perf_counter() - started
        print(f"{'--table full' if full else 'default     '}: {args.n} rows, "
              f"{out.getvalue().count(chr(10))} lines, {took:.3f} s")


if __name__ == "__main__":
    main()
