"""The TF1 functions: each builds a node of an ``OPS`` op (or a short composition of them).

Dtypes follow TF1: tensors are never promoted (mixing float32 and float64 tensors is a TypeError that
points to ``tf.cast``); Python and numpy numbers take the dtype of the tensor they meet.
"""
from __future__ import annotations

import numbers

import numpy as np

from autotrain.engine.dtypes import bool_, float16, float32, float64, int32, int64, uint8  # noqa: F401 (tf.bool is bool_)

from .graph import (Graph, Node, NodeShape, Variable, apply, as_node, checked_dtype, constant, get_default_graph, source,
                    tf_apply, tf_input)
from .graph import group as _group


def placeholder(dtype, shape=None, name=None) -> Node:
    """A value fed at run time through ``feed_dict``; ``None`` dimensions take any size."""
    dtype = checked_dtype(dtype, "placeholder")
    if shape is None:
        raise ValueError("placeholder needs a shape here (use None for dimensions fixed when fed)")
    return source("placeholder", _checked_shape(shape, "placeholder"), dtype, name or "Placeholder")


def _checked_shape(shape, what: str) -> tuple:
    dims = (shape,) if isinstance(shape, numbers.Integral) else shape
    try:
        dims = tuple(dims)
    except TypeError:
        raise TypeError(f"{what}: shape {shape!r} is not a sequence of dimensions") from None
    for d in dims:
        if d is None:
            continue
        if isinstance(d, (bool, np.bool_)) or not isinstance(d, numbers.Integral):
            raise TypeError(f"{what}: dimension {d!r} of shape {shape!r} is not an integer or None")
        if d < 0:
            raise ValueError(f"{what}: dimension {d} of shape {shape!r} must be >= 0 (None leaves it open)")
    return tuple(None if d is None else int(d) for d in dims)


def zeros(shape, dtype=float32, name=None) -> Node:
    """A constant of zeros."""
    return constant(np.zeros(_checked_shape(shape, "zeros"), dtype=checked_dtype(dtype, "zeros")), name=name or "zeros")


def ones(shape, dtype=float32, name=None) -> Node:
    """A constant of ones."""
    return constant(np.ones(_checked_shape(shape, "ones"), dtype=checked_dtype(dtype, "ones")), name=name or "ones")


def zeros_like(x, dtype=None, name=None) -> Node:
    """Zeros of ``x``'s shape (dimensions unknown until fed included) and dtype (or ``dtype``)."""
    return _filled_like(x, 0, dtype, name or "zeros_like")


def ones_like(x, dtype=None, name=None) -> Node:
    """Ones of ``x``'s shape (dimensions unknown until fed included) and dtype (or ``dtype``)."""
    return _filled_like(x, 1, dtype, name or "ones_like")


def _filled_like(x, value, dtype, name) -> Node:
    x = as_node(x)
    dtype = x.dtype if dtype is None else checked_dtype(dtype, name)
    fill = constant(np.array(value, dtype=dtype), graph=x.graph)
    return apply("broadcast_to", fill, shape=NodeShape.of(x), name=name)


def random_normal(shape, mean=0.0, stddev=1.0, dtype=float32, seed=None, name=None) -> Node:
    """Normal values, drawn afresh each time the node runs (typically once, by a Variable's initializer).

    ``seed`` makes this node's draws reproducible on their own; otherwise they come from the Session's
    generator (seeded by ``Session(seed=)`` or ``tf.set_random_seed``).
    """
    return _random("normal", shape, mean, stddev, dtype, seed, name or "random_normal")


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=float32, seed=None, name=None) -> Node:
    """Normal values with those more than 2 standard deviations from the mean drawn again (as TF)."""
    return _random("truncated_normal", shape, mean, stddev, dtype, seed, name or "truncated_normal")


