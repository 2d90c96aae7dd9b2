"""Pass 5: fusion: fewer passes over memory and fewer buffers.

* A chain of elementwise ops where each link's only reader is the next link (optionally headed by a
  matmul: matmul+relu) becomes one ``fused`` instr.  It runs the ``OPS`` forward rules one after
  the other into a single buffer, in place: one buffer instead of one per link, one step in the plan.
"""
from __future__ import annotations

from ..ir import Instr, Program, Scalar, consumers, is_elementwise, topo_order


def _absorbable(p: Instr, c: Instr, users, outputs, assigned) -> bool:
    """Can ``p`` be computed inside ``c``'s buffer, as the link before ``c`` in a chain?"""
    if not (is_elementwise(p.op) or p.op == "matmul") or not is_elementwise(c.op):
        return False
    if p.id in outputs or [u.id for u in users[p.id]] != [c.id] or sum(a is p for a in c.args) != 1:
        return False
    if tuple(p.shape) != tuple(c.shape) or p.dtype != c.dtype or not p.shape:
        return False
    if c.op == "where" and c.args[2] is not p:   # where(m, a, out) runs in place only on its last input
        return False
    # keep an assign's value free to be computed straight into the variable (assigned: var ids by value id)
    var = assigned.get(c.id)
    return var is None or not any(isinstance(a, Instr) and a.id == var for a in c.args)


def _chain_of(tail: Instr, link):
    """The instrs of the chain ending at ``tail``, head first."""
    chain = [tail]
    while chain[-1].id in link:
        chain.append(link[chain[-1].id])
    return chain[::-1]


def _fused(chain) -> Instr:
    external: list[Instr] = []
    steps = []
    for k, ins in enumerate(chain):
        refs = []
        for a in ins.args:
            if k and a is chain[k - 1]:
                refs.append(-1)
            elif isinstance(a, Instr):
                if all(a is not e for e in external):
                    external.append(a)
                refs.append(next(i for i, e in enumerate(external) if e is a))
            else:
                refs.append(Scalar(a))
        steps.append((ins.op, tuple(refs), dict(ins.attrs)))
    tail = chain[-1]
    return Instr("fused", tuple(external), {"chain": tuple(steps)}, tail.shape, tail.dtype, tail.name)


def fuse_elementwise(program: Program) -> Program:
    """Fuse single-reader elementwise chains into one instr (the values are the same, step by step)."""
    users = consumers(program)
    outputs = {o.id for o in program.outputs}
    assigned = {i.args[1].id: i.args[0].id for i in program.instrs if i.op == "assign" and isinstance(i.args[1], Instr)}
    link: dict[int, Instr] = {}   # consumer id -> the arg it absorbs (at most one: chains are linear)
    for c in program.instrs:
        for p in c.args:
            if isinstance(p, Instr) and c.id not in link and _absorbable(p, c, users, outputs, assigned):
                link[c.id] = p
    absorbed = {p.id for p in link.values()}
    tails = {c.id for c in program.instrs if c.id in link and c.id not in absorbed}
    if not tails:
        return program
    mapping: dict[int, Instr] = {}
    for ins in program.instrs:
        args = tuple(mapping.get(a.id, a) if isinstance(a, Instr) else a for a in ins.args)
        new = ins if all(x is y for x, y in zip(args, ins.args)) else ins.replace(args=args)
        if ins.id in tails:
            new = _fused([mapping[m.id] for m in _chain_of(ins, link)[:-1]] + [new])
        mapping[ins.id] = new
    outputs = [mapping[o.id] for o in program.outputs]
    return Program(topo_order(outputs), outputs)
