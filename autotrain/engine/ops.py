"""THE op table: every primitive's forward, backward and shape rule, side by side.

A rule sees arrays (or graph nodes) and an array module ``xp``; it never sees a
Tensor.  Three interpreters read this table:

* the dynamic engine (``tensor.py``) calls ``forward`` on numpy/CuPy arrays and,
  during ``backward()``, calls ``backward`` with numpy/CuPy arrays;
* the static compiler calls ``backward`` with a graph-building ``xp`` whose
  "arrays" are graph nodes, so symbolic gradients are made of these same rules;
* gradcheck iterates ``OPS`` and checks every rule against finite differences.

Contract of a rule
------------------
``forward(xp, *inputs, out=None, **attrs)``
    Inputs are arrays or Python scalars.  ``out`` (elementwise ops, matmul,
    sum) is an optional preallocated result buffer, the ufunc convention.
``backward(ctx, xp, g)``
    ``ctx.inputs`` are the forward inputs (when ``saves_inputs``), ``ctx.output``
    the forward result (when ``saves_output``), ``ctx.attrs`` the attributes,
    ``ctx.input_shapes`` / ``ctx.input_dtypes`` (``None`` for a Python scalar)
    and ``ctx.needs_input_grad`` one bool per input.
    Returns one gradient (or ``None``) per input, in the *broadcast* shape: the
    walker sums it back to the input's shape with :func:`unbroadcast`, once.
    Backward code uses only operators (``+ - * / @``, unary ``-``) and the
    ``xp`` functions listed in ``BACKWARD_XP`` so that a graph-building ``xp``
    can replay it.
``shape(*shapes, **attrs)``
    The output shape from input shapes (``None`` for a Python scalar); used by
    the static graph at build time.  Elementwise ops broadcast.
"""
from __future__ import annotations

import numpy as np

#: The xp functions backward rules may call (a graph ``xp`` must provide them).
BACKWARD_XP = ("where", "greater", "less", "equal", "greater_equal", "less_equal", "log", "exp", "matmul",
               "swapaxes", "reshape", "transpose", "broadcast_to", "sum", "astype")

OPS: dict[str, type["Op"]] = {}


def register(cls: type["Op"]) -> type["Op"]:
    """Add an op class to ``OPS`` under its ``name``."""
    OPS[cls.name] = cls
    return cls


def shape_of(value) -> tuple[int, ...] | None:
    """The shape of an array or node; ``None`` for a Python scalar."""
    return None if isinstance(value, (int, float, bool)) else tuple(value.shape)


def broadcast_shapes(*shapes) -> tuple[int, ...]:
    """numpy's broadcasting rule over shapes (``None`` = a Python scalar)."""
    return np.broadcast_shapes(*(() if s is None else s for s in shapes))


def unbroadcast(xp, g, shape: tuple[int, ...]):
    """Sum ``g`` down to ``shape``: a broadcast edge's gradient is summed to its source's shape."""
    if tuple(g.shape) == tuple(shape):
        return g
    extra = len(g.shape) - len(shape)
    axes = tuple(range(extra)) + tuple(
        i + extra for i, n in enumerate(shape) if n == 1 and g.shape[i + extra] != 1)
    g = xp.sum(g, axis=axes, keepdims=True) if axes else g
    return xp.reshape(g, shape)


def astype(xp, a, dtype):
    """``a`` as ``dtype`` (numpy < 2.1 and CuPy spell it as a method)."""
    convert = getattr(xp, "astype", None)
    return convert(a, dtype) if convert is not None else a.astype(dtype)


def _has_int_array(key) -> bool:
    keys = key if isinstance(key, tuple) else (key,)
    return any(getattr(k, "dtype", None) is not None and k.dtype.kind in "iu" or isinstance(k, list) for k in keys)


class Op:
    """A primitive: forward, backward and shape rule in one place."""

    name = ""
    arity = 2
    differentiable = True
    saves_inputs = True     # backward reads ctx.inputs (the engine then checks their versions)
    saves_output = False    # backward reads ctx.output
    result_dtype = None     # None: numpy's promotion of the inputs; else e.g. np.bool_
    #: (input shapes or scalars, {attrs}) cases for gradcheck; "pos" = positive inputs only
    cases: tuple = ()
    domain = "any"

    @staticmethod
    def forward(xp, *inputs, out=None, **attrs):
        raise NotImplementedError

    @staticmethod
    def backward(ctx, xp, g):
        raise NotImplementedError

    @staticmethod
    def shape(*shapes, **attrs):
        return broadcast_shapes(*shapes)