def random_uniform(shape, minval=0, maxval=None, dtype=float32, seed=None, name=None) -> Node:
    """Uniform values in [minval, maxval) (maxval 1 for floats by default)."""
    dtype = checked_dtype(dtype, "random_uniform")
    if dtype.kind != "f":
        raise TypeError(f"random_uniform: only float dtypes are supported here, not {dtype.name}")
    maxval = 1.0 if maxval is None else maxval
    for label, bound in (("minval", minval), ("maxval", maxval)):
        if isinstance(bound, bool) or not isinstance(bound, (int, float, np.integer, np.floating)):
            raise TypeError(f"random_uniform: {label} must be a number, got {type(bound).__name__} {bound!r}")
    if not maxval > minval:
        raise ValueError(f"random_uniform: maxval {maxval} must be greater than minval {minval}")
    return _random("uniform", shape, minval, maxval, dtype, seed, name or "random_uniform")


def _random(dist, shape, a, b, dtype, seed, name) -> Node:
    shape = _checked_shape(shape, name)
    dtype = checked_dtype(dtype, name)
    if None in shape:
        raise ValueError(f"{name}: the shape {shape} must be fully known")
    for label, value in zip(("minval", "maxval") if dist == "uniform" else ("mean", "stddev"), (a, b)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"{name}: {label} must be a number, got {type(value).__name__} {value!r}")
    if seed is not None:   # a fixed draw: the same values in every Session, as an op-level seed in TF
        from .ir import draw
        return constant(draw(np.random.default_rng(seed), dist, shape, dtype, float(a), float(b)), name=name)
    return source("random", shape, dtype, name, dist=dist, a=float(a), b=float(b))


def set_random_seed(seed) -> None:
    """The default graph's seed: Sessions on it without ``seed=`` draw from a generator seeded with it."""
    get_default_graph().seed = int(seed)


def matmul(a, b, transpose_a=False, transpose_b=False, name=None) -> Node:
    """Matrix product of ``a`` (transposed first when ``transpose_a``) and ``b``; shapes are checked now.

    A transpose is a free view: BLAS reads the transposed operand in place.
    """
    like = a if isinstance(a, Node) else (b if isinstance(b, Node) else None)
    graph = like.graph if like is not None else get_default_graph()
    a, b = (v if isinstance(v, Node) else as_node(tf_input(v, like, graph, "matmul")) for v in (a, b))
    if transpose_a:
        a = _swap_last(a, "transpose_a")
    if transpose_b:
        b = _swap_last(b, "transpose_b")
    return tf_apply("matmul", a, b, name=name)


def _swap_last(x: Node, what: str) -> Node:
    if len(x.shape) < 2:
        raise ValueError(f"matmul: {what} needs a matrix (at least 2-D), got {x!r}")
    axes = list(range(len(x.shape)))
    axes[-1], axes[-2] = axes[-2], axes[-1]
    return apply("transpose", x, axes=tuple(axes))


def maximum(a, b, name=None) -> Node:
    """Elementwise max; at a tie the whole gradient goes to ``a`` (TensorFlow's convention)."""
    return tf_apply("maximum", a, b, name=name, tie="first")


def minimum(a, b, name=None) -> Node:
    """Elementwise min; at a tie the whole gradient goes to ``a`` (TensorFlow's convention)."""
    return tf_apply("minimum", a, b, name=name, tie="first")


def add(a, b, name=None): return tf_apply("add", a, b, name=name)
def subtract(a, b, name=None): return tf_apply("sub", a, b, name=name)
def multiply(a, b, name=None): return tf_apply("mul", a, b, name=name)
def divide(a, b, name=None): return tf_apply("div", a, b, name=name)
def pow(a, b, name=None): return tf_apply("pow", a, b, name=name)  # noqa: A001 - TF's name
def equal(a, b, name=None): return tf_apply("equal", a, b, name=name)
def not_equal(a, b, name=None): return tf_apply("not_equal", a, b, name=name)
def greater(a, b, name=None): return tf_apply("greater", a, b, name=name)
def greater_equal(a, b, name=None): return tf_apply("greater_equal", a, b, name=name)
def less(a, b, name=None): return tf_apply("less", a, b, name=name)
def less_equal(a, b, name=None): return tf_apply("less_equal", a, b, name=name)
def square(a, name=None): return apply("square", as_node(a), name=name)
def sqrt(a, name=None): return apply("sqrt", as_node(a), name=name)
def exp(a, name=None): return apply("exp", as_node(a), name=name)
def log(a, name=None): return apply("log", as_node(a), name=name)
def tanh(a, name=None): return apply("tanh", as_node(a), name=name)
def sigmoid(a, name=None): return apply("sigmoid", as_node(a), name=name)
def relu(a, name=None): return apply("relu", as_node(a), name=name)
def abs(a, name=None): return apply("abs", as_node(a), name=name)  # noqa: A001 - TF's name
def sin(a, name=None): return apply("sin", as_node(a), name=name)
def cos(a, name=None): return apply("cos", as_node(a), name=name)


