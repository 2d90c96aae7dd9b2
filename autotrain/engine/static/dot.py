"""Graphviz DOT text for a program, so a graph can be drawn before and after the passes."""
from __future__ import annotations

import numpy as np

from .ir import Instr, Program

#: how an instruction is drawn (ops of OPS and instructions not listed: an ellipse)
STYLES = {
    "feed": "shape=box,style=filled,fillcolor=lightblue",
    "variable": "shape=box,style=filled,fillcolor=khaki",
    "const": "shape=plaintext",
    "assign": "shape=box,style=filled,fillcolor=orange",
    "fused": "shape=box,style=filled,fillcolor=palegreen",
}


def _const_label(ins: Instr) -> str:
    value = ins.attrs["value"]
    return f"const {value.item():g}" if value.size == 1 else "const"


#: an instruction's label (ops of OPS and instructions not listed: the op's name)
LABELS = {
    "feed": lambda ins: f"feed {ins.node.name}",
    "variable": lambda ins: f"variable {ins.node.name}",
    "const": _const_label,
    "random": lambda ins: ins.attrs["dist"],
    "fused": lambda ins: "fused[" + " → ".join(op for op, _, _ in ins.attrs["chain"]) + "]",
}


def _label(ins: Instr) -> str:
    label = LABELS.get(ins.op)
    text = label(ins) if label is not None else ins.op
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
        style = STYLES.get(ins.op, "shape=ellipse")
        extra = ",peripheries=2" if ins.id in outputs else ""
        lines.append(f'  n{ins.id} [label="{_label(ins)}",{style}{extra}];')
        for a in ins.args:
            if isinstance(a, Instr):
                lines.append(f"  n{a.id} -> n{ins.id};")
    lines.append("}")
    return "\n".join(lines)
