"""compile(graph, fetches) -> a Plan (one flat Python function of prebound steps) and a Report.

The passes turn the lowered program into an ordered, memory-planned one; :func:`bind` then writes it
out as the source of one Python function whose every line calls an ``OPS`` forward rule with its
inputs and its preallocated ``out=`` buffer already bound.  A run is a single call of that function:
no graph walk, no dict lookups, no temporaries.
"""
from __future__ import annotations

import numpy as np

from autotrain.engine.ops import OPS

from .dot import to_dot
from .ir import VIEW_OPS, Instr, Program, Scalar, draw_normal, lower
from .passes import PIPELINE


class Report:
    """What the compiler did: instr counts after each pass, fused groups, planned buffers, DOT text."""

    def __init__(self, graph_nodes: int):
        self.graph_nodes = graph_nodes
        self.counts: list[tuple[str, int]] = []
        self.fused: list[str] = []
        self.buffers = self.bytes = self.in_place = self.into_variables = 0
        self.dot_before = self.dot_after = self.code = ""

    def record(self, name: str, program: Program) -> None:
        self.counts.append((name, len(program)))

    def finish(self, before: Program, after: Program) -> None:
        plan = after.memory
        self.fused = [" -> ".join(op for op, _, _ in i.attrs["chain"]) for i in after.instrs if i.op == "fused"]
        self.buffers, self.bytes, self.in_place = len(plan.slots), plan.bytes, plan.in_place
        self.into_variables = len(plan.into_var)
        self.dot_before, self.dot_after = to_dot(before, "before"), to_dot(after, "after")

    def as_dict(self) -> dict:
        return {"graph_nodes": self.graph_nodes, "passes": self.counts, "fused": self.fused,
                "buffers": self.buffers, "bytes": self.bytes, "in_place": self.in_place,
                "into_variables": self.into_variables}

    def __str__(self) -> str:
        lines = [f"graph: {self.graph_nodes} nodes"]
        lines += [f"  {name:<18} {count:>4} instrs" for name, count in self.counts]
        lines += [f"fused: {group}" for group in self.fused] or ["fused: none"]
        lines.append(f"memory: {self.buffers} buffers, {self.bytes:,} bytes planned, {self.in_place} ops in place, "
                     f"{self.into_variables} assigns computed straight into their variable")
        return "\n".join(lines)


def optimize(graph, fetches, feed_shapes, pipeline=PIPELINE) -> tuple[Program, Report]:
    """Lower the fetched part of ``graph`` at these feed shapes and run the passes over it."""
    program = lower(graph, fetches, feed_shapes)
    report = Report(len(graph.nodes))
    report.record("lowered", program)
    before = None
    for run_pass in pipeline:
        program = run_pass(program)
        report.record(run_pass.__name__, program)
        before = before or program
    if program.memory is not None:
        report.finish(before, program)
    return program, report


class Plan:
    """A compiled fetch set: ``run(*feeds)`` returns the fetched values as a tuple."""

    def __init__(self, run, feeds, source: str, initializes):
        self.run, self.feeds, self.source, self.initializes = run, feeds, source, initializes


class _Writer:
    """Names for values and the lines of the generated function."""

    def __init__(self, xp):
        self.ns = {"xp": xp, "copyto": xp.copyto, "draw": draw_normal, "inf": float("inf"),
                   "nan": float("nan"), "dtype": np.dtype}
        self.lines: list[str] = []
        self.name: dict[int, str] = {}
        self.bound: set[int] = set()   # ids whose value is a fixed array (bound once)
        self.var_names: dict[int, str] = {}   # Variable node id -> name of its buffer

    def bind(self, prefix: str, value) -> str:
        name = f"{prefix}{len(self.ns)}"
        self.ns[name] = value
        return name

    def kernel(self, op: str) -> str:
        name = f"k_{op}"
        self.ns.setdefault(name, OPS[op].forward)
        return name

    def arg(self, a) -> str:
        if isinstance(a, Instr):
            return self.name[a.id]
        return repr(a.value if isinstance(a, Scalar) else a)


def _kwargs(attrs: dict, out: str | None = None) -> str:
    parts = [f"{k}={v!r}" for k, v in attrs.items()]
    if out is not None:
        parts.append(f"out={out}")
    return "".join(", " + p for p in parts)


