"""The compiler's program: the fetched part of a graph, lowered to concrete shapes, as plain data.

A :class:`Program` is a topologically ordered tuple of :class:`Instr` plus the outputs.  Passes are
pure functions ``Program -> Program``: they never mutate an ``Instr``, they build new ones and call
:func:`rebuild`.  :func:`evaluate` is the reference interpreter the tests compare every pass against.
"""
from __future__ import annotations

import itertools

import numpy as np

from autotrain.engine.ops import OPS, Op

from .graph import Node, NodeShape, post_order, run_dependencies

_ids = itertools.count()
#: Ops whose result shares its input's memory (stop_gradient returns its input itself).
VIEW_OPS = ("reshape", "transpose", "broadcast_to", "stop_gradient")
BY_VALUE = object()   # a Kind.key answer: merge like an op of OPS (same args, attrs, dtype)


class Instr:
    """One step of a program: ``op`` of ``args`` (instrs or Python scalars) with ``attrs``."""

    __slots__ = ("op", "args", "attrs", "shape", "dtype", "name", "node", "id")

    def __init__(self, op, args, attrs, shape, dtype, name="", node=None):
        self.op, self.args, self.attrs = op, tuple(args), attrs
        self.shape, self.dtype, self.name, self.node = shape, dtype, name, node
        self.id = next(_ids)

    def __repr__(self) -> str:
        args = ", ".join(f"%{a.id}" if isinstance(a, Instr) else repr(a) for a in self.args)
        attrs = "".join(f", {k}={_short(v)}" for k, v in self.attrs.items())
        dtype = "" if self.dtype is None else np.dtype(self.dtype).name
        return f"%{self.id} = {self.op}({args}{attrs}) {tuple(self.shape)} {dtype}"

    def replace(self, **changes) -> "Instr":
        """A copy with some fields changed (an Instr itself is never modified)."""
        fields = {k: getattr(self, k) for k in ("op", "args", "attrs", "shape", "dtype", "name", "node")}
        fields.update(changes)
        return Instr(**fields)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape)) if self.shape else 1


def _short(value) -> str:
    if isinstance(value, np.ndarray):
        return f"array{value.shape}" if value.size > 4 else repr(value.tolist())
    return repr(value)


class Program:
    """Instructions in an order that computes inputs first, and the instructions whose values are fetched."""

    __slots__ = ("instrs", "outputs", "memory")

    def __init__(self, instrs, outputs, memory=None):
        self.instrs, self.outputs, self.memory = tuple(instrs), tuple(outputs), memory

    def __len__(self) -> int:
        return len(self.instrs)

    def __repr__(self) -> str:
        lines = [repr(i) for i in self.instrs]
        lines.append("return " + ", ".join(f"%{o.id}" for o in self.outputs))
        return "\n".join(lines)


def is_elementwise(op: str) -> bool:
    """An op of ``OPS`` that broadcasts its inputs and works element by element (ufunc-like, takes ``out=``)."""
    return op in OPS and OPS[op].shape is Op.shape


def topo_order(outputs) -> list[Instr]:
    """Instrs reachable from ``outputs``, args first, in depth-first post-order."""
    return post_order(list(outputs), lambda ins: [a for a in ins.args if isinstance(a, Instr)])


def rebuild(program: Program, rewrite=None) -> Program:
    """Walk ``program`` in order, giving each instr (with already-rewritten args) to ``rewrite``.

    ``rewrite(instr)`` returns the instr to use in its place (itself to keep it).  Dead instrs drop out.
    """
    mapping: dict[int, Instr] = {}
    for ins in program.instrs:
        args = tuple(mapping.get(a.id, a) if isinstance(a, Instr) else a for a in ins.args)
        new = ins if all(x is y for x, y in zip(args, ins.args)) else ins.replace(args=args)
        mapping[ins.id] = rewrite(new) if rewrite is not None else new
    outputs = [mapping.get(o.id, o) for o in program.outputs]
    return Program(topo_order(outputs), outputs)


def consumers(program: Program) -> dict[int, list[Instr]]:
    """For each instr id, the instrs that read it (in program order)."""
    users: dict[int, list[Instr]] = {i.id: [] for i in program.instrs}
    for ins in program.instrs:
        for a in ins.args:
            if isinstance(a, Instr) and ins not in users[a.id]:
                users[a.id].append(ins)
    return users


# --------------------------------------------------------------------- lowering
def _concrete(value, lowered):
    if isinstance(value, NodeShape) and None in value:
        return tuple(lowered[value.node.id].shape)
    return tuple(value) if isinstance(value, NodeShape) else value


def _out_shape(op, args, attrs):
    shapes = [tuple(a.shape) if isinstance(a, Instr) else None for a in args]
    return tuple(OPS[op].shape(*shapes, **attrs))


