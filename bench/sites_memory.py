"""Peak RSS and time to read a sites file the way `reachcheck check --sites` does (issue 17).

    python bench/sites_memory.py                 # 10^6 duplicate lines + 10^5 bad lines
    python bench/sites_memory.py --lines 200000

Writes the files under a temporary directory (deleted afterwards) and reads each in a fresh
interpreter through the CLI's own target collection (count pass, bad-line report, then the
lazy pass the run consumes), with no network at all. Prints lines, targets, seconds, peak RSS.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHILD = """
import json, resource, sys, time
from reachcheck.check_cli import _collect_targets
started = time.perf_counter()
targets, total = _collect_targets((), sys.argv[1], False, True)
consumed = sum(1 for _ in targets)
print(json.dumps({"total": total, "consumed": consumed,
                  "seconds": round(time.perf_counter() - started, 2),
                  "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}))
"""


def measure(path: Path) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", CHILD, str(path)], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout
    result: dict[str, float] = json.loads(out)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cases = {
            "duplicates": "https://one.example/\n" * args.lines,
            "bad lines": "one.example\n" + "not a host!\n" * (args.lines // 10),
        }
        print(f"{'file':<12} {'lines':>9} {'targets':>8} {'seconds':>8} {'peak RSS MB':>12}")
        for name, text in cases.items():
            path = Path(tmp) / "sites.txt"
            path.write_text(text)
            got = measure(path)
            print(f"{name:<12} {text.count(chr(10)):>9} {got['total']:>8} "
                  f"{got['seconds']:>8} {got['peak_rss_mb']:>12}")


if __name__ == "__main__":
    main()