def identity(a, name=None) -> Node:
    """``a`` itself as a new node (the gradient passes through)."""
    a = as_node(a)
    return apply("reshape", a, shape=tuple(-1 if d is None else d for d in a.shape), name=name) \
        if list(a.shape).count(None) <= 1 else apply("add", a, 0, name=name)


def clip_by_value(t, clip_value_min, clip_value_max, name=None) -> Node:
    """``t`` limited to [min, max]; the gradient passes where min <= t <= max (both numbers)."""
    t = as_node(t)
    for bound in (clip_value_min, clip_value_max):
        if isinstance(bound, Node):
            raise TypeError("clip_by_value: the bounds must be numbers here (tensor bounds are not supported)")
    low = tf_input(clip_value_min, t, t.graph, "clip_by_value")
    high = tf_input(clip_value_max, t, t.graph, "clip_by_value")
    if low > high:
        raise ValueError(f"clip_by_value: clip_value_min {clip_value_min} is above clip_value_max {clip_value_max}")
    return apply("clamp", t, min=low, max=high, name=name)
def negative(a, name=None): return apply("neg", as_node(a), name=name)


def where(condition, x, y, name=None) -> Node:
    """``x`` where ``condition`` holds, else ``y`` (condition is bool; x and y share a dtype)."""
    condition = as_node(condition)
    if condition.dtype != np.bool_:
        raise TypeError(f"where: condition {condition!r} must be bool, not {condition.dtype.name}")
    rows = as_node(x) if isinstance(x, Node) or not isinstance(y, Node) else as_node(y)
    if condition.ndim == 1 and rows.ndim > 1:
        # TF1's where: a vector condition picks whole rows (entries along the first dimension)
        if condition.shape[0] is not None and rows.shape[0] is not None and condition.shape[0] != rows.shape[0]:
            raise ValueError(f"where: a 1-D condition {condition!r} needs one entry per row of {rows!r}")
        condition = apply("reshape", condition, shape=(-1,) + (1,) * (rows.ndim - 1))
    return tf_apply("where", condition, x, y, name=name)


def cast(x, dtype, name=None) -> Node:
    """``x`` converted to ``dtype`` (floats to ints truncate toward zero, as TF)."""
    x = as_node(x)
    dtype = checked_dtype(dtype, "cast")
    return x if x.dtype == dtype and name is None else apply("cast", x, dtype=dtype, name=name)


def stop_gradient(x, name=None) -> Node:
    """``x`` itself, through which ``tf.gradients`` passes nothing."""
    return apply("stop_gradient", as_node(x), name=name)


# --------------------------------------------------------------------- reductions
def _axes(x: Node, axis, what: str):
    """``axis`` checked against ``x``'s rank: None, an int or a list/tuple of ints (negative allowed)."""
    if axis is None:
        return None
    if isinstance(axis, Node):
        raise TypeError(f"{what}: axis must be a Python int or a list of ints (known when the graph is built), "
                        f"not {axis!r}")
    try:
        items = [axis] if isinstance(axis, numbers.Integral) or not hasattr(axis, "__iter__") else list(axis)
    except TypeError:
        items = [axis]
    rank = len(x.shape)
    for a in items:
        if isinstance(a, (bool, np.bool_)) or not isinstance(a, numbers.Integral):
            raise TypeError(f"{what}: axis {a!r} is not an integer")
        if not -rank <= a < rank:
            raise ValueError(f"{what}: invalid reduction axis {a} for {x!r} of rank {rank} "
                             f"(axes run from {-rank} to {rank - 1})")
    if len({a % rank for a in items}) != len(items):
        raise ValueError(f"{what}: axis {axis!r} names an axis twice")
    return int(items[0]) if isinstance(axis, numbers.Integral) else tuple(int(a) for a in items)


