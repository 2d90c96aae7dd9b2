"""Pass 6: scheduling and memory planning.

* Order: the program's order, except that every read of a variable happens before the write that
  updates it in place (TF1 reads see the value from before the run).
* Buffers: every computed value gets a slot, preallocated once and reused by every run (``out=``).
  A slot is shared by values whose lifetimes do not overlap, an elementwise op writes over an input
  that dies with it (in place), and an assign's value is computed straight into the variable.
"""
from __future__ import annotations

import heapq
import inspect
from collections import defaultdict

import numpy as np

from autotrain.engine.ops import OPS

from ..ir import INSTRS, VIEW_OPS, Instr, Program, consumers, is_elementwise

EXTERNAL = tuple(name for name, kind in INSTRS.items() if kind.external)


class MemoryPlan:
    """Where each value lives: ``slot_of`` (instr id -> slot), ``into_var`` (instr id -> Variable)."""

    def __init__(self):
        self.slots: list[tuple[tuple, np.dtype]] = []
        self.slot_of: dict[int, int] = {}
        self.into_var: dict[int, object] = {}
        self.in_place = 0

    @property
    def bytes(self) -> int:
        return sum(int(np.prod(shape)) * np.dtype(dtype).itemsize for shape, dtype in self.slots)

    def __repr__(self) -> str:
        return (f"<MemoryPlan {len(self.slots)} buffers, {self.bytes} bytes, {self.in_place} in place, "
                f"{len(self.into_var)} straight into variables>")


def takes_out(ins: Instr) -> bool:
    """Does the instr's forward write into a given buffer?  A 0-d reduction does not get one: numpy returns
    a scalar for it faster than it fills a 0-d buffer (a full sum: 2 us against 5 us)."""
    kind = INSTRS.get(ins.op)
    if kind is not None:
        return kind.takes_out
    if ins.shape == () and not is_elementwise(ins.op):
        return False
    return ins.op in OPS and "out" in inspect.signature(OPS[ins.op].forward).parameters


def root_of(program: Program) -> dict[int, Instr]:
    """For each instr, the instr that owns the memory it lives in (views share their input's)."""
    roots: dict[int, Instr] = {}
    for ins in program.instrs:
        roots[ins.id] = roots[ins.args[0].id] if ins.op in VIEW_OPS else ins
    return roots


def _own_candidates(ins: Instr):
    """Args whose buffer ``ins`` may overwrite when they die with it (ufuncs allow exact overlap)."""
    if is_elementwise(ins.op):
        idx = (2,) if ins.op == "where" else range(len(ins.args))
        return [ins.args[i] for i in idx]
    if ins.op == "fused":
        head_op, head_refs, _ = ins.attrs["chain"][0]
        if not is_elementwise(head_op):
            return []
        later = {r for _, refs, _ in ins.attrs["chain"][1:] for r in refs if isinstance(r, int)}
        refs = [head_refs[2]] if head_op == "where" else head_refs
        return [ins.args[r] for r in refs if isinstance(r, int) and r >= 0 and r not in later]
    return []


def inplace_candidates(ins: Instr):
    return [a for a in _own_candidates(ins) if isinstance(a, Instr) and a.op not in VIEW_OPS + EXTERNAL
            and tuple(a.shape) == tuple(ins.shape) and a.dtype == ins.dtype]


def _ancestors(order) -> dict[int, int]:
    bit = {ins.id: 1 << k for k, ins in enumerate(order)}
    anc: dict[int, int] = {}
    for ins in order:
        mask = 0
        for a in ins.args:
            if isinstance(a, Instr):
                mask |= anc[a.id] | bit[a.id]
        anc[ins.id] = mask
    return anc


def _writes_var_in_place(value, var, users, outputs, roots) -> bool:
    if not isinstance(value, Instr) or value.id in outputs or [u.op for u in users[value.id]] != ["assign"]:
        return False
    if not takes_out(value) or value.op == "random" or tuple(value.shape) != tuple(var.shape) \
            or value.dtype != var.dtype:
        return False
    reads_var = [a for a in value.args if isinstance(a, Instr) and roots[a.id] is var]
    if not reads_var:
        return True
    own = _own_candidates(value)
    return all(any(a is c for c in own) and a is var for a in reads_var)


