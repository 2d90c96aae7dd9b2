"""Symbolic gradients: the backward rules of ``engine/ops.py`` replayed with a graph-building ``xp``.

A rule such as ``Mul.backward`` computes ``g * b`` with operators and ``xp`` functions.  Handed nodes
and :class:`GraphXP`, the same code adds nodes instead of computing numbers, so the gradient is made
of ordinary primitive nodes that the compiler's passes can fold, merge, fuse and plan.
"""
from __future__ import annotations

import numpy as np

from autotrain.engine.ops import BACKWARD_XP, OPS, swapped_axes, unbroadcast

from .graph import Node, NodeShape, graph_of, apply, constant, numpy_rules, post_order


def _node_maker(op: str):
    def make(*args):
        return apply(op, *args)
    make.__name__ = op
    return staticmethod(make)


class GraphXP:
    """The ``xp`` a backward rule gets when it runs on nodes: every function adds a node of ``OPS``.

    The functions whose arguments are just the op's inputs are generated below the class; the ones
    here translate numpy's keyword spelling into an op's attributes.
    """

    @staticmethod
    def swapaxes(a, axis1, axis2):
        return apply("transpose", a, axes=swapped_axes(len(a.shape), axis1, axis2))

    @staticmethod
    def reshape(a, shape):
        if isinstance(shape, NodeShape) or None not in tuple(shape):
            return a if tuple(a.shape) == tuple(shape) and None not in a.shape else apply("reshape", a, shape=shape)
        # a shape with dimensions unknown until fed (a reduction's kept shape over a None batch): one of them
        # is inferred from the size when the graph is compiled, as reshape's -1
        if list(shape).count(None) > 1:
            raise ValueError(f"reshape to {tuple(shape)}: more than one dimension is unknown until fed")
        return apply("reshape", a, shape=tuple(-1 if n is None else n for n in shape))

    @staticmethod
    def transpose(a, axes=None):
        return apply("transpose", a, axes=axes)

    @staticmethod
    def broadcast_to(a, shape):
        return apply("broadcast_to", a, shape=shape)

    @staticmethod
    def sum(a, axis=None, keepdims=False):
        return apply("sum", a, axis=axis, keepdims=keepdims)

    @staticmethod
    def astype(a, dtype):
        return apply("cast", a, dtype=np.dtype(dtype))


for _op in BACKWARD_XP:  # xp functions named like an op (where, log, exp, cos, ...) add that op's node
    if _op in OPS and not hasattr(GraphXP, _op):
        setattr(GraphXP, _op, _node_maker(_op))

assert all(hasattr(GraphXP, name) for name in BACKWARD_XP), "GraphXP must offer every xp function rules use"


class _Ctx:
    """What a backward rule reads: nodes in place of the forward's arrays."""

    __slots__ = ("inputs", "output", "attrs", "needs_input_grad", "input_shapes", "input_dtypes")

    def __init__(self, node: Node, needs):
        self.inputs, self.output, self.attrs = node.inputs, node, node.attrs
        self.needs_input_grad = needs
        self.input_shapes = tuple(NodeShape.of(v) if isinstance(v, Node) else None for v in node.inputs)
        self.input_dtypes = tuple(v.dtype if isinstance(v, Node) else None for v in node.inputs)


def _topo(ys) -> list[Node]:
    """Nodes reachable from ``ys``, inputs before consumers."""
    return post_order(list(ys), lambda node: [v for v in node.inputs if isinstance(v, Node)])


def _on_path(order, xs) -> set[int]:
    """Ids of nodes that depend on some x (only they carry gradient)."""
    hit = {x.id for x in xs}
    for node in order:
        if any(isinstance(v, Node) and v.id in hit for v in node.inputs):
            hit.add(node.id)
    return hit