BINARY_CASES = (
    (((3, 4), (3, 4)), {}),
    (((3, 4), (4,)), {}),
    (((2, 1, 4), (3, 1)), {}),
    (((3, 4), 2.5), {}),
    ((1.5, (3, 4)), {}),
)
UNARY_CASES = ((((3, 4),), {}), (((5,),), {}))


# --------------------------------------------------------------------- arithmetic
@register
class Add(Op):
    """a + b."""
    name = "add"
    saves_inputs = False
    cases = BINARY_CASES

    @staticmethod
    def forward(xp, a, b, out=None):
        return xp.add(a, b, out=out)

    @staticmethod
    def backward(ctx, xp, g):
        return g, g


@register
class Sub(Op):
    """a - b."""
    name = "sub"
    saves_inputs = False
    cases = BINARY_CASES

    @staticmethod
    def forward(xp, a, b, out=None):
        return xp.subtract(a, b, out=out)

    @staticmethod
    def backward(ctx, xp, g):
        return g, (-g if ctx.needs_input_grad[1] else None)


@register
class Mul(Op):
    """a * b."""
    name = "mul"
    cases = BINARY_CASES

    @staticmethod
    def forward(xp, a, b, out=None):
        return xp.multiply(a, b, out=out)

    @staticmethod
    def backward(ctx, xp, g):
        a, b = ctx.inputs
        need_a, need_b = ctx.needs_input_grad
        return (g * b if need_a else None), (g * a if need_b else None)


@register
class Div(Op):
    """a / b."""
    name = "div"
    saves_output = True
    cases = BINARY_CASES
    domain = "nonzero"

    @staticmethod
    def forward(xp, a, b, out=None):
        return xp.true_divide(a, b, out=out)

    @staticmethod
    def backward(ctx, xp, g):
        _, b = ctx.inputs
        need_a, need_b = ctx.needs_input_grad
        ga = g / b if need_a else None
        return ga, (-(ga if ga is not None else g / b) * ctx.output if need_b else None)


@register
class Pow(Op):
    """a ** b; b is usually a Python number, but may be a tensor (then a must be positive)."""
    name = "pow"
    cases = ((((3, 4), 2.0), {}), (((3, 4), 3), {}), (((3, 4), 0.5), {}),
             (((3, 4), (4,)), {}), ((2.0, (3, 4)), {}))
    domain = "pos"

    @staticmethod
    def forward(xp, a, b, out=None):
        if type(b) in (int, float) and b == 2:
            return xp.square(a, out=out)  # the ufunc power has no fast path for 2 (2x slower)
        return xp.power(a, b, out=out)

    @staticmethod
    def backward(ctx, xp, g):
        a, b = ctx.inputs
        need_a, need_b = ctx.needs_input_grad
        ga = gb = None
        if need_a:
            # NOTE: b == 2 is the common case (squared error): 2*a*g, no a**1 pass.
            ga = g * (2.0 * a) if isinstance(b, (int, float)) and b == 2 else g * (b * a ** (b - 1))
        if need_b:  # rare (a tensor exponent): recompute a ** b rather than keep every output alive
            gb = g * (a ** b) * xp.log(a)
        return ga, gb


@register
class Square(Op):
    """a * a; the static simplifier rewrites ``a ** 2`` to it."""
    name = "square"
    arity = 1
    cases = UNARY_CASES

    @staticmethod
    def forward(xp, a, out=None):
        return xp.square(a, out=out)

    @staticmethod
    def backward(ctx, xp, g):
        return (g * (2.0 * ctx.inputs[0]),)


@register
class Neg(Op):
    """-a."""
    name = "neg"
    arity = 1
    saves_inputs = False
    cases = UNARY_CASES

    @staticmethod
    def forward(xp, a, out=None):
        return xp.negative(a, out=out)

    @staticmethod
    def backward(ctx, xp, g):
        return (-g,)


# --------------------------------------------------------------------- elementwise functions
@register
class Exp(Op):
    """e ** a."""
    name = "exp"
    arity = 1
    saves_inputs = False
    saves_output = True
    cases = UNARY_CASES

    @staticmethod
    def forward(xp, a, out=None):
        return xp.exp(a, out=out)

    @staticmethod
    def backward(ctx, xp, g):
        return (g * ctx.output,)


