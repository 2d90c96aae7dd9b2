"""Each set of names (modes, optimizers, losses, activations) is listed once, in ``autotrain/modes/names.py``.

Everything else derives from those tuples: the config's ``Literal`` choices and messages, the checkpoint
spec's optimizer arrays, the memory estimate, compare-modes' and gradcheck's order, the catalog's
comparison folders.  The check reads every module's syntax tree (outside the engine, whose names mirror
PyTorch's) and fails on a *re-listing*:

* a tuple, list or set literal, or a ``Literal[...]``, holding two or more names of one set;
* a dict whose keys are two or more names of one set and whose values are plain data (a table such as
  ``{"sgd": 0, "momentum": 1, ...}`` repeats knowledge that belongs beside the names).  A dispatch table
  whose values are code (``{"mse": lambda: nn.MSELoss(), ...}``) is the one definition of what each name
  does, and is allowed;
* a string spelling three or more names of one set joined by ", " (an error message's "one of a, b, c").

A single name used on its own, such as ``cfg.mode == "custom-relu"`` or ``optimizer == "adamw"``, is not
a list: it states a fact about that one name (custom-relu trains ReLU only; AdamW's default weight
decay), and writing it as a derived constant would hide the rule rather than share it.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from autotrain.modes import MODES
from autotrain.modes import names as names_module
from autotrain.modes.names import ACTIVATIONS, LOSSES, MODE_NAMES, OPTIMIZER_SETTINGS, OPTIMIZER_SLOTS, OPTIMIZERS

ROOT = Path(__file__).resolve().parent.parent / "autotrain"
DEFINING = Path(names_module.__file__).resolve()
SETS = {"mode": set(MODE_NAMES), "optimizer": set(OPTIMIZERS), "loss": set(LOSSES), "activation": set(ACTIVATIONS)}


def _spelled(members: set[str]) -> re.Pattern:
    """Three or more of ``members`` written out as "a, b, c" in a string."""
    alt = "|".join(map(re.escape, sorted(members, key=len, reverse=True)))  # longest first: "adamw" before "adam"
    return re.compile(rf"(?<![\w-])(?:{alt})(?:, (?:{alt})){{2,}}(?![\w-])")


SPELLED = {kind: _spelled(members) for kind, members in SETS.items()}


def _strings(nodes) -> set[str]:
    return {n.value for n in nodes if isinstance(n, ast.Constant) and isinstance(n.value, str)}


def _is_data(node: ast.AST) -> bool:
    try:
        ast.literal_eval(node)
    except ValueError:
        return False
    return True


def relistings(source: str) -> list[tuple[int, str, list[str]]]:
    """(line, which set, names) for every re-listing in ``source`` (see the module doc for the rules)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            names = _strings(node.elts)
        elif isinstance(node, ast.Dict) and all(v is not None and _is_data(v) for v in node.values):
            names = _strings(k for k in node.keys if k is not None)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            found += [(node.lineno, kind, sorted(set(m.group(0).split(", "))))
                      for kind, pattern in SPELLED.items() for m in pattern.finditer(node.value)]
            continue
        else:
            continue
        found += [(node.lineno, kind, sorted(names & members)) for kind, members in SETS.items()
                  if len(names & members) >= 2]
    return found


def _modules() -> list[Path]:
    return [p for p in sorted(ROOT.rglob("*.py"))
            if p.resolve() != DEFINING and "engine" not in p.relative_to(ROOT).parts]


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_lists_the_names_again(path):
    found = relistings(path.read_text())
    assert found == [], (f"{path.relative_to(ROOT.parent)} lists names that autotrain/modes/names.py defines "
                         f"(import the tuple from there instead): {found}")


@pytest.mark.parametrize("source, expected", [
    ('MODES = ("manual", "autograd")', [(1, "mode", ["autograd", "manual"])]),
    ('x: Literal["sgd", "adam"]', [(1, "optimizer", ["adam", "sgd"])]),
    ('SLOTS = {"sgd": 0, "adam": 2}', [(1, "optimizer", ["adam", "sgd"])]),
    ('ALLOWED = "one of relu, tanh, sigmoid"', [(1, "activation", ["relu", "sigmoid", "tanh"])]),
    ('ok = cfg.mode == "custom-relu"', []),
    ('ok = {"mse": lambda: 1, "sum_squares": lambda: 2}', []),
    ('ok = ("relu", "w1", "w2")', []),
])
def test_the_check_catches_a_relisting_and_allows_single_uses(source, expected):
    assert relistings(source) == expected


def test_the_names_agree_with_what_they_name():
    """The registry of modes, the optimizer tables and the config schema all use the same tuples, in order."""
    from autotrain.training.schema import CHOICES, FitConfig

    assert tuple(MODES) == MODE_NAMES
    assert tuple(OPTIMIZER_SLOTS) == tuple(OPTIMIZER_SETTINGS) == OPTIMIZERS
    for key, names in (("mode", MODE_NAMES), ("optimizer", OPTIMIZERS), ("loss", LOSSES), ("activation", ACTIVATIONS)):
        assert FitConfig.model_json_schema()["properties"][key]["enum"] == list(names)
        assert CHOICES[key] == names
    settings = set(FitConfig.model_fields)
    assert all(set(keys) <= settings for keys in OPTIMIZER_SETTINGS.values())


# ------------------------------------------------------------------ one meaning per class name
#: Class names defined twice on purpose: each copy mirrors the library it stands for.
MIRRORED = {
    "Linear": "engine/ops.py's op and engine/nn's module, as torch.nn.functional.linear / torch.nn.Linear",
    "LogSoftmax": "op and module", "Sigmoid": "op and module", "Softmax": "op and module", "Tanh": "op and module",
    "Optimizer": "torch.optim.Optimizer (engine/optim) and tf.compat.v1.train.Optimizer (engine/static)",
    "Tensor": "the dynamic engine's torch.Tensor and the static API's tf.Tensor",
    "Node": "torch.autograd.graph.Node (engine/graph.py) and a node of the static graph (engine/static)",
}


def _class_names() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in sorted(ROOT.rglob("*.py")):
        for node in ast.parse(path.read_text()).body:
            names = [node.name] if isinstance(node, ast.ClassDef) else [
                t.id for t in getattr(node, "targets", []) if isinstance(node, ast.Assign) and isinstance(t, ast.Name)
                and t.id[:1].isupper() and not t.id.isupper()]
            for name in names:
                if not name.startswith("_"):
                    found.setdefault(name, []).append(str(path.relative_to(ROOT)))
    return found


def test_each_class_name_has_one_meaning():
    """``Problem`` is the modes' data tuple, ``Plan`` the static compiler's, ``Report`` the compiler's report,
    ``Comparison`` a compare-modes result, ``Evaluation`` a run's evaluation: a second class of the same
    name elsewhere would make every import and every docstring ambiguous."""
    twice = {name: where for name, where in _class_names().items() if len(where) > 1 and name not in MIRRORED}
    assert twice == {}