def lower(graph, fetches, feed_shapes: dict) -> Program:
    """Every node of ``graph`` that can run with these feeds, at concrete shapes; outputs = ``fetches``.

    Nothing is dropped here: pruning to what the fetches need is the first pass's job.
    """
    needed = {n.id for n in post_order(list(fetches), run_dependencies)}
    lowered: dict[int, Instr] = {}
    for node in graph.nodes:   # creation order is a topological order
        if node.op == "placeholder" and node not in feed_shapes:
            continue
        if any(d.id not in lowered for d in run_dependencies(node)):
            continue
        try:
            lowered[node.id] = _lower_node(node, lowered, feed_shapes)
        except (ValueError, KeyError):   # e.g. a shape attr naming a node that cannot run with these feeds
            if node.id in needed:
                raise
    outputs = [lowered[f.id] for f in fetches]
    return Program([lowered[n.id] for n in graph.nodes if n.id in lowered], outputs)


def result_dtype(op, args, attrs):
    """The dtype ``OPS[op]`` gives for these args (numpy promotion, Python scalars weak)."""
    kind = OPS[op].result_dtype
    if kind == "attr":
        return np.dtype(attrs["dtype"])
    if kind is not None:
        return np.dtype(kind)
    return np.result_type(*(a.dtype if isinstance(a, Instr) else a for a in args))


def new_instr(op, args, attrs=None, name="") -> Instr:
    """An instr of ``OPS[op]`` with its shape and dtype worked out from ``args``."""
    attrs = attrs or {}
    return Instr(op, args, attrs, _out_shape(op, args, attrs), result_dtype(op, args, attrs), name)


def _hashable(value):
    if isinstance(value, np.ndarray):
        return ("array", value.dtype.str, value.shape, value.tobytes()) if value.size <= 64 else ("id", id(value))
    if isinstance(value, (list, tuple)):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _hashable(v)) for k, v in value.items()))
    if isinstance(value, float):
        return ("float", value)
    return value


def instr_key(ins: Instr):
    """A key equal for instrs that compute the same value (``None``: never merge, e.g. a random draw)."""
    kind = INSTRS.get(ins.op)
    if kind is not None:
        key = kind.key(ins)
        if key is not BY_VALUE:
            return key
    args = tuple(("i", a.id) if isinstance(a, Instr) else (type(a).__name__, a) for a in ins.args)
    return (ins.op, args, _hashable(ins.attrs), ins.dtype)


def _lower_node(node: Node, lowered, feed_shapes) -> Instr:
    args = tuple(lowered[a.id] if isinstance(a, Node) else a for a in node.inputs)
    kind = LOWERED_FROM.get(node.op)
    if kind is not None:
        return kind.lower(node, args, lowered, feed_shapes)
    attrs = {k: _concrete(v, lowered) for k, v in node.attrs.items()}
    try:
        shape = _out_shape(node.op, args, attrs)
    except ValueError as exc:
        raise ValueError(f"{node!r} cannot run with the shapes fed: {exc}") from None
    return Instr(node.op, args, attrs, shape, node.dtype, node.name)


# --------------------------------------------------------------------- reference interpreter
def run_chain(xp, chain, args, out=None):
    """Run a fused chain: each step is ``(op, arg_refs, attrs)``; ref ``-1`` is the previous step's value."""
    value = None
    for op, refs, attrs in chain:
        inputs = [value if r == -1 else (args[r] if isinstance(r, int) else r.value) for r in refs]
        value = OPS[op].forward(xp, *inputs, out=out, **attrs)
    return value


class Scalar:
    """A Python scalar inside a fused chain's argument list (ints there mean argument positions)."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value

    def __repr__(self) -> str:
        return repr(self.value)

    def __eq__(self, other) -> bool:
        return isinstance(other, Scalar) and type(other.value) is type(self.value) and other.value == self.value

    def __hash__(self) -> int:
        return hash((type(self.value), self.value))


def draw(rng, dist, shape, dtype, a, b, out=None):
    """One draw of TF's random ops into ``out``: ``normal`` (mean a, stddev b), ``truncated_normal`` (the
    same, values beyond 2 stddev drawn again, as TF), ``uniform`` (in [a, b)).  Drawn in float64 and then
    cast, as every draw of the engine, so a float32 graph gets the float64 graph's values rounded."""
    if out is None:
        out = np.empty(shape, dtype=dtype)
    if dist == "uniform":
        out[...] = rng.uniform(a, b, shape)
        return out
    z = rng.standard_normal(shape)
    if dist == "truncated_normal":
        far = np.abs(z) > 2.0
        while far.any():
            z[far] = rng.standard_normal(int(far.sum()))
            far = np.abs(z) > 2.0
    out[...] = z * b + a
    return out