def _extra_edges(program, users, roots, outputs, plan):
    """Reader -> writer edges for every variable updated in place."""
    anc = _ancestors(program.instrs)
    bit = {ins.id: 1 << k for k, ins in enumerate(program.instrs)}
    edges = defaultdict(list)
    for a in program.instrs:
        if a.op != "assign":
            continue
        var, value = a.args
        readers = [r for r in program.instrs if r.op not in VIEW_OPS and r is not a and r is not value and any(
            isinstance(x, Instr) and roots[x.id] is var for x in r.args)]
        writer = a
        if _writes_var_in_place(value, var, users, outputs, roots) and \
                not any(anc[r.id] & bit[value.id] for r in readers):
            writer = value
            plan.into_var[value.id] = var.node
        for r in readers:
            if not anc[r.id] & bit[writer.id]:   # a reader downstream of the write sees the new value
                edges[r.id].append(writer)
    return edges


def schedule(program: Program, edges) -> list[Instr]:
    """Program order, bent only where a reader must run before a variable's in-place write."""
    rank = {ins.id: k for k, ins in enumerate(program.instrs)}
    preds = defaultdict(set)
    succs = defaultdict(list)
    for ins in program.instrs:
        deps = [a for a in ins.args if isinstance(a, Instr)]
        for d in deps:
            preds[ins.id].add(d.id)
            succs[d.id].append(ins)
    for r_id, writers in edges.items():
        for w in writers:
            preds[w.id].add(r_id)
            succs[r_id].append(w)
    ready = [(rank[i.id], i.id, i) for i in program.instrs if not preds[i.id]]
    heapq.heapify(ready)
    order, done = [], set()
    while ready:
        _, _, ins = heapq.heappop(ready)
        order.append(ins)
        done.add(ins.id)
        for s in succs[ins.id]:
            if s.id not in done and preds[s.id] <= done and all(s is not q for _, _, q in ready):
                heapq.heappush(ready, (rank[s.id], s.id, s))
    return order


def _assign_slots(order, roots, outputs, plan: MemoryPlan) -> None:
    last = {}
    for t, ins in enumerate(order):
        for a in ins.args:
            if isinstance(a, Instr):
                last[roots[a.id].id] = t
    for o in outputs:
        last[roots[o].id] = len(order)
    free = defaultdict(list)
    for t, ins in enumerate(order):
        if takes_out(ins) and ins.id not in plan.into_var and ins.shape is not None:
            plan.slot_of[ins.id] = _pick_slot(ins, t, last, free, plan)
        dying = {roots[a.id].id for a in ins.args if isinstance(a, Instr) and last.get(roots[a.id].id) == t}
        for r in dying:
            slot = plan.slot_of.get(r)
            if slot is not None and slot != plan.slot_of.get(ins.id):
                free[plan.slots[slot]].append(slot)


def _pick_slot(ins, t, last, free, plan: MemoryPlan) -> int:
    for cand in inplace_candidates(ins):
        if last.get(cand.id) == t and cand.id in plan.slot_of:
            plan.in_place += 1
            return plan.slot_of[cand.id]
    key = (tuple(ins.shape), np.dtype(ins.dtype))
    if free[key]:
        return free[key].pop()
    plan.slots.append(key)
    return len(plan.slots) - 1


def plan_memory(program: Program) -> Program:
    """Schedule the program and give every computed value a reusable preallocated buffer."""
    users = consumers(program)
    roots = root_of(program)
    outputs = {roots[o.id].id: o for o in program.outputs}
    plan = MemoryPlan()
    edges = _extra_edges(program, users, roots, {o.id for o in program.outputs}, plan)
    order = schedule(program, edges)
    _assign_slots(order, roots, [o.id for o in program.outputs] + list(outputs), plan)
    return Program(order, program.outputs, memory=plan)
