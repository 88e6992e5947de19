"""Where the terminal and the command line may be imported (ARCHITECTURE.md, CLI and output).

The runner and the import loop report progress through a callback and never draw it;
re-judging a saved run needs no click; the command modules share `cli_common`, and only
`cli.py` imports them (never the other way round, not even lazily inside a function).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "reachcheck"
TERMINAL_UI = ("rich", "click", "reachcheck.output.progress", "reachcheck.terminal")
COMMAND_MODULES = ("check_cli.py", "report_cli.py", "cli_common.py", "diff_cli.py",
                   "history/cli.py", "ingest/cli.py", "control/cli.py", "execute.py")


def imported_by(source: str) -> set[str]:
    """Every absolute module name `source` imports, at any depth (lazy imports included)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def imported(path: Path) -> set[str]:
    return imported_by(path.read_text(encoding="utf-8"))


def under(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def test_the_measuring_loops_draw_nothing() -> None:
    files = sorted([*(ROOT / "runner").rglob("*.py"), ROOT / "ingest" / "ooni" / "run.py"])
    assert files
    bad = {f.name: sorted(n for n in imported(f) if under(n, TERMINAL_UI)) for f in files}
    assert {k: v for k, v in bad.items() if v} == {}


def test_rejudging_needs_no_command_line() -> None:
    names = imported(ROOT / "rejudge.py")
    assert "reachcheck.analysis" in names  # the walker sees the lazy import
    assert not [n for n in names if under(n, ("click", "reachcheck.cli"))]


def test_no_command_module_imports_the_group() -> None:
    bad = {m: sorted(n for n in imported(ROOT / m) if under(n, ("reachcheck.cli",)))
           for m in COMMAND_MODULES}
    assert {k: v for k, v in bad.items() if v} == {}


def test_the_walker_sees_lazy_and_aliased_imports() -> None:
    source = "def f():\n    from reachcheck import cli as rc\nimport rich.console\n"
    assert {"reachcheck.cli", "rich.console"} <= imported_by(source)
