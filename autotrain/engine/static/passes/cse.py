"""Pass 3: common-subexpression elimination: equal ops of equal inputs are computed once."""
from __future__ import annotations

from ..ir import Instr, Program, instr_key, rebuild


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
