"""The dependency rules of ARCHITECTURE.md: the analysis is pure, the probes never judge."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "reachcheck"
BANNED_IN_ANALYSIS = {
    "asyncio", "socket", "ssl", "select", "selectors", "httpx", "httpcore", "anyio", "dns", "time",
    "reachcheck.probes", "reachcheck.runner",
}  # fmt: skip


def imported_names(source: str, package: str) -> set[str]:
    """Every module `source` imports, at any depth; relative imports resolved in `package`."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def imports(path: Path) -> set[str]:
    """Every module a package file imports."""
    package = ".".join(path.relative_to(ROOT.parent).with_suffix("").parts[:-1])
    return imported_names(path.read_text(encoding="utf-8"), package)


def banned(name: str, rules: set[str]) -> bool:
    return any(name == rule or name.startswith(rule + ".") for rule in rules)


def test_analysis_is_pure() -> None:
    files = sorted((ROOT / "analysis").glob("*.py"))
    assert files, "reachcheck/analysis has no modules"
    bad = {f.name: sorted(n for n in imports(f) if banned(n, BANNED_IN_ANALYSIS)) for f in files}
    assert {k: v for k, v in bad.items() if v} == {}


def test_probes_never_import_analysis() -> None:
    bad = {
        f.name: sorted(n for n in imports(f) if banned(n, {"reachcheck.analysis"}))
        for f in sorted((ROOT / "probes").glob("*.py"))
    }
    assert {k: v for k, v in bad.items() if v} == {}


def test_checker_catches_banned_imports() -> None:
    # The walker must see nested, "from" and relative imports, or the rules above are void.
    src = (
        "def f():\n    import socket\n"
        "from dns import message\n"
        "from .. import probes\n"
        "from reachcheck.model import Target\n"
        "import ipaddress\n"
    )
    names = imported_names(src, "reachcheck.analysis")
    assert {n for n in names if banned(n, BANNED_IN_ANALYSIS)} == {
        "socket", "dns", "dns.message", "reachcheck.probes",
    }
