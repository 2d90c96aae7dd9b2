"""Tensor factories with PyTorch's names, dtypes and argument forms, and a reproducible global RNG.

Random draws follow the project's shared contract: every draw is made in float64 (or int64) from
``RNG`` (re-bound by :func:`manual_seed`) and then cast to the dtype.
"""
from __future__ import annotations

import builtins
import math

import numpy as np

from . import backend
from .dtypes import DEFAULT, as_dtype, bool_, int64
from .ops import tensor_arg
from .tensor import Tensor, new_tensor

RNG = np.random.default_rng()


def manual_seed(seed: int) -> np.random.Generator:
    """Seed the generator behind randn/rand/randint, so programs are reproducible."""
    global RNG
    RNG = np.random.default_rng(int(seed))
    return RNG


_DEFAULT_DEVICE = [backend.CPU]  # where factory functions put tensors when no device is named


def set_default_device(device) -> None:
    """Make factory functions (``randn``, ``zeros``, ``linspace``, ``tensor``, ...) create on ``device``.

    ``None`` restores the CPU.  An unusable device (``"cuda"`` without CuPy/GPU) is refused now.
    """
    _DEFAULT_DEVICE[0] = backend.CPU if device is None else backend.check_device(device)


def get_default_device() -> backend.device:
    """The device factory functions create on (see :func:`set_default_device`)."""
    return _DEFAULT_DEVICE[0]


def _place(array: np.ndarray, device, requires_grad: bool) -> Tensor:
    if requires_grad is not None and not isinstance(requires_grad, bool):   # PyTorch's signature says bool
        raise TypeError(f"argument 'requires_grad' must be bool, not {type(requires_grad).__name__}")
    dev = backend.check_device(device) if device is not None else _DEFAULT_DEVICE[0]
    t = new_tensor(backend.to_device(array, dev) if dev.type != "cpu" else array)
    if requires_grad:
        t.requires_grad = True
    return t


def _size(size) -> tuple:
    if not isinstance(size, (tuple, list)):
        raise TypeError(f"size must be a tuple of ints, got {type(size).__name__} {size!r}")
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    for n in size:
        if isinstance(n, builtins.bool) or not isinstance(n, (int, np.integer)):
            raise TypeError(f"size must be a tuple of ints, got {type(n).__name__} {n!r}")
        if n < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {n}: {list(size)}")
    return tuple(int(n) for n in size)


def _inferred(array: np.ndarray, data) -> np.ndarray:
    """PyTorch's dtype for data given without a dtype: Python floats become the default float dtype."""
    if array.dtype.kind not in "biuf":
        kinds = {"U": "str", "S": "bytes", "O": "object", "c": "complex", "M": "datetime", "m": "timedelta"}
        raise TypeError(f"can't convert {type(data).__name__} with elements of type "
                        f"{kinds.get(array.dtype.kind, array.dtype.name)} to a tensor: the engine supports only bool, "
                        "integer and floating data")
    if array.dtype == np.float64 and not isinstance(data, (np.ndarray, np.generic)) and not _holds_float64(data):
        return array.astype(DEFAULT.float)
    return array


def _holds_float64(data) -> bool:
    """Whether a nested list holds a numpy float64 (or float64 array): PyTorch then infers float64."""
    if isinstance(data, (np.float64, np.ndarray)):
        return getattr(data, "dtype", None) == np.float64
    if isinstance(data, (list, tuple)):
        return any(_holds_float64(item) for item in data)
    return False