@register
class Log(Op):
    """Natural logarithm."""
    name = "log"
    arity = 1
    cases = UNARY_CASES
    domain = "pos"

    @staticmethod
    def forward(xp, a, out=None):
        return xp.log(a, out=out)

    @staticmethod
    def backward(ctx, xp, g):
        return (g / ctx.inputs[0],)


@register
class Tanh(Op):
    """Hyperbolic tangent."""
    name = "tanh"
    arity = 1
    saves_inputs = False
    saves_output = True
    cases = UNARY_CASES

    @staticmethod
    def forward(xp, a, out=None):
        return xp.tanh(a, out=out)

    @staticmethod
    def backward(ctx, xp, g):
        y = ctx.output
        return (g * (1.0 - y * y),)


@register
class Sigmoid(Op):
    """1 / (1 + e ** -a), computed without overflow for large |a|."""
    name = "sigmoid"
    arity = 1
    saves_inputs = False
    saves_output = True
    cases = UNARY_CASES

    @staticmethod
    def forward(xp, a, out=None):
        # tanh form: exact, and never overflows the way 1/(1+exp(-a)) does for a << 0
        out = xp.multiply(a, 0.5, out=out)
        xp.tanh(out, out=out)
        xp.multiply(out, 0.5, out=out)
        return xp.add(out, 0.5, out=out)

    @staticmethod
    def backward(ctx, xp, g):
        y = ctx.output
        return (g * (y * (1.0 - y)),)


@register
class Relu(Op):
    """max(a, 0); the gradient at a == 0 is 0, as in PyTorch's relu."""
    name = "relu"
    arity = 1
    cases = UNARY_CASES

    @staticmethod
    def forward(xp, a, out=None):
        return xp.maximum(a, 0, out=out)

    @staticmethod
    def backward(ctx, xp, g):
        # NOTE: g * mask rather than where(mask, g, 0): the same values (a masked entry may be -0.0),
        # in one cheap multiply instead of a masked copy (2 us vs 7-10 us at the seed's sizes)
        return (g * xp.greater(ctx.inputs[0], 0),)


@register
class Clamp(Op):
    """Clip a to [min, max]; the gradient passes where min <= a <= max (ties included), as torch.clamp."""
    name = "clamp"
    arity = 1
    cases = ((((3, 4),), {"min": 0.0}), (((3, 4),), {"max": 0.1}), (((3, 4),), {"min": -0.5, "max": 0.5}))

    @staticmethod
    def forward(xp, a, out=None, min=None, max=None):
        if max is None:
            return xp.maximum(a, min, out=out)
        if min is None:
            return xp.minimum(a, max, out=out)
        return xp.clip(a, min, max, out=out)

    @staticmethod
    def backward(ctx, xp, g):
        a = ctx.inputs[0]
        low, high = ctx.attrs.get("min"), ctx.attrs.get("max")
        if low is not None:  # g * mask, as Relu
            g = g * xp.greater_equal(a, low)
        if high is not None:
            g = g * xp.less_equal(a, high)
        return (g,)


def _tie_grads(xp, g, a, b, a_wins, b_wins, tie):
    """Route g to the winner of max/min; at a tie, ``split`` halves it (PyTorch) and ``first`` gives it to a (TF)."""
    if tie == "first":
        return xp.where(b_wins, 0, g), xp.where(b_wins, g, 0)
    half = xp.where(xp.equal(a, b), g * 0.5, 0)
    return xp.where(a_wins, g, half), xp.where(b_wins, g, half)


class _Extremum(Op):
    cases = BINARY_CASES + ((((3, 4), (3, 4)), {"tie": "first"}),)

    @classmethod
    def backward(cls, ctx, xp, g):
        a, b = ctx.inputs
        a_wins, b_wins = cls.winners(xp, a, b)
        return _tie_grads(xp, g, a, b, a_wins, b_wins, ctx.attrs.get("tie", "split"))


@register
class Maximum(_Extremum):
    """Elementwise max; ``tie="split"`` (PyTorch, default) or ``"first"`` (TensorFlow)."""
    name = "maximum"

    @staticmethod
    def forward(xp, a, b, out=None, tie="split"):
        return xp.maximum(a, b, out=out)

    @staticmethod
    def winners(xp, a, b):
        return xp.greater(a, b), xp.less(a, b)


@register
class Minimum(_Extremum):
    """Elementwise min; ties as :class:`Maximum`."""
    name = "minimum"

    @staticmethod
    def forward(xp, a, b, out=None, tie="split"):
        return xp.minimum(a, b, out=out)

    @staticmethod
    def winners(xp, a, b):
        return xp.less(a, b), xp.greater(a, b)


