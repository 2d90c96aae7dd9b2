"""Opt-in rewrites: faster forms that round differently from the graph as written.

The default passes keep every value bit for bit (see ``simplify``), so a static graph computes what the
dynamic engine computes.  The rewrites here trade that for speed; each entry states its numeric effect.
Turn them on per Session: ``tf.Session(rewrites=("scale_into_matmul",))`` or ``rewrites="all"``.  They
run inside the simplify pass, after its exact rules.

ε below is the unit roundoff of the dtype (2**-24 for float32, 2**-53 for float64).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..ir import Instr
from .simplify import masked_copy_as_multiply


@dataclass(frozen=True)
class Rewrite:
    """One opt-in rule: ``rule(instr, make)`` returns the replacement instr or ``None``."""

    name: str
    rule: Callable
    numeric_effect: str


def _num(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _regroup_scalars(ins: Instr, make):
    """``c * (d * x)`` -> ``(c*d) * x``."""
    if ins.op != "mul" or not _num(ins.args[0]) or not isinstance(ins.args[1], Instr):
        return None
    x = ins.args[1]
    if x.op == "mul" and _num(x.args[0]) and isinstance(x.args[1], Instr):
        return make("mul", (ins.args[0] * x.args[0], x.args[1]))
    return None


def _scale_into_matmul(ins: Instr, make):
    """``c * (a @ b)`` -> ``(c * a) @ b`` (or ``a @ (c * b)``), scaling the smaller operand."""
    if ins.op != "mul" or not _num(ins.args[0]) or not isinstance(ins.args[1], Instr):
        return None
    c, x = ins.args
    if x.op != "matmul":
        return None
    a, b = x.args
    if min(a.size, b.size) >= x.size:
        return None
    return make("matmul", (make("mul", (c, a)), b)) if a.size < b.size else make("matmul", (a, make("mul", (c, b))))


def _sum_of_squares_as_dot(ins: Instr, make):
    """``sum(square(x))`` over all elements -> ``dot(x, x)``: the squares are never written."""
    if ins.op != "sum" or ins.attrs.get("keepdims") or ins.shape != ():
        return None
    (x,) = ins.args
    if not isinstance(x, Instr) or x.op != "square" or x.dtype != ins.dtype or x.dtype.kind != "f":
        return None
    flat = make("reshape", (x.args[0],), {"shape": (x.size,)})
    return make("matmul", (flat, flat))


REWRITES: dict[str, Rewrite] = {r.name: r for r in (
    Rewrite("regroup_scalars", _regroup_scalars,
            "c*(d*x) becomes (c*d)*x: one rounding instead of two, so each element may differ by 1 ulp (≤ 2ε "
            "relative) from the graph as written; fewer passes over x. (Exact, and in the default rules, when "
            "c or d is a power of two.)"),
    Rewrite("scale_into_matmul", _scale_into_matmul,
            "c*(a@b) becomes (c*a)@b on the smaller operand (the learning-rate push-down: lr*(h.T@g) scales g, "
            "not the weight-sized gradient): each product is rounded after scaling, so each element may differ "
            "by about ε·(1+κ) relative, κ the sum's condition number (|a||b|/|a@b|); a training run drifts "
            "from the dynamic engine's float32 trajectory by a few ulp per step."),
    Rewrite("sum_of_squares_as_dot", _sum_of_squares_as_dot,
            "sum(x**2) over all elements becomes BLAS's dot(x, x): another summation order (and FMA), so the "
            "loss value may differ by about ε·log2(n) relative (n elements; worst case n·ε); gradients are "
            "unchanged (they do not use the loss value)."),
    Rewrite("masked_copy_as_multiply", masked_copy_as_multiply,
            "where(c, g, 0) becomes g * cast(c) (the ReLU gradient's masked copy as a multiply, ~20x faster): "
            "finite values are unchanged, but an inf or nan of g under the mask gives nan instead of 0 (the "
            "safe-division idiom where(x != 0, 1/x, 0) breaks) and a masked entry may be -0.0 instead of 0."),
)}


def rules_for(names) -> tuple:
    """The rule functions of ``names`` (an iterable of REWRITES keys, or ``"all"``), checked."""
    if names == "all":
        names = tuple(REWRITES)
    if isinstance(names, str):
        names = (names,)
    unknown = [n for n in names if n not in REWRITES]
    if unknown:
        raise ValueError(f"unknown rewrite(s) {unknown}; the opt-in rewrites are {sorted(REWRITES)} (or 'all')")
    return tuple(REWRITES[n].rule for n in names)