def bind(program: Program, var_buffer, feeds, xp=np, rng=None) -> Plan:
    """Allocate the planned buffers and write the program as one Python function of ``feeds`` (in that order)."""
    plan = program.memory
    w = _Writer(xp)
    w.ns["rng"] = rng if rng is not None else np.random.default_rng()
    slots = [xp.empty(shape, dtype=dtype) for shape, dtype in plan.slots]
    position = {node.id: k for k, node in enumerate(feeds)}
    for ins in program.instrs:
        if ins.op == "feed":
            w.name[ins.id] = f"f{position[ins.node.id]}"
    initializes = []
    for ins in program.instrs:
        _emit(ins, w, plan, slots, var_buffer, initializes)
    outs = ", ".join(_result(o, w, xp) for o in program.outputs)
    params = ", ".join(f"f{k}" for k in range(len(feeds)))
    source = f"def run({params}):\n" + "".join(f"    {line}\n" for line in w.lines) + f"    return ({outs},)\n"
    exec(compile(source, "<static plan>", "exec"), w.ns)  # noqa: S102 - our own generated code
    return Plan(w.ns["run"], feeds, source, initializes)


def _emit(ins: Instr, w: _Writer, plan, slots, var_buffer, initializes) -> None:
    op = ins.op
    if op == "feed":
        return
    if op in ("var", "const"):
        value = var_buffer(ins.node) if op == "var" else ins.attrs["value"]
        w.name[ins.id] = w.bind("v" if op == "var" else "c", value)
        w.bound.add(ins.id)
        if op == "var":
            w.var_names[ins.node.id] = w.name[ins.id]
        return
    if op == "group":
        w.name[ins.id] = "None"
        return
    if op == "assign":
        _emit_assign(ins, w, plan, initializes)
        return
    out = _out_name(ins, w, plan, slots)
    if op in VIEW_OPS and ins.args[0].id in w.bound:   # a view of a fixed array: made once, here
        w.name[ins.id] = w.bind("w", OPS[op].forward(xp_of(w), w.ns[w.name[ins.args[0].id]], **ins.attrs))
        w.bound.add(ins.id)
    elif op == "fused":
        for step_op, refs, attrs in ins.attrs["chain"]:
            args = ", ".join(out if r == -1 else w.arg(ins.args[r] if isinstance(r, int) else r) for r in refs)
            w.lines.append(f"{w.kernel(step_op)}(xp, {args}{_kwargs(attrs, out)})")
        w.name[ins.id] = out
    elif op == "random_normal":
        a = ins.attrs
        w.lines.append(f"draw(rng, {tuple(ins.shape)!r}, {np.dtype(ins.dtype).name!r}, {a.get('mean', 0.0)!r}, "
                       f"{a.get('stddev', 1.0)!r}, out={out})")
        w.name[ins.id] = out
    else:
        args = ", ".join(w.arg(a) for a in ins.args)
        call = f"{w.kernel(op)}(xp, {args}{_kwargs(ins.attrs, out)})"
        if out is None:
            w.name[ins.id] = f"t{ins.id}"
            w.lines.append(f"t{ins.id} = {call}")
        else:
            w.lines.append(call)
            w.name[ins.id] = out


def xp_of(w: _Writer):
    return w.ns["xp"]


def _out_name(ins: Instr, w: _Writer, plan, slots) -> str | None:
    """Where ``ins`` writes: its variable (an assign computed in place), its slot, or nowhere (``None``)."""
    if ins.id in plan.into_var:
        w.bound.add(ins.id)
        return w.var_names[plan.into_var[ins.id].id]
    slot = plan.slot_of.get(ins.id)
    if slot is None:
        return None
    key = f"b{slot}"
    w.ns.setdefault(key, slots[slot])
    w.bound.add(ins.id)
    return key


def _emit_assign(ins: Instr, w: _Writer, plan, initializes) -> None:
    var, value = ins.args
    initializes.append(var.node)
    name = w.name[var.id]
    if not (isinstance(value, Instr) and value.id in plan.into_var):
        w.lines.append(f"copyto({name}, {w.arg(value)})")
    w.name[ins.id] = name
    w.bound.add(ins.id)


def _result(ins: Instr, w: _Writer, xp) -> str:
    """How a fetched value is returned: numpy scalars for 0-d, read-only views of the buffers otherwise."""
    name = w.name[ins.id]
    if ins.dtype is None or name == "None":
        return "None"
    if ins.id not in w.bound:
        return name if ins.shape != () else f"xp.asarray({name})[()]"
    array = w.ns[name]
    if array.ndim == 0:
        return f"{name}[()]"
    view = array.view()
    view.flags.writeable = False
    return w.bind("r", view)
