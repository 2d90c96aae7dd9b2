"""The PyTorch surface generated from the op table, and the few composite ops.

Each op's ``api`` declaration in ``ops.py`` becomes a Tensor method, a module function
(``torch.exp(x)``, ``torch.cat([...])``), an in-place ``name_`` method, and from ``operator``
the Python operators (``__add__``, ``__radd__``, ``__iadd__``).  The composites below (max/min
with their three forms, std, split, ...) are built from primitives and are installed the same
two ways.
"""
from __future__ import annotations

import builtins
import inspect
import re
from collections import namedtuple

import numpy as np

from .ops import OPS, tensor_arg, wrap_dim
from .tensor import NO_ATTRS, Tensor, apply_op, new_tensor, operand

__all__: list[str] = []
_SIGNATURE_ERROR = re.compile(r"^([\w.<>]+)\(\) (.*argument.*)$")


def _lift(value) -> Tensor:
    """A function's first argument as a Tensor (numbers and arrays become constants)."""
    if isinstance(value, Tensor):
        return value
    value = operand(value)
    if isinstance(value, Tensor):
        return value
    from .creation import tensor  # a Python number or list as the first argument is rare
    return tensor(value)


def _call_error(api, bind, exc: TypeError, label: str) -> TypeError:
    """A wrong call (missing or unknown argument) named as the PyTorch function, not as the internal binder."""
    found = _SIGNATURE_ERROR.match(str(exc))
    if found and found.group(1).split(".")[-1] in ("<lambda>", getattr(bind, "__name__", "")):
        return TypeError(f"{label}(): {found.group(2)}")
    return exc


_NOT_TENSOR = re.compile(r"^'(\w+)' object has no attribute '(?:shape|dtype|ndim|_data|to|size|T|mT)'$")


def _argument_error(bind, args, kwargs, exc: AttributeError, label: str, method: bool) -> Exception:
    """A binder that read a Tensor attribute of a non-Tensor argument: PyTorch's TypeError naming that argument."""
    found = _NOT_TENSOR.match(str(exc))
    if not found:
        return exc
    try:
        params = list(inspect.signature(bind).bind_partial(*args, **kwargs).arguments.items())
    except (TypeError, ValueError):
        params = []
    for index, (param, value) in enumerate(params[1:], start=1):
        values = value if isinstance(value, tuple) else (value,)
        if any(type(v).__name__ == found.group(1) and not isinstance(v, Tensor) for v in values):
            return TypeError(f"{label}(): argument '{param}' (position {index + (not method)}) must be Tensor, not "
                             f"{found.group(1)}")
    return TypeError(f"{label}(): expected Tensor arguments, got {found.group(1)}")


def _bind_call(op, bind, args, kwargs, label: str, method: bool):
    """``(op, inputs, attrs)`` of a PyTorch call, its argument errors named as the PyTorch function's."""
    try:
        return _bound(op, bind(*args, **kwargs))
    except TypeError as exc:
        raise _call_error(None, bind, exc, label) from None
    except AttributeError as exc:
        raise _argument_error(bind, args, kwargs, exc, label, method) from None


def _no_bind(op, args, kwargs, label: str, offset: int):
    """The arguments of an op without a binder: exactly its inputs."""
    if kwargs or (op.arity is not None and len(args) != op.arity):
        given = len(args) - offset + len(kwargs)
        raise TypeError(f"{label}() takes {op.arity - offset} argument(s) but {given} were given")
    return args, NO_ATTRS


def _bound(op, bound):
    """``(op, inputs, attrs)`` from a binder's answer: ``(inputs, attrs)``, or ``(inputs, attrs, other_op)``
    when one PyTorch name covers two ops (``clamp`` with number bounds, or with Tensor bounds)."""
    return (op,) + bound if len(bound) == 2 else (bound[2], bound[0], bound[1])


def _python_number(value) -> bool:
    return isinstance(value, (bool, int, float, complex))


def _refuse_numbers(api, args, offset: int):
    """PyTorch's TypeError for a Python number where the PyTorch signature has only a Tensor."""
    if args and not api.number_input and not offset and _python_number(args[0]):
        first = next(iter(inspect.signature(api.bind).parameters)) if api.bind else "input"
        raise TypeError(f"{api.name}(): argument '{first}' (position 1) must be Tensor, not {type(args[0]).__name__}")
    if api.tensor_other and len(args) > 1 and _python_number(args[1]):
        raise TypeError(f"{api.name}(): argument 'other' (position {2 - offset}) must be Tensor, not "
                        f"{type(args[1]).__name__}")


