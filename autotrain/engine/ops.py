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

Declarations beside the rules
-----------------------------
``api``
    The PyTorch names of the op (:class:`Api`): each becomes a Tensor method,
    a module-level function and, when asked, an in-place ``name_`` method.
    ``Api.bind`` turns a PyTorch call's arguments into the op's inputs and attrs.
``dtype_rule``
    How the dynamic engine chooses the result dtype (PyTorch's promotion, see
    ``dtypes.py``): ``"promote"``, ``"float"`` (integers become the default
    float dtype), ``"bool"``, ``"keep"`` (the first input's), ``"attr"``,
    ``"int64"``.
``kinks(attrs)``
    The input values where the op is not differentiable (relu at 0, clamp at
    its bounds); gradcheck samples away from them.  ``ties = True`` marks ops
    whose kink is where inputs are equal (max, min): random samples avoid it.
``quiet``
    The forward may produce inf/nan from finite inputs (log 0, 0/0); the
    engine silences numpy's floating-point warnings for it, as PyTorch never
    warns.
``ufunc`` / ``ufunc_for``, ``method``, ``unrolled`` with ``scratch``
    Other spellings of the forward, for a compiler to write instead of calling
    it: the one ufunc call it is (:class:`Ufunc`), the one method call on its
    input (:class:`Method`), the calls it is into buffers made once.  Each
    computes exactly the forward's values (tests/test_op_spellings.py).
"""
from __future__ import annotations

import contextlib
import functools
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .dtypes import torch_name

#: The xp functions backward rules may call (a graph ``xp`` must provide them).  Names that are also
#: op names (``exp``, ``cos``, ...) stand for that op.
BACKWARD_XP = ("where", "greater", "less", "equal", "greater_equal", "less_equal", "log", "matmul", "swapaxes",
               "reshape", "transpose", "broadcast_to", "sum", "astype", "exp", "sin", "cos", "floor_divide")

OPS: dict[str, type["Op"]] = {}
#: PyTorch's names of dtypes in its kernel errors
_TORCH_NAMES = {"float64": "Double", "float32": "Float", "float16": "Half", "int64": "Long", "int32": "Int",
                "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool"}


class OperandError(ValueError):
    """A rule's own refusal of its operands (shapes, values): its message is the engine's words and reaches
    the user; a plain ValueError from numpy inside a rule does not."""


class OperandTypeError(TypeError):
    """A rule's own refusal of an operand's type or dtype (see :class:`OperandError`)."""


def register(cls: type["Op"]) -> type["Op"]:
    """Add an op class to ``OPS`` under its ``name``."""
    cls.promotes = cls.dtype_rule in ("promote", "float", "bool", "same")
    cls.records = cls.differentiable or cls.no_derivative
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


def copy_of(xp, a):
    """A copy of ``a`` to write into (an xp without ``copy``, the static graph's, never writes)."""
    copy = getattr(xp, "copy", None)
    return copy(a) if copy is not None else a.copy()


def _has_int_array(key) -> bool:
    keys = key if isinstance(key, tuple) else (key,)
    return any(getattr(k, "dtype", None) is not None and k.dtype.kind in "iu" or isinstance(k, list) for k in keys)


@dataclass(frozen=True)
class Api:
    """One PyTorch name of an op: ``bind(*args, **kwargs) -> (inputs, attrs)`` with PyTorch's parameters.

    ``bind=None`` passes the arguments through as the op's inputs.  ``method``/``function``: made a
    Tensor method / a module-level function; ``inplace``: also a ``name_`` method that writes in place.
    ``number_input``: the function takes a Python number as its first argument (PyTorch allows it only for
    arithmetic, ``torch.add(2, t)``; ``torch.sqrt(4)`` is a TypeError); ``tensor_other``: the second
    argument must be a Tensor too (PyTorch has no Scalar overload of ``maximum``, ``logical_and``, ...).
    """

    name: str
    bind: Callable | None = None
    method: bool = True
    function: bool = True
    inplace: bool = False
    number_input: bool = False
    tensor_other: bool = False


@dataclass(frozen=True)
class Ufunc:
    """An op's forward spelled as one call, ``xp.<path>(*lead, *inputs, *extra, **keywords, **passed, out=out)``.

    A compiler may make that call itself (one Python call a step instead of two); :meth:`call` is the
    spelling run as such.  ``lead`` and ``extra``: constant positional arguments before and after the
    inputs (a bound, relu's 0: on a tie ``maximum`` returns its second argument, so the order is part of
    the value, -0.0 or 0.0); ``passed``: the attributes handed on as keywords, with the forward's defaults
    (always passed); ``ignored``: attributes the call does without (a tie rule only the backward reads, a
    bound already in ``extra``); ``keywords``: constant keyword arguments; ``out_first``: the call takes
    the buffer as its first argument and needs one (``copyto``); ``quiet``: the forward makes the call with
    numpy's floating-point warnings off.
    """

    path: str
    extra: tuple = ()
    lead: tuple = ()
    passed: tuple = ()
    ignored: tuple = ()
    keywords: tuple = ()
    out_first: bool = False
    quiet: bool = False

    def takes(self, attrs) -> bool:
        """Does the call account for every one of these attributes?"""
        return set(attrs) <= set(self.ignored) | {k for k, _ in self.passed}

    def call(self, xp, *inputs, out=None, **attrs):
        """The spelling run: the forward's value (into ``out`` when given)."""
        fn = functools.reduce(getattr, self.path.split("."), xp)
        kwargs = {**dict(self.keywords), **{k: attrs.get(k, default) for k, default in self.passed}}
        with np.errstate(all="ignore") if self.quiet else contextlib.nullcontext():
            if self.out_first:
                if out is None:
                    raise ValueError(f"{self.path} spells the forward only into a buffer (out=)")
                fn(out, *self.lead, *inputs, *self.extra, **kwargs)
                return out
            return fn(*self.lead, *inputs, *self.extra, out=out, **kwargs)


@dataclass(frozen=True)
class Method:
    """An op's forward (without ``out``) spelled as one method call on its first input,
    ``a.<name>(*attrs in order)``: ``xp.transpose(a, axes)`` goes through numpy's Python wrapper,
    ``a.transpose(axes)`` does not.  ``params``: (attribute, forward's default), passed positionally."""

    name: str
    params: tuple = ()

    def takes(self, attrs) -> bool:
        return set(attrs) <= {k for k, _ in self.params}

    def call(self, a, **attrs):
        return getattr(a, self.name)(*(attrs.get(k, default) for k, default in self.params))


def swapped_axes(ndim: int, axis1: int, axis2: int) -> tuple:
    """The ``transpose`` permutation that is ``swapaxes(axis1, axis2)`` of an ``ndim``-D array (the spelling a
    backward rule's ``xp`` uses where only ``transpose`` is an op)."""
    axes = list(range(ndim))
    axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
    return tuple(axes)


def wrap_dim(dim, ndim: int) -> int:
    """``dim`` as a non-negative axis of an ``ndim``-D tensor; PyTorch's IndexError when out of range."""
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
        raise TypeError(f"dim must be an int, got {type(dim).__name__} {dim!r}")
    span = max(ndim, 1)  # a 0-d tensor accepts dim 0 and -1, as PyTorch
    if not -span <= dim < span:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-span}, {span - 1}], but got {dim})")
    return int(dim) % span


def reduce_axes(dim, ndim: int):
    """PyTorch's ``dim`` argument of a reduction as numpy's ``axis``: None, an int or a sorted tuple."""
    if dim is None:
        return None
    if isinstance(dim, (list, tuple)):
        if not dim:   # PyTorch: an empty dim list reduces over every dimension, as dim=None
            return None
        axes = [wrap_dim(d, ndim) for d in dim]
        for d in axes:
            if axes.count(d) > 1:
                raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
        return tuple(sorted(axes)) if ndim else ()
    axis = wrap_dim(dim, ndim)
    return axis if ndim else ()


def _bind_reduce(input, dim=None, keepdim=False):
    return (input,), {"axis": reduce_axes(dim, input.ndim), "keepdims": bool(keepdim)}


def _bind_dim(input, dim):
    return (input,), {"axis": wrap_dim(dim, input.ndim)}


class Op:
    """A primitive: forward, backward and shape rule in one place."""

    name = ""
    arity = 2               # None: any number of inputs (cat, stack)
    differentiable = True
    no_derivative = False   # recorded, but backward raises PyTorch's "derivative ... is not implemented"
    api: tuple = ()
    dtype_rule = "promote"
    ties = False
    quiet = False
    view = False            # the forward may return a view of input 0 (the engine then tracks it)
    promotes = True         # dtype_rule is one that casts inputs (set for every op by register)
    records = True          # recorded in the graph: differentiable or no_derivative (set by register)
    promote_from = 0        # inputs before this index take no part in dtype promotion (where's condition)
    checks_ints = False     # a Python int out of an integer dtype's range is refused (where), not wrapped
    int_exponent = False    # the last input is an exponent: a negative Python int one is refused, never wrapped
    bool_error = None       # PyTorch's error when an operand is bool (sub) or the op would compute in bool
    saves_inputs = True     # backward reads ctx.inputs (the engine then checks their versions)
    saves_output = False    # backward reads ctx.output
    result_dtype = None     # None: numpy's promotion of the inputs; else e.g. np.bool_
    #: (input shapes or scalars, {attrs}) cases for gradcheck; "pos" = positive inputs only
    cases: tuple = ()
    domain = "any"
    #: Spellings of ``forward`` a compiler may write instead of calling it, each computing exactly the
    #: forward's values (tests/test_op_spellings.py checks every op's against its forward).
    ufunc: Ufunc | None = None    # the forward is this one call (for the inputs and attrs ``ufunc_for`` allows)
    method: Method | None = None  # the forward, without ``out``, is this one method call on input 0
    unrolled = None               # staticmethod(xp, a, *scratch, **attrs): the forward as calls into ``scratch``

    @staticmethod
    def forward(xp, *inputs, out=None, **attrs):
        raise NotImplementedError

    @staticmethod
    def backward(ctx, xp, g):
        raise NotImplementedError

    @staticmethod
    def shape(*shapes, **attrs):
        return broadcast_shapes(*shapes)

    @classmethod
    def ufunc_for(cls, inputs, attrs) -> Ufunc | None:
        """The one call computing the forward for these ``inputs`` (each a dtype, or the Python number
        itself) and ``attrs``; ``None``: only the forward does."""
        spec = cls.ufunc
        return spec if spec is not None and spec.takes(attrs) else None

    @staticmethod
    def scratch(xp, shape, dtype, attrs):
        """The arrays ``unrolled`` computes in, made once for a result of this shape and dtype (its value
        lands in the first); ``None`` where ``unrolled`` does not apply."""
        return None

    @staticmethod
    def kinks(attrs) -> tuple:
        """Input values where the op is not differentiable (none by default)."""
        return ()

    @staticmethod
    def reads(needs) -> tuple:
        """Which saved inputs backward reads, given which inputs need a gradient (all, by default).

        Only those are version-checked: changing an input in place that backward never reads is fine.
        """
        return (True,) * len(needs)


# --------------------------------------------------------------------- PyTorch argument helpers (for Api.bind)
_NO_ATTRS: dict = {}


def _scaled(name, input, other, alpha):
    """``other * alpha``, refusing an ``alpha`` the result's dtype cannot take as PyTorch does."""
    if alpha is not None and not isinstance(alpha, (int, float, complex, np.number, np.bool_)):
        raise TypeError(f"{name}(): argument 'alpha' must be Number, not {type(alpha).__name__}")
    kinds = {getattr(getattr(v, "dtype", None), "kind", None) or ("b" if isinstance(v, bool) else
             "i" if isinstance(v, int) else "f") for v in (input, other)}
    if kinds <= set("iub") and isinstance(alpha, (float, np.floating)):
        raise RuntimeError("For integral input tensors, argument alpha must not be a floating point number.")
    if kinds != {"b"} and isinstance(alpha, (bool, np.bool_)):
        raise RuntimeError("Boolean alpha only supported for Boolean results.")
    if kinds == {"b"} and isinstance(alpha, (int, np.integer)):   # a bool result: alpha counts as a bool
        alpha = bool(alpha)
    return other if alpha == 1 else other * alpha


