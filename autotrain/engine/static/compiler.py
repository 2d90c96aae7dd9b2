"""compile(graph, fetches) -> a Plan (one flat Python function of prebound steps) and a Report.

The passes turn the lowered program into an ordered, memory-planned one; :func:`bind` then writes it
out as the source of one Python function whose every line calls an ``OPS`` forward rule (or a spelling
of it the op declares: one ufunc call, one method call, calls into scratch buffers) with its inputs and
its preallocated ``out=`` buffer: planned scratch buffers are bound once, while Variables and fetched
arrays come in as arguments (see :class:`Plan`).  The compiler's own instructions (``ir.INSTRS``) are
written by their rules in ``EMIT``.  A run is a single call of that function: no graph walk, no dict
lookups, no temporaries.
"""
from __future__ import annotations

import functools

import numpy as np

from autotrain.engine.ops import OPS

from .dot import to_dot
from .ir import INSTRS, VIEW_OPS, Instr, Program, Scalar, draw
from .lower import lower
from .passes import PIPELINE, prune
from .passes.memory import root_of


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
    _written_variables(prune(program))   # refuses two assigns to one Variable before any pass reorders them
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
    """A compiled fetch set: one generated Python function and what its parameters are.

    ``run(*feeds, *reads, *writes, *outs)`` takes, in this order: the fed arrays (``feeds``, placeholder
    nodes), the current buffer of each Variable the plan reads (``reads``), the buffer each written
    Variable's new value goes to (``writes``; the same buffer as its read for an update in place), and a
    buffer for each fetched array computed into planned memory (``outs``: shape, dtype).  Passing those
    per run is what lets a Session hand fetched arrays to the caller without copying them: a buffer the
    caller still holds is simply not passed again.  ``distinct`` lists written Variables whose old value
    is itself fetched: their write buffer must differ from their read buffer.
    """

    def __init__(self, run, feeds, reads, writes, outs, distinct, source: str, initializes):
        self.run, self.feeds, self.reads, self.writes, self.outs = run, feeds, reads, writes, outs
        self.distinct, self.source, self.initializes = distinct, source, initializes

    def execute(self, feed_values, variables: dict) -> tuple:
        """Run once with ``variables`` ({Variable node: array}) updated (in place where the plan allows) and
        new buffers for outputs: the simple calling convention (tests, gradcheck); a Session recycles buffers."""
        reads = [variables.get(var) for var in self.reads]
        writes = []
        for var in self.writes:
            current = variables.get(var)
            if current is None or var in self.distinct:
                current = variables[var] = np.empty(var.shape, var.dtype)
            writes.append(current)
        outs = [np.empty(shape, dtype) for shape, dtype in self.outs]
        return self.run(*feed_values, *reads, *writes, *outs)


_SAFE_LITERALS = (int, float, str, type(None))


