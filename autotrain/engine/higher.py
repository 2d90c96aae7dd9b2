"""Higher-order gradients: the backward pass recorded as a graph of its own (``create_graph=True``).

The op table's backward rules are written against an array module ``xp``.  Here they run with
:class:`TensorXP`, whose functions are the engine's differentiable ops, on engine Tensors: the
gradient a rule computes is then itself a recorded Tensor, and can be differentiated again.  The
same rules, not second ones, walked by ``backprop.run_backward`` with :class:`GraphPass` (Tensors for
arrays).  Without ``create_graph`` nothing here runs.
"""
from __future__ import annotations

import numpy as np

from . import backprop
from .graph import FREED_MESSAGE, Node, no_grad
from .ops import OPS, swapped_axes, unbroadcast
from .tensor import Tensor, new_tensor, apply_op

SCALAR_TYPES = (int, float, bool)


def _op(name: str, *inputs, **attrs):
    return apply_op(OPS[name], inputs, attrs)


def _op_function(name: str):
    def call(*inputs):
        if not any(isinstance(v, Tensor) for v in inputs):  # numbers only (log of a scalar base): numpy's answer
            return np.asarray(getattr(np, name)(*inputs))
        return apply_op(OPS[name], inputs)
    call.__name__ = name
    return staticmethod(call)


class _AddAt:
    """``xp.add.at(grad, key, g)`` on Tensors: ``grad`` (fresh zeros) gains the scatter-add of ``g``."""

    @staticmethod
    def at(grad, key, g):
        grad += _ScatterAdd.apply(g, key, tuple(grad.shape))


class TensorXP:
    """The ``xp`` a backward rule gets under ``create_graph``: each function applies an engine op."""

    add = _AddAt

    @staticmethod
    def swapaxes(a, axis1, axis2):
        return _op("transpose", a, axes=swapped_axes(len(a.shape), axis1, axis2))

    @staticmethod
    def reshape(a, shape):
        return a if tuple(a.shape) == tuple(shape) else _op("reshape", a, shape=tuple(shape))

    @staticmethod
    def transpose(a, axes=None):
        return _op("transpose", a, axes=axes)

    @staticmethod
    def broadcast_to(a, shape):
        return a if tuple(a.shape) == tuple(shape) else _op("broadcast_to", a, shape=tuple(shape))

    @staticmethod
    def sum(a, axis=None, keepdims=False):
        return _op("sum", a, axis=axis, keepdims=keepdims)

    @staticmethod
    def astype(a, dtype):
        return a if a.dtype == np.dtype(dtype) else _op("cast", a, dtype=np.dtype(dtype))

    @staticmethod
    def copy(a):
        return a.clone()

    @staticmethod
    def zeros(shape, dtype=None):
        return new_tensor(np.zeros(shape, dtype))

    @staticmethod
    def expand_dims(a, axis):
        shape = list(a.shape)
        shape.insert(axis if axis >= 0 else len(shape) + 1 + axis, 1)
        return _op("reshape", a, shape=tuple(shape))

    @staticmethod
    def constant_max(a, axis):
        return new_tensor(np.max(a._data, axis=axis, keepdims=True))

    @staticmethod
    def floor_divide(a, b):
        """Piecewise constant: its derivative is zero (as PyTorch's floor division), so it is not recorded."""
        with no_grad():
            return apply_op(OPS["floor_divide"], (a, b))

    @staticmethod
    def may_share_memory(a, b):
        return np.may_share_memory(getattr(a, "_data", a), getattr(b, "_data", b))


for _name in ("where", "greater", "less", "equal", "greater_equal", "less_equal", "log", "matmul", "exp", "sin",
              "cos"):
    setattr(TensorXP, _name, _op_function(_name))


def _import_function():
    from .function import Function
    return Function


class _ScatterAddBase:
    """Zeros of ``shape`` with ``g`` added at ``key`` (repeated indices accumulate); its backward indexes."""

    @staticmethod
    def forward(ctx, g, key, shape):
        ctx.key = key
        out = np.zeros(shape, g._data.dtype)
        np.add.at(out, key, g._data)
        return new_tensor(out)

    @staticmethod
    def backward(ctx, grad):
        return grad[ctx.key], None, None


class _LazyScatterAdd:
    """The scatter-add as an autograd Function, built on first use (function.py imports tensor.py)."""

    cls = None

    def apply(self, *args):
        if self.cls is None:
            self.cls = type("ScatterAdd", (_ScatterAddBase, _import_function()), {})
        return self.cls.apply(*args)


_ScatterAdd = _LazyScatterAdd()


