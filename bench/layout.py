"""The layout's figures (issue #11), read from the code with ast: loose modules in bot/, import cycles, long modules.

Cycles count every import run, those inside functions too (not those under `if TYPE_CHECKING:`, never run): of
modules, and of packages (bot.core, handlers.tickets...).
Run: python bench/layout.py
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "handlers")  # the project's code
MAX_LINES = 400  # the style's limit per module
MAX_LOOSE = 15  # the limit of modules directly in bot/


def module_name(path: Path) -> str:
    """bot/core/config.py → bot.core.config; bot/core/__init__.py → bot.core."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    """Every module of the project's packages, by dotted name."""
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            found[module_name(path)] = path
    return found


def imported(name: str, path: Path, known: Iterable[str]) -> set[str]:
    """The project modules `name` imports anywhere in its body, inside functions too (not `if TYPE_CHECKING:`)."""
    known = set(known)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in _runtime_nodes(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:  # `from pkg import module` imports the module; `from pkg import name`, pkg
                targets.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base)
    return {_owner(t, known) for t in targets if _owner(t, known)} - {name}


def _runtime_nodes(tree: ast.AST) -> Iterable[ast.AST]:
    """Every node but those under `if TYPE_CHECKING:` (imports for annotations only, never run)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                stack.extend(child.orelse)
                continue
            stack.append(child)


def _owner(target: str, known: set[str]) -> str:
    """The longest known module that `target` names or lies in ('' if none: not ours)."""
    parts = target.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in known:
            return candidate
    return ""


def package_of(name: str, paths: dict[str, Path]) -> str:
    """The package a module belongs to (a package's __init__ belongs to the package itself)."""
    return name if paths[name].name == "__init__.py" else name.rpartition(".")[0]


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one node (Tarjan), each sorted: the import cycles."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
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

    sys.setrecursionlimit(10_000)
    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def main() -> None:
    paths = modules()
    graph = {name: imported(name, path, paths) for name, path in paths.items()}
    packages: dict[str, set[str]] = {}
    for name, targets in graph.items():
        source = package_of(name, paths)
        packages.setdefault(source, set()).update(
            package_of(t, paths) for t in targets if package_of(t, paths) != source
        )
    loose = sorted(p.name for p in (ROOT / "bot").glob("*.py"))
    long = sorted(((n, len(p.read_text(encoding="utf-8").splitlines())) for n, p in paths.items()), key=lambda x: -x[1])
    module_cycles, package_cycles = cycles(graph), cycles(packages)
    print(f"modules loose directly in bot/: {len(loose)} (at most {MAX_LOOSE}): {', '.join(loose)}")
    print(f"import cycles of modules (imports inside functions counted): {len(module_cycles)}")
    for cycle in module_cycles:
        print("  " + " ↔ ".join(cycle))
    print(f"import cycles of packages (imports inside functions counted): {len(package_cycles)}")
    for cycle in package_cycles:
        print("  " + " ↔ ".join(cycle))
    over = [(n, lines) for n, lines in long if lines > MAX_LINES]
    print(f"modules over {MAX_LINES} lines: {len(over)}")
    for name, lines in over:
        print(f"  {name}: {lines}")


if __name__ == "__main__":
    main()