class _Writer:
    """Names for values and the lines of the generated function."""

    def __init__(self, xp, memory):
        self.ns = {"xp": xp, "copyto": xp.copyto, "draw": draw, "ro": read_only, "own": xp.array}
        self.memory = memory                   # the program's MemoryPlan
        self.lines: list[str] = []
        self.name: dict[int, str] = {}         # instr id -> the name holding its value in the plan
        self.fixed: set[int] = set()   # ids whose value is an array bound once in ``ns`` (constants, planned slots)
        self.slot_name: dict[int, str] = {}    # slot -> a bound buffer's name, or the parameter ``o{k}``
        self.feed_name: dict[int, str] = {}    # placeholder node id -> parameter
        self.read_name: dict[int, str] = {}    # Variable node id -> parameter holding its current value
        self.write_name: dict[int, str] = {}   # Variable node id -> parameter receiving its new value
        self.initializes: list = []            # Variables the plan assigns (they count as initialized after it)
        self.quiet = False                     # a line needs numpy's warnings off (the plan then turns them off)
        self.scalars: dict = {}                # (dtype, type, value) -> a bound 0-d array (see _scalar_arg)

    def bind(self, prefix: str, value) -> str:
        name = f"{prefix}{len(self.ns)}"
        self.ns[name] = value
        return name

    def kernel(self, op: str, rule: str = "forward") -> str:
        name = f"k_{op}" if rule == "forward" else f"k_{op}_{rule}"
        self.ns.setdefault(name, getattr(OPS[op], rule))
        return name

    def call(self, op: str, args: list[str], attrs: dict, out: str | None, inputs=(), dtype=None) -> str:
        """Source text calling ``OPS[op]``'s forward on ``args``, or the one call the op declares its forward
        to be for these ``inputs`` (:meth:`Op.ufunc_for`; each a dtype or the Python number), which saves a
        Python call per step.  ``dtype``: the result's, for the numbers a spelling adds (:meth:`operand`)."""
        spec = OPS[op].ufunc_for(tuple(inputs), attrs) if len(inputs) == len(args) else None
        if spec is not None and not (spec.out_first and out is None):
            return self._ufunc_call(op, spec, args, attrs, out, inputs, dtype)
        method = OPS[op].method
        if method is not None and out is None and method.takes(attrs):
            passed = ", ".join(self.literal(attrs.get(k, default)) for k, default in method.params)
            return f"{args[0]}.{method.name}({passed})"
        return f"{self.kernel(op)}(xp, {', '.join(args)}{self.kwargs(attrs, out)})"

    def _ufunc_call(self, op, spec, args, attrs, out, inputs, dtype) -> str:
        name = "u_" + spec.path.replace(".", "_")
        if name not in self.ns:
            self.ns[name] = functools.reduce(getattr, spec.path.split("."), self.ns["xp"])
        self.quiet = self.quiet or spec.quiet
        peers = [i for i in inputs if isinstance(i, np.dtype)]
        parts = [self.operand(e, op, dtype, peers) for e in spec.lead] + args
        parts += [self.operand(e, op, dtype, peers) for e in spec.extra]
        parts += [f"{k}={self.literal(v)}" for k, v in spec.keywords]
        parts += [f"{k}={self.literal(attrs.get(k, default))}" for k, default in spec.passed]
        if spec.out_first:
            return f"{name}({', '.join([out, *parts])})"
        if out is not None:   # positional where numpy takes it so (a keyword costs ~20 ns a call)
            ufunc = self.ns[name]
            positional = (isinstance(ufunc, np.ufunc) and len(parts) == ufunc.nin and ufunc.nout == 1
                          and ufunc.__name__ not in ("maximum", "minimum"))   # deprecated for these two
            parts.append(out if positional else f"out={out}")
        return f"{name}({', '.join(parts)})"

    @staticmethod
    def input_kind(a):
        """What :meth:`Op.ufunc_for` is told of an argument: an instr's dtype, or the Python number itself."""
        if isinstance(a, Instr):
            return None if a.dtype is None else np.dtype(a.dtype)
        return a.value if isinstance(a, Scalar) else a

    def operand(self, a, op: str, dtype, peers) -> str:
        """``a``'s source text; a Python float or int beside arrays (``peers``: their dtypes) all of the result's
        own floating ``dtype`` becomes a 0-d array of that dtype, bound once.  numpy converts a Python number
        to the array's dtype before the ufunc runs (NEP 50: it is "weak"), so the numbers are the same, but it
        converts on every call: half the cost of a small elementwise call, and Adam has a few per variable."""
        value = a.value if isinstance(a, Scalar) else a
        if (isinstance(a, Instr) or type(value) not in (int, float) or op not in _SCALAR_AS_ARRAY or dtype is None
                or np.dtype(dtype).kind != "f" or not peers or any(np.dtype(p) != np.dtype(dtype) for p in peers)):
            return self.arg(a)
        with np.errstate(all="ignore"):
            array = np.asarray(value, dtype=dtype)
        if not np.isfinite(array):
            return self.arg(a)   # an overflowing conversion: left to numpy (and its warning policy)
        key = (np.dtype(dtype).str, type(value), value)
        name = self.scalars.get(key)
        if name is None:
            array.flags.writeable = False
            name = self.scalars[key] = self.bind("z", array)
        return name

    def literal(self, value) -> str:
        """Source text for a constant argument: plain Python literals inline, anything else bound by name
        (a numpy scalar's repr, ``np.float64(0.001)``, would not run in the plan's namespace)."""
        if _plain(value):
            return repr(value)
        return self.bind("k", value)

    def arg(self, a) -> str:
        if isinstance(a, Instr):
            return self.name[a.id]
        return self.literal(a.value if isinstance(a, Scalar) else a)

    def kwargs(self, attrs: dict, out: str | None = None) -> str:
        parts = [f"{k}={self.literal(v)}" for k, v in attrs.items()]
        if out is not None:
            parts.append(f"out={out}")
        return "".join(", " + p for p in parts)


