"""Session bookkeeping for run.sh: stamp a new session with a hash of the code it mutates, and
turn a finished session into one that reruns only its surviving mutants.

`python session.py stamp SESSION`: record the hash of reachcheck/analysis/*.py.
`python session.py rerun OLD NEW`: copy OLD to NEW without the survivors' results, so that
`cosmic-ray exec` runs just those again (killed mutants stay killed: tests are only added). It
refuses if the analysis code changed since OLD, since the mutants would no longer match it.
`python session.py merge OUT PART...`: one session from the parts of a run split by module
(`EXCLUDE=... run.sh` on each core), for one score; the parts must stamp the same code.
"""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
import sys
from pathlib import Path


def analysis_hash() -> str:
    h = hashlib.sha256()
    for path in sorted(Path("reachcheck/analysis").glob("*.py")):
        h.update(path.name.encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def stamp(session: str) -> None:
    with sqlite3.connect(session) as db:
        db.execute("CREATE TABLE IF NOT EXISTS reachcheck_meta (analysis_sha TEXT)")
        db.execute("DELETE FROM reachcheck_meta")
        db.execute("INSERT INTO reachcheck_meta VALUES (?)", (analysis_hash(),))


def rerun(old: str, new: str) -> int:
    with sqlite3.connect(old) as db:
        try:
            (sha,) = db.execute("SELECT analysis_sha FROM reachcheck_meta").fetchone()
        except (sqlite3.OperationalError, TypeError):
            sha = None
    if sha != analysis_hash():
        print(f"{old}: made for other analysis code; run without --rerun-survivors",
              file=sys.stderr)  # fmt: skip
        return 2
    shutil.copyfile(old, new)
    with sqlite3.connect(new) as db:
        n = db.execute("DELETE FROM work_results WHERE test_outcome = 'SURVIVED'").rowcount
    print(f"rerunning the {n} surviving mutants of {old}")
    return 0


def merge(out: str, parts: list[str]) -> int:
    shas = set()
    for part in parts:
        with sqlite3.connect(part) as db:
            shas.add(db.execute("SELECT analysis_sha FROM reachcheck_meta").fetchone())
    if len(shas) != 1:
        print("the parts were made for different analysis code", file=sys.stderr)
        return 2
    shutil.copyfile(parts[0], out)
    with sqlite3.connect(out) as db:
        for i, part in enumerate(parts[1:]):
            db.execute(f"ATTACH DATABASE ? AS p{i}", (part,))
            for table in ("work_items", "mutation_specs", "work_results"):
                db.execute(f"INSERT OR IGNORE INTO {table} SELECT * FROM p{i}.{table}")
            db.commit()
            db.execute(f"DETACH DATABASE p{i}")
    print(f"merged {len(parts)} sessions into {out}")
    return 0


if __name__ == "__main__":
    if sys.argv[1] == "stamp":
        stamp(sys.argv[2])
        sys.exit(0)
    if sys.argv[1] == "merge":
        sys.exit(merge(sys.argv[2], sys.argv[3:]))
    sys.exit(rerun(sys.argv[2], sys.argv[3]))
