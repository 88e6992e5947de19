"""Throughput and memory of `reachcheck import ooni` over one big .jsonl.gz (issue 11).

    python bench/ooni_import.py                    # 1,000,000 measurements (~15-25 min)
    python bench/ooni_import.py --count 50000      # a quick look

The input is synthesised locally from the golden corpus (located as tests/ingest/corpus.py
says; cases up to --max-case-bytes each, cycled), every line with its own report_id, gzipped.
The import runs in a child process (`--jsonl /dev/null -q`, as a batch job would) while this
script samples its RSS once a second. Reported: measurements per second of wall time and per
CPU second (the "one core" figure, robust on a shared machine), peak RSS, and RSS at the
start, middle and end of the run (flat = streaming). No network is involved.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.ingest.corpus import CORPUS  # noqa: E402  (where the corpus files live)

PLACEHOLDER = "BENCH_REPORT_ID_PLACEHOLDER"


def templates(max_bytes: int) -> list[str]:
    """One-line measurement documents with a report_id placeholder."""
    if CORPUS is None:
        raise SystemExit("OONI corpus files not found: see tests/ingest/corpus.py")
    out = []
    for path in sorted(CORPUS.glob("*.json")):
        if path.stat().st_size > max_bytes:
            continue
        doc: Any = json.loads(path.read_text(encoding="utf-8"))
        if "raw_measurement" in doc:  # an API answer: the measurement it holds
            raw = doc["raw_measurement"]
            doc = json.loads(raw) if isinstance(raw, str) else raw
        doc["report_id"] = PLACEHOLDER
        out.append(json.dumps(doc, separators=(",", ":"), ensure_ascii=False))
    return out


def synthesise(path: Path, count: int, max_bytes: int) -> int:
    """Write `count` measurements to `path` (.jsonl.gz); returns the uncompressed size."""
    lines = templates(max_bytes)
    size = 0
    with gzip.open(path, "wt", encoding="utf-8", compresslevel=1) as out:
        batch = []
        for i in range(count):
            text = lines[i % len(lines)].replace(PLACEHOLDER, f"bench_{i:09d}") + "\n"
            size += len(text)
            batch.append(text)
            if len(batch) == 1000:
                out.write("".join(batch))
                batch.clear()
        out.write("".join(batch))
    return size


def rss_kib(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def run_import(path: Path) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "reachcheck.cli", "import", "ooni", str(path),
           "--jsonl", os.devnull, "-q"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    child = subprocess.Popen(cmd, cwd=ROOT)
    samples: list[int] = []
    while child.poll() is None:
        value = rss_kib(child.pid)
        if value:
            samples.append(value)
        time.sleep(1.0)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    third = max(len(samples) // 3, 1)
    return {
        "exit_code": child.returncode,
        "wall_s": round(wall, 1),
        "cpu_s": round(cpu, 1),
        "peak_rss_mib": round(after.ru_maxrss / 1024, 1),
        "rss_mib_start_mid_end": [round(samples[i] / 1024, 1) for i in (
            min(2, len(samples) - 1), len(samples) // 2, len(samples) - 1)] if samples else [],
        "rss_mib_first_third_max": round(max(samples[:third]) / 1024, 1) if samples else None,
        "rss_mib_last_third_max": round(max(samples[-third:]) / 1024, 1) if samples else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--max-case-bytes", type=int, default=64_000,
                        help="corpus cases larger than this are left out of the mix")
    parser.add_argument("--keep", metavar="FILE", help="keep the synthesised file here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="rc-ooni-bench-") as tmp:
        path = Path(args.keep) if args.keep else Path(tmp) / "measurements.jsonl.gz"
        t0 = time.perf_counter()
        size = synthesise(path, args.count, args.max_case_bytes)
        made = time.perf_counter() - t0
        figures = run_import(path)
        figures.update({
            "measurements": args.count,
            "input_gz_mib": round(path.stat().st_size / 2**20, 1),
            "input_json_mib": round(size / 2**20, 1),
            "synthesis_s": round(made, 1),
            "per_wall_second": round(args.count / figures["wall_s"]),
            "per_cpu_second": round(args.count / figures["cpu_s"]) if figures["cpu_s"] else None,
        })
    print(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
