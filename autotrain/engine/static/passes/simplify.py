"""Pass 4: algebraic simplification, rule by rule, until no rule applies.

Every default rule keeps the value bit for bit, inf and nan included (same roundings) and the shape and
dtype of the instr it replaces, so a static graph computes what the dynamic engine computes.  Rules that
change rounding (regrouping scalars, moving a scale into a matmul, a loss as a dot product) are entries
of the opt-in table :data:`REWRITES` (``passes/rewrites.py``), each stating its numeric effect.  The
gradient graph is made of separate nodes, so rewriting a forward op (``maximum(h, 0)`` -> ``clamp``)
never changes which tie convention the gradient follows.
"""
from __future__ import annotations

import math

import numpy as np

from ..ir import Instr, Program, is_elementwise, new_instr, rebuild
from .cse import hash_cons

_NUM = (int, float)


def _power_of_two(value) -> bool:
    """±2**k: multiplying by it is exact (barring overflow and underflow), so it regroups freely."""
    if not _num(value) or value == 0 or not math.isfinite(value):
        return False
    mantissa, _ = math.frexp(abs(value))
    return mantissa == 0.5


def _num(value) -> bool:
    return isinstance(value, _NUM) and not isinstance(value, bool)


def _is(value, number) -> bool:
    return _num(value) and value == number


def _same(x, ins: Instr) -> bool:
    """``x`` can stand in for ``ins``: an instr with the same shape and dtype."""
    return isinstance(x, Instr) and tuple(x.shape) == tuple(ins.shape) and x.dtype == ins.dtype


def _shapes_without(args, skip: int):
    return [a.shape for i, a in enumerate(args) if i != skip and isinstance(a, Instr)]


def _scalarize(ins: Instr):
    """Args of an elementwise op that can be simpler: uniform constants -> scalars, broadcast_to dropped.

    Each change is judged against the args as already changed (``ones_like(x) * ones`` may drop one
    broadcast, not both: the result keeps its shape)."""
    args, changed = list(ins.args), False
    for i, a in enumerate(ins.args):
        if not isinstance(a, Instr):
            continue
        others = _shapes_without(args, i)
        if a.op == "broadcast_to" and np.broadcast_shapes(a.args[0].shape, *others) == tuple(ins.shape):
            args[i], changed = a.args[0], True
        elif a.op == "const" and a.attrs["value"].size and others:
            value = a.attrs["value"]
            first = value.flat[0]
            if np.broadcast_shapes(*others) != tuple(ins.shape) or not np.all(value == first):
                continue
            scalar = first.item()
            trial = [scalar if j == i else b for j, b in enumerate(args)]
            if ins.op in ("greater", "less", "equal", "greater_equal", "less_equal", "not_equal") or \
                    np.result_type(*(b.dtype if isinstance(b, Instr) else b for b in trial)) == ins.dtype:
                args[i], changed = scalar, True
    return tuple(args) if changed else None


_NEGATED = {"less": "greater_equal", "greater_equal": "less", "greater": "less_equal", "less_equal": "greater",
            "equal": "not_equal", "not_equal": "equal"}


def _is_mask(x) -> bool:
    """A 0/1 array: a bool comparison cast to a float dtype (multiplying by it is exact)."""
    return isinstance(x, Instr) and x.op == "cast" and x.args[0].dtype == np.bool_


def masked_copy_as_multiply(ins: Instr, make):
    """``where(cmp(a, b), 0, g)`` -> ``g * cast(not cmp(a, b))`` (and ``where(c, g, 0)`` -> ``g * cast(c)``).

    Not exact, so not a default rule: an inf/nan of ``g`` under the mask becomes nan instead of 0 (the
    safe-division idiom ``where(x != 0, 1 / x, 0)`` would leak it) and a masked entry can become -0.0.
    It is the opt-in rewrite ``masked_copy_as_multiply`` (``rewrites.py``): the ReLU gradient's masked copy
    (numpy's where / copyto(where=)) runs ~20x slower than a multiply by a 0/1 mask of g's own dtype
    (8.8 ms vs 0.4 ms on 1024x2048 float32).
    """
    if ins.op != "where" or ins.dtype is None or ins.dtype.kind != "f":
        return None
    cond, a, b = ins.args
    if _is(a, 0) and _same(b, ins) and isinstance(cond, Instr) and cond.op in _NEGATED:
        keep = make(_NEGATED[cond.op], cond.args, cond.attrs)
        return make("mul", (b, make("cast", (keep,), {"dtype": ins.dtype})))
    if _is(b, 0) and _same(a, ins) and isinstance(cond, Instr) and cond.dtype == np.bool_:
        return make("mul", (a, make("cast", (cond,), {"dtype": ins.dtype})))
    return None


