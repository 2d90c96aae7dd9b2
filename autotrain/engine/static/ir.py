"""The compiler's program: the fetched part of a graph, lowered to concrete shapes, as plain data.

A :class:`Program` is a topologically ordered tuple of :class:`Instr` plus the outputs.  Passes are
pure functions ``Program -> Program``: they never mutate an ``Instr``, they build new ones and call
:func:`rebuild`.  ``lower.py`` makes one from a graph; ``interpret.evaluate`` is the reference
interpreter the tests compare every pass against.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from autotrain.engine.ops import OPS, Op

from .graph import post_order

_ids = itertools.count()
#: Ops whose result shares its input's memory (stop_gradient returns its input itself).
VIEW_OPS = ("reshape", "transpose", "broadcast_to", "stop_gradient")


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


def out_shape(op, args, attrs):
    shapes = [tuple(a.shape) if isinstance(a, Instr) else None for a in args]
    return tuple(OPS[op].shape(*shapes, **attrs))


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
    return Instr(op, args, attrs, out_shape(op, args, attrs), result_dtype(op, args, attrs), name)


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


# --------------------------------------------------------------------- the compiler's own instructions
@dataclass(frozen=True)
class Instruction:
    """An instruction of the compiler that is not an op of ``OPS``: what every pass may ask of it.

    How each is made from a graph node is in ``lower.py``, merged in ``passes/cse.py``, run by the
    reference interpreter in ``interpret.py``, written into a plan in ``compiler.py`` and drawn in
    ``dot.py``: each beside the code that uses it, each table checked to cover these (tests/test_static_ir.py).
    """

    name: str
    doc: str
    external: bool = False    # the value lives outside the planned memory (fed, a Variable's, a constant)
    takes_out: bool = False   # computes into a planned buffer given as ``out``


INSTRS: dict[str, Instruction] = {i.name: i for i in (
    Instruction("feed", "A placeholder's value, a parameter of the plan.", external=True),
    Instruction("variable", "A Variable's value from before the run (its current buffer, a parameter of the "
                            "plan).", external=True),
    Instruction("const", "A fixed array (read-only), bound into the plan once.", external=True),
    Instruction("random", "A random draw (``dist``: normal, truncated_normal, uniform; parameters ``a``, ``b``) "
                          "from the Session's generator into its buffer, on every run (see :func:`draw`).",
                takes_out=True),
    Instruction("assign", "Set a Variable to a value (``assign_add``/``assign_sub`` are lowered to an add/sub "
                          "first); the instr's value is the new value."),
    Instruction("group", "Run all inputs, yield nothing (an initializer, a train op)."),
    Instruction("fused", "A chain of elementwise ``OPS`` steps run one after the other into one buffer (made "
                         "by the fuse pass); ``attrs['chain']`` lists ``(op, arg_refs, attrs)``, see "
                         ":func:`interpret.run_chain`.", takes_out=True),
)}


def _check_names() -> None:
    """An instruction and an op never share a name (``var`` was once both a Variable read and the variance)."""
    shared = set(INSTRS) & set(OPS)
    if shared:
        raise RuntimeError(f"compiler instructions {sorted(shared)} have the names of ops in OPS; rename them")


_check_names()
