"""Move the `path:LINE:COL` keys of EQUIVALENT_MUTANTS.md to where their code is now.

    python tools/mutation/rekey.py OLD_COMMIT [--write]

Entries name a line of reachcheck/analysis as it was at OLD_COMMIT (the commit the list was last
checked against). Each entry's line is followed to the current checkout: within its file by a
line diff (difflib), else to the one line with the same text in another analysis module (code
moved between modules keeps its mutants). An entry whose line changed or vanished is reported
and left out: its mutant must be looked at again. Without --write, only reports.
"""

from __future__ import annotations

import difflib
import re
import subprocess
import sys
from pathlib import Path

LIST = Path("tests/analysis/EQUIVALENT_MUTANTS.md")
ENTRY = re.compile(r"^(\s*-\s*`)([^`:]+):(\d+):(\d+)(`.*)$")


def old_lines(commit: str, path: str) -> list[str]:
    out = subprocess.run(["git", "show", f"{commit}:{path}"], capture_output=True, text=True)
    return out.stdout.splitlines() if out.returncode == 0 else []


def line_map(old: list[str], new: list[str]) -> dict[int, int]:
    """1-based old line -> 1-based new line, for lines the diff keeps unchanged."""
    out = {}
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for block in matcher.get_matching_blocks():
        for i in range(block.size):
            out[block.a + i + 1] = block.b + i + 1
    return out


def main(argv: list[str]) -> int:
    if not argv or argv[0].startswith("-"):
        print(__doc__, file=sys.stderr)
        return 2
    commit, write = argv[0], "--write" in argv[1:]
    current = {str(p): p.read_text(encoding="utf-8").splitlines()
               for p in sorted(Path("reachcheck/analysis").glob("*.py"))}
    maps: dict[str, dict[int, int]] = {}
    olds: dict[str, list[str]] = {}
    kept: list[str] = []
    moved = dropped = 0
    for text in LIST.read_text(encoding="utf-8").splitlines():
        m = ENTRY.match(text)
        if not m:
            kept.append(text)
            continue
        path, line = m.group(2), int(m.group(3))
        if path not in olds:
            olds[path] = old_lines(commit, path)
            maps[path] = line_map(olds[path], current.get(path, []))
        target: tuple[str, int] | None = None
        if line in maps[path]:
            target = (path, maps[path][line])
        elif 0 < line <= len(olds[path]):
            code = olds[path][line - 1]
            hits = [(p, i + 1) for p, lines in current.items() for i, x in enumerate(lines)
                    if x == code and code.strip()]
            target = hits[0] if len(hits) == 1 else None
        if target is None:
            dropped += 1
            print(f"changed or gone: {m.group(2)}:{line}:{m.group(4)}{m.group(5)[:90]}")
            continue
        moved += target != (path, line)
        kept.append(f"{m.group(1)}{target[0]}:{target[1]}:{m.group(4)}{m.group(5)}")
    print(f"{moved} entries moved, {dropped} dropped (look at their mutants again)")
    if write:
        LIST.write_text("\n".join(kept) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