def _plain(value) -> bool:
    if type(value) in (tuple, list):
        return all(_plain(v) for v in value)
    if type(value) is float:
        return value == value and value not in (float("inf"), float("-inf"))
    return type(value) in _SAFE_LITERALS or type(value) is bool


def read_only(array):
    """A read-only view: how a Variable's value is handed out without copying it (writing to it would
    change the Variable)."""
    view = array.view()
    view.flags.writeable = False
    return view


def bind(program: Program, feeds, xp=np, rng=None, returned=None) -> Plan:
    """Allocate the planned buffers and write the program as one Python function (see :class:`Plan`).

    ``returned``: how many of the program's outputs (the first ones) the function returns; the others
    are run for their effect only (a compiled call's assigns, whose values it never reads).  All by default.

    Generated code, not a list of (function, argument slots, output slot) run by a small loop: the plan's
    arguments change every run (feeds, Variables' buffers, output buffers), so such a loop looks each
    argument up in a slot list and calls through ``*args``; on the tiny workload's 15 steps that loop took
    13.9 us against 9.4 us for the same calls written out (a loop over pre-bound argument tuples, which a
    plan cannot have, 9.5 us): the written-out function costs what its numpy calls cost."""
    plan = program.memory
    w = _Writer(xp, plan)
    w.ns["rng"] = rng if rng is not None else np.random.default_rng()
    roots = root_of(program)
    out_roots = {roots[o.id].id for o in program.outputs[:returned] if o.shape != () and o.dtype is not None}
    out_slots = sorted({plan.slot_of[r] for r in out_roots if r in plan.slot_of})
    for k, slot in enumerate(out_slots):
        w.slot_name[slot] = f"o{k}"
    for slot, (shape, dtype) in enumerate(plan.slots):
        if slot not in w.slot_name:
            w.slot_name[slot] = w.bind("b", xp.empty(shape, dtype=dtype))
    w.feed_name = {node.id: f"f{k}" for k, node in enumerate(feeds)}
    reads = [ins.node for ins in program.instrs if ins.op == "variable"]
    writes = _written_variables(program)
    w.read_name = {var.id: f"r{k}" for k, var in enumerate(reads)}
    w.write_name = {var.id: f"w{k}" for k, var in enumerate(writes)}
    for ins in program.instrs:
        _emit(ins, w)
    outs = ", ".join(_result(o, w, roots) for o in program.outputs[:returned])
    params = [*w.feed_name.values(), *w.read_name.values(), *w.write_name.values(),
              *(f"o{k}" for k in range(len(out_slots)))]
    indent = "    "
    head = ""
    if w.quiet or any(getattr(OPS.get(i.op), "quiet", False) for i in _steps(program)):   # as the engine: no
        w.ns["errstate"] = xp.errstate                                          # warnings for log(0), 0/0...
        head, indent = "    with errstate(all='ignore'):\n", "        "
    body = "".join(f"{indent}{line}\n" for line in w.lines) or f"{indent}pass\n"
    source = f"def run({', '.join(params)}):\n{head}{body}    return ({outs}{',' if outs else ''})\n"
    run = closure(source, w.ns)
    fetched_vars = {roots[o.id].node.id for o in program.outputs[:returned] if roots[o.id].op == "variable"}
    distinct = {v for v in writes if v.id in fetched_vars}
    return Plan(run, feeds, reads, writes, [plan.slots[s] for s in out_slots], distinct, source,
                w.initializes)


