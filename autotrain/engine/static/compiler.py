"""compile(graph, fetches) -> a Plan (one flat Python function of prebound steps) and a Report.

The passes turn the lowered program into an ordered, memory-planned one; :func:`bind` then writes it
out as the source of one Python function whose every line calls an ``OPS`` forward rule (or the ufunc
an op declares its forward to be) with its inputs and its preallocated ``out=`` buffer: planned scratch
buffers are bound once, while Variables and fetched arrays come in as arguments (see :class:`Plan`).
The compiler's own instructions are emitted by their ``INSTRS`` entries.  A run is a single call of
that function: no graph walk, no dict lookups, no temporaries.
"""
from __future__ import annotations

import functools

import numpy as np

from autotrain.engine.ops import METHOD_FORWARD, OPS, UFUNC_FORWARD

from .dot import to_dot
from .ir import INSTRS, VIEW_OPS, Instr, Program, Scalar, draw, lower
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

    def kernel(self, op: str) -> str:
        name = f"k_{op}"
        self.ns.setdefault(name, OPS[op].forward)
        return name

    def call(self, op: str, args: list[str], attrs: dict, out: str | None) -> str:
        """Source text calling ``OPS[op]``'s forward on ``args``: the ufunc itself when the op declares its
        forward to be one (``UFUNC_FORWARD``), which saves a Python call per step."""
        spec = UFUNC_FORWARD.get(op)
        if spec is not None and set(attrs) <= set(spec[2]) | {k for k, _ in spec[3]}:
            path, extra, _, passed = spec
            name = "u_" + path.replace(".", "_")
            if name not in self.ns:
                self.ns[name] = functools.reduce(getattr, path.split("."), self.ns["xp"])
            parts = args + [self.literal(e) for e in extra] + [f"{k}={self.literal(attrs.get(k, default))}"
                                                               for k, default in passed]
            if out is not None:   # positional where numpy takes it so (a keyword costs ~20 ns a call)
                ufunc = self.ns[name]
                positional = (isinstance(ufunc, np.ufunc) and len(parts) == ufunc.nin and ufunc.nout == 1
                              and ufunc.__name__ not in ("maximum", "minimum"))   # deprecated for these two
                parts.append(out if positional else f"out={out}")
            return f"{name}({', '.join(parts)})"
        method = METHOD_FORWARD.get(op)
        if method is not None and out is None and set(attrs) <= {k for k, _ in method[1]}:
            passed = ", ".join(self.literal(attrs.get(k, default)) for k, default in method[1])
            return f"{args[0]}.{method[0]}({passed})"
        return f"{self.kernel(op)}(xp, {', '.join(args)}{self.kwargs(attrs, out)})"

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
    kind = INSTRS.get(ins.op)
    out = _out_name(ins, w)
    if kind is not None:
        w.name[ins.id] = kind.emit(ins, w, out)
    elif out is None and ins.op in _UNROLLED and w.ns["xp"] is np and _UNROLLED[ins.op](ins, w):
        pass
    elif out is not None and ins.op in _WRITTEN_OUT and w.ns["xp"] is np and _WRITTEN_OUT[ins.op](ins, w, out):
        w.name[ins.id] = out
    elif out is not None and ins.op == "pow" and w.ns["xp"] is np and _plain_power(ins):
        # pow's forward is ``power`` under its own errstate (0 ** -1 is inf, quietly): in a plan that turns
        # warnings off once for the whole run, the ufunc itself (2.5 us -> 0.5 us; ``bias correction`` twice
        # a step in Adam)
        w.ns.setdefault("u_power", np.power)
        w.quiet = True
        peers = [a.dtype for a in ins.args if isinstance(a, Instr)]
        base, exponent = (w.operand(a, "pow", ins.dtype, peers) for a in ins.args)
        w.lines.append(f"u_power({base}, {exponent}, {out})")
        w.name[ins.id] = out
    elif ins.op in VIEW_OPS and ins.args[0].id in w.fixed:   # a view of a fixed array: made once, here
        w.name[ins.id] = w.bind("v", OPS[ins.op].forward(w.ns["xp"], w.ns[w.name[ins.args[0].id]], **ins.attrs))
        w.fixed.add(ins.id)
    else:
        call = w.call(ins.op, [_scalar_arg(a, ins, w) for a in ins.args], ins.attrs, out)
        if out is None:
            w.name[ins.id] = f"t{ins.id}"
            w.lines.append(f"t{ins.id} = {call}")
        else:
            w.lines.append(call)
            w.name[ins.id] = out


# Elementwise ops whose Python-number argument may be passed as a 0-d array of the result's dtype instead
# (``pow`` only where the plan calls ``power`` itself: its forward treats a Python 2 specially).
_SCALAR_AS_ARRAY = frozenset({"add", "sub", "mul", "div", "maximum", "minimum", "pow"})


def _clamp_into(ins: Instr, w: _Writer, out: str) -> bool:
    """``clamp`` with one bound: its forward is ``maximum(a, min)`` (or ``minimum(a, max)``), called here."""
    low, high = ins.attrs.get("min"), ins.attrs.get("max")
    if (low is None) == (high is None) or set(ins.attrs) - {"min", "max"} or not isinstance(ins.args[0], Instr):
        return False
    op, bound = ("maximum", low) if high is None else ("minimum", high)
    name = f"u_{op}"
    w.ns.setdefault(name, getattr(np, op))
    a = ins.args[0]
    w.lines.append(f"{name}({w.arg(a)}, {w.operand(bound, op, ins.dtype, [a.dtype])}, out={out})")
    return True