def _function(op, api):
    bind = api.bind

    def function(*args, **kwargs):
        _refuse_numbers(api, args, 0)
        if args and not isinstance(args[0], (Tensor, list, tuple)):
            args = (_lift(args[0]),) + args[1:]
        if bind is None:
            return apply_op(op, _no_bind(op, args, kwargs, api.name, 0)[0])
        target, inputs, attrs = _bind_call(op, bind, args, kwargs, api.name, False)
        return apply_op(target, tuple(inputs), attrs)
    function.__name__ = function.__qualname__ = api.name
    function.__doc__ = op.__doc__
    return function


def _method(op, api):
    bind = api.bind

    def method(*args, **kwargs):
        _refuse_numbers(api, args, 1)
        if bind is None:
            return apply_op(op, args if not kwargs and len(args) == op.arity else
                            _no_bind(op, args, kwargs, api.name, 1)[0])
        target, inputs, attrs = _bind_call(op, bind, args, kwargs, api.name, True)
        return apply_op(target, inputs, attrs)
    method.__name__ = method.__qualname__ = api.name
    method.__doc__ = op.__doc__
    return method


def _inplace_method(op, api):
    bind = api.bind

    def method(self, *args, **kwargs):
        _refuse_numbers(api, (self,) + args, 1)
        target = op
        if bind is None:
            inputs, attrs = _no_bind(op, (self,) + args, kwargs, api.name + "_", 1)
        else:
            target, inputs, attrs = _bind_call(op, bind, (self,) + args, kwargs, api.name + "_", True)
        return self._write(target, inputs[1:], attrs)
    method.__name__ = method.__qualname__ = api.name + "_"
    method.__doc__ = f"In-place {api.name}: {op.__doc__}"
    return method


def _operators(op):
    """``__add__``/``__radd__``/``__iadd__`` (or ``__neg__``, ``__lt__``) from an op's ``operator`` name."""
    name = op.operator

    if op.arity == 1:
        def unary(self):
            if name == "invert" and self.dtype.kind not in "biu":   # the operator's own TypeError, as PyTorch
                raise TypeError("~ (operator.invert) is only implemented on integer and Boolean-type tensors")
            return apply_op(op, (self,))
        return {f"__{name}__": unary}

    def forward(self, other):
        return apply_op(op, (self, other))

    def reflected(self, other):
        return apply_op(op, (other, self))

    def inplace(self, other):
        return self._write(op, (other,), NO_ATTRS)
    if op.result_dtype is np.bool_:
        return {f"__{name}__": forward}
    return {f"__{name}__": forward, f"__r{name}__": reflected, f"__i{name}__": inplace}


def _install() -> None:
    """Every op's api names as Tensor methods, operators, in-place methods and module functions."""
    for op in OPS.values():
        for api in op.api:
            if api.method and api.name not in Tensor.__dict__:
                setattr(Tensor, api.name, _method(op, api))
            if api.inplace and api.name + "_" not in Tensor.__dict__:
                setattr(Tensor, api.name + "_", _inplace_method(op, api))
            if api.function and api.name not in globals():
                globals()[api.name] = _function(op, api)
                __all__.append(api.name)
        if getattr(op, "operator", None):
            for name, fn in _operators(op).items():
                setattr(Tensor, name, fn)


_install()



# --------------------------------------------------------------------- composites (functions and methods)
def _composite(fn):
    """Publish ``fn`` as a module function and a Tensor method of the same name."""
    setattr(Tensor, fn.__name__, fn)
    __all__.append(fn.__name__)
    return fn


def _extreme(name, reduce_op, arg_op, pairwise_op):
    result_type = namedtuple(name, ["values", "indices"])

    def extreme(input, dim=None, keepdim=False, *, out=None):
        if isinstance(dim, Tensor) or (dim is not None and not isinstance(dim, (int, np.integer))):
            return apply_op(OPS[pairwise_op], (input, operand(dim)))   # the elementwise form, max(a, b)
        input = _lift(input)
        if dim is None:
            if input.numel() == 0:
                raise RuntimeError(f"{name}(): Expected reduction dim to be specified for input.numel() == 0. "
                                   "Specify the reduction dim with the 'dim' argument.")
            return apply_op(OPS[reduce_op], (input,), {"axis": None, "keepdims": False, "nan_shared": True})
        axis = wrap_dim(dim, input.ndim)
        if input.ndim == 0:
            return result_type(input, new_tensor(np.zeros((), np.int64)))
        if input.shape[axis] == 0:
            raise IndexError(f"{name}(): Expected reduction dim {dim} to have non-zero size.")
        ranked = input if input.dtype != np.bool_ else input.to(np.uint8)   # argmax refuses bool, max(dim) not
        indices = apply_op(OPS[arg_op], (ranked,), {"axis": axis, "keepdims": bool(keepdim)})
        values = apply_op(OPS["pick"], (input, indices), {"axis": axis, "keepdims": bool(keepdim)})
        return result_type(values, indices)
    extreme.__name__ = extreme.__qualname__ = name
    extreme.__doc__ = (f"``{name}(x)``: the {name}imum of all elements (the gradient shared among ties); "
                       f"``{name}(x, dim, keepdim=False)``: (values, indices) along dim (the gradient to the "
                       f"index); ``{name}(a, b)``: the elementwise {name}imum.")
    return extreme


