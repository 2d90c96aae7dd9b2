"""No module uses another module's private names: what crosses a module boundary is published.

A leading underscore says "this module's own detail, free to change"; ``from autotrain.x import _helper``
or ``x._helper`` elsewhere makes it API without the name, docstring or care of one.  The check reads every
module's syntax tree: an ``ImportFrom`` of an underscore name from another autotrain module, and an
attribute ``m._name`` where ``m`` was bound by importing an autotrain module.  Dunder names are not private.
The engine is checked too, unless ``ENGINE_EXEMPT`` says its own clean-up has not landed yet.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "autotrain"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _absolute(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def crossings(path: Path) -> list[str]:
    """``line: what`` for each private name of another module that ``path`` uses."""
    return crossings_in(path.read_text(), _module_name(path), path.name == "__init__.py")


def crossings_in(source: str, module: str, is_package: bool = False) -> list[str]:
    """:func:`crossings` of the text ``source`` of the module named ``module``."""
    tree = ast.parse(source)
    aliases: dict[str, str] = {}  # local name -> the autotrain module it is bound to
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("autotrain"):
                    aliases[a.asname or a.name.split(".")[0]] = a.asname and a.name or a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom):
            target = _absolute(node, module, is_package)
            if not target.startswith("autotrain"):
                continue
            for a in node.names:
                if target != module and _private(a.name):
                    found.append(f"{node.lineno}: from {target} import {a.name}")
                aliases[a.asname or a.name] = f"{target}.{a.name}"
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _private(node.attr):
            chain, base = [node.attr], node.value
            while isinstance(base, ast.Attribute):
                chain.append(base.attr)
                base = base.value
            if isinstance(base, ast.Name) and base.id in aliases:
                owner = ".".join([aliases[base.id], *reversed(chain[1:])])
                if owner != module:
                    found.append(f"{node.lineno}: {owner}.{node.attr}")
    return found


def _defined(tree: ast.AST) -> set[str]:
    """Every name a module defines: functions and methods at any depth, and class-level assignments."""
    names = {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    for cls in (n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)):
        for item in cls.body:
            if isinstance(item, ast.Assign):
                names.update(t.id for t in item.targets if isinstance(t, ast.Name))
    return names


def _definitions() -> dict[str, set[str]]:
    """Each private name to the autotrain modules that define it."""
    found: dict[str, set[str]] = {}
    for path in ROOT.rglob("*.py"):
        for name in _defined(ast.parse(path.read_text())):
            if _private(name):
                found.setdefault(name, set()).add(_module_name(path))
    return found


DEFINITIONS = _definitions()


def method_crossings_in(source: str, module: str, definitions: dict[str, set[str]] = DEFINITIONS) -> list[str]:
    """``line: obj._name()`` for each call of a private method on an object (not ``self`` or ``cls``) whose
    name this module does not define and another autotrain module does: Tensor's private methods called
    from the walker, say.  A name nothing in autotrain defines (a library's ``_asdict``) is not ours."""
    tree = ast.parse(source)
    own = _defined(tree)
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and _private(node.func.attr)):
            continue
        name, target = node.func.attr, node.func.value
        if isinstance(target, ast.Name) and target.id in ("self", "cls") or name in own:
            continue
        if definitions.get(name, set()) - {module}:
            found.append(f"{node.lineno}: {ast.unparse(target)}.{name}()")
    return found


ENGINE_EXEMPT = False
#: modules whose private method calls are another workstream's to publish: engine/compile.py replays
#: ``Tensor._bump`` in the programs it generates


def _checked() -> list[Path]:
    return [p for p in sorted(ROOT.rglob("*.py"))
            if not (ENGINE_EXEMPT and "engine" in p.relative_to(ROOT).parts)]


@pytest.mark.parametrize("path", _checked(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_private_name_crosses_a_module(path):
    assert crossings(path) == [], f"{path.relative_to(ROOT.parent)} uses another module's private names"


@pytest.mark.parametrize("path", _checked(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_private_method_of_another_module_is_called(path):
    module = _module_name(path)
    assert method_crossings_in(path.read_text(), module) == [], \
        f"{path.relative_to(ROOT.parent)} calls another module's private methods"


def test_the_method_check_sees_calls_on_objects_only():
    definitions = {"_bump": {"autotrain.engine.tensor"}, "_own": {"autotrain.x"}}
    sample = ("t._bump()\nself._bump()\ncls._bump()\nrow._asdict()\nthing._own()\nx = t._bump\n"
              "def _local(): pass\nobj._local()\n")
    assert method_crossings_in(sample, "autotrain.x", definitions) == ["1: t._bump()"]
    assert method_crossings_in(sample, "autotrain.engine.tensor", definitions) == ["5: thing._own()"]


def test_the_check_sees_both_forms():
    sample = ("from autotrain.training.data import _columns_list\nfrom autotrain.store import catalog\n"
              "from . import runs\nimport autotrain.training.config as config\n"
              "x = catalog._children\ny = config.__name__\nz = self._own\nw = runs._fsync_dir\n")
    assert crossings_in(sample, "autotrain.store.sample") == [
        "1: from autotrain.training.data import _columns_list", "5: autotrain.store.catalog._children",
        "8: autotrain.store.runs._fsync_dir"]
    assert crossings_in("from autotrain.store.sample import _own\n", "autotrain.store.sample") == []
