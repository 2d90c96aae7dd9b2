"""Pass 2: constant folding: an op whose inputs are all constants is computed once, at compile time."""
from __future__ import annotations

import numpy as np

from autotrain.engine.ops import OPS

from ..ir import Instr, Program, rebuild

#: broadcast_to of a constant stays a (free) view instead of becoming a big array.
_KEEP = ("broadcast_to",)


def _foldable(ins: Instr) -> bool:
    if ins.op not in OPS or ins.op in _KEEP:
        return False
    nodes = [a for a in ins.args if isinstance(a, Instr)]
    return bool(nodes) and all(a.op == "const" for a in nodes)


def fold_constants(program: Program) -> Program:
    """Replace each op of constants (and Python scalars) by a constant holding its value."""
    def rewrite(ins: Instr) -> Instr:
        if not _foldable(ins):
            return ins
        args = [a.attrs["value"] if isinstance(a, Instr) else a for a in ins.args]
        with np.errstate(all="ignore"):   # log(0) folded is -inf, silently, as when it runs
            value = np.array(OPS[ins.op].forward(np, *args, **ins.attrs), dtype=ins.dtype)
        value.flags.writeable = False
        return Instr("const", (), {"value": value}, value.shape, value.dtype, ins.name or "folded")

    return rebuild(program, rewrite)