def tensor(data, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data`` (Python floats become the default dtype, ints int64)."""
    if isinstance(data, Tensor):
        data = backend.to_numpy(data._data)
    try:
        array = np.array(data, dtype=as_dtype(dtype), copy=True)
    except (ValueError, TypeError) as exc:
        if "inhomogeneous" in str(exc) or "sequence" in str(exc):
            raise ValueError(f"can't make a tensor from {type(data).__name__} {str(data)[:60]!r}: its nested lists "
                             "must all have the same length at each depth") from None
        raise TypeError(f"can't make a tensor from {type(data).__name__} {str(data)[:60]!r}: expected a number, a "
                        "bool, an array or a (nested) list of them") from None
    if dtype is None:
        array = _inferred(array, data)
    return _place(array, device, requires_grad)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """``data`` as a tensor, sharing memory with a numpy array of the same dtype."""
    if isinstance(data, Tensor):
        return data.to(dtype=dtype, device=device) if dtype is not None or device is not None else data
    if isinstance(data, np.ndarray) and (dtype is None or as_dtype(dtype) == data.dtype) and device is None:
        return from_numpy(data)
    return tensor(data, dtype=dtype, device=device)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with a numpy array."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(array).__name__})")
    if array.dtype.kind not in "biuf":
        raise TypeError(f"can't convert np.ndarray of type {array.dtype}. The only supported types are: float64, "
                        "float32, float16, int64, int32, int16, int8, uint8, and bool.")
    return new_tensor(array)


def _random(draw, size, dtype, device, requires_grad) -> Tensor:
    dtype = as_dtype(dtype) or DEFAULT.float
    return _place(draw(_size(size)).astype(dtype, copy=False), device, requires_grad)


def randn(*size, dtype=None, device=None, requires_grad: bool = False, generator=None) -> Tensor:
    """Standard normal samples (``standard_normal`` in float64, then cast)."""
    return _random((generator or RNG).standard_normal, size, dtype, device, requires_grad)


def rand(*size, dtype=None, device=None, requires_grad: bool = False, generator=None) -> Tensor:
    """Uniform samples in [0, 1) (``random`` in float64, then cast)."""
    return _random((generator or RNG).random, size, dtype, device, requires_grad)


def randint(low, high=None, size=None, *, dtype=None, device=None, requires_grad: bool = False,
            generator=None) -> Tensor:
    """Integers uniform in [low, high) (``integers``), int64 unless ``dtype`` says otherwise."""
    if size is None:  # randint(high, size)
        low, high, size = 0, low, high
    if size is None:
        raise TypeError("randint() missing 1 required positional argument: 'size'")
    for name, bound in (("low", low), ("high", high)):
        if isinstance(bound, builtins.bool) or not isinstance(bound, (int, np.integer)):
            raise TypeError(f"randint(): argument '{name}' must be int, not {type(bound).__name__}")
    if high <= low:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
    values = (generator or RNG).integers(low, high, _size((size,) if isinstance(size, int) else (size,)))
    return _place(values.astype(as_dtype(dtype) or int64, copy=False), device, requires_grad)


def _fill_dtype(fill_value, dtype):
    if dtype is not None:
        return as_dtype(dtype)
    if isinstance(fill_value, (builtins.bool, np.bool_)):
        return bool_
    if isinstance(fill_value, (int, np.integer)):
        return int64
    return DEFAULT.float


def _filled(fill, size, dtype, device, requires_grad) -> Tensor:
    if isinstance(fill, Tensor):
        fill = fill.item()
    if isinstance(fill, (str, bytes)) or not isinstance(fill, (int, builtins.float, np.number, np.bool_)):
        raise TypeError(f"fill_value must be a number or a bool, got {type(fill).__name__} {fill!r}")
    try:
        values = np.full(_size(size), fill, dtype=as_dtype(dtype) or DEFAULT.float)
    except OverflowError:   # a Python int beyond 64 bits: PyTorch's words for it
        raise OverflowError("int too big to convert") from None
    return _place(values, device, requires_grad)


def zeros(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return _filled(0, size, dtype, device, requires_grad)


def ones(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return _filled(1, size, dtype, device, requires_grad)


def empty(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """An uninitialised tensor (here: zeros, so results never depend on leftover memory)."""
    return _filled(0, size, dtype, device, requires_grad)


def full(size, fill_value, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor of ``size`` filled with ``fill_value`` (bool, int64 or the default float dtype by its type)."""
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    return _filled(fill_value, (size,) if isinstance(size, (int, np.integer)) else (_size(size),),
                   _fill_dtype(fill_value, dtype), device, requires_grad)


def eye(n, m=None, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """The n x m identity matrix."""
    _size((n,) if m is None else (n, m))
    return _place(np.eye(n, n if m is None else m, dtype=as_dtype(dtype) or DEFAULT.float), device, requires_grad)


def _like(t: Tensor, fill, dtype, device, requires_grad, name: str) -> Tensor:
    tensor_arg(name, "input", 1, t)
    return _filled(fill, t.shape, dtype or t.dtype, device or t.device, requires_grad)


def zeros_like(input: Tensor, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return _like(input, 0, dtype, device, requires_grad, "zeros_like")


def ones_like(input: Tensor, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return _like(input, 1, dtype, device, requires_grad, "ones_like")


def empty_like(input: Tensor, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return _like(input, 0, dtype, device, requires_grad, "empty_like")


def full_like(input: Tensor, fill_value, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return _like(input, fill_value, dtype, device, requires_grad, "full_like")


def randn_like(input: Tensor, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    tensor_arg("randn_like", "input", 1, input)
    return randn(input.shape, dtype=dtype or input.dtype, device=device or input.device, requires_grad=requires_grad)


def rand_like(input: Tensor, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    tensor_arg("rand_like", "input", 1, input)
    return rand(input.shape, dtype=dtype or input.dtype, device=device or input.device, requires_grad=requires_grad)


def _number(value):
    return value.item() if isinstance(value, Tensor) else value


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Values from start to end (exclusive) by step: int64 when all are integers, else the default float dtype."""
    start, end, step = _number(start), _number(end), _number(step)
    start, end = (0, start) if end is None else (start, end)
    for name, value in (("start", start), ("end", end), ("step", step)):
        if isinstance(value, builtins.bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise TypeError(f"arange(): argument '{name}' must be Number, not {type(value).__name__}")
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if (end - start) * step < 0:
        raise RuntimeError("upper bound and larger bound inconsistent with step sign")
    integral = all(isinstance(v, (int, np.integer)) and not isinstance(v, builtins.bool) for v in (start, end, step))
    kind = as_dtype(dtype) or (int64 if integral else DEFAULT.float)
    count = max(0, math.ceil((end - start) / step))
    # computed in float64 (or int64) then cast, as PyTorch's arange, so float32 endpoints do not drift
    values = start + np.arange(count, dtype=np.int64 if integral else np.float64) * step
    return _place(values.astype(kind), device, requires_grad)


def linspace(start, end, steps, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """``steps`` evenly spaced values from start to end, inclusive (the default float dtype)."""
    if isinstance(steps, builtins.bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise RuntimeError(f"linspace: number of steps must be a non-negative integer, got {steps!r}")
    start, end = _number(start), _number(end)
    return _place(np.linspace(start, end, int(steps), dtype=np.float64).astype(as_dtype(dtype) or DEFAULT.float),
                  device, requires_grad)