def _seed(y: Node, grad_y) -> Node:
    """The gradient fed into ``y``: ones of y's shape unless ``grad_ys`` says otherwise."""
    if isinstance(grad_y, Node):
        return grad_y
    if grad_y is not None:
        return constant(grad_y, dtype=y.dtype, graph=y.graph)
    one = constant(np.ones((), dtype=y.dtype), graph=y.graph)
    return one if y.shape == () else apply("broadcast_to", one, shape=NodeShape.of(y))


def gradients(ys, xs, grad_ys=None, rules=None) -> list:
    """Nodes for d(sum of ys)/d(x) for each x in ``xs`` (``None`` where x does not affect ys).

    ``grad_ys`` weights each y (default: ones).  Contributions from several paths (a diamond) are
    summed; each edge's gradient is unbroadcast to its input's shape once, as in the dynamic engine.
    ``rules`` ({node id: rule}) replaces the op table's rule of those nodes: ``rule(g)`` gets the node's
    gradient and returns ``(node, gradient)`` pairs for nodes that come before it (torch.compile's
    custom autograd Functions, whose own ``backward`` is the rule).
    """
    ys = list(ys) if isinstance(ys, (list, tuple)) else [ys]
    xs = list(xs) if isinstance(xs, (list, tuple)) else [xs]
    grad_ys = [None] * len(ys) if grad_ys is None else (list(grad_ys) if isinstance(grad_ys, (list, tuple)) else [grad_ys])
    _check_nodes("ys", ys)
    _check_nodes("xs", xs)
    if len(grad_ys) != len(ys):
        raise ValueError(f"gradients: {len(grad_ys)} grad_ys for {len(ys)} ys")
    graph_of(ys + xs)  # ys and xs must share one graph, as in TF1 (raises ValueError naming them)
    order = _topo(ys)
    live = _on_path(order, xs)
    grads: dict[int, Node] = {}
    for y, gy in zip(ys, grad_ys):
        _accumulate(grads, y, _seed(y, gy))
    position = {node.id: k for k, node in enumerate(order)} if rules else {}
    for node in reversed(order):
        g = grads.get(node.id)
        if g is not None and rules and node.id in rules:
            _custom(node, rules[node.id](g), live, grads, position)
            continue
        if g is None or not node.inputs or node.op not in OPS:
            continue
        _backprop(node, g, live, grads)
    return [grads.get(x.id) for x in xs]   # a list even for a bare x, as TF1


def _check_nodes(what: str, values) -> None:
    for k, v in enumerate(values):
        if not isinstance(v, Node):
            raise TypeError(f"gradients: {what}[{k}] is {v!r} ({type(v).__name__}), not a node of the graph "
                            "(a Variable, placeholder or the result of an op)")
        if v.dtype is None:
            raise TypeError(f"gradients: {what}[{k}] is {v!r}, an operation without a value")


def _backprop(node: Node, g: Node, live: set[int], grads: dict[int, Node]) -> None:
    rule = OPS[node.op]
    needs = tuple(isinstance(v, Node) and v.id in live and v.dtype.kind == "f" for v in node.inputs)
    if not rule.differentiable or not any(needs):
        return
    ctx = _Ctx(node, needs)
    with numpy_rules():
        grads_in = rule.backward(ctx, GraphXP, g)
    for value, need, gi in zip(node.inputs, needs, grads_in):
        if need and gi is not None:
            _accumulate(grads, value, unbroadcast(GraphXP, gi, NodeShape.of(value)))


def _custom(node: Node, pairs, live: set[int], grads: dict[int, Node], position: dict[int, int]) -> None:
    for value, gi in pairs:
        if value.id not in live:
            continue
        if position.get(value.id, len(position)) >= position[node.id]:
            raise ValueError(f"a custom gradient rule of {node.name!r} gives a gradient to {value.name!r}, "
                             "which does not come before it")
        _accumulate(grads, value, unbroadcast(GraphXP, gi, NodeShape.of(value)))


def _accumulate(grads: dict[int, Node], node: Node, g: Node) -> None:
    prior = grads.get(node.id)
    grads[node.id] = g if prior is None else apply("add", prior, g)