def _cast_into(ins: Instr, w: _Writer, out: str) -> bool:
    """``cast`` into a buffer: its forward's ``copyto(out, a, casting="unsafe")``, without the call around it."""
    if set(ins.attrs) != {"dtype"} or not isinstance(ins.args[0], Instr):
        return False
    w.lines.append(f"copyto({out}, {w.arg(ins.args[0])}, casting='unsafe')")
    return True


# Ops whose forward, given a buffer, is one numpy call: the plan makes that call itself (numpy only).
_WRITTEN_OUT = {"clamp": _clamp_into, "cast": _cast_into}


def _plain_power(ins: Instr) -> bool:
    """Is ``pow``'s forward just ``power(a, b, out=out)`` here (not its square or bool paths)?"""
    if len(ins.args) != 2 or ins.attrs:
        return False
    exponent = ins.args[1]
    exponent = exponent.value if isinstance(exponent, Scalar) else exponent
    if isinstance(exponent, Instr):
        return exponent.dtype is not None and np.dtype(exponent.dtype) != np.bool_
    return type(exponent) in (int, float) and exponent != 2


def _scalar_arg(a, ins: Instr, w: _Writer) -> str:
    """``a``'s source text for an op's argument (see :meth:`_Writer.operand`)."""
    peers = [b.dtype for b in ins.args if isinstance(b, Instr)]
    return w.operand(a, ins.op, ins.dtype, peers)


def _fixed_buffer(ins: Instr, w: _Writer, prefix: str, shape, dtype) -> str:
    """A buffer bound once in the plan for a value no planned slot holds (the planner never writes over it:
    only slots are reused); fetching it returns a copy (``_result`` copies fixed values)."""
    return w.bind(prefix, np.empty(tuple(shape), dtype=dtype))


def _unrolled_log_softmax(ins: Instr, w: _Writer) -> bool:
    """``log_softmax`` as the ufunc calls its forward makes (``amax`` is ``maximum.reduce``, ``sum`` is
    ``add.reduce``: the same numbers), into buffers bound once: its forward allocates four temporaries
    and goes through numpy's Python-level ``amax``/``sum`` wrappers (about 20 us of a 100 us digits step)."""
    (a,) = ins.args
    if not isinstance(a, Instr) or ins.dtype is None or tuple(a.shape) != tuple(ins.shape) or not ins.shape:
        return False
    axis = ins.attrs["axis"]
    reduced = list(ins.shape)
    reduced[axis] = 1
    shifted, exps = (_fixed_buffer(ins, w, p, ins.shape, ins.dtype) for p in ("ls", "le"))
    top = _fixed_buffer(ins, w, "lm", reduced, ins.dtype)
    for name, ufunc in (("u_maximum", np.maximum), ("u_subtract", np.subtract), ("u_exp", np.exp),
                        ("u_add", np.add), ("u_log", np.log)):
        w.ns.setdefault(name, ufunc)
    x = w.arg(a)
    w.lines += [f"u_maximum.reduce({x}, axis={axis!r}, keepdims=True, out={top})",
                f"u_subtract({x}, {top}, {shifted})",
                f"u_exp({shifted}, {exps})",
                f"u_add.reduce({exps}, axis={axis!r}, keepdims=True, out={top})",
                f"u_log({top}, {top})",
                f"u_subtract({shifted}, {top}, {shifted})"]
    w.name[ins.id] = shifted
    w.fixed.add(ins.id)
    return True


def _check_label_rows(labels, hits, depth) -> None:
    """Every label row of a one-hot made from class labels has its hit, else the one_hot op's error."""
    if hits.shape[0] and not hits.any(axis=1).all():
        OPS["one_hot"].forward(np, labels, depth=depth, dtype=np.float64, labels=True)


def _unrolled_one_hot(ins: Instr, w: _Writer) -> bool:
    """``one_hot`` with TF's default on/off values (1, 0): the row hits written straight into a buffer bound
    once (``copyto`` of a bool is exactly 1/0, as the forward's ``where(hits, 1, 0)`` cast to the dtype)."""
    (a,) = ins.args
    attrs = ins.attrs
    if (not isinstance(a, Instr) or ins.dtype is None or len(ins.shape) != 2 or attrs.get("on_value", 1) != 1
            or attrs.get("off_value", 0) != 0 or set(attrs) - {"depth", "dtype", "on_value", "off_value", "labels"}):
        return False
    hits = _fixed_buffer(ins, w, "oh", ins.shape, np.bool_)
    result = _fixed_buffer(ins, w, "oo", ins.shape, ins.dtype)
    columns = w.bind("oc", np.arange(attrs["depth"]))
    w.ns.setdefault("u_equal", np.equal)
    w.lines += [f"u_equal({w.arg(a)}[:, None], {columns}, {hits})", f"copyto({result}, {hits})"]
    if attrs.get("labels"):   # class labels: a row without a hit is an out-of-range label, which TF refuses
        check = w.bind("ok", _check_label_rows)
        w.lines.append(f"{check}({w.arg(a)}, {hits}, {attrs['depth']})")
    w.name[ins.id] = result
    w.fixed.add(ins.id)
    return True


# Ops whose forward the plan writes out as ufunc calls into buffers bound once (numpy only), when the
# op's value has no planned slot; each returns False to leave an unusual case to the forward.
_UNROLLED = {"log_softmax": _unrolled_log_softmax, "one_hot": _unrolled_one_hot}


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