def evaluate(program: Program, feeds: dict, variables: dict, rng=None) -> list:
    """Run ``program`` naively (fresh arrays everywhere): the oracle the passes are tested against.

    ``feeds`` maps placeholder nodes to arrays; ``variables`` maps Variable nodes to arrays and is
    updated by assigns (reads in the same run see the values from before the run).
    """
    state = InterpreterState(feeds, variables, rng if rng is not None else np.random.default_rng())
    env: dict[int, object] = {}
    for ins in program.instrs:
        args = [env[a.id] if isinstance(a, Instr) else a for a in ins.args]
        kind = INSTRS.get(ins.op)
        env[ins.id] = kind.evaluate(ins, args, state) if kind is not None else \
            OPS[ins.op].forward(np, *args, **ins.attrs)
    return [env[o.id] for o in program.outputs]


class InterpreterState:
    """What the reference interpreter's instructions read and write besides their arguments."""

    __slots__ = ("feeds", "variables", "rng")

    def __init__(self, feeds, variables, rng):
        self.feeds, self.variables, self.rng = feeds, variables, rng


# --------------------------------------------------------------------- the compiler's own instructions
class Kind:
    """An instruction of the compiler that is not an op of ``OPS``, described as an op is: one table entry
    says how it is lowered from a graph node, merged, evaluated by the reference interpreter, written into
    a plan (``emit``) and drawn.  The passes ask the table (``external``, ``takes_out``, ``key``) instead of
    testing names.

    ``emit(ins, w, out)`` appends lines to the plan writer ``w`` (see ``compiler._Writer``) and returns the
    name that holds the value; ``out`` is the buffer the memory plan chose (``None`` when it has none).
    """

    name = ""
    graph_op: str | None = None   # the graph node op it is lowered from (None: made by a pass)
    external = False    # the value lives outside the planned memory (fed, a Variable's, a constant)
    takes_out = False   # computes into a planned buffer given as ``out``
    style = "shape=ellipse"

    @staticmethod
    def lower(node, args, lowered, feed_shapes) -> Instr:
        return Instr(node.op, args, dict(node.attrs), node.shape, node.dtype, node.name, node)

    @staticmethod
    def key(ins: Instr):
        """What CSE merges on: ``None`` never merges (state, randomness), ``BY_VALUE`` as an op does."""
        return None

    @staticmethod
    def evaluate(ins: Instr, args, state: InterpreterState):
        raise NotImplementedError

    @staticmethod
    def emit(ins: Instr, w, out):
        raise NotImplementedError

    @staticmethod
    def label(ins: Instr) -> str:
        return ins.op


INSTRS: dict[str, type[Kind]] = {}
LOWERED_FROM: dict[str, type[Kind]] = {}


def instruction(cls: type[Kind]) -> type[Kind]:
    """Add a kind of instruction to ``INSTRS`` (and to ``LOWERED_FROM`` under its graph op)."""
    INSTRS[cls.name] = cls
    if cls.graph_op is not None:
        LOWERED_FROM[cls.graph_op] = cls
    return cls


def _check_names() -> None:
    """An instruction and an op never share a name (``var`` was once both a Variable read and the variance)."""
    shared = set(INSTRS) & set(OPS)
    if shared:
        raise RuntimeError(f"compiler instructions {sorted(shared)} have the names of ops in OPS; rename them")


@instruction
class Feed(Kind):
    """A placeholder's value, a parameter of the plan."""
    name, graph_op, external = "feed", "placeholder", True
    style = "shape=box,style=filled,fillcolor=lightblue"

    @staticmethod
    def lower(node, args, lowered, feed_shapes):
        return Instr("feed", (), {}, tuple(feed_shapes[node]), node.dtype, node.name, node)

    @staticmethod
    def key(ins):
        return ("feed", ins.node.id)

    @staticmethod
    def evaluate(ins, args, state):
        return np.asarray(state.feeds[ins.node], dtype=ins.dtype)

    @staticmethod
    def emit(ins, w, out):
        return w.feed_name[ins.node.id]

    @staticmethod
    def label(ins):
        return f"feed {ins.node.name}"


@instruction
class VariableRead(Kind):
    """A Variable's value from before the run (its current buffer, a parameter of the plan)."""
    name, graph_op, external = "variable", "variable", True
    style = "shape=box,style=filled,fillcolor=khaki"

    @staticmethod
    def lower(node, args, lowered, feed_shapes):
        return Instr("variable", (), {}, node.shape, node.dtype, node.name, node)

    @staticmethod
    def key(ins):
        return ("variable", ins.node.id)

    @staticmethod
    def evaluate(ins, args, state):
        return state.variables[ins.node]

    @staticmethod
    def emit(ins, w, out):
        return w.read_name[ins.node.id]

    @staticmethod
    def label(ins):
        return f"variable {ins.node.name}"


