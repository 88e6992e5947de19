"""Set the JSON of two whole lab runs side by side: a restructuring must not change a verdict.

    python bench/lab_compare.py record DIR [PYTEST-ARGS...]   # as root: tests/lab, JSON saved
    python bench/lab_compare.py diff OLD_DIR NEW_DIR           # exit 1 on any difference

`record` runs the lab suite with REACHCHECK_LAB_RECORD=DIR, so every `reachcheck check` the lab
makes leaves `DIR/<test>#<n>.json` (command, exit code, JSON). `diff` compares two such
directories after removing what legitimately varies from run to run: timings (`*_ms`, clock
times, run ids, durations quoted in prose), the lab's temporary directory, what is random per
lab (certificate tags, fingerprints and dates from trustme, DNS transaction ids) and the order
of observation lists (probes run concurrently, so the order they finish in is not behaviour).
Every other field must be equal. Run `diff` on two recordings of the same code first: that
shows the lab's own noise.
ADDED lists fields a change added on purpose (`LIST.KEY`: KEY of the objects in a list named
LIST); they are ignored on the new side only, and the report says how often each was seen.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

TIMING_KEYS = {"measured_at", "started_at", "finished_at", "run_id", "interrupted_at", "at",
               "age_s"}
# Durations and rates quoted in prose ("within 17 ms", "2 s ago", "~178 s", "36 KiB/s").
TIMING_TEXT = re.compile(r"~?\b\d+(?:\.\d+)? ?(?:ms|s|KiB/s)\b")
TEMP_PATH = re.compile(r"/tmp/[^\s\"']*?rclab\d*")
# Per-lab randomness: trustme names every certificate with a random tag (so its fingerprint
# and dates differ from lab to lab), and every DNS query gets a random transaction id.
CERT_TAG = re.compile(r"#[A-Za-z0-9_-]{16}(?![A-Za-z0-9_-])")
PER_LAB_CERT_KEYS = {"sha256", "not_before", "not_after"}
# Fields added on purpose since the baseline (issue 10: the anomalies' structured qualifiers).
ADDED: set[str] = {"anomalies.error", "anomalies.ambiguous"}


def _is_timing(key: str) -> bool:
    return key.endswith("_ms") or key in TIMING_KEYS


def normalise(value: Any, added: Counter[str] | None = None, within: str = "") -> Any:
    """`value` without timings and temporary paths, lists of objects in a canonical order
    (`within`: the key of the list holding `value`, for ADDED)."""
    if isinstance(value, dict):
        out = {}
        cert = "issuer" in value and "subject" in value
        for k, v in value.items():
            if _is_timing(k) or (cert and k in PER_LAB_CERT_KEYS):
                continue
            if k == "raw_b64" and isinstance(v, str):
                out[k] = _without_dns_id(v)
                continue
            if added is not None and f"{within}.{k}" in ADDED:
                added[f"{within}.{k}"] += 1
                continue
            out[k] = normalise(v, added, k)
        return out
    if isinstance(value, list):
        items = [normalise(v, added, within) for v in value]
        if items and all(isinstance(v, dict) for v in items):
            items.sort(key=lambda v: json.dumps(v, sort_keys=True))
        return items
    if isinstance(value, str):
        value = CERT_TAG.sub("#<tag>", TEMP_PATH.sub("<tmp>", value))
        return TIMING_TEXT.sub("<t>", value)
    return value


def _without_dns_id(raw_b64: str) -> str:
    """A DNS message with its (random) transaction id zeroed."""
    try:
        wire = base64.b64decode(raw_b64, validate=True)
    except ValueError:
        return raw_b64
    return base64.b64encode(b"\0\0" + wire[2:]).decode() if len(wire) >= 2 else raw_b64


def differences(old: Any, new: Any, path: str = "$") -> list[str]:
    """Human-readable paths where two normalised documents differ (at most a few per file)."""
    if type(old) is not type(new):
        return [f"{path}: {old!r} -> {new!r}"]
    if isinstance(old, dict):
        out = []
        for k in sorted(set(old) | set(new)):
            if k not in new:
                out.append(f"{path}.{k}: removed")
            elif k not in old:
                out.append(f"{path}.{k}: added {new[k]!r}"[:300])
            else:
                out += differences(old[k], new[k], f"{path}.{k}")
        return out
    if isinstance(old, list):
        if len(old) != len(new):
            return [f"{path}: {len(old)} items -> {len(new)}"]
        pairs = enumerate(zip(old, new, strict=True))
        return [d for i, (a, b) in pairs for d in differences(a, b, f"{path}[{i}]")]
    return [] if old == new else [f"{path}: {old!r} -> {new!r}"[:300]]


def diff(old_dir: Path, new_dir: Path) -> int:
    old = {p.name: json.loads(p.read_text()) for p in old_dir.glob("*.json")}
    new = {p.name: p for p in new_dir.glob("*.json")}
    if not old:
        print(f"{old_dir}: no recorded runs", file=sys.stderr)
        return 2
    added: Counter[str] = Counter()
    bad = 0
    for name in sorted(set(old) | set(new)):
        if name not in new or name not in old:
            print(f"{name}: only in {'old' if name in old else 'new'}")
            bad += 1
            continue
        a = normalise(old[name])
        b = normalise(json.loads(new[name].read_text()), added)
        found = differences(a, b)
        if found:
            bad += 1
            print(f"{name}: {len(found)} difference(s)")
            for line in found[:8]:
                print(f"  {line}")
    results = sum(len((doc["doc"] or {}).get("results", [])) for doc in old.values())
    print(f"{len(old)} runs ({results} results) compared: "
          f"{'identical apart from timings' if not bad else f'{bad} differ'}")
    for k, n in sorted(added.items()):
        print(f"  added field {k!r}: seen {n} times on the new side (ignored)")
    return 1 if bad else 0


def record(out: Path, pytest_args: list[str]) -> int:
    out.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, REACHCHECK_LAB_RECORD=str(out.resolve()), REACHCHECK_LAB_REQUIRED="1")
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/lab",
           *pytest_args]
    return subprocess.run(cmd, env=env, cwd=Path(__file__).resolve().parents[1]).returncode


def main(argv: list[str]) -> int:
    if len(argv) >= 2 and argv[0] == "record":
        return record(Path(argv[1]), argv[2:])
    if len(argv) == 3 and argv[0] == "diff":
        return diff(Path(argv[1]), Path(argv[2]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