def _bind_clamp(input, min, max):
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    tensors = [b is not None and not isinstance(b, (int, float)) for b in (min, max)]
    if any(tensors):   # tensor bounds are inputs (they take part in promotion and get a gradient)
        if min is not None and max is not None and not all(tensors):
            raise TypeError("clamp() received an invalid combination of arguments: min and max must both be "
                            "Tensors or both be numbers")
        bounds = "both" if all(tensors) else "min" if tensors[0] else "max"
        return (input,) + tuple(b for b in (min, max) if b is not None), {"bounds": bounds}, OPS["clamp_tensor"]
    # The bounds take part in promotion as Python numbers do (an integer tensor clamped at 2.5 becomes the
    # default float dtype); they are attrs, not inputs, so the promotion has to happen here.
    kind = getattr(getattr(input, "dtype", None), "kind", "f")
    if kind == "b" and type(min) is bool and max is None:
        raise NotImplementedError('"clamp_min_scalar_cpu" not implemented for \'Bool\'')
    if kind in "iu":   # an int bound is converted to the input's dtype as PyTorch does (checked)
        from .dtypes import fit_int  # noqa: PLC0415 - ops.py imports nothing of the engine at load
        min, max = (fit_int(b, input.dtype, True) if type(b) is int else b for b in (min, max))
    if kind != "f" and any(isinstance(b, float) for b in (min, max)):
        from .dtypes import get_default_dtype  # noqa: PLC0415 - ops.py imports nothing of the engine at load
        input = input.to(get_default_dtype())
    return (input,), {"min": min, "max": max}


def _not_matrices(name, a, b):
    raise RuntimeError(f"{name}: both arguments must be 2-D matrices, got shapes {tuple(getattr(a, 'shape', ()))} "
                       f"and {tuple(getattr(b, 'shape', ()))}")


def _sizes(args) -> tuple:
    """``f(2, 3)`` or ``f((2, 3))`` or ``f([2, 3])`` as the tuple (2, 3)."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = args[0]
    for n in args:
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
            raise TypeError(f"sizes must be integers, got {type(n).__name__} {n!r}")
    return tuple(int(n) for n in args)


def tensor_arg(name: str, param: str, position: int, value):
    """``value`` when it is a Tensor (or array); PyTorch's TypeError naming the argument otherwise."""
    if not hasattr(value, "shape") or not hasattr(value, "dtype") or isinstance(value, np.generic):
        raise TypeError(f"{name}(): argument '{param}' (position {position}) must be Tensor, not "
                        f"{type(value).__name__}")
    return value


def _size_arg(name: str, param: str, position: int, size) -> tuple:
    """A size argument (an int, or a tuple/list of ints) as a tuple; PyTorch's TypeError otherwise."""
    sizes = (size,) if isinstance(size, (int, np.integer)) and not isinstance(size, bool) else size
    if not isinstance(sizes, (tuple, list)) or not all(
            isinstance(n, (int, np.integer)) and not isinstance(n, bool) for n in sizes):
        raise TypeError(f"{name}(): argument '{param}' (position {position}) must be tuple of ints, not "
                        f"{type(size).__name__}")
    return tuple(int(n) for n in sizes)