class _TensorCtx:
    """What a rule reads under ``create_graph``: the node's inputs and output as Tensors in the graph."""

    __slots__ = ("inputs", "output", "attrs", "needs_input_grad", "input_shapes", "input_dtypes")

    def __init__(self, node: Node):
        op, arrays = node.op, node.inputs
        parents = node.parents
        if arrays is None:
            arrays = parents
        # the rule saw the promoted inputs: the tensors are cast the same way (a recorded, differentiable cast)
        self.inputs = tuple(p if type(p) in SCALAR_TYPES or not hasattr(a, "dtype") or p.dtype == a.dtype
                            else TensorXP.astype(p, a.dtype) for p, a in zip(parents, arrays))
        self.attrs = node.attrs
        self.needs_input_grad = node.needs_input_grad
        self.input_shapes = node.input_shapes
        self.input_dtypes = node.input_dtypes
        # the output is recomputed from the inputs, so the rule's use of it is differentiable too
        self.output = apply_op(op, self.inputs, node.attrs) if op.saves_output else None


def node_backward(node, g):
    """The input gradients of ``node`` as Tensors, computed by its rule on Tensors (grad mode on)."""
    if node.parents is None:
        raise RuntimeError(FREED_MESSAGE)
    if isinstance(node, Node):
        node.check_versions()
        return node.op.backward(_TensorCtx(node), TensorXP, g)
    return _function_backward(node, g)


def _function_backward(ctx, g):
    """A user Function's backward run on Tensors: differentiable where its backward uses tensor ops."""
    if ctx.n_outputs == 1:
        result = ctx.fn.backward(ctx, g)
    else:
        result = ctx.fn.backward(ctx, *(x if x is not None else new_tensor(np.zeros(shape, dtype))
                                        for x, (shape, dtype) in zip(g, ctx._out_meta)))
    if type(result) is not tuple:
        result = (result,)
    if len(result) != len(ctx.parents):
        raise RuntimeError(f"function {ctx.name()} returned an incorrect number of gradients "
                           f"(expected {len(ctx.parents)}, got {len(result)})")
    grads = []
    for i, (arg, gi) in enumerate(zip(ctx.parents, result)):
        if gi is not None and not isinstance(arg, Tensor):
            raise RuntimeError(f"function {ctx.name()} returned a gradient different than None at position {i}, "
                               "but the corresponding forward input was not a Tensor")
        if gi is not None and not isinstance(gi, Tensor):
            gi = new_tensor(np.asarray(gi, dtype=arg.dtype))
        if gi is not None and tuple(gi.shape) != tuple(arg.shape):
            gi = _summed_to(ctx, i, gi, tuple(arg.shape))
        grads.append(gi)
    return tuple(grads)


def _summed_to(ctx, i, gi, shape):
    """A Function's gradient of a broadcast shape summed to its input's; any other shape refused, as PyTorch."""
    try:
        if len(gi.shape) >= len(shape) and np.broadcast_shapes(tuple(gi.shape), shape) == tuple(gi.shape):
            return unbroadcast(TensorXP, gi, shape)
    except ValueError:
        pass
    raise RuntimeError(f"Function {ctx.name()} returned an invalid gradient at index {i} - got {list(gi.shape)} but "
                       f"expected shape compatible with {list(shape)}")


def accumulate_grad_graph(tensor, g) -> None:
    """``tensor.grad`` gains ``g`` out of place, keeping g's graph (PyTorch's AccumulateGrad under create_graph)."""
    if g.dtype != tensor.dtype:
        g = TensorXP.astype(g, tensor.dtype)
    tensor.grad = g if tensor.grad is None else tensor.grad + g


class GraphPass:
    """How a ``create_graph`` pass computes (``backprop.run_backward`` walks): Tensors for gradients, grad
    mode on, so the pass records a graph; leaves gain their gradient out of place."""

    grad_mode = True

    @staticmethod
    def node_grads(node, g):
        return node_backward(node, g)

    @staticmethod
    def fit(gi, data):
        if tuple(gi.shape) != data.shape:
            gi = unbroadcast(TensorXP, gi, data.shape)
        return TensorXP.astype(gi, data.dtype) if gi.dtype != data.dtype else gi

    @staticmethod
    def accumulate(leaf, g, borrowed: bool) -> None:
        accumulate_grad_graph(leaf, g)


GRAPH = GraphPass()


def run_backward_graph(roots, root_grads, retain_graph: bool, capture=None) -> None:
    """``backprop.run_backward`` with :class:`GraphPass`: ``root_grads`` are Tensors (a given ``grad_outputs``
    tensor stays in the graph, so the result can be differentiated with respect to it too)."""
    backprop.run_backward(roots, root_grads, retain_graph, capture, GRAPH)


def graph_root_grads(outputs, grad_outputs) -> list:
    """The Tensors that start a recorded backward pass: given tensors as they are, else ones."""
    from .tensor import root_grads
    grads = []
    for i, (out, given) in enumerate(zip(outputs, grad_outputs)):
        if isinstance(given, Tensor) and tuple(given.shape) == tuple(out.shape):
            if given.dtype != out.dtype:
                given = TensorXP.astype(given, out.dtype)
            if not isinstance(out, Tensor) or not out.requires_grad:
                root_grads((out,), (None,))  # raises the same errors as the plain path
            grads.append(given)
        else:
            grads.append(new_tensor(root_grads((out,), (given,))[0]))
    return grads