def closure(source: str, ns: dict, name: str = "run"):
    """The function ``source`` defines, with every name of ``ns`` (buffers, ufuncs, constants) a closure cell
    rather than a global: a cell read is as fast on a plan's first runs as later, while a global read is a
    dict lookup until the interpreter has specialized the function (after some 8 calls; the first steps of a
    freshly compiled plan ran ~10% slower)."""
    names = sorted(ns)
    inner = "".join(f"    {line}\n" for line in source.splitlines())
    outer = f"def make({', '.join(names)}):\n{inner}    return {name}\n"
    scope: dict = {}
    exec(compile(outer, "<static plan>", "exec"), scope)  # noqa: S102 - our own generated code
    return scope["make"](**ns)


def _steps(program: Program):
    """Every op the program runs, fused chains opened up."""
    for ins in program.instrs:
        if ins.op == "fused":
            for op, _, _ in ins.attrs["chain"]:
                yield Instr(op, (), {}, (), None)
        else:
            yield ins


def _written_variables(program: Program) -> list:
    """The Variables the program assigns, each once (two assigns to one Variable in a run are refused)."""
    seen: dict[int, object] = {}
    for ins in program.instrs:
        if ins.op != "assign":
            continue
        var = ins.args[0].node
        if var.id in seen:
            raise ValueError(
                f"one Session.run assigns Variable '{var.name}' twice ({seen[var.id].name!r} and {ins.name!r}): "
                "TF1 runs such assigns in no defined order, so the result would be arbitrary; run them in "
                "separate Session.run calls (or compute one value and assign it once)")
        seen[var.id] = ins
    return [ins.args[0].node for ins in program.instrs if ins.op == "assign"]


def _emit(ins: Instr, w: _Writer) -> None:
    """Append the lines computing ``ins`` and record the name holding its value."""
    out = _out_name(ins, w)
    if ins.op in INSTRS:
        w.name[ins.id] = EMIT[ins.op](ins, w, out)
    elif out is None and _unrolled(ins, w):
        pass
    elif ins.op in VIEW_OPS and ins.args[0].id in w.fixed:   # a view of a fixed array: made once, here
        w.name[ins.id] = w.bind("v", OPS[ins.op].forward(w.ns["xp"], w.ns[w.name[ins.args[0].id]], **ins.attrs))
        w.fixed.add(ins.id)
    else:
        call = w.call(ins.op, [_scalar_arg(a, ins, w) for a in ins.args], ins.attrs, out,
                      [w.input_kind(a) for a in ins.args], ins.dtype)
        if out is None:
            w.name[ins.id] = f"t{ins.id}"
            w.lines.append(f"t{ins.id} = {call}")
        else:
            w.lines.append(call)
            w.name[ins.id] = out


# --------------------------------------------------------------------- the compiler's own instructions
# Each rule appends the lines computing ``ins`` and returns the name holding its value; ``out`` is the
# buffer the memory plan chose (``None`` when it has none).
def _emit_const(ins: Instr, w: _Writer, out):
    name = w.bind("c", ins.attrs["value"])
    w.fixed.add(ins.id)
    return name


def _emit_random(ins: Instr, w: _Writer, out):
    a = ins.attrs
    w.lines.append(f"draw(rng, {a['dist']!r}, {tuple(ins.shape)!r}, {w.literal(np.dtype(ins.dtype))}, "
                   f"{w.literal(a['a'])}, {w.literal(a['b'])}, out={out})")
    return out


def _emit_assign(ins: Instr, w: _Writer, out):
    var, value = ins.args
    target = w.write_name[var.node.id]
    if not (isinstance(value, Instr) and value.id in w.memory.into_var):   # else computed in place already
        w.lines.append(f"copyto({target}, {w.arg(value)})")
    w.initializes.append(var.node)
    return target


