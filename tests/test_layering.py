"""The dependency rules of ARCHITECTURE.md: the analysis is pure, the probes never judge."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
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


# ------------------------------------------------------------- circles, sizes, package rules

MAX_LINES = 400
MAY_IMPORT = "May import:"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def module_graph() -> dict[str, set[str]]:
    """Module -> the reachcheck modules it imports (any depth: lazy and TYPE_CHECKING imports
    count, since a circle broken only at run time is still a circle to read)."""
    paths = {module_name(p): p for p in ROOT.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        deps = set()
        for dep in imported_names(path.read_text(encoding="utf-8"), package):
            while dep and dep not in paths:
                dep = dep.rpartition(".")[0]  # `from pkg import name` names no module
            # A module's own enclosing packages are imported with it anyway: no edge.
            if dep.startswith("reachcheck") and not (name + ".").startswith(dep + "."):
                deps.add(dep)
        graph[name] = deps
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.get(root, ()))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_import_circles() -> None:
    assert circles(module_graph()) == []


def test_circle_finder_finds_circles() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e2"}, "e2": {"e"}, "f": set()}
    assert sorted(circles(graph)) == [["a", "b", "c"], ["e", "e2"]]
    assert circles({"a": {"b"}, "b": set()}) == []


def test_no_module_over_400_lines() -> None:
    sizes = {module_name(p): len(p.read_text(encoding="utf-8").splitlines())
             for p in ROOT.rglob("*.py")}
    assert {m: n for m, n in sizes.items() if n > MAX_LINES} == {}


def package_rules() -> dict[str, tuple[str, ...]]:
    """Package -> the reachcheck modules/packages it may import, from the `May import:` line of
    its `__init__` docstring (a comma-separated list up to a remark in parentheses or the
    sentence's end; `nothing` = none)."""
    rules: dict[str, tuple[str, ...]] = {}
    for init in sorted(ROOT.rglob("__init__.py")):
        name = module_name(init)
        if name == "reachcheck":
            continue
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or ""
        assert MAY_IMPORT in doc, f"{name}: its docstring says no `{MAY_IMPORT}` rule"
        text = doc.split(MAY_IMPORT, 1)[1].split("\n\n", 1)[0].replace("\n", " ")
        listed = re.split(r"\(|\.(?:\s|$)", text, maxsplit=1)[0]  # up to a remark or the end
        names = [w.strip(" `") for w in listed.split(",")]
        rules[name] = tuple(n for n in names if n and n != "nothing")
        assert all(re.fullmatch(r"reachcheck(\.\w+)*", n) for n in rules[name]), (name, names)
    return rules


def broken_rules(graph: dict[str, set[str]], rules: dict[str, tuple[str, ...]]) -> list[str]:
    """`module -> import` pairs where a module imports outside its package's rule (the nearest
    enclosing package with a rule; its own package and subpackages are always allowed)."""
    bad = []
    for module, deps in graph.items():
        owners = [p for p in rules if module == p or module.startswith(p + ".")]
        if not owners:
            continue
        package = max(owners, key=len)
        allowed = (package, *rules[package])
        bad += [f"{module} -> {d}" for d in sorted(deps)
                if not any(d == a or d.startswith(a + ".") for a in allowed)]
    return bad


def test_packages_import_only_what_their_docstring_allows() -> None:
    assert broken_rules(module_graph(), package_rules()) == []


def test_rule_checker_catches_a_stray_import() -> None:
    graph = {"reachcheck.p.x": {"reachcheck.model", "reachcheck.q.y", "reachcheck.p.sub.z"}}
    rules = {"reachcheck.p": ("reachcheck.model",)}
    assert broken_rules(graph, rules) == ["reachcheck.p.x -> reachcheck.q.y"]


def test_architecture_drawing_matches_the_code() -> None:
    # ARCHITECTURE.md's module tree is generated from the modules' docstrings; a module added,
    # moved or re-described without regenerating it fails here.
    tool = ROOT.parent / "tools" / "architecture_tree.py"
    proc = subprocess.run([sys.executable, str(tool), "--check"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
