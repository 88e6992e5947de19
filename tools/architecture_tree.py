"""Print the module tree of `reachcheck/` with each module's job (its docstring's first line).

    python tools/architecture_tree.py            # print the tree
    python tools/architecture_tree.py --check    # exit 1 if ARCHITECTURE.md's copy is stale

ARCHITECTURE.md holds the output between the markers below; `tests/test_layering.py` runs
`--check`, so the drawing cannot drift from the code.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "reachcheck"
DOC = ROOT / "ARCHITECTURE.md"
BEGIN, END = "<!-- tree: tools/architecture_tree.py -->", "<!-- /tree -->"
WIDTH = 116


def job(path: Path) -> str:
    """The first line of a module's docstring ('' when it has none)."""
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


def tree(folder: Path = PACKAGE, depth: int = 0) -> list[str]:
    lines = []
    init = folder / "__init__.py"
    name = f"{folder.name}/"
    lines.append(_line("  " * depth + name, job(init) if init.exists() else ""))
    for path in sorted(p for p in folder.glob("*.py") if p.name != "__init__.py"):
        lines.append(_line("  " * (depth + 1) + path.name, job(path)))
    for sub in sorted(p for p in folder.iterdir() if p.is_dir() and (p / "__init__.py").exists()):
        lines += tree(sub, depth + 1)
    return lines


def _line(name: str, text: str) -> str:
    line = f"{name:<28} {text}".rstrip()
    return line if len(line) <= WIDTH else line[: WIDTH - 3].rstrip() + "..."


def rendered() -> str:
    return "\n".join([BEGIN, "```", *tree(), "```", END])


def current() -> str | None:
    text = DOC.read_text(encoding="utf-8")
    if BEGIN not in text or END not in text:
        return None
    return BEGIN + text.split(BEGIN, 1)[1].split(END, 1)[0] + END


def main(argv: list[str]) -> int:
    if argv == ["--check"]:
        if current() != rendered():
            print("ARCHITECTURE.md's module tree is stale: python tools/architecture_tree.py "
                  "--write", file=sys.stderr)
            return 1
        return 0
    if argv == ["--write"]:
        text = DOC.read_text(encoding="utf-8")
        old = current()
        if old is None:
            print(f"ARCHITECTURE.md has no {BEGIN} marker", file=sys.stderr)
            return 2
        DOC.write_text(text.replace(old, rendered()), encoding="utf-8")
        return 0
    print(rendered())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