def _reshaped(input, shape) -> tuple:
    """``shape`` with a -1 resolved; PyTorch's RuntimeError when it cannot hold the input's elements."""
    size = int(np.prod(input.shape))
    if shape.count(-1) > 1:
        raise RuntimeError("only one dimension can be inferred")
    if any(n < -1 for n in shape):
        raise RuntimeError(f"invalid shape dimension {min(shape)}")
    known = int(np.prod([n for n in shape if n != -1]))
    if -1 in shape:
        if known == 0 or size % known:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {size}")
        return tuple(size // known if n == -1 else n for n in shape)
    if known != size:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {size}")
    return shape


def _expanded(input, sizes) -> tuple:
    shape = tuple(input.shape)
    if len(sizes) < len(shape):
        raise RuntimeError(f"expand: the number of sizes provided ({len(sizes)}) must be greater or equal to the "
                           f"number of dimensions in the tensor ({len(shape)})")
    lead = len(sizes) - len(shape)
    target = tuple(shape[i - lead] if n == -1 and i >= lead else n for i, n in enumerate(sizes))
    if -1 in target:
        raise RuntimeError(f"The expanded size of the tensor (-1) isn't allowed in a leading, non-existing dimension "
                           f"{target.index(-1)}")
    for i, n in reversed(list(enumerate(shape))):   # PyTorch names the last mismatching dimension
        if n != 1 and target[i + lead] != n:
            raise RuntimeError(f"The expanded size of the tensor ({target[i + lead]}) must match the existing size "
                               f"({n}) at non-singleton dimension {i + lead}.  Target sizes: {list(sizes)}.  "
                               f"Tensor sizes: {list(shape)}")
    return target


def _flattened(shape, start_dim, end_dim) -> tuple:
    if len(shape) == 0:
        return (1,)
    start, end = wrap_dim(start_dim, len(shape)), wrap_dim(end_dim, len(shape))
    if start > end:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    return tuple(shape[:start]) + (int(np.prod(shape[start:end + 1])),) + tuple(shape[end + 1:])


def _squeezed(shape, dim) -> tuple:
    if dim is None:
        return tuple(n for n in shape if n != 1)
    dims = {wrap_dim(d, len(shape)) for d in (dim if isinstance(dim, (tuple, list)) else (dim,))}
    return tuple(n for i, n in enumerate(shape) if not (i in dims and n == 1))


def _unsqueezed(shape, dim) -> tuple:
    axis = wrap_dim(dim, len(shape) + 1)
    return tuple(shape[:axis]) + (1,) + tuple(shape[axis:])


def _swapped(ndim, dim0, dim1) -> tuple:
    axes = list(range(ndim))
    i, j = wrap_dim(dim0, ndim), wrap_dim(dim1, ndim)
    if ndim:
        axes[i], axes[j] = axes[j], axes[i]
    return tuple(axes)


def _permuted(ndim, dims) -> tuple:
    if len(dims) != ndim:
        raise RuntimeError(f"permute(sparse_coo): number of dimensions in the tensor input does not match the "
                           f"length of the desired ordering of dimensions i.e. input.dim() = {ndim} is not equal "
                           f"to len(dims) = {len(dims)}")
    axes = tuple(wrap_dim(d, ndim) for d in dims)
    if len(set(axes)) != ndim:
        raise RuntimeError("permute(): duplicate dims are not allowed.")
    return axes


def _t_axes(ndim) -> tuple:
    if ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {ndim}D")
    return tuple(reversed(range(ndim)))


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
    ufunc = Ufunc("add")
    saves_inputs = False
    cases = BINARY_CASES
    operator = "add"
    api = (Api("add", lambda input, other, alpha=1: ((input, _scaled("add", input, other, alpha)), {}), inplace=True,
               number_input=True),)

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
    ufunc = Ufunc("subtract")
    saves_inputs = False
    cases = BINARY_CASES
    bool_error = (RuntimeError, "Subtraction, the `-` operator, with a bool tensor is not supported. If you are trying "
                                "to invert a mask, use the `~` or `logical_not()` operator instead.", "any")
    operator = "sub"
    api = (Api("sub", lambda input, other, alpha=1: ((input, _scaled("sub", input, other, alpha)), {}), inplace=True,
               number_input=True),
           Api("subtract", lambda input, other, alpha=1: ((input, _scaled("subtract", input, other, alpha)), {}),
               inplace=True, number_input=True))

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
    ufunc = Ufunc("multiply")
    cases = BINARY_CASES
    reads = staticmethod(lambda needs: (needs[1], needs[0]))
    operator = "mul"
    api = (Api("mul", inplace=True, number_input=True), Api("multiply", inplace=True, number_input=True))

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
    ufunc = Ufunc("true_divide")
    cases = BINARY_CASES

    @classmethod
    def ufunc_for(cls, inputs, attrs):
        """``true_divide``, except for a Python number divided by a tensor (reciprocal, then the product)."""
        return None if type(inputs[0]) in (int, float, bool) else super().ufunc_for(inputs, attrs)
    reads = staticmethod(lambda needs: (needs[1], True))  # as PyTorch: a only for b's gradient, never a / b
    domain = "nonzero"
    operator = "truediv"
    api = (Api("div", inplace=True, number_input=True), Api("divide", inplace=True, number_input=True),
           Api("true_divide", inplace=True, number_input=True))
    dtype_rule = "float"
    quiet = True

    @staticmethod
    def forward(xp, a, b, out=None):
        if type(a) in (int, float, bool):   # PyTorch's number / t is t.reciprocal() * number (its __rtruediv__)
            return xp.multiply(xp.true_divide(1.0, b), a, out=out)
        return xp.true_divide(a, b, out=out)

    @staticmethod
    def backward(ctx, xp, g):
        a, b = ctx.inputs
        need_a, need_b = ctx.needs_input_grad
        if type(a) in (int, float, bool):   # reciprocal's backward, -g * r * r, scaled by the number
            r = 1.0 / b
            return None, (-(g * a) * (r * r) if need_b else None)
        # as PyTorch, -g*(a/b/b), not -g*a/(b*b): b*b under/overflows long before a/b does (b = 1e-300 or 1e300)
        return (g / b if need_a else None), (-g * (a / b / b) if need_b else None)


_BOOL_SUB_ERROR = ("Subtraction, the `-` operator, with a bool tensor is not supported. If you are trying to "
                   "invert a mask, use the `~` or `logical_not()` operator instead.")


def _integer(value) -> bool:
    """A Python int or an integer/bool array (not a Python bool: ``x ** True`` keeps its own rules)."""
    return type(value) is int or getattr(getattr(value, "dtype", None), "kind", "f") in "iub"


def _integer_power(xp, a, b, out=None):
    """PyTorch's integer power: a negative Python exponent is refused; a negative exponent in a tensor
    gives 0, or 1 / -1 for a base of 1 / -1 (numpy refuses both)."""
    if type(b) is int:
        if b < 0:
            raise OperandError("Integers to negative integer powers are not allowed.")
        return xp.power(a, b, out=out)
    negative = xp.less(b, 0)
    if not xp.any(negative):
        return xp.power(a, b, out=out)
    result = xp.power(a, xp.where(negative, 0, b))
    odd = xp.equal(xp.remainder(b, 2), 1)
    small = xp.where(xp.equal(a, 1), 1, xp.where(xp.equal(a, -1), xp.where(odd, -1, 1), 0))
    result = xp.where(negative, small, result).astype(result.dtype, copy=False)
    if out is None:
        return result
    xp.copyto(out, result, casting="unsafe")
    return out


@register
class Pow(Op):
    """a ** b; b is usually a Python number, but may be a tensor (then a must be positive)."""
    name = "pow"
    cases = ((((3, 4), 2.0), {}), (((3, 4), 3), {}), (((3, 4), 0.5), {}),
             (((3, 4), (4,)), {}), ((2.0, (3, 4)), {}))
    domain = "pos"
    operator = "pow"
    int_exponent = True
    api = (Api("pow", inplace=True, number_input=True),)
    # bool ** True stays bool in PyTorch (a Python exponent); a bool tensor exponent has no kernel
    bool_error = (NotImplementedError, '"pow" not implemented for \'Bool\'', "all, tensor exponent")

    @staticmethod
    def forward(xp, a, b, out=None):
        if type(b) in (int, float) and b == 2:
            return _square(xp, a, out)  # the ufunc power has no fast path for 2 (2x slower)
        if type(b) is bool and getattr(a, "dtype", None) == np.bool_:
            return xp.logical_or(a, not b, out=out)  # bool ** True is a, ** False is all True (numpy: int8)
        if _integer(a) and _integer(b):
            return _integer_power(xp, a, b, out)
        with np.errstate(all="ignore"):  # 0 ** -1 is inf, as PyTorch, without numpy's warning
            if type(b) is float and b == -0.5:   # PyTorch's rsqrt: -0.0 ** -0.5 is -inf, -inf ** -0.5 NaN
                return xp.divide(1.0, xp.sqrt(a), out=out)
            return xp.power(a, b, out=out)

    @classmethod
    def ufunc_for(cls, inputs, attrs):
        """``power`` itself, quietly, where the forward takes none of its own paths (square, bool, integer
        power, rsqrt)."""
        base, exponent = inputs
        plain = exponent != np.bool_ if isinstance(exponent, np.dtype) else \
            type(exponent) in (int, float) and exponent not in (2, -0.5)
        integer = all(getattr(v, "kind", "i" if type(v) is int else "f") in "iub" for v in (base, exponent))
        return Ufunc("power", quiet=True) if plain and not integer and not attrs else None

    @staticmethod
    def backward(ctx, xp, g):
        a, b = ctx.inputs
        need_a, need_b = ctx.needs_input_grad
        ga = gb = None
        scalar_b = isinstance(b, (int, float))
        if need_a and (type(b) is bool or getattr(ctx, "input_dtypes", (None, None))[1] == np.bool_):
            raise RuntimeError(_BOOL_SUB_ERROR)   # PyTorch's backward computes b - 1 and fails the same way
        if need_a:
            # NOTE: b == 2 is the common case (squared error): 2*a*g, no a**1 pass.
            if scalar_b:   # a ** (b - 1) as the forward computes it (b - 1 = -0.5: rsqrt, as PyTorch)
                power = 1.0 / a ** 0.5 if b - 1 == -0.5 else a ** (b - 1)
                ga = g * (2.0 * a) if b == 2 else (g * 0.0 if b == 0 else g * (b * power))
            else:  # PyTorch: the gradient is 0 where the exponent is 0 (0 * 0**-1 would be nan)
                ga = xp.where(xp.equal(b, 0), 0.0, g * (b * a ** (b - 1)))
        if need_b:  # rare (a tensor exponent): recompute a ** b rather than keep every output alive
            # PyTorch masks a == 0 with b >= 0 to 0 (log 0 = -inf times 0**b)
            gb = g * (a ** b) * xp.log(a)
            gb = xp.where(xp.equal(a, 0), xp.where(xp.greater_equal(b, 0), 0.0, gb), gb)
        return ga, gb


@register
class Square(Op):
    """a * a; the static simplifier rewrites ``a ** 2`` to it."""
    name = "square"
    ufunc = Ufunc("square")
    arity = 1
    cases = UNARY_CASES

    @classmethod
    def ufunc_for(cls, inputs, attrs):
        """``square``, except for bool (the forward squares it as int64)."""
        return None if inputs[0] == np.bool_ else super().ufunc_for(inputs, attrs)
    api = (Api("square", inplace=True),)

    @staticmethod
    def forward(xp, a, out=None):
        return _square(xp, a, out)

    @staticmethod
    def backward(ctx, xp, g):
        return (g * (2.0 * ctx.inputs[0]),)


def _square(xp, a, out=None):
    """a * a; a bool squares to int64, as PyTorch (numpy: int8), so a bool ``out`` is refused naming Long."""
    if getattr(a, "dtype", None) == np.bool_:
        a = a.astype(np.int64)
    return xp.square(a, out=out)


@register
class Neg(Op):
    """-a."""
    name = "neg"
    ufunc = Ufunc("negative")
    arity = 1
    saves_inputs = False
    cases = UNARY_CASES
    operator = "neg"
    api = (Api("neg", inplace=True), Api("negative", inplace=True))
    bool_error = (RuntimeError, "Negation, the `-` operator, on a bool tensor is not supported. If you are trying to "
                  "invert a mask, use the `~` or `logical_not()` operator instead.", "all")

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
    ufunc = Ufunc("exp")
    arity = 1
    api = (Api("exp", inplace=True),)
    dtype_rule = "float"
    quiet = True  # overflow to inf, as PyTorch, without numpy's warning
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
    ufunc = Ufunc("log")
    arity = 1
    api = (Api("log", inplace=True),)
    dtype_rule = "float"
    quiet = True
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
    ufunc = Ufunc("tanh")
    arity = 1
    api = (Api("tanh", inplace=True),)
    dtype_rule = "float"
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
    api = (Api("sigmoid", inplace=True),)
    dtype_rule = "float"
    saves_inputs = False
    saves_output = True
    cases = UNARY_CASES

    @staticmethod
    def forward(xp, a, out=None):
        # PyTorch's form: 1/(1+e) for a >= 0 and e/(1+e) below, with e = exp(-|a|) in (0, 1]: it never
        # overflows and keeps full relative precision for a << 0 (the tanh form rounds 0.5 + 0.5*tanh to 0)
        dtype = np.result_type(a.dtype, np.float16)
        e = xp.exp(-xp.abs(astype(xp, a, dtype)))
        numerator = xp.where(xp.greater_equal(a, 0), 1.0, e)
        if out is None:  # an array even for 0-d input (numpy would hand back a scalar)
            out = xp.empty_like(a, dtype=dtype)
        return xp.true_divide(numerator, xp.add(e, 1.0), out=out)

    @staticmethod
    def backward(ctx, xp, g):
        y = ctx.output
        return (g * (y * (1.0 - y)),)


@register
class Relu(Op):
    """max(a, 0); the gradient at a == 0 is 0, as in PyTorch's relu."""
    name = "relu"
    ufunc = Ufunc("maximum", lead=(0,))
    arity = 1
    saves_inputs = False
    saves_output = True   # as PyTorch's threshold_backward(grad, result, 0): changing the input later is fine
    cases = UNARY_CASES
    api = (Api("relu", inplace=True),)
    dtype_rule = "keep"
    bool_error = (RuntimeError, "Boolean inputs not supported for relu", "all")

    @staticmethod
    def kinks(attrs):
        return (0.0,)

    @staticmethod
    def forward(xp, a, out=None):
        # max(0, a), not max(a, 0): on a tie numpy returns the second argument, so relu(-0.0) is -0.0 (PyTorch)
        return xp.maximum(0, a, out=out)

    @staticmethod
    def backward(ctx, xp, g):
        # PyTorch's threshold_backward: 0 where the output is <= 0, g elsewhere (a NaN input passes g on)
        return (xp.where(xp.less_equal(ctx.output, 0), 0, g),)


@register
class Clamp(Op):
    """Clip a to [min, max]; the gradient passes where min <= a <= max (ties included), as torch.clamp."""
    name = "clamp"
    arity = 1
    cases = ((((3, 4),), {"min": 0.0}), (((3, 4),), {"max": 0.1}), (((3, 4),), {"min": -0.5, "max": 0.5}))
    api = (Api("clamp", lambda input, min=None, max=None: _bind_clamp(input, min, max), inplace=True),
           Api("clip", lambda input, min=None, max=None: _bind_clamp(input, min, max), inplace=True))

    @staticmethod
    def kinks(attrs):
        return tuple(v for v in (attrs.get("min"), attrs.get("max")) if v is not None)

    @staticmethod
    def forward(xp, a, out=None, min=None, max=None):
        # the bound first: on a tie numpy returns the second argument, so clamp(-0.0, min=0) is -0.0 (PyTorch)
        if max is None:
            return xp.maximum(min, a, out=out)
        if min is None:
            return xp.minimum(max, a, out=out)
        return xp.clip(a, min, max, out=out)

    @classmethod
    def ufunc_for(cls, inputs, attrs):
        """With one bound, the forward's ``maximum``/``minimum`` of it."""
        low, high = attrs.get("min"), attrs.get("max")
        if (low is None) == (high is None) or set(attrs) - {"min", "max"}:
            return None
        if high is None:
            return Ufunc("maximum", lead=(low,), ignored=("min", "max"))
        return Ufunc("minimum", lead=(high,), ignored=("min", "max"))

    @staticmethod
    def backward(ctx, xp, g):
        a = ctx.inputs[0]
        low, high = ctx.attrs.get("min"), ctx.attrs.get("max")
        if low is not None:  # g * mask, as Relu
            g = g * xp.greater_equal(a, low)
        if high is not None:
            g = g * xp.less_equal(a, high)
        return (g,)


@register
class ClampTensor(Op):
    """Clip a to tensor bounds: ``bounds`` says which follow a ("min", "max" or "both": a, min, max).

    As torch.clamp with Tensor bounds: max(a, min) then min(., max), broadcasting all three.  a's
    gradient passes where min <= a <= max; min's where a < min (and min < max), max's where a > max
    or max < min (then max wins everywhere).
    """
    name = "clamp_tensor"
    arity = None
    cases = ((((3, 4), (3, 4)), {"bounds": "min"}), (((3, 4), (4,)), {"bounds": "max"}),
             (((3, 4), (3, 4), (3, 4)), {"bounds": "both"}))
    ties = True

    @staticmethod
    def forward(xp, a, *limits, out=None, bounds="both"):
        if bounds == "both":   # min(max(a, min), max): where min > max the result is max, as PyTorch
            return xp.minimum(xp.maximum(a, limits[0]), limits[1], out=out)
        return (xp.maximum if bounds == "min" else xp.minimum)(a, limits[0], out=out)

    @staticmethod
    def backward(ctx, xp, g):
        which = ctx.attrs["bounds"]
        a = ctx.inputs[0]
        if which == "min":
            low = ctx.inputs[1]
            return g * xp.greater_equal(a, low), xp.where(xp.less(a, low), g, 0.0)
        if which == "max":
            high = ctx.inputs[1]
            return g * xp.less_equal(a, high), xp.where(xp.greater(a, high), g, 0.0)
        low, high = ctx.inputs[1:]
        ga = g * xp.greater_equal(a, low) * xp.less_equal(a, high)
        g_low = xp.where(xp.less(a, low), xp.where(xp.less(low, high), g, 0.0), 0.0)
        g_high = xp.where(xp.greater(a, high), g, xp.where(xp.less(high, low), g, 0.0))
        return ga, g_low, g_high


def _tie_grads(xp, g, a, b, a_wins, b_wins, tie):
    """Route g to the winner of max/min; at a tie, ``split`` halves it (PyTorch) and ``first`` gives it to a (TF).

    Written by who *loses*, as PyTorch and TF do: where the result is NaN neither input loses, so both
    get g (PyTorch); TF's ``first`` gives a the gradient where a wins or ties and b the rest.
    """
    if tie == "first":
        a_keeps = a_wins  # here the non-strict comparison (a >= b for max), as TF's mask
        return xp.where(a_keeps, g, 0), xp.where(a_keeps, 0, g)
    shared = xp.where(xp.equal(a, b), g * 0.5, g)
    return xp.where(b_wins, 0, shared), xp.where(a_wins, 0, shared)


class _Extremum(Op):
    cases = BINARY_CASES + ((((3, 4), (3, 4)), {"tie": "first"}),)
    ties = True

    @classmethod
    def backward(cls, ctx, xp, g):
        a, b = ctx.inputs
        tie = ctx.attrs.get("tie", "split")
        a_wins, b_wins = cls.winners(xp, a, b) if tie == "split" else (cls.a_keeps(xp, a, b), None)
        return _tie_grads(xp, g, a, b, a_wins, b_wins, tie)


@register
class Maximum(_Extremum):
    """Elementwise max; ``tie="split"`` (PyTorch, default) or ``"first"`` (TensorFlow)."""
    name = "maximum"
    ufunc = Ufunc("maximum", ignored=("tie",))
    api = (Api("maximum", tensor_other=True),)

    @staticmethod
    def forward(xp, a, b, out=None, tie="split"):
        return xp.maximum(a, b, out=out)

    @staticmethod
    def winners(xp, a, b):
        return xp.greater(a, b), xp.less(a, b)

    @staticmethod
    def a_keeps(xp, a, b):
        return xp.greater_equal(a, b)


@register
class Minimum(_Extremum):
    """Elementwise min; ties as :class:`Maximum`."""
    name = "minimum"
    ufunc = Ufunc("minimum", ignored=("tie",))
    api = (Api("minimum", tensor_other=True),)

    @staticmethod
    def forward(xp, a, b, out=None, tie="split"):
        return xp.minimum(a, b, out=out)

    @staticmethod
    def winners(xp, a, b):
        return xp.less(a, b), xp.greater(a, b)

    @staticmethod
    def a_keeps(xp, a, b):
        return xp.less_equal(a, b)



class _NanIgnoring(Op):
    """fmax/fmin: a NaN loses to a number; the gradient goes to a where a wins or ties or b is NaN, as PyTorch."""
    cases = BINARY_CASES
    ties = True

    @classmethod
    def backward(cls, ctx, xp, g):
        a, b = ctx.inputs
        a_keeps = xp.where(xp.equal(b, b), cls.a_keeps(xp, a, b), True)  # b != b: b is NaN
        return xp.where(a_keeps, g, 0), xp.where(a_keeps, 0, g)


@register
class Fmax(_NanIgnoring):
    """Elementwise max that ignores NaN (NaN only where both are NaN), as torch.fmax."""
    name = "fmax"
    api = (Api("fmax", tensor_other=True),)

    @staticmethod
    def forward(xp, a, b, out=None):
        return xp.fmax(a, b, out=out)

    @staticmethod
    def a_keeps(xp, a, b):
        return xp.greater_equal(a, b)


@register
class Fmin(_NanIgnoring):
    """Elementwise min that ignores NaN, as torch.fmin."""
    name = "fmin"
    api = (Api("fmin", tensor_other=True),)

    @staticmethod
    def forward(xp, a, b, out=None):
        return xp.fmin(a, b, out=out)

    @staticmethod
    def a_keeps(xp, a, b):
        return xp.less_equal(a, b)


@register
class Where(Op):
    """cond ? a : b (cond is a bool array and gets no gradient)."""
    name = "where"
    arity = 3
    promote_from = 1
    checks_ints = True
    reads = staticmethod(lambda needs: (True, False, False))  # only the condition, as PyTorch
    api = (Api("where", lambda condition, input, other: ((condition, input, other), {}), method=False),
           Api("where", lambda input, condition, other: ((condition, input, other), {}), function=False))
    cases = ((("bool(3, 4)", (3, 4), (3, 4)), {}), (("bool(3, 4)", (4,), 0.0), {}))

    @staticmethod
    def forward(xp, cond, a, b, out=None):
        if cond.dtype != np.bool_:
            raise OperandTypeError(f"where expected condition to be a boolean tensor, but got a tensor with dtype "
                            f"{cond.dtype}")
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
def _comparison(op_name: str, ufunc: str, short: str, doc: str) -> type[Op]:
    def forward(xp, a, b, out=None):
        return getattr(xp, ufunc)(a, b, out=out)

    cls = type(op_name.title().replace("_", ""), (Op,), {
        "__doc__": doc, "name": op_name, "differentiable": False, "saves_inputs": False,
        "result_dtype": np.bool_, "dtype_rule": "bool", "forward": staticmethod(forward), "ufunc": Ufunc(ufunc),
        "backward": staticmethod(lambda ctx, xp, g: (None, None)), "operator": short,
        # torch.equal is not the elementwise eq: one Python bool (functional.equal); the op keeps TF's name
        "api": (Api(short),) if op_name == "equal" else (Api(short), Api(op_name)),
    })
    return register(cls)


Greater = _comparison("greater", "greater", "gt", "a > b, a bool array.")
GreaterEqual = _comparison("greater_equal", "greater_equal", "ge", "a >= b, a bool array.")
Less = _comparison("less", "less", "lt", "a < b, a bool array.")
LessEqual = _comparison("less_equal", "less_equal", "le", "a <= b, a bool array.")
Equal = _comparison("equal", "equal", "eq", "a == b, a bool array.")
NotEqual = _comparison("not_equal", "not_equal", "ne", "a != b, a bool array.")


# --------------------------------------------------------------------- linear algebra, reductions, shapes
def _as_matrix_shapes(a_shape, b_shape):
    return (1,) + tuple(a_shape) if len(a_shape) == 1 else tuple(a_shape), \
        tuple(b_shape) + (1,) if len(b_shape) == 1 else tuple(b_shape)


@register
class MatMul(Op):
    """a @ b with numpy's matmul semantics (1-D operands, batch broadcasting)."""
    name = "matmul"
    ufunc = Ufunc("matmul")  # the forward only adds a message for shapes a plan has checked
    reads = staticmethod(lambda needs: (needs[1], needs[0]))
    operator = "matmul"
    dtype_rule = "same"
    api = (Api("matmul"), Api("mm", lambda input, mat2: ((input, tensor_arg("mm", "mat2", 2, mat2)), _NO_ATTRS)
                              if input.ndim == 2 and mat2.ndim == 2 else _not_matrices("mm", input, mat2)))
    cases = (((((4, 3), (3, 5)), {})), ((((2, 4, 3), (3, 5)), {})), ((((3,), (3, 5)), {})),
             ((((4, 3), (3,)), {})))

    @staticmethod
    def forward(xp, a, b, out=None):
        try:
            return xp.matmul(a, b, out=out)
        except ValueError:
            for position, value in enumerate((a, b)):   # PyTorch refuses a Python number: there is no 0-d matmul
                if not hasattr(value, "shape"):
                    tensor_arg("matmul", ("input", "other")[position], position, value)
            MatMul.shape(a.shape, b.shape)  # raises the message naming both shapes
            raise

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
        if ga is not None and len(a_shape) == 1:   # batch dims of the other operand are summed first
            ga = xp.reshape(unbroadcast(xp, ga, (1,) + a_shape), a_shape)
        if gb is not None and len(b_shape) == 1:
            gb = xp.reshape(unbroadcast(xp, gb, b_shape + (1,)), b_shape)
        return ga, gb

    @staticmethod
    def shape(a_shape, b_shape):
        if a_shape is None or b_shape is None or len(a_shape) == 0 or len(b_shape) == 0:
            raise OperandError(f"matmul needs at least 1-D operands, got shapes {a_shape} and {b_shape}")
        ma, mb = _as_matrix_shapes(a_shape, b_shape)
        if ma[-1] != mb[-2] and ma[-1] is not None and mb[-2] is not None:
            raise OperandError(f"mat1 and mat2 shapes cannot be multiplied ({'x'.join(map(str, ma[-2:]))} and "
                             f"{'x'.join(map(str, mb[-2:]))})")
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
    ufunc = Ufunc("add.reduce", passed=(("axis", None), ("keepdims", False)))
    arity = 1
    saves_inputs = False
    dtype_rule = "keep"   # numpy sums bool and int to int64, as PyTorch
    api = (Api("sum", _bind_reduce),)
    cases = ((((3, 4),), {}), (((3, 4),), {"axis": 0}), (((2, 3, 4),), {"axis": (0, 2), "keepdims": True}),
             (((3, 4),), {"axis": -1}))

    @staticmethod
    def forward(xp, a, out=None, axis=None, keepdims=False):
        if out is None and a.dtype.kind in "bu":   # PyTorch sums bool and unsigned (uint8) to int64
            return xp.sum(astype(xp, a, np.int64), axis=axis, keepdims=keepdims)
        return xp.sum(a, axis=axis, keepdims=keepdims, out=out)

    @classmethod
    def ufunc_for(cls, inputs, attrs):
        """``add.reduce`` but for bool and unsigned inputs (the forward sums those in int64)."""
        kind = inputs[0].kind if isinstance(inputs[0], np.dtype) else "f"
        return None if kind in "bu" else super().ufunc_for(inputs, attrs)

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
    dtype_rule = "keep"
    view = True
    api = (Api("broadcast_to", lambda input, size: ((input,), {"shape": _expanded(input, _size_arg(
               "broadcast_to", "size", 2, size))})),
           Api("expand", lambda input, *sizes: ((input,), {"shape": _expanded(input, _sizes(sizes))}), function=False),
           Api("expand_as", lambda input, other: ((input,), {"shape": _expanded(input, tuple(
               tensor_arg("expand_as", "other", 1, other).shape))}), function=False))
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
            raise OperandError(f"broadcast_to: cannot broadcast {tuple(a_shape or ())} to {tuple(shape)}")
        return tuple(shape)


@register
class Reshape(Op):
    """A view of a with another shape of the same size."""
    name = "reshape"
    arity = 1
    saves_inputs = False
    dtype_rule = "keep"
    view = True
    api = (Api("reshape", lambda input, *shape: ((input,), {"shape": _reshaped(input, _sizes(shape))})),
           Api("view", lambda input, *shape: ((input,), {"shape": _reshaped(input, _sizes(shape)), "strict": True}),
               function=False),
           Api("view_as", lambda input, other: ((input,), {"shape": _reshaped(input, tuple(
               tensor_arg("view_as", "other", 1, other).shape)), "strict": True}), function=False),
           Api("flatten", lambda input, start_dim=0, end_dim=-1: ((input,), {"shape": _flattened(
               input.shape, start_dim, end_dim)})),
           Api("squeeze", lambda input, dim=None: ((input,), {"shape": _squeezed(input.shape, dim)})),
           Api("unsqueeze", lambda input, dim: ((input,), {"shape": _unsqueezed(input.shape, dim)})))
    cases = ((((3, 4),), {"shape": (4, 3)}), (((3, 4),), {"shape": (12,)}), (((2, 6),), {"shape": (3, -1)}))

    @staticmethod
    def forward(xp, a, shape, strict=False):
        out = xp.reshape(a, shape)
        if strict and not xp.may_share_memory(out, a) and out.size:
            # view() never copies in PyTorch; numpy's reshape would, and writes through it would be lost
            raise RuntimeError("view size is not compatible with input tensor's size and stride (at least one "
                               "dimension spans across two contiguous subspaces). Use .reshape(...) instead.")
        return out

    @staticmethod
    def backward(ctx, xp, g):
        return (xp.reshape(g, ctx.input_shapes[0]),)

    @staticmethod
    def shape(a_shape, shape, strict=False):
        shape = tuple(shape)
        size = int(np.prod(a_shape))
        if shape.count(-1) == 1:
            known = int(np.prod([n for n in shape if n != -1]))
            if known == 0 or size % known:
                raise OperandError(f"reshape: cannot reshape {tuple(a_shape)} into {shape}")
            shape = tuple(size // known if n == -1 else n for n in shape)
        if int(np.prod(shape)) != size:
            raise OperandError(f"reshape: cannot reshape {tuple(a_shape)} (size {size}) into {shape}")
        return shape


@register
class Transpose(Op):
    """Permute axes (``axes=None`` reverses them, as numpy)."""
    name = "transpose"
    method = Method("transpose", (("axes", None),))
    arity = 1
    saves_inputs = False
    dtype_rule = "keep"
    view = True
    api = (Api("transpose", lambda input, dim0, dim1: ((input,), {"axes": _swapped(input.ndim, dim0, dim1)})),
           Api("swapaxes", lambda input, axis0, axis1: ((input,), {"axes": _swapped(input.ndim, axis0, axis1)})),
           Api("permute", lambda input, *dims: ((input,), {"axes": _permuted(input.ndim, _sizes(dims))})),
           Api("t", lambda input: ((input,), {"axes": _t_axes(input.ndim)})))
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
        n = len(a_shape)
        if len(axes) != n or any(not -max(n, 1) <= a < max(n, 1) for a in axes) or \
                sorted(a % max(n, 1) for a in axes) != list(range(n)):
            raise OperandError(f"transpose: axes {axes} do not permute a {len(a_shape)}-D shape {tuple(a_shape)}")
        return tuple(a_shape[a] for a in axes)


@register
class Cast(Op):
    """a converted to ``dtype``; the gradient is converted back."""
    name = "cast"
    ufunc = Ufunc("copyto", ignored=("dtype",), keywords=(("casting", "unsafe"),), out_first=True)
    arity = 1
    saves_inputs = False
    cases = ((((3, 4),), {"dtype": "float64"}),)  # a float32 round trip would defeat finite differences

    result_dtype = "attr"   # the output dtype is attrs["dtype"]
    dtype_rule = "attr"

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
    dtype_rule = "keep"
    view = True
    cases = ((((4, 5),), {"key": (slice(1, 3), 2)}), (((4, 5),), {"key": "mask"}),
             (((6,),), {"key": "ints"}))

    @staticmethod
    def forward(xp, a, key):
        if type(key) is int or type(key) is tuple and basic_key(key) and not any(k is Ellipsis for k in key):
            # a trailing ... keeps x[0] of a 1-D array a 0-d view (numpy would return a scalar copy)
            return a[(key, Ellipsis) if type(key) is int else key + (Ellipsis,)]
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


# --------------------------------------------------------------------- more elementwise functions
@register
class Sin(Op):
    """Sine."""
    name = "sin"
    arity = 1
    cases = UNARY_CASES
    api = (Api("sin", inplace=True),)
    dtype_rule = "float"

    @staticmethod
    def forward(xp, a, out=None):
        return xp.sin(a, out=out)

    @staticmethod
    def backward(ctx, xp, g):
        return (g * xp.cos(ctx.inputs[0]),)


@register
class Cos(Op):
    """Cosine."""
    name = "cos"
    arity = 1
    cases = UNARY_CASES
    api = (Api("cos", inplace=True),)
    dtype_rule = "float"

    @staticmethod
    def forward(xp, a, out=None):
        return xp.cos(a, out=out)

    @staticmethod
    def backward(ctx, xp, g):
        return (-(g * xp.sin(ctx.inputs[0])),)


@register
class Sqrt(Op):
    """Square root (nan below 0, as PyTorch); the gradient at 0 is inf."""
    name = "sqrt"
    ufunc = Ufunc("sqrt")
    arity = 1
    saves_inputs = False
    saves_output = True
    cases = UNARY_CASES
    domain = "pos"
    api = (Api("sqrt", inplace=True),)
    dtype_rule = "float"
    quiet = True

    @staticmethod
    def forward(xp, a, out=None):
        return xp.sqrt(a, out=out)

    @staticmethod
    def backward(ctx, xp, g):
        return (g / (2.0 * ctx.output),)


@register
class Abs(Op):
    """|a|; the gradient at 0 is 0, as PyTorch's (sign(0) = 0)."""
    name = "abs"
    arity = 1
    cases = UNARY_CASES
    api = (Api("abs", inplace=True), Api("absolute", inplace=True))
    dtype_rule = "keep"
    bool_error = (NotImplementedError, '"abs_cpu" not implemented for \'Bool\'', "all")

    @staticmethod
    def kinks(attrs):
        return (0.0,)

    @staticmethod
    def forward(xp, a, out=None):
        return xp.absolute(a, out=out)

    @staticmethod
    def backward(ctx, xp, g):
        a = ctx.inputs[0]
        return (xp.where(xp.greater(a, 0), g, 0.0) - xp.where(xp.less(a, 0), g, 0.0),)


@register
class FloorDivide(Op):
    """a // b rounded toward -inf (PyTorch's floor_divide); PyTorch defines no derivative for it."""
    name = "floor_divide"
    saves_inputs = False
    differentiable = False
    no_derivative = True
    operator = "floordiv"
    bool_error = (NotImplementedError, '"div_floor_cpu" not implemented for \'Bool\'', "all")
    api = (Api("floor_divide", inplace=True, number_input=True),)
    quiet = True

    @staticmethod
    def forward(xp, a, b, out=None):
        _check_integer_divisor(xp, a, b)
        return xp.floor_divide(a, b, out=out)

    @staticmethod
    def backward(ctx, xp, g):
        raise RuntimeError("derivative for aten::floor_divide is not implemented")


def _check_integer_divisor(xp, a, b):
    """Integer division by zero raises in PyTorch (numpy would return 0 with a warning)."""
    kind = getattr(getattr(b, "dtype", None), "kind", "i" if isinstance(b, int) else "f")
    if getattr(a, "size", 1) == 0 or getattr(b, "size", 1) == 0:   # nothing is divided: PyTorch raises nothing
        return
    if kind in "iub" and getattr(getattr(a, "dtype", None), "kind", "i") in "iub" and not xp.all(b != 0):
        raise RuntimeError("ZeroDivisionError")


@register
class Remainder(Op):
    """a % b with the sign of b (Python's and PyTorch's remainder)."""
    name = "remainder"
    cases = ((((3, 4), (3, 4)), {}), (((3, 4), 0.7), {}))
    domain = "nonzero"
    operator = "mod"
    bool_error = (NotImplementedError, '"remainder_cpu" not implemented for \'Bool\'', "all")
    api = (Api("remainder", inplace=True, number_input=True),)
    quiet = True

    @staticmethod
    def forward(xp, a, b, out=None):
        _check_integer_divisor(xp, a, b)
        if getattr(a, "dtype", getattr(b, "dtype", None)).kind != "f":
            return xp.remainder(a, b, out=out)
        # PyTorch: r = fmod(a, b), plus b where r is non-zero and its sign differs from b's (numpy's
        # remainder gives a zero the divisor's sign; PyTorch's keeps the dividend's)
        r = xp.asarray(xp.fmod(a, b, out=out))
        shift = xp.logical_and(xp.not_equal(r, 0), xp.not_equal(xp.less(r, 0), xp.less(b, 0)))
        return xp.add(r, b, out=r, where=shift)

    @staticmethod
    def backward(ctx, xp, g):
        a, b = ctx.inputs
        need_a, need_b = ctx.needs_input_grad
        return (g if need_a else None), (-(g * xp.floor_divide(a, b)) if need_b else None)

    @staticmethod
    def kinks(attrs):   # jumps where a / b is an integer; random samples avoid them
        return ()


# --------------------------------------------------------------------- reductions along dims
def _kept(g, shape, axis, keepdims, xp):
    """``g`` with the reduced axes of ``shape`` put back as 1s (so it broadcasts against the input)."""
    if keepdims or not len(shape):
        return g
    kept = list(shape)
    for ax in _norm_axes(axis, len(shape)):
        kept[ax] = 1
    return xp.reshape(g, tuple(kept))


builtins_max = max  # Var's degrees of freedom never go below 0 (0/0 is nan, as PyTorch)


def _count(shape, axis) -> int:
    return int(np.prod([shape[ax] for ax in _norm_axes(axis, len(shape))]))


def _reduced_shape(a_shape, axis=None, keepdims=False):
    axes = _norm_axes(axis, len(a_shape))
    if keepdims:
        return tuple(1 if i in axes else n for i, n in enumerate(a_shape))
    return tuple(n for i, n in enumerate(a_shape) if i not in axes)


def _bind_float_reduce(name):
    def bind(input, dim=None, keepdim=False, *, dtype=None):
        if dtype is None and input.dtype.kind not in "fc":
            raise RuntimeError(f"{name}(): could not infer output dtype. Input dtype must be either a floating "
                               f"point or complex dtype. Got: {torch_name(input.dtype)}")
        if dtype is not None:   # PyTorch casts the input first, then reduces in that dtype
            input = input.to(dtype)
        return (input,), {"axis": reduce_axes(dim, input.ndim), "keepdims": bool(keepdim)}
    return bind


@register
class Mean(Op):
    """The mean over ``axis`` (None: all); an empty reduction is nan, as PyTorch."""
    name = "mean"
    arity = 1
    saves_inputs = False
    cases = ((((3, 4),), {}), (((3, 4),), {"axis": 0}), (((2, 3, 4),), {"axis": (0, 2), "keepdims": True}))
    api = (Api("mean", _bind_float_reduce("mean")),)
    dtype_rule = "keep"
    quiet = True

    @staticmethod
    def forward(xp, a, out=None, axis=None, keepdims=False):
        total = xp.sum(a, axis=axis, keepdims=keepdims, out=out)
        return xp.true_divide(total, _count(a.shape, axis), out=total if out is not None else None)

    @staticmethod
    def backward(ctx, xp, g):
        shape = ctx.input_shapes[0]
        g = _kept(g, shape, ctx.attrs.get("axis"), ctx.attrs.get("keepdims", False), xp)
        return (xp.broadcast_to(g / _count(shape, ctx.attrs.get("axis")), shape),)

    shape = staticmethod(_reduced_shape)


def _bind_logsumexp(input, dim, keepdim=False):
    """``torch.logsumexp(input, dim, keepdim=False)``: ``dim`` is required, as PyTorch."""
    return (input,), {"axis": reduce_axes(dim, input.ndim) if input.ndim else None, "keepdims": bool(keepdim)}


@register
class Logsumexp(Op):
    """log(sum(exp(a))) over ``axis``, as PyTorch computes it: the maximum taken out first (an infinite
    maximum counts as 0), so all -inf gives -inf and an empty reduction -inf.  d/da = g * exp(a - result)."""
    name = "logsumexp"
    arity = 1
    saves_output = True
    cases = ((((3, 4),), {"axis": 1}), (((3, 4),), {"axis": 0, "keepdims": True}),
             (((2, 3, 4),), {"axis": (0, 2)}), (((5,),), {"axis": 0}))
    api = (Api("logsumexp", _bind_logsumexp),)
    dtype_rule = "float"
    quiet = True

    @staticmethod
    def forward(xp, a, axis=None, keepdims=False):
        if a.size == 0:
            return xp.log(xp.sum(xp.exp(a), axis=axis, keepdims=keepdims))
        top = xp.amax(a, axis=axis, keepdims=True)
        top = xp.where(xp.isinf(top), xp.zeros_like(top), top)
        total = xp.log(xp.sum(xp.exp(a - top), axis=axis, keepdims=True)) + top
        return total if keepdims else xp.reshape(total, _reduced_shape(a.shape, axis, False))

    @staticmethod
    def backward(ctx, xp, g):
        a, = ctx.inputs
        axis, keepdims = ctx.attrs.get("axis"), ctx.attrs.get("keepdims", False)
        shape = ctx.input_shapes[0]
        out = _kept(ctx.output, shape, axis, keepdims, xp)
        return (_kept(g, shape, axis, keepdims, xp) * xp.exp(a - out),)

    shape = staticmethod(_reduced_shape)


def _bind_norm(input, p="fro", dim=None, keepdim=False, dtype=None):
    """``torch.norm(input, p="fro", dim=None, keepdim=False)`` for the vector norms p=2 ("fro") and p=1."""
    if input.dtype.kind not in "fc":
        raise RuntimeError("linalg.vector_norm: Expected a floating point or complex tensor as input. Got "
                           f"{torch_name(input.dtype)}")
    if dtype is not None:
        raise NotImplementedError("norm: dtype= is not supported by this engine (cast the input with .to first)")
    if isinstance(p, bool) or p not in ("fro", 2, 1):
        raise NotImplementedError(f"norm: p={p!r} is not supported by this engine (p=2 or 'fro', and p=1, are)")
    return (input,), {"ord": 2 if p == "fro" else int(p), "axis": reduce_axes(dim, input.ndim) if input.ndim else None,
                      "keepdims": bool(keepdim)}


@register
class LinalgVectorNorm(Op):
    """The vector norm over ``axis`` (None: all): sqrt(sum(a * a)) for ``ord`` 2, sum(|a|) for ``ord`` 1.
    The gradient is PyTorch's: a / norm (0 where the norm is 0) for 2, sign(a) for 1."""
    name = "linalg_vector_norm"
    arity = 1
    saves_output = True
    cases = ((((3, 4),), {"ord": 2}), (((3, 4),), {"ord": 2, "axis": 1}),
             (((2, 3, 4),), {"ord": 2, "axis": (0, 2), "keepdims": True}), (((3, 4),), {"ord": 1, "axis": 0}))
    api = (Api("norm", _bind_norm),)
    dtype_rule = "keep"
    quiet = True

    @staticmethod
    def forward(xp, a, ord=2, axis=None, keepdims=False):
        if ord == 1:
            return xp.sum(xp.abs(a), axis=axis, keepdims=keepdims)
        return xp.sqrt(xp.sum(a * a, axis=axis, keepdims=keepdims))

    @staticmethod
    def backward(ctx, xp, g):
        a, = ctx.inputs
        shape, axis, keepdims = ctx.input_shapes[0], ctx.attrs.get("axis"), ctx.attrs.get("keepdims", False)
        g = _kept(g, shape, axis, keepdims, xp)
        if ctx.attrs.get("ord", 2) == 1:
            return (xp.where(xp.greater(a, 0), g, xp.where(xp.less(a, 0), -g, 0)),)
        norm = _kept(ctx.output, shape, axis, keepdims, xp)
        return (a * xp.where(xp.equal(norm, 0), 0, g / norm),)

    @staticmethod
    def shape(a_shape, ord=2, axis=None, keepdims=False):
        return _reduced_shape(a_shape, axis, keepdims)


def _bind_var(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """PyTorch's var/std signature: ``(dim, unbiased, keepdim)`` or ``(dim, keepdim=, correction=)``."""
    if isinstance(dim, bool):   # var(True): the old ``unbiased`` positional form
        dim, unbiased = None, dim
    if unbiased is not None and correction is not None:
        raise RuntimeError("var: cannot specify both unbiased and correction")
    (input,), attrs = _bind_float_reduce("var")(input, dim, keepdim)
    attrs["correction"] = correction if correction is not None else (1 if unbiased is None or unbiased else 0)
    return (input,), attrs


def _var_scale(n: int, correction) -> float:
    """d var / d a = scale * (a - mean): 2 / (n - correction), inf at 0 degrees of freedom (C's 2.0/0, as PyTorch)."""
    dof = n - correction
    return 2.0 / dof if dof else float("inf")


def _mean_for_variance(xp, a, axis, n):
    """The mean the deviations are taken from: ``sum / n`` refined once by the mean deviation from it, so
    equal entries give exactly their value (``sum / n`` alone can be an ulp off, and the variance of equal
    entries then comes out ~1e-32 instead of PyTorch's exact 0, with an O(1) gradient instead of 0)."""
    mean = xp.sum(a, axis=axis, keepdims=True) / n
    return mean + xp.sum(a - mean, axis=axis, keepdims=True) / n


def _variance(xp, a, axis, keepdims, correction):
    """The variance, accumulated in float64 as PyTorch's CPU kernel does (a float32 spread near 1e38
    squares past float32's range); written out rather than xp.var: numpy warns when n - correction <= 0,
    PyTorch returns nan/inf."""
    if a.dtype.kind == "f" and a.dtype.itemsize < 8:
        a = astype(xp, a, np.float64)
    n = _count(a.shape, axis)
    centred = a - _mean_for_variance(xp, a, axis, n) if n else a
    return xp.sum(centred * centred, axis=axis, keepdims=keepdims) / builtins_max(n - correction, 0)


@register
class Var(Op):
    """The variance over ``axis`` with ``correction`` (1: unbiased, PyTorch's default)."""
    name = "var"
    arity = 1
    cases = ((((3, 4),), {"correction": 1}), (((3, 4),), {"axis": 1, "correction": 0}),
             (((2, 3, 4),), {"axis": (0, 2), "keepdims": True, "correction": 1}))
    api = (Api("var", _bind_var),)
    dtype_rule = "keep"
    quiet = True

    @staticmethod
    def forward(xp, a, axis=None, keepdims=False, correction=1):
        return astype(xp, _variance(xp, a, axis, keepdims, correction), a.dtype)

    @staticmethod
    def backward(ctx, xp, g):
        a = ctx.inputs[0]
        shape, axis = ctx.input_shapes[0], ctx.attrs.get("axis")
        n = _count(shape, axis)
        mean = xp.sum(a, axis=axis, keepdims=True) / n   # the plain mean, as PyTorch's var_backward
        g = _kept(g, shape, axis, ctx.attrs.get("keepdims", False), xp)
        return (g * (_var_scale(n, ctx.attrs.get("correction", 1)) * (a - mean)),)

    shape = staticmethod(lambda a_shape, axis=None, keepdims=False, correction=1: _reduced_shape(a_shape, axis,
                                                                                                 keepdims))


@register
class Std(Op):
    """sqrt(var): the gradient is 0 where the deviation is 0, as PyTorch's std_backward (sqrt's would be nan)."""
    name = "std"
    arity = 1
    saves_output = True
    cases = ((((3, 4),), {"correction": 1}), (((3, 4),), {"axis": 1, "correction": 0}))
    api = (Api("std", _bind_var),)
    dtype_rule = "keep"
    quiet = True
    shape = Var.shape

    @staticmethod
    def forward(xp, a, axis=None, keepdims=False, correction=1):
        return astype(xp, xp.sqrt(_variance(xp, a, axis, keepdims, correction)), a.dtype)

    @staticmethod
    def backward(ctx, xp, g):
        y = ctx.output
        return Var.backward(ctx, xp, xp.where(xp.equal(y, 0), 0, g / (2.0 * y)))


class _Extreme(Op):
    """amax/amin: the gradient is shared evenly among tied extremes, as PyTorch's amax/amin and max()
    (``nan_shared``: max()/min(), whose NaN result shares its gradient among the NaNs)."""
    arity = 1
    saves_output = True
    ties = True
    dtype_rule = "keep"
    cases = ((((3, 4),), {}), (((3, 4),), {"axis": 1}), (((2, 3, 4),), {"axis": (0, 2), "keepdims": True}))

    @staticmethod
    def backward(ctx, xp, g):
        a, shape = ctx.inputs[0], ctx.input_shapes[0]
        axis, keepdims = ctx.attrs.get("axis"), ctx.attrs.get("keepdims", False)
        peak = _kept(ctx.output, shape, axis, keepdims, xp)
        if ctx.attrs.get("nan_shared"):
            # max()/min() of everything: a NaN result is shared among the NaNs (PyTorch's
            # evenly_distribute_backward); amax/amin find no element equal to NaN and give NaN, as PyTorch
            nan_tie = xp.where(xp.equal(a, a), 0.0, xp.where(xp.equal(peak, peak), 0.0, 1.0))  # x != x: NaN
            hit = astype(xp, xp.where(xp.equal(a, peak), 1.0, nan_tie), g.dtype)
        else:
            hit = astype(xp, xp.equal(a, peak), g.dtype)
        count = xp.sum(hit, axis=axis, keepdims=True)
        return (_kept(g, shape, axis, keepdims, xp) * hit / count,)

    shape = staticmethod(_reduced_shape)


def _nonempty_axes(name: str, shape, axes) -> None:
    """PyTorch's IndexError for a max/min/argmax over an axis of no elements (there is no identity)."""
    for axis in (axes,) if isinstance(axes, int) else axes:
        if shape and shape[axis] == 0:
            raise IndexError(f"{name}(): Expected reduction dim {axis} to have non-zero size.")


def _bind_extreme(name: str):
    def bind(input, dim=(), keepdim=False):
        if input.numel() == 0 and (dim == () or dim is None):
            raise RuntimeError(f"{name}(): Expected reduction dim to be specified for input.numel() == 0. Specify "
                               "the reduction dim with the 'dim' argument.")
        axis = None if dim in ((), None, []) else reduce_axes(dim, input.ndim)
        if axis is not None and input.numel() == 0:
            _nonempty_axes(name, input.shape, axis)
        return (input,), {"axis": axis, "keepdims": bool(keepdim)}
    bind.__name__ = f"bind_{name}"
    return bind


_bind_amax = _bind_extreme("amax")


@register
class Amax(_Extreme):
    """The largest value over ``axis``."""
    name = "amax"
    api = (Api("amax", _bind_amax),)

    @staticmethod
    def forward(xp, a, axis=None, keepdims=False, nan_shared=False):
        return xp.amax(a, axis=axis, keepdims=keepdims)


@register
class Amin(_Extreme):
    """The smallest value over ``axis``."""
    name = "amin"
    api = (Api("amin", _bind_extreme("amin")),)

    @staticmethod
    def forward(xp, a, axis=None, keepdims=False, nan_shared=False):
        return xp.amin(a, axis=axis, keepdims=keepdims)


def _bind_arg(name: str):
    def bind(input, dim=None, keepdim=False):
        axis = None if dim is None else wrap_dim(dim, input.ndim) if input.ndim else None
        if input.numel() == 0:
            if axis is None:
                raise IndexError(f"{name}(): Expected reduction dim to be specified for input.numel() == 0.")
            _nonempty_axes(name, input.shape, axis)
        return (input,), {"axis": axis, "keepdims": bool(keepdim)}
    bind.__name__ = f"bind_{name}"
    return bind


class _ArgExtreme(Op):
    arity = 1
    differentiable = False
    saves_inputs = False
    result_dtype = np.int64
    dtype_rule = "int64"

    @staticmethod
    def backward(ctx, xp, g):
        return (None,)

    @staticmethod
    def shape(a_shape, axis=None, keepdims=False):
        return _reduced_shape(a_shape, axis, keepdims) if axis is not None else ((1,) * len(a_shape) if keepdims
                                                                                 else ())


@register
class Argmax(_ArgExtreme):
    """The index of the largest value along ``axis`` (None: of the flattened array); the first of ties."""
    name = "argmax"
    bool_error = (RuntimeError, "argmax(): does not support bool input", "all")
    api = (Api("argmax", _bind_arg("argmax")),)

    @staticmethod
    def forward(xp, a, axis=None, keepdims=False):
        return astype(xp, xp.argmax(a, axis=axis, keepdims=keepdims), np.int64)


@register
class Argmin(_ArgExtreme):
    """The index of the smallest value along ``axis``; the first of ties."""
    name = "argmin"
    bool_error = (RuntimeError, "argmin(): does not support bool input", "all")
    api = (Api("argmin", _bind_arg("argmin")),)

    @staticmethod
    def forward(xp, a, axis=None, keepdims=False):
        return astype(xp, xp.argmin(a, axis=axis, keepdims=keepdims), np.int64)


@register
class Pick(Op):
    """a's entry at ``index`` (one per line along ``axis``): the values of ``max(dim)``/``min(dim)``.

    ``index`` has a's shape with ``axis`` reduced (kept as 1 when ``keepdims``); the gradient goes to
    the picked entry only, as PyTorch's max(dim) backward.
    """
    name = "pick"
    promote_from = 2
    reads = staticmethod(lambda needs: (False, True))  # only the indices, as PyTorch's max(dim)
    cases = ((((3, 4), "argmax1"), {"axis": 1}), (((3, 4), "argmax0"), {"axis": 0, "keepdims": True}))
    dtype_rule = "keep"

    @staticmethod
    def forward(xp, a, index, axis, keepdims=False):
        idx = index if keepdims else xp.expand_dims(index, axis)
        picked = xp.take_along_axis(a, idx, axis=axis)
        return picked if keepdims else xp.reshape(picked, index.shape)

    @staticmethod
    def backward(ctx, xp, g):
        shape, axis, keepdims = ctx.input_shapes[0], ctx.attrs["axis"], ctx.attrs.get("keepdims", False)
        positions = np.arange(shape[axis]).reshape((-1,) + (1,) * (len(shape) - axis - 1))
        hit = xp.equal(positions, _kept(ctx.inputs[1], shape, axis, keepdims, xp))
        return (xp.where(hit, _kept(g, shape, axis, keepdims, xp), 0.0), None)

    @staticmethod
    def shape(a_shape, index_shape, axis, keepdims=False):
        return tuple(index_shape)


# --------------------------------------------------------------------- softmax
def _bind_softmax_named(name):
    def bind(input, dim, dtype=None):
        # a 0-d tensor takes dim 0 or -1 and is its own one-element slice: axis None reduces it to itself
        (input,), attrs = (input,), {"axis": wrap_dim(dim, input.ndim) if input.ndim else None}
        if dtype is not None:
            input = input.to(dtype)
        elif input.dtype.kind != "f":   # PyTorch has no integer kernel; an empty input is returned as it is
            if input.numel() == 0:
                return (input,), {"dtype": input.dtype}, OPS["cast"]
            kernel = f"{name}_lastdim_kernel_impl" if attrs["axis"] in (None, input.ndim - 1) else f"{name}_kernel_impl"
            raise NotImplementedError(f'"{kernel}" not implemented for \'{torch_name(input.dtype)}\'')
        return (input,), attrs
    return bind


def _softmax_shape(a_shape, axis):
    return tuple(a_shape)


@register
class Softmax(Op):
    """exp(a) / sum(exp(a)) along ``axis``, computed with the maximum subtracted (never overflows)."""
    name = "softmax"
    arity = 1
    saves_inputs = False
    saves_output = True
    cases = ((((3, 4),), {"axis": 1}), (((2, 3, 4),), {"axis": 0}))
    api = (Api("softmax", _bind_softmax_named("softmax")),)
    dtype_rule = "float"

    @staticmethod
    def forward(xp, a, axis):
        if a.size == 0:  # PyTorch: the softmax of nothing is nothing (amax has no identity to start from)
            return a.copy()
        e = xp.exp(a - xp.amax(a, axis=axis, keepdims=True))
        return xp.true_divide(e, xp.sum(e, axis=axis, keepdims=True), out=e if e.ndim else None)

    @staticmethod
    def backward(ctx, xp, g):
        y = ctx.output
        return (y * (g - xp.sum(g * y, axis=ctx.attrs["axis"], keepdims=True)),)

    shape = staticmethod(_softmax_shape)


@register
class LogSoftmax(Op):
    """a - log(sum(exp(a))) along ``axis``, computed with the maximum subtracted."""
    name = "log_softmax"
    arity = 1
    saves_inputs = False
    saves_output = True
    cases = ((((3, 4),), {"axis": 1}), (((2, 3, 4),), {"axis": -1}))
    api = (Api("log_softmax", _bind_softmax_named("log_softmax")),)
    dtype_rule = "float"
    quiet = True

    @staticmethod
    def forward(xp, a, axis):
        if a.size == 0:  # as softmax
            return a.copy()
        shifted = a - xp.amax(a, axis=axis, keepdims=True)
        total = xp.sum(xp.exp(shifted), axis=axis, keepdims=True)
        return xp.subtract(shifted, xp.log(total), out=shifted if shifted.ndim else None)

    @staticmethod
    def scratch(xp, shape, dtype, attrs):
        """The shifted values (the result), their exps and a row's max then log-sum, for a non-empty ``a``
        of at least one axis."""
        if not shape or 0 in shape:
            return None
        kept = list(shape)
        kept[attrs["axis"]] = 1
        return xp.empty(shape, dtype), xp.empty(shape, dtype), xp.empty(tuple(kept), dtype)

    @staticmethod
    def unrolled(xp, a, shifted, exps, top, axis):
        """The forward without temporaries or numpy's Python-level ``amax``/``sum`` wrappers (``amax`` is
        ``maximum.reduce``, ``sum`` is ``add.reduce``: the same numbers)."""
        xp.maximum.reduce(a, axis=axis, keepdims=True, out=top)
        xp.subtract(a, top, shifted)
        xp.exp(shifted, exps)
        xp.add.reduce(exps, axis=axis, keepdims=True, out=top)
        xp.log(top, top)
        return xp.subtract(shifted, top, shifted)

    @staticmethod
    def backward(ctx, xp, g):
        return (g - xp.exp(ctx.output) * xp.sum(g, axis=ctx.attrs["axis"], keepdims=True),)

    shape = staticmethod(_softmax_shape)


# --------------------------------------------------------------------- joining
def _bind_join(name):
    def bind(tensors, dim=0):
        if not isinstance(tensors, (list, tuple)) or not tensors:
            if not isinstance(tensors, (list, tuple)):
                raise TypeError(f"{name}(): expected a non-empty list of Tensors")
            if name == "stack":   # PyTorch's own type and words for each
                raise RuntimeError("stack expects a non-empty TensorList")
            raise ValueError("torch.cat(): expected a non-empty list of Tensors")
        ndim = tensors[0].ndim + (name == "stack")
        return tuple(tensors), {"axis": wrap_dim(dim, ndim)}
    return bind


@register
class Cat(Op):
    """Inputs joined along an existing ``axis``."""
    name = "cat"
    arity = None
    saves_inputs = False
    cases = ((((2, 3), (4, 3)), {"axis": 0}), (((2, 3), (2, 1), (2, 2)), {"axis": 1}))
    api = (Api("cat", _bind_join("cat"), method=False), Api("concat", _bind_join("cat"), method=False),
           Api("concatenate", _bind_join("cat"), method=False))

    @staticmethod
    def forward(xp, *arrays, axis=0):
        return xp.concatenate(arrays, axis=axis)

    @staticmethod
    def backward(ctx, xp, g):
        axis, start, grads = ctx.attrs.get("axis", 0), 0, []
        for shape in ctx.input_shapes:
            size = shape[axis]
            grads.append(g[(slice(None),) * axis + (slice(start, start + size),)])
            start += size
        return tuple(grads)

    @staticmethod
    def shape(*shapes, axis=0):
        first = shapes[0]
        for i, s in enumerate(shapes[1:], 1):
            if len(s) != len(first):
                raise RuntimeError(f"Tensors must have same number of dimensions: got {len(first)} and {len(s)}")
            for d, (m, n) in enumerate(zip(first, s)):
                if d != axis and m != n:
                    raise RuntimeError(f"Sizes of tensors must match except in dimension {axis}. Expected size {m} "
                                       f"but got size {n} for tensor number {i} in the list.")
        return tuple(first[:axis]) + (sum(s[axis] for s in shapes),) + tuple(first[axis + 1:])


@register
class Stack(Op):
    """Inputs of one shape stacked along a new ``axis``."""
    name = "stack"
    arity = None
    saves_inputs = False
    cases = ((((2, 3), (2, 3)), {"axis": 0}), (((2, 3), (2, 3), (2, 3)), {"axis": 2}))
    api = (Api("stack", _bind_join("stack"), method=False),)

    @staticmethod
    def forward(xp, *arrays, axis=0):
        return xp.stack(arrays, axis=axis)

    @staticmethod
    def backward(ctx, xp, g):
        axis = ctx.attrs.get("axis", 0)
        return tuple(g[(slice(None),) * axis + (i,)] for i in range(len(ctx.input_shapes)))

    @staticmethod
    def shape(*shapes, axis=0):
        for i, s in enumerate(shapes[1:], 1):
            if tuple(s) != tuple(shapes[0]):
                raise RuntimeError(f"stack expects each tensor to be equal size, but got {list(shapes[0])} at entry "
                                   f"0 and {list(s)} at entry {i}")
        first = tuple(shapes[0])
        return first[:axis] + (len(shapes),) + first[axis:]


# --------------------------------------------------------------------- writes (dynamic engine only)
def _without_leading_ones(value):
    while getattr(value, "ndim", 0) and value.shape[0] == 1:
        value = value[0]
    return value


def basic_key(key) -> bool:
    keys = key if isinstance(key, tuple) else (key,)
    return all(k is None or k is Ellipsis or isinstance(k, slice) or
               (isinstance(k, (int, np.integer)) and not isinstance(k, (bool, np.bool_))) for k in keys)


@register
class SetItem(Op):
    """a with ``a[key] = value``: assignment as PyTorch records it (the written region takes value's gradient,
    the rest passes a's through).  With ``out=a`` it writes in place (the engine's unrecorded path)."""
    name = "setitem"
    saves_inputs = False
    dtype_rule = "keep"
    cases = ((((4, 5), (5,)), {"key": (1,)}), (((4, 5), (2, 5)), {"key": "mask_rows"}), (((6,), 1.5), {"key": "ints"}),
             (((4, 5), (3, 1)), {"key": (slice(1, 4), slice(0, 2))}))

    @staticmethod
    def forward(xp, a, value, key, out=None):
        if out is None:
            out = a.copy()
        if type(key) is np.ndarray and key.dtype == np.bool_ and key.shape == out.shape and type(value) in (
                int, float, bool) and type(out) is np.ndarray:
            np.putmask(out, key, value)  # the seed's grad_input[input < 0] = 0, ~30% faster than masked setitem
            return out
        try:
            out[key] = value
        except ValueError:
            out[key] = _without_leading_ones(value)  # PyTorch drops a value's extra leading 1-dims
        return out

    @staticmethod
    def backward(ctx, xp, g):
        key = ctx.attrs["key"]
        ga = None
        if ctx.needs_input_grad[0]:
            ga = copy_of(xp, g)
            ga[key] = 0
        gv = None
        if ctx.needs_input_grad[1]:
            gv = g[key]
            value_shape = ctx.input_shapes[1]
            if len(value_shape) > len(gv.shape):   # extra leading 1-dims of the value, dropped by the write
                gv = xp.reshape(gv, (1,) * (len(value_shape) - len(gv.shape)) + tuple(gv.shape))
        return ga, gv

    @staticmethod
    def shape(a_shape, value_shape, key):
        return tuple(a_shape)


def refuse_bool(op, arrays) -> None:
    """Raise PyTorch's error for ``op`` on bool operands (``bool_error``: any bool operand, or all)."""
    kind, message, which = op.bool_error
    flags = [type(a) is bool or getattr(a, "dtype", None) == np.bool_ for a in arrays]
    if which == "all, tensor exponent" and type(arrays[-1]) is bool:
        return
    if any(flags) if which == "any" else all(flags):
        raise kind(message)


def replay_view(xp, array, view):
    """``array`` seen through ``view``, a chain of (view op, attrs) steps; refuses a step that copies."""
    for op, attrs in view:
        seen = op.forward(xp, array, **attrs)
        if not xp.may_share_memory(seen, array):
            raise RuntimeError(f"an in-place change through a view made by {op.name}{attrs} cannot be recorded "
                               "(its replay copies instead of viewing); clone() the view before changing it")
        array = seen
    return array


@register
class CopySlices(Op):
    """base with the region a view selects replaced by ``value``: how an in-place change made through a view
    reaches the view's base (PyTorch's CopySlices)."""
    name = "copy_slices"
    saves_inputs = False
    dtype_rule = "keep"
    cases = ((((4, 5), (2, 5)), {"view": "rows 1:3"}), (((3, 4), (4, 3)), {"view": "transpose"}))

    @staticmethod
    def forward(xp, base, value, view):
        out = base.copy()
        replay_view(xp, out, view)[...] = value
        return out

    @staticmethod
    def backward(ctx, xp, g):
        view = ctx.attrs["view"]
        ga = gv = None
        if ctx.needs_input_grad[0]:
            ga = copy_of(xp, g)
            replay_view(xp, ga, view)[...] = 0
        if ctx.needs_input_grad[1]:
            gv = replay_view(xp, g, view)
        return ga, gv

    @staticmethod
    def shape(base_shape, value_shape, view):
        return tuple(base_shape)



# --------------------------------------------------------------------- logic, tests and rounding
def _logic(op_name: str, ufunc: str, operator_name: str | None, arity: int, doc: str, names=()) -> type[Op]:
    """Bool/integer ops with no gradient: bitwise and/or/xor/not, logical_*, isnan/isinf/isfinite."""
    def forward(xp, *arrays, out=None):
        for a in arrays:
            if ufunc.startswith("bitwise") and getattr(a, "dtype", np.dtype(int)).kind == "f":
                raise NotImplementedError(f'"{ufunc}_cpu" not implemented for \'{_TORCH_NAMES.get(a.dtype.name)}\'')
        return getattr(xp, ufunc)(*arrays, out=out)

    attrs = {"__doc__": doc, "name": op_name, "arity": arity, "differentiable": False, "saves_inputs": False,
             "forward": staticmethod(forward), "backward": staticmethod(lambda ctx, xp, g: (None,) * arity),
             "api": tuple(Api(n, number_input=ufunc.startswith("bitwise") and arity == 2,
                              tensor_other=ufunc.startswith("logical") and arity == 2)
                          for n in (op_name,) + tuple(names)),
             "dtype_rule": "bool" if ufunc.startswith(("logical", "is")) else "promote"}
    if ufunc.startswith(("logical", "is")):
        attrs["result_dtype"] = np.bool_
    if operator_name:
        attrs["operator"] = operator_name
    return register(type(op_name.title().replace("_", ""), (Op,), attrs))


BitwiseAnd = _logic("bitwise_and", "bitwise_and", "and", 2, "a & b (bool or integer).")
BitwiseOr = _logic("bitwise_or", "bitwise_or", "or", 2, "a | b (bool or integer).")
BitwiseXor = _logic("bitwise_xor", "bitwise_xor", "xor", 2, "a ^ b (bool or integer).")
BitwiseNot = _logic("bitwise_not", "invert", "invert", 1, "~a (bool or integer).")
LogicalAnd = _logic("logical_and", "logical_and", None, 2, "a and b elementwise, a bool array.")
LogicalOr = _logic("logical_or", "logical_or", None, 2, "a or b elementwise, a bool array.")
LogicalNot = _logic("logical_not", "logical_not", None, 1, "not a elementwise, a bool array.")
IsNan = _logic("isnan", "isnan", None, 1, "Where a is nan, a bool array.")
IsInf = _logic("isinf", "isinf", None, 1, "Where a is +-inf, a bool array.")
IsFinite = _logic("isfinite", "isfinite", None, 1, "Where a is neither nan nor +-inf, a bool array.")


def _zero_gradient(op_name: str, forward, doc: str, bool_error=None) -> type[Op]:
    """Piecewise-constant elementwise ops: PyTorch defines their gradient as 0 everywhere."""
    return register(type(op_name.title(), (Op,), {
        "__doc__": doc, "name": op_name, "arity": 1, "saves_inputs": False, "dtype_rule": "keep",
        "cases": UNARY_CASES, "api": (Api(op_name, inplace=True),), "forward": staticmethod(forward),
        "backward": staticmethod(lambda ctx, xp, g: (g * 0.0,)), "bool_error": bool_error,
    }))


def _ufunc_forward(ufunc: str):
    def forward(xp, a, out=None):
        return getattr(xp, ufunc)(a, out=out)
    return forward


def _sign_forward(xp, a, out=None):
    """sign(a), with PyTorch's answers where numpy's differ: a bool stays itself, NaN gives 0."""
    if a.dtype == np.bool_:
        return a.copy() if out is None else xp.copyto(out, a) or out
    result = xp.sign(a, out=out)
    if a.dtype.kind != "f":
        return result
    result = xp.where(xp.isnan(a), a.dtype.type(0), result)
    if out is None:
        return result
    xp.copyto(out, result)
    return out


def _no_bool_kernel(name: str):
    return (NotImplementedError, f'"{name}_vml_cpu" not implemented for \'Bool\'', "all")


Sign = _zero_gradient("sign", _sign_forward, "-1, 0 or 1 by the sign of a (0 for NaN, as PyTorch); gradient 0.")
Floor = _zero_gradient("floor", _ufunc_forward("floor"), "The largest integer <= a; gradient 0.",
                       _no_bool_kernel("floor"))
Ceil = _zero_gradient("ceil", _ufunc_forward("ceil"), "The smallest integer >= a; gradient 0.", _no_bool_kernel("ceil"))
Round = _zero_gradient("round", _ufunc_forward("round"), "a rounded half to even (as PyTorch); gradient 0.",
                       _no_bool_kernel("round"))
Trunc = _zero_gradient("trunc", _ufunc_forward("trunc"), "a rounded toward 0; gradient 0.", _no_bool_kernel("trunc"))


# ===================================================================== nn: fused primitives
# NOTE: layers and losses in engine/nn are compositions of the ops above; the two below are fused
# because they were measured to pay on the `mlp` workload (see docs/engine.md, nn and optim):
# one node instead of three for a Linear layer, one instead of seven for softmax + cross-entropy.
@register
class Linear(Op):
    """x @ w.T + b (PyTorch's ``F.linear``, addmm-like): x (..., in), w (out, in), b (out,)."""
    name = "linear"
    arity = 3
    dtype_rule = "same"
    # backward reads x for the weight's gradient and w for the input's, never b (as PyTorch's addmm)
    reads = staticmethod(lambda needs: (needs[1], needs[0], False))
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
            raise OperandError(f"linear: needs input (..., in) and weight (out, in), got {x_shape} and {w_shape}")
        if x_shape[-1] != w_shape[1] and None not in (x_shape[-1], w_shape[1]):
            raise OperandError(f"linear: input has {x_shape[-1]} features, weight expects {w_shape[1]}")
        if b_shape is not None and tuple(b_shape) not in ((w_shape[0],), ()):
            raise OperandError(f"linear: bias shape {tuple(b_shape)} does not match {w_shape[0]} output features")
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
        # the method: numpy's xp.max is a slow Python wrapper; a Tensor xp keeps the shift (it cancels) out of its graph
        peak_of = getattr(xp, "constant_max", None)
        shifted = x - (x.max(axis=axis, keepdims=True) if peak_of is None else peak_of(x, axis))
        return shifted, xp.exp(shifted)

    @staticmethod
    def forward(xp, logits, target, axis=1, reduction="none"):
        shifted, exps = SoftmaxCrossEntropy.shifted_and_exp(xp, logits, axis)
        shifted -= xp.log(xp.sum(exps, axis=axis, keepdims=True))   # now log_softmax(logits)
        if not xp.isfinite(shifted).all():   # a -inf logit where the target is 0 adds 0, not 0 * -inf = nan
            shifted = xp.where(xp.equal(target, 0), 0, shifted)
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
            raise OperandError(f"softmax_cross_entropy: target shape {target_shape} must equal logits shape "
                             f"{tuple(logits_shape)}")
        if reduction == "sum":
            return ()
        return tuple(n for i, n in enumerate(logits_shape) if i != axis % len(logits_shape))


BCE_EPSILON = 1e-12   # PyTorch's floor under p * (1 - p) in the gradient, for every dtype


@register
class BinaryCrossEntropy(Op):
    """-(y * log(p) + (1 - y) * log(1 - p)) elementwise, each log clamped to >= -100, as PyTorch.

    The gradient is PyTorch's ``(p - y) / max(p * (1 - p), 1e-12)``, not the clamped logs' derivative: it
    stays finite at p = 0 and p = 1 (0 where p == y) and, like PyTorch, flattens for p within 1e-12 of 0 or 1.
    """
    name = "binary_cross_entropy"
    arity = 2
    dtype_rule = "float"
    quiet = True
    domain = "unit"
    cases = ((((3, 4), (3, 4)), {}), (((5,), (5,)), {}))

    @staticmethod
    def forward(xp, p, y, out=None):
        log_p = xp.maximum(xp.log(p), -100.0)
        log_q = xp.maximum(xp.log(1.0 - p), -100.0)
        return xp.negative(y * log_p + (1.0 - y) * log_q, out=out)

    @staticmethod
    def backward(ctx, xp, g):
        p, y = ctx.inputs
        need_p, need_y = ctx.needs_input_grad
        gp = gy = None
        if need_p:
            spread = p * (1.0 - p)
            gp = g * (p - y) / xp.where(xp.greater(spread, BCE_EPSILON), spread, BCE_EPSILON)
        if need_y:
            log_p = xp.where(xp.greater(p, 0), xp.log(p), -100.0)
            log_q = xp.where(xp.less(p, 1), xp.log(1.0 - p), -100.0)
            gy = g * (xp.where(xp.greater(log_q, -100.0), log_q, -100.0)
                      - xp.where(xp.greater(log_p, -100.0), log_p, -100.0))
        return gp, gy


# ===================================================================== static-tf block
# Two ops the TF1 side needs that PyTorch spells differently (``detach`` and ``one_hot`` are not recorded
# ops there): ``tf.stop_gradient`` and ``tf.one_hot``.  Neither has a gradient.
@register
class StopGradient(Op):
    """a itself, passing no gradient (TF's stop_gradient; the labels of softmax cross-entropy v1)."""
    name = "stop_gradient"
    arity = 1
    differentiable = False
    saves_inputs = False
    dtype_rule = "keep"
    view = True

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
class OneHot(Op):
    """``depth``-long rows of ``off_value`` with ``on_value`` at each index (the row of an out-of-range index
    is all ``off_value``, as TF's one_hot); no gradient."""
    name = "one_hot"
    arity = 1
    differentiable = False
    saves_inputs = False
    result_dtype = "attr"
    dtype_rule = "attr"

    @staticmethod
    def forward(xp, indices, depth, dtype, on_value=1, off_value=0, labels=False):
        if labels and indices.size and (indices.min() < 0 or indices.max() >= depth):
            # class labels (sparse cross-entropy): TF refuses an index outside [0, depth) at run time
            bad = indices[(indices < 0) | (indices >= depth)].flat[0]
            raise OperandError(f"Received a label value of {bad} which is outside the valid range of [0, {depth})")
        hits = xp.equal(xp.expand_dims(indices, -1), xp.arange(depth))
        return astype(xp, xp.where(hits, on_value, off_value), dtype)

    @staticmethod
    def scratch(xp, shape, dtype, attrs):
        """The rows (the result), their hits and the column numbers, for a batch of indices with TF's
        default on/off values (1, 0)."""
        if (len(shape) != 2 or attrs.get("on_value", 1) != 1 or attrs.get("off_value", 0) != 0
                or set(attrs) - {"depth", "dtype", "on_value", "off_value", "labels"}):
            return None
        return xp.empty(shape, dtype), xp.empty(shape, np.bool_), xp.arange(attrs["depth"])

    @staticmethod
    def unrolled(xp, indices, rows, hits, columns, depth, dtype, on_value=1, off_value=0, labels=False):
        """The hits written straight into the rows (``copyto`` of a bool is exactly 1/0, as the forward's
        ``where(hits, 1, 0)`` cast to the dtype)."""
        xp.equal(indices[:, None], columns, hits)
        if labels and hits.shape[0] and not hits.any(axis=1).all():   # an out-of-range class label
            OneHot.forward(xp, indices, depth, dtype, labels=True)     # raises TF's error
        xp.copyto(rows, hits)
        return rows

    @staticmethod
    def backward(ctx, xp, g):
        return (None,)

    @staticmethod
    def shape(a_shape, depth, dtype, on_value=1, off_value=0, labels=False):
        return tuple(a_shape) + (depth,)