@register
class Where(Op):
    """cond ? a : b (cond is a bool array and gets no gradient)."""
    name = "where"
    arity = 3
    cases = ((("bool(3, 4)", (3, 4), (3, 4)), {}), (("bool(3, 4)", (4,), 0.0), {}))

    @staticmethod
    def forward(xp, cond, a, b, out=None):
        if out is None:
            return xp.where(cond, a, b)
        if out is a:   # copying b first would clobber a
            out[...] = xp.where(cond, a, b)
            return out
        # two passes into out and no temporary (the static compiler runs where(mask, 0, g) in place on g)
        if out is not b:
            xp.copyto(out, b)
        xp.copyto(out, a, where=cond)
        return out

    @staticmethod
    def backward(ctx, xp, g):
        cond = ctx.inputs[0]
        _, need_a, need_b = ctx.needs_input_grad
        return (None, xp.where(cond, g, 0) if need_a else None, xp.where(cond, 0, g) if need_b else None)


# --------------------------------------------------------------------- comparisons (no gradient)
def _comparison(op_name: str, ufunc: str, doc: str) -> type[Op]:
    def forward(xp, a, b, out=None):
        return getattr(xp, ufunc)(a, b, out=out)

    cls = type(op_name.capitalize(), (Op,), {
        "__doc__": doc, "name": op_name, "differentiable": False, "saves_inputs": False,
        "result_dtype": np.bool_, "forward": staticmethod(forward),
        "backward": staticmethod(lambda ctx, xp, g: (None, None)),
    })
    return register(cls)


Greater = _comparison("greater", "greater", "a > b, a bool array.")
GreaterEqual = _comparison("greater_equal", "greater_equal", "a >= b, a bool array.")
Less = _comparison("less", "less", "a < b, a bool array.")
LessEqual = _comparison("less_equal", "less_equal", "a <= b, a bool array.")
Equal = _comparison("equal", "equal", "a == b, a bool array.")
NotEqual = _comparison("not_equal", "not_equal", "a != b, a bool array.")


# --------------------------------------------------------------------- linear algebra, reductions, shapes
def _as_matrix_shapes(a_shape, b_shape):
    return (1,) + tuple(a_shape) if len(a_shape) == 1 else tuple(a_shape), \
        tuple(b_shape) + (1,) if len(b_shape) == 1 else tuple(b_shape)


@register
class MatMul(Op):
    """a @ b with numpy's matmul semantics (1-D operands, batch broadcasting)."""
    name = "matmul"
    cases = (((((4, 3), (3, 5)), {})), ((((2, 4, 3), (3, 5)), {})), ((((3,), (3, 5)), {})),
             ((((4, 3), (3,)), {})))

    @staticmethod
    def forward(xp, a, b, out=None):
        return xp.matmul(a, b, out=out)

    @staticmethod
    def backward(ctx, xp, g):
        a, b = ctx.inputs
        need_a, need_b = ctx.needs_input_grad
        if len(a.shape) > 1 and len(b.shape) > 1:
            return (xp.matmul(g, xp.swapaxes(b, -1, -2)) if need_a else None,
                    xp.matmul(xp.swapaxes(a, -1, -2), g) if need_b else None)
        a_shape, b_shape = tuple(a.shape), tuple(b.shape)
        if len(a_shape) == 1 or len(b_shape) == 1:  # lift vectors to matrices; undone below
            ma, mb = _as_matrix_shapes(a_shape, b_shape)
            g_shape = MatMul.shape(ma, mb)
            a, b, g = xp.reshape(a, ma), xp.reshape(b, mb), xp.reshape(g, g_shape)
        ga = xp.matmul(g, xp.swapaxes(b, -1, -2)) if need_a else None
        gb = xp.matmul(xp.swapaxes(a, -1, -2), g) if need_b else None
        if ga is not None and len(a_shape) == 1:
            ga = xp.reshape(ga, a_shape)
        if gb is not None and len(b_shape) == 1:
            gb = xp.reshape(gb, b_shape)
        return ga, gb

    @staticmethod
    def shape(a_shape, b_shape):
        if a_shape is None or b_shape is None or len(a_shape) == 0 or len(b_shape) == 0:
            raise ValueError(f"matmul needs at least 1-D operands, got shapes {a_shape} and {b_shape}")
        ma, mb = _as_matrix_shapes(a_shape, b_shape)
        if ma[-1] != mb[-2] and ma[-1] is not None and mb[-2] is not None:
            raise ValueError(f"matmul: shapes {tuple(a_shape)} and {tuple(b_shape)} cannot be multiplied "
                             f"({ma[-1]} != {mb[-2]})")
        batch = broadcast_shapes(ma[:-2], mb[:-2])
        rows = () if len(a_shape) == 1 else (ma[-2],)
        cols = () if len(b_shape) == 1 else (mb[-1],)
        return tuple(batch) + rows + cols