@instruction
class Const(Kind):
    """A fixed array (read-only), bound into the plan once."""
    name, graph_op, external = "const", "const", True
    style = "shape=plaintext"

    @staticmethod
    def key(ins):
        return BY_VALUE

    @staticmethod
    def evaluate(ins, args, state):
        return ins.attrs["value"]

    @staticmethod
    def emit(ins, w, out):
        name = w.bind("c", ins.attrs["value"])
        w.fixed.add(ins.id)
        return name

    @staticmethod
    def label(ins):
        value = ins.attrs["value"]
        return f"const {value.item():g}" if value.size == 1 else "const"



@instruction
class Count(Kind):
    """How many elements a reduction sums (``reduce_mean`` over a batch of unknown size): lowered straight
    to a constant once the fed shapes are known, so no plan ever sees it."""
    name, graph_op = "count", "count"

    @staticmethod
    def lower(node, args, lowered, feed_shapes):
        shape = lowered[node.attrs["of"].node.id].shape
        value = np.array(np.prod([shape[a] for a in node.attrs["axes"]]), dtype=node.dtype)
        value.flags.writeable = False
        return Instr("const", (), {"value": value}, (), node.dtype, node.name)


@instruction
class Random(Kind):
    """A random draw (``dist``: normal, truncated_normal, uniform; parameters ``a``, ``b``) from the
    Session's generator into its buffer, on every run."""
    name, graph_op, takes_out = "random", "random", True

    @staticmethod
    def evaluate(ins, args, state):
        a = ins.attrs
        return draw(state.rng, a["dist"], ins.shape, ins.dtype, a["a"], a["b"])

    @staticmethod
    def emit(ins, w, out):
        a = ins.attrs
        w.lines.append(f"draw(rng, {a['dist']!r}, {tuple(ins.shape)!r}, {w.literal(np.dtype(ins.dtype))}, "
                       f"{w.literal(a['a'])}, {w.literal(a['b'])}, out={out})")
        return out

    @staticmethod
    def label(ins):
        return ins.attrs["dist"]


@instruction
class Assign(Kind):
    """Set a Variable to a value (``assign_add``/``assign_sub`` are lowered to an add/sub first); the
    instr's value is the new value."""
    name, graph_op = "assign", "assign"
    style = "shape=box,style=filled,fillcolor=orange"

    @staticmethod
    def lower(node, args, lowered, feed_shapes):
        var, value = args
        mode = node.attrs["mode"]
        if mode != "set":
            value = Instr("add" if mode == "add" else "sub", (var, value), {}, var.shape, var.dtype, node.name)
        return Instr("assign", (var, value), {}, var.shape, var.dtype, node.name, node)

    @staticmethod
    def evaluate(ins, args, state):
        new = np.array(np.broadcast_to(args[1], ins.shape), dtype=ins.dtype)
        state.variables[ins.args[0].node] = new
        return new

    @staticmethod
    def emit(ins, w, out):
        var, value = ins.args
        target = w.write_name[var.node.id]
        if not (isinstance(value, Instr) and value.id in w.memory.into_var):   # else computed in place already
            w.lines.append(f"copyto({target}, {w.arg(value)})")
        w.initializes.append(var.node)
        return target


@instruction
class Group(Kind):
    """Run all inputs, yield nothing (an initializer, a train op)."""
    name, graph_op = "group", "group"

    @staticmethod
    def lower(node, args, lowered, feed_shapes):
        return Instr("group", args, {}, (), None, node.name, node)

    @staticmethod
    def evaluate(ins, args, state):
        return None

    @staticmethod
    def emit(ins, w, out):
        return "None"


@instruction
class Fused(Kind):
    """A chain of elementwise ``OPS`` steps run one after the other into one buffer (made by the fuse pass)."""
    name, takes_out = "fused", True
    style = "shape=box,style=filled,fillcolor=palegreen"

    @staticmethod
    def key(ins):
        return BY_VALUE

    @staticmethod
    def evaluate(ins, args, state):
        return run_chain(np, ins.attrs["chain"], args)

    @staticmethod
    def emit(ins, w, out):
        for step_op, refs, attrs in ins.attrs["chain"]:
            operands = [ins.args[r] if isinstance(r, int) and r != -1 else r for r in refs]
            peers = [ins.dtype if r == -1 else a.dtype for r, a in zip(refs, operands) if r == -1 or isinstance(a, Instr)]
            args = [out if r == -1 else w.operand(a, step_op, ins.dtype, peers) for r, a in zip(refs, operands)]
            w.lines.append(w.call(step_op, args, attrs, out))
        return out

    @staticmethod
    def label(ins):
        return "fused[" + " → ".join(op for op, _, _ in ins.attrs["chain"]) + "]"



_check_names()