def _emit_fused(ins: Instr, w: _Writer, out):
    for step_op, refs, attrs in ins.attrs["chain"]:
        operands = [ins.args[r] if isinstance(r, int) and r != -1 else r for r in refs]
        peers = [ins.dtype if r == -1 else a.dtype for r, a in zip(refs, operands) if r == -1 or isinstance(a, Instr)]
        args = [out if r == -1 else w.operand(a, step_op, ins.dtype, peers) for r, a in zip(refs, operands)]
        kinds = [np.dtype(ins.dtype) if r == -1 else w.input_kind(a) for r, a in zip(refs, operands)]
        w.lines.append(w.call(step_op, args, attrs, out, kinds, ins.dtype))
    return out


#: instruction -> the rule writing it into the plan (ops of OPS are written by :func:`_emit` itself)
EMIT = {
    "feed": lambda ins, w, out: w.feed_name[ins.node.id],
    "variable": lambda ins, w, out: w.read_name[ins.node.id],
    "const": _emit_const,
    "random": _emit_random,
    "assign": _emit_assign,
    "group": lambda ins, w, out: "None",
    "fused": _emit_fused,
}


# Elementwise ops whose Python-number argument may be passed as a 0-d array of the result's dtype instead
# (``pow`` only where the plan calls ``power`` itself: its forward treats a Python 2 specially).
_SCALAR_AS_ARRAY = frozenset({"add", "sub", "mul", "div", "maximum", "minimum", "pow", "clamp"})


def _scalar_arg(a, ins: Instr, w: _Writer) -> str:
    """``a``'s source text for an op's argument (see :meth:`_Writer.operand`)."""
    peers = [b.dtype for b in ins.args if isinstance(b, Instr)]
    return w.operand(a, ins.op, ins.dtype, peers)


def _unrolled(ins: Instr, w: _Writer) -> bool:
    """``ins`` as its op's ``unrolled`` spelling into scratch arrays bound once (numpy only), where the op
    declares one for this case and the value has no planned slot: the forward's temporaries and numpy's
    Python-level wrappers cost more than the call (``log_softmax``: some 20 us of a 100 us digits step).
    The value lands in the first scratch array; fetching it returns a copy (``_result`` copies fixed values)."""
    op = OPS.get(ins.op)
    if (op is None or op.unrolled is None or w.ns["xp"] is not np or len(ins.args) != 1
            or not isinstance(ins.args[0], Instr) or ins.dtype is None):
        return False
    scratch = op.scratch(np, tuple(ins.shape), ins.dtype, ins.attrs)
    if scratch is None:
        return False
    names = [w.bind("s", array) for array in scratch]
    w.lines.append(f"{w.kernel(ins.op, 'unrolled')}(xp, {w.arg(ins.args[0])}, {', '.join(names)}{w.kwargs(ins.attrs)})")
    w.name[ins.id] = names[0]
    w.fixed.add(ins.id)
    return True


def _out_name(ins: Instr, w: _Writer) -> str | None:
    """Where ``ins`` writes: its variable (an assign computed in place), its slot, or nowhere (``None``)."""
    if ins.id in w.memory.into_var:
        return w.write_name[w.memory.into_var[ins.id].id]
    slot = w.memory.slot_of.get(ins.id)
    if slot is None:
        return None
    name = w.slot_name[slot]
    if name in w.ns:
        w.fixed.add(ins.id)
    return name


def _result(ins: Instr, w: _Writer, roots) -> str:
    """How a fetched value is returned: always the caller's own value, never one a later run changes.

    0-d values become numpy scalars; a Variable's value (fetched, or an assign's result) a read-only view
    of the buffer the Session then stops writing; a value computed into a per-run output buffer that buffer
    itself; a constant, a feed or a broadcast view a copy.
    """
    name = w.name[ins.id]
    if ins.dtype is None or name == "None":
        return "None"
    if ins.shape == ():
        return f"xp.asarray({name})[()]"
    root = roots[ins.id]
    if root.op in ("variable", "assign"):
        return f"ro({name})"
    if root.op in ("const", "feed") or ins.op == "broadcast_to" or ins.id in w.fixed:
        return f"own({name})"
    return name
