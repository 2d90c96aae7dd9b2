"""The folders of ``autotrain/`` are layers: imports go down (or sideways within a folder), never up.

    cli  ->  sweep  ->  store  ->  training  ->  modes  ->  engine

Every import counts, the ones inside functions too (a lazy import is still a dependency), and a
folder's modules import each other without a cycle at module level.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "autotrain"
LAYERS = ["engine", "modes", "training", "store", "sweep", "cli"]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, module_level_only: bool = False, package: str | None = None) -> set[str]:
    """The ``autotrain`` modules ``path`` imports (relative imports resolved against its package)."""
    if package is None:
        package = _module_name(path) if path.name == "__init__.py" else _module_name(path).rpartition(".")[0]
    tree = ast.parse(path.read_text())
    nodes = tree.body if module_level_only else ast.walk(tree)
    found = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            found |= {f"{target}.{a.name}" for a in node.names}  # ``from pkg import module``
    return {m for m in found if m == "autotrain" or m.startswith("autotrain.")}


def _layer(module: str) -> str | None:
    parts = module.split(".")
    if len(parts) < 2 or parts[1] not in LAYERS:
        return "cli" if module == "autotrain.__main__" else None  # the package root holds only __version__
    return parts[1]


MODULES = {_module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def test_every_module_lives_in_a_layer_folder():
    loose = [m for m in MODULES if _layer(m) is None and m not in ("autotrain",)]
    assert loose == [], f"modules outside the layer folders {LAYERS}: {loose}"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_upward_import(module):
    own = _layer(module)
    if own is None:
        return
    rank = LAYERS.index(own)
    upward = sorted(dep for dep in _imports(MODULES[module]) if _layer(dep) and LAYERS.index(_layer(dep)) > rank)
    assert upward == [], f"{module} ({own}) imports from a higher layer: {upward}"


def test_no_import_cycle_at_module_level():
    graph = {m: {d for d in _imports(p, module_level_only=True) if d in MODULES and d != m}
             for m, p in MODULES.items()}
    done, path = set(), []

    def visit(module):
        assert module not in path, f"import cycle: {' -> '.join(path[path.index(module):] + [module])}"
        if module in done:
            return
        path.append(module)
        for dep in sorted(graph[module]):
            if not module.startswith(dep + "."):  # a module importing its own package's __init__ is no cycle
                visit(dep)
        path.pop()
        done.add(module)

    for module in sorted(graph):
        visit(module)


def test_the_checker_sees_an_upward_import(tmp_path):
    """The rule can fail: a training module importing the store is caught."""
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from autotrain.store.runs import RunDir\n    from ..store import catalog\n")
    deps = _imports(bad, package="autotrain.training")
    assert {"autotrain.store.runs", "autotrain.store.catalog"} <= deps
    assert all(LAYERS.index(_layer(d)) > LAYERS.index("training") for d in deps)
