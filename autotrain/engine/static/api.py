"""The TF1 functions: each builds a node of an ``OPS`` op (or a short composition of them)."""
from __future__ import annotations

import numpy as np

from .graph import Node, apply, as_node, constant, get_default_graph, group, source

float32 = np.dtype("float32")
float64 = np.dtype("float64")


def placeholder(dtype, shape=None, name=None) -> Node:
    """A value fed at run time through ``feed_dict``; ``None`` dimensions take any size."""
    if shape is None:
        raise ValueError("placeholder needs a shape here (use None for dimensions fixed when fed)")
    return source("placeholder", shape, dtype, name or "Placeholder")


def zeros(shape, dtype=float32, name=None) -> Node:
    """A constant of zeros."""
    return constant(np.zeros(shape, dtype=dtype), name=name or "zeros")


def ones(shape, dtype=float32, name=None) -> Node:
    """A constant of ones."""
    return constant(np.ones(shape, dtype=dtype), name=name or "ones")


def random_normal(shape, mean=0.0, stddev=1.0, dtype=float32, seed=None, name=None) -> Node:
    """A fresh normal draw each time it is run (typically once, by a Variable's initializer).

    ``seed`` makes the draws of this node reproducible across Sessions; without it they come from
    the Session's generator.
    """
    if seed is not None:
        return constant(np.random.default_rng(seed).standard_normal(tuple(shape)) * stddev + mean,
                        dtype=dtype, name=name or "random_normal")
    return source("random_normal", shape, dtype, name or "random_normal", mean=float(mean), stddev=float(stddev))


def matmul(a, b, name=None) -> Node:
    """Matrix product; the shapes are checked now."""
    return apply("matmul", a, b, name=name)


def maximum(a, b, name=None) -> Node:
    """Elementwise max; at a tie the whole gradient goes to ``a`` (TensorFlow's convention)."""
    return apply("maximum", a, b, name=name, tie="first")


def minimum(a, b, name=None) -> Node:
    """Elementwise min; at a tie the whole gradient goes to ``a`` (TensorFlow's convention)."""
    return apply("minimum", a, b, name=name, tie="first")


def add(a, b, name=None): return apply("add", a, b, name=name)
def subtract(a, b, name=None): return apply("sub", a, b, name=name)
def multiply(a, b, name=None): return apply("mul", a, b, name=name)
def divide(a, b, name=None): return apply("div", a, b, name=name)
def pow(a, b, name=None): return apply("pow", a, b, name=name)  # noqa: A001 - TF's name
def square(a, name=None): return apply("square", a, name=name)
def exp(a, name=None): return apply("exp", a, name=name)
def log(a, name=None): return apply("log", a, name=name)
def tanh(a, name=None): return apply("tanh", a, name=name)
def sigmoid(a, name=None): return apply("sigmoid", a, name=name)
def relu(a, name=None): return apply("relu", a, name=name)


def reduce_sum(x, axis=None, keepdims=False, name=None) -> Node:
    """Sum over ``axis`` (all axes by default)."""
    return apply("sum", x, axis=_axis(axis), keepdims=keepdims, name=name)


def reduce_mean(x, axis=None, keepdims=False, name=None) -> Node:
    """Mean over ``axis``: a sum divided by the count (the count must be known when the graph is built)."""
    x = as_node(x)
    axes = range(len(x.shape)) if axis is None else ([axis] if isinstance(axis, int) else axis)
    dims = [x.shape[a] for a in axes]
    if None in dims:
        raise ValueError(f"reduce_mean over a dimension of unknown size in {x!r}")
    return apply("div", reduce_sum(x, axis, keepdims), float(np.prod(dims)), name=name)


def reshape(x, shape, name=None) -> Node:
    return apply("reshape", x, shape=tuple(shape), name=name)


def transpose(x, perm=None, name=None) -> Node:
    return apply("transpose", x, axes=None if perm is None else tuple(perm), name=name)


def global_variables_initializer() -> Node:
    """A node that, when run, sets every Variable of the default graph to its initial value."""
    graph = get_default_graph()
    return group([v.initializer for v in graph.variables], name="init")


def _axis(axis):
    return tuple(axis) if isinstance(axis, list) else axis