def _keep(keepdims, keep_dims):
    return bool(keep_dims if keep_dims is not None else keepdims)


def reduce_sum(input_tensor, axis=None, keepdims=False, name=None, keep_dims=None) -> Node:
    """Sum over ``axis`` (all axes by default)."""
    x = as_node(input_tensor)
    return apply("sum", x, axis=_axes(x, axis, "reduce_sum"), keepdims=_keep(keepdims, keep_dims), name=name)


def reduce_mean(input_tensor, axis=None, keepdims=False, name=None, keep_dims=None) -> Node:
    """Mean over ``axis``: the sum divided by the count, also over dimensions only known when fed."""
    x = as_node(input_tensor)
    axes = _axes(x, axis, "reduce_mean")
    total = apply("sum", x, axis=axes, keepdims=_keep(keepdims, keep_dims))
    if x.dtype.kind in "iu":   # TF: an integer mean is an integer (truncated) division
        return apply("cast", apply("div", total, _count(x, axes)), dtype=x.dtype, name=name)
    return apply("div", total, _count(x, axes), name=name)


def _count(x: Node, axes):
    """How many elements each reduced value summed: a number now, or a node fixed when the graph is compiled."""
    picked = range(len(x.shape)) if axes is None else ([axes] if isinstance(axes, int) else axes)
    dims = [x.shape[a] for a in picked]
    if None not in dims:
        return float(np.prod(dims))
    dtype = x.dtype if x.dtype.kind == "f" else float64
    return source("count", (), dtype, "count", x.graph, of=NodeShape.of(x), axes=tuple(picked))


def reduce_max(input_tensor, axis=None, keepdims=False, name=None, keep_dims=None) -> Node:
    """Maximum over ``axis``; the gradient is shared equally by tied maxima (as TF)."""
    x = as_node(input_tensor)
    return apply("amax", x, axis=_axes(x, axis, "reduce_max"), keepdims=_keep(keepdims, keep_dims), name=name)


def reduce_min(input_tensor, axis=None, keepdims=False, name=None, keep_dims=None) -> Node:
    """Minimum over ``axis``; the gradient is shared equally by tied minima."""
    x = as_node(input_tensor)
    return apply("amin", x, axis=_axes(x, axis, "reduce_min"), keepdims=_keep(keepdims, keep_dims), name=name)


def argmax(input, axis=None, name=None, output_type=int64) -> Node:  # noqa: A002 - TF's name
    """Index of the largest value along ``axis`` (TF1: axis 0 when not given); int64 by default."""
    x = as_node(input)
    axis = _axes(x, 0 if axis is None else axis, "argmax")
    if not isinstance(axis, int):
        raise TypeError(f"argmax: axis must be one integer, got {axis!r}")
    node = apply("argmax", x, axis=axis, name=name)
    return node if np.dtype(output_type) == int64 else apply("cast", node, dtype=checked_dtype(output_type, "argmax"))


def one_hot(indices, depth, on_value=None, off_value=None, axis=None, dtype=None, name=None) -> Node:
    """Rows of ``depth`` values, ``on_value`` (1) at each index and ``off_value`` (0) elsewhere; float32 by default."""
    indices = as_node(indices)
    if indices.dtype.kind not in "iu":
        raise TypeError(f"one_hot: indices {indices!r} must be integers, not {indices.dtype.name}")
    if not isinstance(depth, numbers.Integral) or depth < 0:
        raise ValueError(f"one_hot: depth must be a non-negative integer, got {depth!r}")
    if axis not in (None, -1):
        raise ValueError(f"one_hot: only the last axis (axis=-1) is supported, got axis={axis!r}")
    dtype = checked_dtype(dtype if dtype is not None else float32, "one_hot")
    return apply("one_hot", indices, depth=int(depth), dtype=dtype, name=name,
                 on_value=1 if on_value is None else on_value, off_value=0 if off_value is None else off_value)