max = _composite(_extreme("max", "amax", "argmax", "maximum"))  # noqa: A001
min = _composite(_extreme("min", "amin", "argmin", "minimum"))  # noqa: A001


@_composite
def equal(input, other) -> bool:
    """``True`` when ``input`` and ``other`` have the same size and elements (PyTorch's ``torch.equal``: one
    Python bool, not the elementwise ``eq``; NaN is equal to nothing; dtypes may differ)."""
    tensor_arg("equal", "input", 1, input)
    tensor_arg("equal", "other", 2, other)
    if tuple(input.shape) != tuple(other.shape):
        return False
    return bool(apply_op(OPS["equal"], (input, other))._data.all())


@_composite
def numel(input) -> int:
    return int(_lift(input)._data.size)


@_composite
def chunk(input, chunks: int, dim: int = 0):
    """Split into ``chunks`` nearly equal views along ``dim``."""
    tensor_arg("chunk", "input", 1, input)
    if isinstance(chunks, bool) or not isinstance(chunks, (int, np.integer)):
        raise TypeError(f"chunk(): argument 'chunks' (position 1) must be int, not {type(chunks).__name__}")
    if input.ndim == 0:
        raise RuntimeError("chunk expects at least a 1-dimensional tensor")
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    axis = wrap_dim(dim, input.ndim)
    size = -(-input.shape[axis] // chunks)
    return split(input, size, dim)


@_composite
def split(input, split_size_or_sections, dim: int = 0):
    """Views of consecutive pieces along ``dim`` (a piece size, or a list of sizes)."""
    tensor_arg("split", "input", 1, input)
    sizes = split_size_or_sections
    whole = isinstance(sizes, (int, np.integer)) and not isinstance(sizes, bool)
    if not whole and not (isinstance(sizes, (list, tuple)) and builtins.all(
            isinstance(n, (int, np.integer)) and not isinstance(n, bool) for n in sizes)):
        raise TypeError("split_with_sizes(): argument 'split_sizes' (position 2) must be tuple of ints, not "
                        f"{type(sizes).__name__}")
    if input.ndim == 0:
        raise RuntimeError("split expects at least a 1-dimensional tensor")
    axis = wrap_dim(dim, input.ndim)
    length = input.shape[axis]
    if whole and sizes < 0:
        raise RuntimeError(f"split expects split_size be non-negative, but got split_size={sizes}")
    if whole and sizes == 0 and length:
        raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got dimension size of {length}")
    if whole:
        sizes = [builtins.min(sizes, length - s) for s in range(0, length, sizes or 1)] or [0]
    if builtins.sum(sizes) != length:
        raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {length} (input tensor's size "
                           f"at dimension {dim}), but got split_sizes={list(sizes)}")
    pieces, start = [], 0
    name = "Split" if isinstance(split_size_or_sections, int) else "SplitWithSizes"
    for i, n in enumerate(sizes):
        piece = input[(slice(None),) * axis + (slice(start, start + n),)]
        if piece._base is not None:   # PyTorch refuses in-place changes of a multi-output view (inplace.py)
            piece._multi_output = (name, i)
        pieces.append(piece)
        start += n
    return tuple(pieces)


@_composite
def unbind(input, dim: int = 0):
    """The views of ``input`` with ``dim`` removed, one per index along it (``input.select(dim, i)``)."""
    tensor_arg("unbind", "input", 1, input)
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
        raise TypeError(f"unbind(): argument 'dim' (position 2) must be int, not {type(dim).__name__}")
    if input.ndim == 0:
        raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
    axis = wrap_dim(dim, input.ndim)
    pieces = []
    for i in range(input.shape[axis]):
        piece = input[(slice(None),) * axis + (i,)]
        if piece._base is not None:   # as split's: PyTorch refuses in-place changes of a multi-output view
            piece._multi_output = ("Unbind", i)
        pieces.append(piece)
    return tuple(pieces)


def is_tensor(obj) -> bool:
    return isinstance(obj, Tensor)


__all__.append("is_tensor")
