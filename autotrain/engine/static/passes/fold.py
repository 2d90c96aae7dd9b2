"""Pass 2: constant folding: an op whose inputs are all constants is computed once, at compile time."""
from __future__ import annotations

import numpy as np

from autotrain.engine.ops import OPS

from ..ir import Instr, Program, is_elementwise, rebuild

#: broadcast_to of a constant stays a (free) view instead of becoming a big array.
_KEEP = ("broadcast_to",)


def _foldable(ins: Instr) -> bool:
    if ins.op not in OPS or ins.op in _KEEP:
        return False
    nodes = [a for a in ins.args if isinstance(a, Instr)]
    return bool(nodes) and all(a.op == "const" for a in nodes)


def _broadcast_const(ins: Instr):
    """The ``broadcast_to`` of a constant that is an elementwise one-array op's only array input, else None."""
    if not is_elementwise(ins.op):
        return None
    nodes = [a for a in ins.args if isinstance(a, Instr)]
    if len(nodes) != 1 or nodes[0].op != "broadcast_to" or nodes[0].args[0].op != "const":
        return None
    return nodes[0]


def _fold_through_broadcast(ins: Instr, view: Instr) -> Instr | None:
    """``op(broadcast_to(c))`` as ``broadcast_to(op(c))``: the op computed once on the small constant, the
    same value at every element (the gradient of a mean is such a broadcast; negating it ran every step)."""
    small = view.args[0]
    args = [small.attrs["value"] if a is view else a for a in ins.args]
    with np.errstate(all="ignore"):
        value = np.array(OPS[ins.op].forward(np, *args, **ins.attrs), dtype=ins.dtype)
    if value.shape != tuple(small.shape):
        return None
    value.flags.writeable = False
    const = Instr("const", (), {"value": value}, value.shape, value.dtype, "folded")
    return view.replace(args=(const,), dtype=ins.dtype, name=ins.name or "folded", node=None)


def fold_constants(program: Program) -> Program:
    """Replace each op of constants (and Python scalars) by a constant holding its value."""
    def rewrite(ins: Instr) -> Instr:
        view = _broadcast_const(ins)
        if view is not None:
            return _fold_through_broadcast(ins, view) or ins
        if not _foldable(ins):
            return ins
        args = [a.attrs["value"] if isinstance(a, Instr) else a for a in ins.args]
        with np.errstate(all="ignore"):   # log(0) folded is -inf, silently, as when it runs
            value = np.array(OPS[ins.op].forward(np, *args, **ins.attrs), dtype=ins.dtype)
        value.flags.writeable = False
        return Instr("const", (), {"value": value}, value.shape, value.dtype, ins.name or "folded")

    return rebuild(program, rewrite)