def reshape(tensor, shape, name=None) -> Node:
    """The same values in another shape (one dimension may be -1)."""
    dims = _checked_shape([None if d == -1 else d for d in
                           ((shape,) if isinstance(shape, numbers.Integral) else _as_tuple(shape, "reshape"))],
                          "reshape")
    if dims.count(None) > 1:
        raise ValueError(f"reshape: only one dimension of {tuple(shape)} may be -1")
    return apply("reshape", as_node(tensor), shape=tuple(-1 if d is None else d for d in dims), name=name)


def _as_tuple(shape, what):
    if isinstance(shape, (str, bytes)) or not hasattr(shape, "__iter__"):
        raise TypeError(f"{what}: shape {shape!r} is not a sequence of dimensions")
    return tuple(shape)


def transpose(a, perm=None, name=None) -> Node:
    """Axes permuted by ``perm`` (reversed by default)."""
    if perm is not None and not (isinstance(perm, (list, tuple)) and all(
            isinstance(p, (int, np.integer)) and not isinstance(p, bool) for p in perm)):
        raise TypeError(f"transpose: perm must be a list of ints, got {type(perm).__name__} {perm!r}")
    return apply("transpose", as_node(a), axes=None if perm is None else tuple(int(p) for p in perm), name=name)


# --------------------------------------------------------------------- variables
def global_variables(graph=None) -> list:
    if graph is not None and not isinstance(graph, Graph):
        raise TypeError(f"global_variables: graph must be a Graph, got {type(graph).__name__} {graph!r}")
    """Every Variable of the default graph (optimizer slots included)."""
    return list((graph or get_default_graph()).variables)


def trainable_variables(graph=None) -> list:
    if graph is not None and not isinstance(graph, Graph):
        raise TypeError(f"trainable_variables: graph must be a Graph, got {type(graph).__name__} {graph!r}")
    """The Variables created with ``trainable=True``: what optimizers update by default."""
    return (graph or get_default_graph()).trainable_variables


def variables_initializer(var_list, name="init") -> Node:
    """A node that, when run, sets each Variable of ``var_list`` to its initial value."""
    if not isinstance(var_list, (list, tuple, set)):
        raise TypeError(f"variables_initializer: var_list must be a list of Variables, got {type(var_list).__name__} "
                        f"{var_list!r}")
    var_list = list(var_list)
    for v in var_list:
        if not isinstance(v, Variable):
            raise TypeError(f"variables_initializer: {v!r} is not a Variable")
    return _group([v.initializer for v in var_list], name=name)


def global_variables_initializer() -> Node:
    """A node that, when run, sets every Variable of the default graph to its initial value."""
    return variables_initializer(get_default_graph().variables)


initialize_all_variables = global_variables_initializer


def assign(ref, value, name=None) -> Node:
    """``ref.assign(value)``: a node that sets the Variable ``ref`` when run and yields the new value."""
    return _variable(ref, "assign").assign(value, name=name)


def assign_add(ref, value, name=None) -> Node:
    """``ref.assign_add(value)``."""
    return _variable(ref, "assign_add").assign_add(value, name=name)


def assign_sub(ref, value, name=None) -> Node:
    """``ref.assign_sub(value)``."""
    return _variable(ref, "assign_sub").assign_sub(value, name=name)


def _variable(ref, what: str) -> Variable:
    if not isinstance(ref, Variable):
        raise TypeError(f"{what}: ref must be a Variable, got {ref!r}")
    return ref


def group(*inputs, name=None) -> Node:
    """One node that runs every input (train ops, assigns) and yields nothing."""
    nodes = [n for item in inputs for n in (item if isinstance(item, (list, tuple)) else [item])]
    for n in nodes:
        if not isinstance(n, Node):
            raise TypeError(f"group: {n!r} is not a node")
    return _group(nodes, name=name or "group")


def no_op(name=None) -> Node:
    """A node that does nothing when run."""
    return _group([], name=name or "NoOp")
