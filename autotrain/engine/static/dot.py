"""Graphviz DOT text for a program, so a graph can be drawn before and after the passes."""
from __future__ import annotations

import numpy as np

from .ir import INSTRS, Instr, Program

def _label(ins: Instr) -> str:
    kind = INSTRS.get(ins.op)
    text = kind.label(ins) if kind is not None else ins.op
    scalars = [repr(a) for a in ins.args if not isinstance(a, Instr)]
    if scalars and ins.op != "fused":
        text += " " + ", ".join(scalars)
    dtype = "" if ins.dtype is None else f" {np.dtype(ins.dtype).name}"
    return f"{text}\\n{tuple(ins.shape)}{dtype}".replace('"', "'")


def to_dot(program: Program, title: str = "graph") -> str:
    """DOT text: one box per instr, an edge per input, fetched instrs drawn with a double border."""
    outputs = {o.id for o in program.outputs}
    lines = [f'digraph "{title}" {{', "  rankdir=TB;", '  node [fontname="Helvetica",fontsize=10];']
    for ins in program.instrs:
        style = INSTRS[ins.op].style if ins.op in INSTRS else "shape=ellipse"
        extra = ",peripheries=2" if ins.id in outputs else ""
        lines.append(f'  n{ins.id} [label="{_label(ins)}",{style}{extra}];')
        for a in ins.args:
            if isinstance(a, Instr):
                lines.append(f"  n{a.id} -> n{ins.id};")
    lines.append("}")
    return "\n".join(lines)