def _norm_axes(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    return tuple(sorted(a % ndim for a in axes)) if ndim else ()


@register
class Sum(Op):
    """Sum over ``axis`` (None: all), keeping reduced axes as 1 when ``keepdims``."""
    name = "sum"
    arity = 1
    saves_inputs = False
    cases = ((((3, 4),), {}), (((3, 4),), {"axis": 0}), (((2, 3, 4),), {"axis": (0, 2), "keepdims": True}),
             (((3, 4),), {"axis": -1}))

    @staticmethod
    def forward(xp, a, out=None, axis=None, keepdims=False):
        return xp.sum(a, axis=axis, keepdims=keepdims, out=out)

    @staticmethod
    def backward(ctx, xp, g):
        shape = ctx.input_shapes[0]
        if not ctx.attrs.get("keepdims", False) and g.ndim:
            kept = list(shape)
            for ax in _norm_axes(ctx.attrs.get("axis"), len(shape)):
                kept[ax] = 1
            g = xp.reshape(g, tuple(kept))
        return (xp.broadcast_to(g, shape),)

    @staticmethod
    def shape(a_shape, axis=None, keepdims=False):
        axes = _norm_axes(axis, len(a_shape))
        if keepdims:
            return tuple(1 if i in axes else n for i, n in enumerate(a_shape))
        return tuple(n for i, n in enumerate(a_shape) if i not in axes)


@register
class BroadcastTo(Op):
    """a repeated along broadcast axes to ``shape`` (a read-only view); Sum's backward on graphs needs it as a node."""
    name = "broadcast_to"
    arity = 1
    saves_inputs = False
    cases = ((((3, 1),), {"shape": (2, 3, 4)}), (((4,),), {"shape": (3, 4)}))

    @staticmethod
    def forward(xp, a, shape):
        return xp.broadcast_to(a, shape)

    @staticmethod
    def backward(ctx, xp, g):
        return (unbroadcast(xp, g, ctx.input_shapes[0]),)

    @staticmethod
    def shape(a_shape, shape):
        if broadcast_shapes(a_shape, shape) != tuple(shape):
            raise ValueError(f"broadcast_to: cannot broadcast {tuple(a_shape or ())} to {tuple(shape)}")
        return tuple(shape)


@register
class Reshape(Op):
    """A view of a with another shape of the same size."""
    name = "reshape"
    arity = 1
    saves_inputs = False
    cases = ((((3, 4),), {"shape": (4, 3)}), (((3, 4),), {"shape": (12,)}), (((2, 6),), {"shape": (3, -1)}))

    @staticmethod
    def forward(xp, a, shape):
        return xp.reshape(a, shape)

    @staticmethod
    def backward(ctx, xp, g):
        return (xp.reshape(g, ctx.input_shapes[0]),)

    @staticmethod
    def shape(a_shape, shape):
        shape = tuple(shape)
        size = int(np.prod(a_shape))
        if shape.count(-1) == 1:
            known = int(np.prod([n for n in shape if n != -1]))
            if known == 0 or size % known:
                raise ValueError(f"reshape: cannot reshape {tuple(a_shape)} into {shape}")
            shape = tuple(size // known if n == -1 else n for n in shape)
        if int(np.prod(shape)) != size:
            raise ValueError(f"reshape: cannot reshape {tuple(a_shape)} (size {size}) into {shape}")
        return shape


@register
class Transpose(Op):
    """Permute axes (``axes=None`` reverses them, as numpy)."""
    name = "transpose"
    arity = 1
    saves_inputs = False
    cases = ((((3, 4),), {}), (((2, 3, 4),), {"axes": (1, 0, 2)}))

    @staticmethod
    def forward(xp, a, axes=None):
        return xp.transpose(a, axes)

    @staticmethod
    def backward(ctx, xp, g):
        axes = ctx.attrs.get("axes")
        return (xp.transpose(g, None if axes is None else tuple(np.argsort(axes))),)

    @staticmethod
    def shape(a_shape, axes=None):
        axes = tuple(reversed(range(len(a_shape)))) if axes is None else tuple(axes)
        if sorted(a % max(len(a_shape), 1) for a in axes) != list(range(len(a_shape))):
            raise ValueError(f"transpose: axes {axes} do not permute a {len(a_shape)}-D shape {tuple(a_shape)}")
        return tuple(a_shape[a] for a in axes)


@register
class Cast(Op):
    """a converted to ``dtype``; the gradient is converted back."""
    name = "cast"
    arity = 1
    saves_inputs = False
    cases = ((((3, 4),), {"dtype": "float64"}),)  # a float32 round trip would defeat finite differences

    result_dtype = "attr"   # the output dtype is attrs["dtype"]

    @staticmethod
    def forward(xp, a, dtype, out=None):
        if out is None:
            return astype(xp, a, dtype)
        xp.copyto(out, a, casting="unsafe")  # a plain cast loop: no temporary, unlike a mixed-dtype ufunc
        return out

    @staticmethod
    def backward(ctx, xp, g):
        return (astype(xp, g, ctx.input_dtypes[0]),)


@register
class Index(Op):
    """a[key]: basic indexing, slices, integer arrays and boolean masks (dynamic engine only)."""
    name = "index"
    arity = 1
    saves_inputs = False
    cases = ((((4, 5),), {"key": (slice(1, 3), 2)}), (((4, 5),), {"key": "mask"}),
             (((6,),), {"key": "ints"}))

    @staticmethod
    def forward(xp, a, key):
        return a[key]

    @staticmethod
    def backward(ctx, xp, g):
        key = ctx.attrs["key"]
        grad = xp.zeros(ctx.input_shapes[0], dtype=g.dtype)
        if _has_int_array(key):
            xp.add.at(grad, key, g)     # repeated indices must accumulate
        else:
            grad[key] = g
        return (grad,)

    @staticmethod
    def shape(a_shape, key):
        return np.empty(a_shape, dtype=np.bool_)[key].shape


# ===================================================================== nn: fused primitives
# NOTE: layers and losses in engine/nn are compositions of the ops above; the two below are fused
# because they were measured to pay on the `mlp` workload (see the README's nn and optim section):
# one node instead of three for a Linear layer, one instead of seven for softmax + cross-entropy.
@register
class Linear(Op):
    """x @ w.T + b (PyTorch's ``F.linear``, addmm-like): x (..., in), w (out, in), b (out,)."""
    name = "linear"
    arity = 3
    cases = ((((4, 3), (5, 3), (5,)), {}), (((2, 4, 3), (5, 3), (5,)), {}), (((3,), (5, 3), (5,)), {}))

    @staticmethod
    def forward(xp, x, w, b, out=None):
        out = xp.matmul(x, xp.swapaxes(w, -1, -2), out=out)
        return xp.add(out, b, out=out)

    @staticmethod
    def backward(ctx, xp, g):
        x, w, _ = ctx.inputs
        need_x, need_w, need_b = ctx.needs_input_grad
        out_features, in_features = w.shape
        g2 = g if len(g.shape) == 2 else xp.reshape(g, (-1, out_features))  # batch dims folded into rows
        gx = xp.matmul(g, w) if need_x else None
        gw = xp.matmul(xp.swapaxes(g2, -1, -2), xp.reshape(x, (-1, in_features))) if need_w else None
        gb = xp.sum(g2, axis=0) if need_b else None
        return gx, gw, gb

    @staticmethod
    def shape(x_shape, w_shape, b_shape):
        if x_shape is None or len(x_shape) == 0 or w_shape is None or len(w_shape) != 2:
            raise ValueError(f"linear: needs input (..., in) and weight (out, in), got {x_shape} and {w_shape}")
        if x_shape[-1] != w_shape[1] and None not in (x_shape[-1], w_shape[1]):
            raise ValueError(f"linear: input has {x_shape[-1]} features, weight expects {w_shape[1]}")
        if b_shape is not None and tuple(b_shape) not in ((w_shape[0],), ()):
            raise ValueError(f"linear: bias shape {tuple(b_shape)} does not match {w_shape[0]} output features")
        return tuple(x_shape[:-1]) + (w_shape[0],)


@register
class SoftmaxCrossEntropy(Op):
    """-sum(target * log_softmax(logits), axis): the loss per sample (``reduction="none"``) or their sum
    (``"sum"``). ``target`` is any weighting of the classes: one-hot rows for class indices, probabilities,
    with label smoothing and class weights (and a mean's 1/denominator) folded in by ``nn.functional``.

    Uses ``exp``, ``max`` and ``vdot`` in its backward, which a graph ``xp`` lacks: dynamic engine only.
    """
    name = "softmax_cross_entropy"
    arity = 2
    cases = ((((3, 4), (3, 4)), {"axis": 1}), (((3, 4), (3, 4)), {"axis": 1, "reduction": "sum"}),
             (((2, 3, 2), (2, 3, 2)), {"axis": 1}), (((2, 3, 2), (2, 3, 2)), {"axis": 1, "reduction": "sum"}),
             (((5,), (5,)), {"axis": 0}))

    @staticmethod
    def shifted_and_exp(xp, x, axis):
        shifted = x - xp.max(x, axis=axis, keepdims=True)
        return shifted, xp.exp(shifted)

    @staticmethod
    def forward(xp, logits, target, axis=1, reduction="none"):
        shifted, exps = SoftmaxCrossEntropy.shifted_and_exp(xp, logits, axis)
        shifted -= xp.log(xp.sum(exps, axis=axis, keepdims=True))   # now log_softmax(logits)
        if reduction == "sum":
            return xp.asarray(-xp.vdot(target, shifted))
        shifted *= target
        return xp.negative(xp.sum(shifted, axis=axis))

    @staticmethod
    def backward(ctx, xp, g):
        logits, target = ctx.inputs
        axis = ctx.attrs.get("axis", 1)
        need_logits, need_target = ctx.needs_input_grad
        shifted, exps = SoftmaxCrossEntropy.shifted_and_exp(xp, logits, axis)
        total = xp.sum(exps, axis=axis, keepdims=True)
        if ctx.attrs.get("reduction", "none") == "none":
            g = xp.expand_dims(g, axis)
        g_logits = g_target = None
        if need_logits:  # d/dx = softmax * sum(target) - target
            g_logits = exps / total
            g_logits *= xp.sum(target, axis=axis, keepdims=True)
            g_logits -= target
            g_logits *= g
        if need_target:
            g_target = -(g * (shifted - xp.log(total)))
        return g_logits, g_target

    @staticmethod
    def shape(logits_shape, target_shape, axis=1, reduction="none"):
        if tuple(logits_shape) != tuple(target_shape or ()):
            raise ValueError(f"softmax_cross_entropy: target shape {target_shape} must equal logits shape "
                             f"{tuple(logits_shape)}")
        if reduction == "sum":
            return ()
        return tuple(n for i, n in enumerate(logits_shape) if i != axis % len(logits_shape))


# ===================================================================== static-tf stop-gap block
# Reductions and normalisations the TF1 side (tf.reduce_max, tf.nn.softmax, tf.nn.log_softmax,
# softmax cross-entropy, tf.argmax, tf.one_hot) needs.  Written as ordinary table entries so the dynamic
# engine and gradcheck can use them too; engine-core's general versions replace them when merged.
def _kept_shape(shape, axis):
    axes = _norm_axes(axis, len(shape))
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


@register
class Sqrt(Op):
    """Square root (Adam's and RMSProp's denominators)."""
    name = "sqrt"
    arity = 1
    saves_inputs = False
    saves_output = True
    cases = UNARY_CASES
    domain = "pos"

    @staticmethod
    def forward(xp, a, out=None):
        return xp.sqrt(a, out=out)

    @staticmethod
    def backward(ctx, xp, g):
        return (g / (2.0 * ctx.output),)


@register
class StopGradient(Op):
    """a itself, with no gradient (TF's stop_gradient; the labels of softmax cross-entropy v1)."""
    name = "stop_gradient"
    arity = 1
    differentiable = False
    saves_inputs = False

    @staticmethod
    def forward(xp, a):
        return a

    @staticmethod
    def backward(ctx, xp, g):
        return (None,)

    @staticmethod
    def shape(a_shape):
        return tuple(a_shape)


@register
class AMax(Op):
    """Maximum over ``axis`` (None: all); the gradient is shared equally by tied maxima (TF's reduce_max)."""
    name = "amax"
    arity = 1
    saves_output = True
    cases = ((((3, 4),), {}), (((3, 4),), {"axis": 1}), (((2, 3, 4),), {"axis": (0, 2), "keepdims": True}))

    @staticmethod
    def forward(xp, a, out=None, axis=None, keepdims=False):
        return xp.amax(a, axis=axis, keepdims=keepdims, out=out)

    @staticmethod
    def backward(ctx, xp, g):
        a = ctx.inputs[0]
        shape = ctx.input_shapes[0]
        axis = ctx.attrs.get("axis")
        if not ctx.attrs.get("keepdims", False):
            kept = _kept_shape(shape, axis)
            g, y = xp.reshape(g, kept), xp.reshape(ctx.output, kept)
        else:
            y = ctx.output
        hits = astype(xp, xp.equal(a, y), g.dtype)
        count = xp.sum(hits, axis=_norm_axes(axis, len(shape)), keepdims=True)
        return (hits * (g / count),)

    @staticmethod
    def shape(a_shape, axis=None, keepdims=False):
        return Sum.shape(a_shape, axis=axis, keepdims=keepdims)


def _check_axis(shape, axis, op):
    if not -len(shape) <= axis < len(shape):
        raise ValueError(f"{op}: axis {axis} is out of range for a {len(shape)}-D shape {tuple(shape)}")
    return tuple(shape)


@register
class Softmax(Op):
    """exp(a) / sum(exp(a)) along ``axis``, computed after subtracting the maximum (never overflows)."""
    name = "softmax"
    arity = 1
    saves_inputs = False
    saves_output = True
    cases = ((((3, 4),), {"axis": -1}), (((3, 4),), {"axis": 0}))

    @staticmethod
    def forward(xp, a, out=None, axis=-1):
        out = xp.subtract(a, xp.amax(a, axis=axis, keepdims=True), out=out)
        xp.exp(out, out=out)
        return xp.true_divide(out, xp.sum(out, axis=axis, keepdims=True), out=out)

    @staticmethod
    def backward(ctx, xp, g):
        y = ctx.output
        return (y * (g - xp.sum(g * y, axis=ctx.attrs.get("axis", -1), keepdims=True)),)

    @staticmethod
    def shape(a_shape, axis=-1):
        return _check_axis(a_shape, axis, "softmax")


@register
class LogSoftmax(Op):
    """a - log(sum(exp(a))) along ``axis`` (the log-sum-exp taken after subtracting the maximum)."""
    name = "log_softmax"
    arity = 1
    saves_inputs = False
    saves_output = True
    cases = ((((3, 4),), {"axis": -1}), (((3, 4),), {"axis": 0}))

    @staticmethod
    def forward(xp, a, out=None, axis=-1):
        shifted = xp.subtract(a, xp.amax(a, axis=axis, keepdims=True), out=out)
        total = xp.sum(xp.exp(shifted), axis=axis, keepdims=True)
        return xp.subtract(shifted, xp.log(total, out=total), out=shifted)

    @staticmethod
    def backward(ctx, xp, g):
        axis = ctx.attrs.get("axis", -1)
        return (g - xp.exp(ctx.output) * xp.sum(g, axis=axis, keepdims=True),)

    @staticmethod
    def shape(a_shape, axis=-1):
        return _check_axis(a_shape, axis, "log_softmax")


@register
class ArgMax(Op):
    """Index of the maximum along ``axis`` (the first one at a tie), int64; no gradient."""
    name = "argmax"
    arity = 1
    differentiable = False
    saves_inputs = False
    result_dtype = np.int64

    @staticmethod
    def forward(xp, a, axis=None):
        return xp.argmax(a, axis=axis)

    @staticmethod
    def backward(ctx, xp, g):
        return (None,)

    @staticmethod
    def shape(a_shape, axis=None):
        if axis is None:
            return ()
        _check_axis(a_shape, axis, "argmax")
        return tuple(n for i, n in enumerate(a_shape) if i != axis % len(a_shape))


@register
class OneHot(Op):
    """``depth``-long rows of ``off_value`` with ``on_value`` at each index (rows of an out-of-range index are
    all ``off_value``, as TF's one_hot); no gradient."""
    name = "one_hot"
    arity = 1
    differentiable = False
    saves_inputs = False
    result_dtype = "attr"

    @staticmethod
    def forward(xp, indices, depth, dtype, on_value=1, off_value=0):
        hits = xp.equal(xp.expand_dims(indices, -1), xp.arange(depth))
        return xp.where(hits, on_value, off_value).astype(dtype, copy=False)

    @staticmethod
    def backward(ctx, xp, g):
        return (None,)

    @staticmethod
    def shape(a_shape, depth, dtype, on_value=1, off_value=0):
        return tuple(a_shape) + (depth,)
