"""Lowering: the fetched part of a graph as a :class:`~.ir.Program` at the fed shapes.

Graph nodes of ``OPS`` become instrs of the same op; the few graph ops that are not ops (placeholders,
Variables, constants, assigns...) become the compiler's own instructions (``ir.INSTRS``) by their rule
in ``LOWERINGS``.
"""
from __future__ import annotations

import numpy as np

from .graph import Node, NodeShape, post_order, run_dependencies
from .ir import Instr, Program, out_shape


def _concrete(value, lowered):
    if isinstance(value, NodeShape) and None in value:
        return tuple(lowered[value.node.id].shape)
    return tuple(value) if isinstance(value, NodeShape) else value


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


def _lower_node(node: Node, lowered, feed_shapes) -> Instr:
    args = tuple(lowered[a.id] if isinstance(a, Node) else a for a in node.inputs)
    rule = LOWERINGS.get(node.op)
    if rule is not None:
        return rule(node, args, lowered, feed_shapes)
    attrs = {k: _concrete(v, lowered) for k, v in node.attrs.items()}
    try:
        shape = out_shape(node.op, args, attrs)
    except ValueError as exc:
        raise ValueError(f"{node!r} cannot run with the shapes fed: {exc}") from None
    return Instr(node.op, args, attrs, shape, node.dtype, node.name)


def _as_is(node, args, lowered, feed_shapes) -> Instr:
    """A graph op that is an instruction of the same name, attributes unchanged (``const``, ``random``)."""
    return Instr(node.op, args, dict(node.attrs), node.shape, node.dtype, node.name, node)


def _feed(node, args, lowered, feed_shapes) -> Instr:
    return Instr("feed", (), {}, tuple(feed_shapes[node]), node.dtype, node.name, node)


def _variable(node, args, lowered, feed_shapes) -> Instr:
    return Instr("variable", (), {}, node.shape, node.dtype, node.name, node)


def _count(node, args, lowered, feed_shapes) -> Instr:
    """How many elements a reduction sums (``reduce_mean`` over a batch of unknown size): a constant once
    the fed shapes are known, so no program ever holds a count."""
    shape = lowered[node.attrs["of"].node.id].shape
    value = np.array(np.prod([shape[a] for a in node.attrs["axes"]]), dtype=node.dtype)
    value.flags.writeable = False
    return Instr("const", (), {"value": value}, (), node.dtype, node.name)


def _assign(node, args, lowered, feed_shapes) -> Instr:
    var, value = args
    mode = node.attrs["mode"]
    if mode != "set":
        value = Instr("add" if mode == "add" else "sub", (var, value), {}, var.shape, var.dtype, node.name)
    return Instr("assign", (var, value), {}, var.shape, var.dtype, node.name, node)


def _group(node, args, lowered, feed_shapes) -> Instr:
    return Instr("group", args, {}, (), None, node.name, node)


#: graph op -> how a node of it becomes an instruction of ``ir.INSTRS`` (every other node is an op of OPS)
LOWERINGS = {"placeholder": _feed, "variable": _variable, "const": _as_is, "count": _count,
             "random": _as_is, "assign": _assign, "group": _group}
