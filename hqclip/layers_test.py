"""The layers of design.md, checked on the code: no module imports a package above its own, and no
packages import each other in a circle. Every import counts, a function-level one too (that is
where a circle hides). A new package fails here until it is given a layer below."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).parent

# package (or top-level module) → layer; a package may import its own layer or those below
LAYERS = {
    "errors": 0,
    "progress": 0,
    "schema": 0,
    "workers": 0,
    "data": 1,
    "units": 2,
    "plots": 2,  # the per-unit runner; figures (written via data.atomic)
    "clip": 3,  # the open_clip adapter that train, eval and curate share
    "world": 4,
    "refine": 4,
    "train": 4,
    "eval": 4,
    "vlm150m": 4,
    "curate": 5,
    "distill": 5,
    "quickstart": 6,
    "cli": 7,
}


def package_of(path: Path) -> str:
    return path.relative_to(ROOT).parts[0].removesuffix(".py")


def imported(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, hqclip package) of every import anywhere in a module."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [f"hqclip.{a.name}" for a in node.names] if node.module == "hqclip" else [node.module]
        else:
            continue
        out += [
            (node.lineno, n.split(".")[1]) for n in names if n.startswith("hqclip.") and len(n.split(".")) > 1
        ]
    return out


def edges() -> dict[tuple[str, str], list[str]]:
    """(importer, imported) package pair → where, over every module that is not a test."""
    found: dict[tuple[str, str], list[str]] = defaultdict(list)
    for path in sorted(ROOT.rglob("*.py")):
        if path.name.endswith("_test.py") or path.name == "conftest.py" or path == ROOT / "__init__.py":
            continue
        source = package_of(path)
        for line, target in imported(ast.parse(path.read_text(), str(path))):
            if target != source:
                found[(source, target)].append(f"{path.relative_to(ROOT.parent)}:{line}")
    return found


def cycles(pairs: set[tuple[str, str]]) -> list[list[str]]:
    """Each circle of packages once (as the strongly connected components with more than one)."""
    graph: dict[str, set[str]] = defaultdict(set)
    for a, b in pairs:
        graph[a].add(b)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_every_package_has_a_layer():
    packages = {
        package_of(p)
        for p in ROOT.iterdir()
        if (p.is_dir() and (p / "__init__.py").exists())
        or (
            p.suffix == ".py"
            and not p.name.endswith("_test.py")
            and p.name not in ("__init__.py", "conftest.py")
        )
    }
    assert packages <= set(LAYERS), f"give these a layer in LAYERS: {sorted(packages - set(LAYERS))}"


def test_no_package_imports_upward():
    found = edges()
    upward = [
        f"{a} ({LAYERS[a]}) → {b} ({LAYERS[b]}): {', '.join(where)}"
        for (a, b), where in sorted(found.items())
        if a in LAYERS and b in LAYERS and LAYERS[b] > LAYERS[a]
    ]
    assert not upward, "imports above their own layer:\n" + "\n".join(upward)


def test_no_packages_import_each_other_in_a_circle():
    found = edges()
    circles = cycles(set(found))
    detail = [
        f"{' ↔ '.join(c)}: "
        + "; ".join(f"{a} → {b} at {', '.join(found[(a, b)])}" for a in c for b in c if (a, b) in found)
        for c in circles
    ]
    assert not circles, "packages in a circle:\n" + "\n".join(detail)


def test_the_checks_see_function_level_imports():
    tree = ast.parse(
        "def f():\n    from hqclip.train import loop\n    import hqclip.eval.embed\n"
        "from hqclip import plots\n"
    )
    assert sorted(imported(tree)) == [(2, "train"), (3, "eval"), (4, "plots")]
    assert cycles({("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")}) == [["a", "b", "c"]]
