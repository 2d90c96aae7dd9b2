"""The tutorial programs of tests/programs/ with their training step under ``torch.compile``.

The harness (``compiled_port``) takes the ported program (tests/programs/README.md) and wraps its
training loop's body, as written, in one ``@torch.compile`` function: the names the body binds come back
as its results, the names it updates in place (``w1 -= ...``) are the module's globals, and only the
``print`` lines stay outside (a printed ``loss.item()`` reads a value, which the compile contract
answers by staying eager).  Each program must then end with exactly the eager run's numbers: every
tensor, array and number in its namespace and every module's ``state_dict``, bit for bit.  Where the
step reads a value itself (the warm-up programs' ``.item()`` losses) or draws from Python's ``random``
(DynamicNet's depth), the compiled function falls back to eager, says why, and the numbers still agree.
"""
from __future__ import annotations

import ast
import functools

import numpy as np
import pytest

import vectorlib
from vectorlib import PROGRAMS, port, program_kind, program_outputs, program_steps, run_source

TORCH_NAMES = [n for n in vectorlib.program_names() if program_kind((PROGRAMS / f"{n}.py").read_text()) == "torch"]

#: programs whose compiled step cannot be replayed, and the reason ``explain()`` must give
FALLS_BACK = {
    "old_tensors": "Tensor.item",          # the manual-backprop warm-ups compute ``loss`` with ``.item()``
    "poly_tensors": "Tensor.item",
    "old_dynamic_net": "random",           # DynamicNet draws its depth with Python's random each step
    "poly_dynamic_net": "random",
}


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    with vectorlib.single_blas_thread():
        yield


def _is_print(stmt) -> bool:
    """``print(...)`` or ``if cond: print(...)``: output only, which stays outside the compiled step."""
    if isinstance(stmt, ast.If) and not stmt.orelse:
        return all(_is_print(s) for s in stmt.body)
    return (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)
            and isinstance(stmt.value.func, ast.Name) and stmt.value.func.id == "print")


def _bound_and_updated(body) -> tuple[list[str], list[str]]:
    """Names the statements bind (assigned, loop targets) and names only updated in place (``w -= ...``)."""
    bound, updated = [], []
    for node in ast.walk(ast.Module(body=body, type_ignores=[])):
        targets = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.For, ast.With)):
            targets = [node.target] if isinstance(node, ast.For) else [i.optional_vars for i in node.items]
        elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
            updated.append(node.target.id)
        for target in targets:
            bound += [n for n in _names(target) if n not in bound]
    return bound, [n for n in dict.fromkeys(updated) if n not in bound]


def _names(target) -> list[str]:
    """The names an assignment target binds (``a.grad = ...`` and ``g[k] = ...`` bind none)."""
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, (ast.Tuple, ast.List)):
        return [n for t in target.elts for n in _names(t)]
    if isinstance(target, ast.Starred):
        return _names(target.value)
    return []


def _training_loop(tree) -> ast.For:
    loops = [s for s in tree.body if isinstance(s, ast.For) and isinstance(s.iter, ast.Call)
             and getattr(s.iter.func, "id", None) == "range"]
    assert len(loops) == 1, "a tutorial program has one training loop at module level"
    return loops[0]


def compiled_port(source: str, steps: int) -> str:
    """The ported program with its loop body as a ``torch.compile`` step (see the module docstring)."""
    text = port(source, "engine", steps)
    loop = _training_loop(ast.parse(text))
    step = [s for s in loop.body if not _is_print(s)]
    prints = [s for s in loop.body if _is_print(s)]
    bound, updated = _bound_and_updated(step)
    counter = loop.target.id
    uses_counter = any(isinstance(n, ast.Name) and n.id == counter for s in step for n in ast.walk(s))
    params = counter if uses_counter else ""
    results = ", ".join(bound)
    lines = ["@torch.compile", f"def _compiled_step({params}):"]
    if updated:
        lines.append(f"    global {', '.join(updated)}")
    lines += ["    " + line for s in step for line in ast.unparse(s).splitlines()]
    lines.append(f"    return ({results}{',' if len(bound) == 1 else ''})")
    lines.append(f"for {counter} in {ast.unparse(loop.iter)}:")
    lines.append(f"    ({results}{',' if len(bound) == 1 else ''}) = _compiled_step({params})")
    lines += ["    " + line for s in prints for line in ast.unparse(s).splitlines()]
    source_lines = text.splitlines()
    return "\n".join(source_lines[:loop.lineno - 1] + lines + source_lines[loop.end_lineno:]) + "\n"


