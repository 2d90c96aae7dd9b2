"""The compiler's program: the fetched part of a graph, lowered to concrete shapes, as plain data.

A :class:`Program` is a topologically ordered tuple of :class:`Instr` plus the outputs.  Passes are
pure functions ``Program -> Program``: they never mutate an ``Instr``, they build new ones and call
:func:`rebuild`.  :func:`evaluate` is the reference interpreter the tests compare every pass against.
"""
from __future__ import annotations

import itertools

import numpy as np

from autotrain.engine.ops import OPS, Op

from .graph import Node, NodeShape, post_order

_ids = itertools.count()
VIEW_OPS = ("reshape", "transpose", "broadcast_to")


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
    from .autodiff import _topo

    needed = {n.id for n in _topo(fetches)}
    lowered: dict[int, Instr] = {}
    for node in graph.nodes:   # creation order is a topological order
        if node.op == "placeholder" and node not in feed_shapes:
            continue
        if any(isinstance(a, Node) and a.id not in lowered for a in node.inputs):
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
    if ins.op in ("random_normal", "assign", "group"):
        return None
    if ins.op in ("feed", "var"):
        return (ins.op, ins.node.id)
    args = tuple(("i", a.id) if isinstance(a, Instr) else (type(a).__name__, a) for a in ins.args)
    return (ins.op, args, _hashable(ins.attrs), ins.dtype)


def _lower_node(node: Node, lowered, feed_shapes) -> Instr:
    args = tuple(lowered[a.id] if isinstance(a, Node) else a for a in node.inputs)
    if node.op == "placeholder":
        return Instr("feed", (), {}, tuple(feed_shapes[node]), node.dtype, node.name, node)
    if node.op == "variable":
        return Instr("var", (), {}, node.shape, node.dtype, node.name, node)
    if node.op in ("const", "random_normal"):
        return Instr(node.op, (), dict(node.attrs), node.shape, node.dtype, node.name, node)
    if node.op == "group":
        return Instr("group", args, {}, (), None, node.name, node)
    if node.op == "assign":
        var, value = args
        mode = node.attrs["mode"]
        if mode != "set":
            value = Instr("add" if mode == "add" else "sub", (var, value), {}, var.shape, var.dtype, node.name)
        return Instr("assign", (var, value), {}, var.shape, var.dtype, node.name, node)
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


def draw_normal(rng, shape, dtype, mean=0.0, stddev=1.0, out=None):
    """A standard-normal draw scaled and shifted (TF's random_normal), into ``out`` when given."""
    dtype = np.dtype(dtype)
    if out is None:
        out = np.empty(shape, dtype=dtype)
    if dtype in (np.float32, np.float64):
        rng.standard_normal(out=out, dtype=dtype)
    else:
        out[...] = rng.standard_normal(shape)
    if stddev != 1.0:
        out *= stddev
    if mean != 0.0:
        out += mean
    return out


def evaluate(program: Program, feeds: dict, variables: dict, rng=None) -> list:
    """Run ``program`` naively (fresh arrays everywhere): the oracle the passes are tested against.

    ``feeds`` maps placeholder nodes to arrays; ``variables`` maps Variable nodes to arrays and is
    updated by assigns (reads in the same run see the values from before the run).
    """
    rng = rng if rng is not None else np.random.default_rng()
    env: dict[int, object] = {}
    for ins in program.instrs:
        args = [env[a.id] if isinstance(a, Instr) else a for a in ins.args]
        env[ins.id] = _eval_one(ins, args, feeds, variables, rng)
    return [env[o.id] for o in program.outputs]


def _eval_one(ins: Instr, args, feeds, variables, rng):
    op = ins.op
    if op == "feed":
        return np.asarray(feeds[ins.node], dtype=ins.dtype)
    if op == "var":
        return variables[ins.node]
    if op == "const":
        return ins.attrs["value"]
    if op == "random_normal":
        return draw_normal(rng, ins.shape, ins.dtype, ins.attrs.get("mean", 0.0), ins.attrs.get("stddev", 1.0))
    if op == "assign":
        new = np.array(np.broadcast_to(args[1], ins.shape), dtype=ins.dtype)
        variables[ins.args[0].node] = new
        return new
    if op == "group":
        return None
    if op == "fused":
        return run_chain(np, ins.attrs["chain"], args)
    return OPS[op].forward(np, *args, **ins.attrs)
