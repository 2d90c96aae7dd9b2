"""Pass 3: common-subexpression elimination: equal ops of equal inputs are computed once."""
from __future__ import annotations

import numpy as np

from ..ir import INSTRS, Instr, Program, rebuild


def _hashable(value):
    if isinstance(value, np.ndarray):
        return ("array", value.dtype.str, value.shape, value.tobytes()) if value.size <= 64 else ("id", id(value))
    if isinstance(value, (list, tuple)):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _hashable(v)) for k, v in value.items()))
    if isinstance(value, float):
        return ("float", value)
    if isinstance(value, slice):   # an index's slices (x[1:3]); a slice is unhashable before Python 3.12
        return ("slice", _hashable(value.start), _hashable(value.stop), _hashable(value.step))
    return value


def _by_value(ins: Instr):
    """Equal for the same op of the same args, attrs and dtype (every op of OPS merges so)."""
    args = tuple(("i", a.id) if isinstance(a, Instr) else (type(a).__name__, a) for a in ins.args)
    return (ins.op, args, _hashable(ins.attrs), ins.dtype)


def _by_node(ins: Instr):
    """Equal for reads of the same graph node (a placeholder, a Variable)."""
    return (ins.op, ins.node.id)


#: instruction -> what it merges on; an instruction not listed never merges (an assign, a random draw)
MERGE_KEYS = {"feed": _by_node, "variable": _by_node, "const": _by_value, "fused": _by_value}


def instr_key(ins: Instr):
    """A key equal for instrs that compute the same value (``None``: never merge, e.g. a random draw)."""
    if ins.op in INSTRS:
        key = MERGE_KEYS.get(ins.op)
        return None if key is None else key(ins)
    return _by_value(ins)


def hash_cons():
    """A rewrite that returns the first instr seen with the same key (so duplicates merge)."""
    table: dict = {}

    def rewrite(ins: Instr) -> Instr:
        key = instr_key(ins)
        return ins if key is None else table.setdefault(key, ins)

    return rewrite


def eliminate_common(program: Program) -> Program:
    """Merge instrs that compute the same op of the same inputs with the same attributes."""
    return rebuild(program, hash_cons())