def _bool_factor(ins: Instr, make):
    """``g * mask`` with a bool mask (relu's gradient) -> ``g * cast(mask)``: numpy would cast the mask
    inside the multiply through a temporary buffer on every run; the cast gets a planned buffer."""
    if ins.op != "mul" or ins.dtype is None or ins.dtype.kind != "f" or len(ins.args) != 2:
        return None
    a, b = ins.args
    if isinstance(b, Instr) and b.dtype == np.bool_ and _same(a, ins):
        return make("mul", (a, make("cast", (b,), {"dtype": ins.dtype})))
    if isinstance(a, Instr) and a.dtype == np.bool_ and _same(b, ins):
        return make("mul", (b, make("cast", (a,), {"dtype": ins.dtype})))
    return None


def _push_scale(c, x: Instr, make):
    """``c * x`` with the scalar moved inside a mask, a masked copy or a transpose: each exact."""
    if x.op == "mul" and len(x.args) == 2 and _is_mask(x.args[1]) and isinstance(x.args[0], Instr):
        return make("mul", (make("mul", (c, x.args[0])), x.args[1]))   # exact: the mask is 0 or 1
    if x.op == "where" and _is(x.args[1], 0) and isinstance(x.args[2], Instr) and _same(x.args[2], x):
        return make("where", (x.args[0], 0, make("mul", (c, x.args[2]))))
    if x.op == "transpose":
        return make("transpose", (make("mul", (c, x.args[0])),), x.attrs)
    return None


def _arith(ins: Instr, make):
    op, args = ins.op, ins.args
    a = args[0]
    b = args[1] if len(args) > 1 else None
    if op == "add":
        if _is(b, 0) and _same(a, ins):
            return a
        if _is(a, 0) and _same(b, ins):
            return b
    if op == "sub":
        if _is(b, 0) and _same(a, ins):
            return a
        if _is(a, 0) and _same(b, ins):
            return make("neg", (b,))
    if op == "div" and _is(b, 1) and _same(a, ins):
        return a
    if op == "mul":
        if _num(b) and isinstance(a, Instr):
            return make("mul", (b, a))              # canonical form: the scalar first
        if _num(a) and isinstance(b, Instr):
            return _scaled(a, b, ins, make)
    if op == "neg" and isinstance(a, Instr):
        if a.op == "neg":
            return a.args[0]
        if a.op == "mul" and _num(a.args[0]):
            return make("mul", (-a.args[0], a.args[1]))
    return None


def _scaled(c, x: Instr, ins: Instr, make):
    if c == 1 and _same(x, ins):
        return x
    if c == -1 and _same(x, ins):
        return make("neg", (x,))
    if x.op == "mul" and _num(x.args[0]) and (_power_of_two(c) or _power_of_two(x.args[0])):
        return make("mul", (c * x.args[0], x.args[1]))   # exact: scaling by 2**k only moves the exponent
    if x.op == "neg":
        return make("mul", (-c, x.args[0]))
    return _push_scale(c, x, make) if math.isfinite(c) else None


def _functions(ins: Instr, make):
    op, args = ins.op, ins.args
    if op == "pow" and _same(args[0], ins):
        if _is(args[1], 2):
            return make("square", (args[0],))
        if _is(args[1], 1):
            return args[0]
    if op in ("maximum", "minimum"):
        x, c = (args[0], args[1]) if _num(args[1]) else (args[1], args[0])
        if _num(c) and _same(x, ins):
            return make("clamp", (x,), {"min" if op == "maximum" else "max": c})
    return None


def _identity_ops(ins: Instr, make):
    """``stop_gradient(x)`` is ``x`` once the gradients are built."""
    return ins.args[0] if ins.op == "stop_gradient" else None


#: The default rules, in the order they are tried; each ``rule(ins, make)`` returns a replacement or None.
RULES = (_arith, _functions, _bool_factor, _identity_ops)


def _rewrite_once(ins: Instr, make, rules):
    if not ins.args:
        return None
    if is_elementwise(ins.op):
        args = _scalarize(ins)
        if args is not None:
            return make(ins.op, args, ins.attrs)
    for rule in rules:
        new = rule(ins, make)
        if new is not None:
            return new
    return None


def simplify(program: Program, extra_rules=()) -> Program:
    """Apply the rules (``RULES``, then ``extra_rules``) to every instr, and to the instrs the rules
    create, until none applies."""
    cons = hash_cons()
    rules = RULES + tuple(extra_rules)

    def settle(ins: Instr) -> Instr:
        for _ in range(64):   # each rule makes the graph smaller or moves a scalar down: bounded
            new = _rewrite_once(ins, make, rules)
            if new is None or new is ins:
                break
            ins = new
        return cons(ins)

    def make(op, args, attrs=None):
        return settle(new_instr(op, tuple(args), dict(attrs or {})))

    return rebuild(program, settle)
