"""Peak RSS and time of `reachcheck report` on a big saved run (issue 17).

    python bench/report_memory.py                  # a 1 GB JSONL under /tmp, deleted after
    python bench/report_memory.py --size-mb 200 --format json   # JsonWriter's streamed layout
    python bench/report_memory.py --keep /tmp/big.jsonl         # keep the file

Builds the file from a full sample result (every observation type filled in; target names
vary) and runs `reachcheck report FILE -q` and `reachcheck report FILE` (table to a pipe) in a
fresh interpreter each, printing seconds and peak RSS (ru_maxrss of the child). No network.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def build(path: Path, size_mb: int, fmt: str) -> int:
    """Write about `size_mb` MB of results to `path`; return how many."""
    from reachcheck.output import JsonWriter, result_to_dict
    from tests.output.samples import make_result

    sample = result_to_dict(make_result("s0.bench.test", "tls_blocked"))
    line = json.dumps(sample, separators=(",", ":"))
    count = max(1, size_mb * 1024 * 1024 // (len(line) + 1))
    if fmt == "jsonl":
        with open(path, "w", encoding="utf-8") as f:
            for i in range(count):
                f.write(line.replace("s0.bench.test", f"s{i}.bench.test") + "\n")
        return count
    result = make_result("s0.bench.test", "tls_blocked")
    with JsonWriter(str(path), {}) as writer:
        for _ in range(count):
            writer.write(result)
        writer.close({"tls_blocked": count})
    return count


def run(args: list[str]) -> tuple[float, int, int]:
    """(seconds, peak RSS MB, exit code) of `reachcheck ARGS` in a child process."""
    started = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    proc = subprocess.run([sys.executable, "-m", "reachcheck", *args], cwd=ROOT,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if proc.returncode not in (0, 1, 3):
        print(proc.stderr.strip(), file=sys.stderr)
    return time.perf_counter() - started, max(peak, before) // 1024, proc.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--format", choices=["jsonl", "json"], default="jsonl")
    parser.add_argument("--keep", metavar="PATH", help="write the file here and keep it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir="/tmp") as tmp:
        path = Path(args.keep) if args.keep else Path(tmp) / f"big.{args.format}"
        started = time.perf_counter()
        count = build(path, args.size_mb, args.format)
        size = os.path.getsize(path) / 2**20
        print(f"{path.name}: {size:.0f} MiB, {count} results "
              f"(built in {time.perf_counter() - started:.0f} s)")
        # RUSAGE_CHILDREN's maxrss is the largest child so far: run the smaller case first.
        for label, extra in (("report -q", ["-q"]), ("report (table)", [])):
            seconds, rss, code = run(["report", str(path), *extra])
            print(f"{label:<16} exit {code}  {seconds:7.1f} s  peak RSS {rss} MiB")


if __name__ == "__main__":
    main()