def _exact(eager: dict, compiled: dict, results=()) -> list[str]:
    """Differences, bit for bit; the step's ``results`` carry no autograd graph (the compile contract:
    a compiled function's outputs are fresh arrays), so their ``requires_grad`` is not compared."""
    problems = [f"names differ: {sorted(set(eager) ^ set(compiled))}"] if set(eager) != set(compiled) else []
    for name in sorted(set(eager) & set(compiled)):
        want, got = eager[name], compiled[name]
        if type(want) is not type(got):
            problems.append(f"{name}: {type(got).__name__} where eager has {type(want).__name__}")
            continue
        if hasattr(want, "requires_grad") and want.requires_grad != got.requires_grad and name not in results:
            problems.append(f"{name}: requires_grad {got.requires_grad} != eager's {want.requires_grad}")
        w = np.asarray(want.detach().numpy() if hasattr(want, "detach") else want)
        g = np.asarray(got.detach().numpy() if hasattr(got, "detach") else got)
        if w.dtype != g.dtype or w.shape != g.shape or not np.array_equal(w, g, equal_nan=w.dtype.kind == "f"):
            problems.append(f"{name}: {g.dtype}{g.shape} {g.ravel()[:4]} != eager {w.dtype}{w.shape} {w.ravel()[:4]}")
    return problems


@functools.lru_cache(maxsize=None)
def _runs(name: str):
    """(problems compiled vs eager, the compiled step) of one program."""
    source = (PROGRAMS / f"{name}.py").read_text(encoding="utf-8")
    steps = program_steps(name)
    with vectorlib.single_blas_thread():
        eager = program_outputs(run_source(port(source, "engine", steps)))
        namespace = run_source(compiled_port(source, steps))
    step = namespace.pop("_compiled_step")
    results = _bound_and_updated(_training_loop(ast.parse(port(source, "engine", steps))).body)[0]
    return _exact(eager, program_outputs(namespace), results), step


@pytest.mark.parametrize("name", TORCH_NAMES)
def test_tutorial_program_with_a_compiled_step_ends_with_eagers_numbers(name):
    problems, _ = _runs(name)
    assert not problems, f"{name} compiled vs eager:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("name", TORCH_NAMES)
def test_tutorial_program_step_runs_the_plan_or_says_why_not(name):
    _, step = _runs(name)
    report = step.explain()
    assert 0 < step.calls <= program_steps(name)
    if name in FALLS_BACK:
        assert step.compiled_calls == 0 and FALLS_BACK[name] in report, report
    else:   # one trace (two where the first call creates .grad), then every later call ran the plan
        assert step.eager_reason is None and not step.fallbacks, report
        assert step.compiled_calls == step.calls - len(step.traces) and len(step.traces) <= 2, report


def test_the_compiled_form_changes_only_the_loop():
    source = (PROGRAMS / "old_autograd.py").read_text(encoding="utf-8")
    eager, compiled = port(source, "engine", 20), compiled_port(source, 20)
    loop_start = eager.index("for t in range(20):")
    assert compiled.startswith(eager[:loop_start])
    assert "@torch.compile\ndef _compiled_step():\n    global w1, w2\n" in compiled   # t is only printed
    assert "    (y_pred, loss) = _compiled_step()\n    print(t, loss.item())" in compiled
