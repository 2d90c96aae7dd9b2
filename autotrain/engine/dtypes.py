"""dtypes with PyTorch's names, the default float dtype, and PyTorch's type promotion.

Promotion (``result_type``) is PyTorch's, not numpy's:

* dtypes fall in categories bool < integer < floating; a higher category wins,
  and across categories the winning category's dtype is kept (float32 + int64
  is float32, where numpy gives float64);
* operands have priorities: tensors with dimensions, then 0-d tensors, then
  Python scalars.  A lower-priority operand changes the result only when its
  category is higher (``float32_tensor * float64_0d`` is float32,
  ``int_tensor * 0.5`` is the default float dtype);
* a Python float counts as the default float dtype (``set_default_dtype``), a
  Python int as int64, a Python bool as bool.
"""
from __future__ import annotations

import builtins

import numpy as np

float16 = np.dtype("float16")
float32 = np.dtype("float32")
float64 = np.dtype("float64")
uint8 = np.dtype("uint8")
int8 = np.dtype("int8")
int16 = np.dtype("int16")
int32 = np.dtype("int32")
int64 = np.dtype("int64")
bool_ = np.dtype("bool")

_NAMES = {"float": float32, "float32": float32, "double": float64, "float64": float64, "half": float16,
          "float16": float16, "long": int64, "int64": int64, "int": int32, "int32": int32, "short": int16,
          "int16": int16, "int8": int8, "uint8": uint8, "bool": bool_}
_SUPPORTED = frozenset(_NAMES.values())
#: PyTorch's ScalarType names, as its messages spell dtypes
_SCALAR_TYPE_NAMES = {"int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
                      "bool": "Bool", "float32": "Float", "float64": "Double", "float16": "Half"}


def torch_name(dtype) -> str:
    """``dtype`` as PyTorch's messages name it (``Float``, ``Long``...); numpy's name for any other."""
    return _SCALAR_TYPE_NAMES.get(str(dtype), str(dtype))

_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2}


class _Default:
    __slots__ = ("float",)

    def __init__(self):
        self.float = float32


DEFAULT = _Default()


def get_default_dtype() -> np.dtype:
    """The dtype of Python floats and of new floating tensors (float32 unless changed)."""
    return DEFAULT.float


def set_default_dtype(dtype) -> None:
    """Set the default floating dtype (float32, float64 or float16), as ``torch.set_default_dtype``."""
    resolved = as_dtype(dtype)
    if resolved.kind != "f":
        raise TypeError(f"only floating-point types are supported as the default type, got {resolved}")
    DEFAULT.float = resolved


def as_dtype(dtype) -> np.dtype | None:
    """A numpy dtype from ``float32``, ``"float64"``, ``np.float32``, Python's ``float``/``int``/``bool``."""
    if dtype is None:
        return None
    if isinstance(dtype, np.dtype) and dtype in _SUPPORTED:
        return dtype
    if dtype is builtins.float:
        return DEFAULT.float
    if dtype is builtins.int:
        return int64
    if dtype is builtins.bool:
        return bool_
    if isinstance(dtype, str):
        if dtype in _NAMES:
            return _NAMES[dtype]
        raise TypeError(f"unknown dtype {dtype!r}; expected one of {', '.join(sorted(_NAMES))}")
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"unknown dtype {dtype!r}; expected a dtype such as float32, float64, int64 or bool") \
            from None
    if resolved not in _SUPPORTED:
        raise TypeError(f"dtype {resolved} is not supported by the engine; supported: "
                        f"{', '.join(sorted(str(d) for d in _SUPPORTED))}")
    return resolved


def category(dtype: np.dtype) -> int:
    """0 bool, 1 integer, 2 floating."""
    return _CATEGORY[dtype.kind]


def promote_types(a: np.dtype, b: np.dtype) -> np.dtype:
    """PyTorch's promote_types: within a category numpy's rule, across categories the higher one's dtype."""
    if a is b or a == b:
        return a
    ca, cb = _CATEGORY[a.kind], _CATEGORY[b.kind]
    if ca != cb:
        return a if ca > cb else b
    return np.promote_types(a, b)


def _combine(higher, lower):
    """c10's combine_categories: a lower-priority dtype counts only when its category is higher."""
    if higher is None:
        return lower
    if lower is None or higher.kind == "f":
        return higher
    if higher.kind == "b" or lower.kind == "f":
        return promote_types(higher, lower)
    return higher


def scalar_dtype(value) -> np.dtype:
    """The dtype a Python scalar takes part in promotion with."""
    t = type(value)
    if t is builtins.bool or t is np.bool_:
        return bool_
    if t is builtins.int:
        return int64
    return DEFAULT.float


def result_type(operands) -> np.dtype:
    """The dtype of an elementwise op over ``operands`` (arrays or Python scalars), as PyTorch computes it."""
    dims = zero = wrapped = None
    for value in operands:
        dtype = getattr(value, "dtype", None)
        if dtype is None or isinstance(value, np.generic):
            d = scalar_dtype(value) if dtype is None else (DEFAULT.float if dtype.kind == "f" else
                                                           bool_ if dtype.kind == "b" else int64)
            wrapped = d if wrapped is None else promote_types(wrapped, d)
        elif value.ndim:
            dims = dtype if dims is None else promote_types(dims, dtype)
        else:
            zero = dtype if zero is None else promote_types(zero, dtype)
    return _combine(dims, _combine(zero, wrapped))


#: C++ spellings PyTorch uses in its overflow message
_CPP_TYPE = {"int64": "long", "int32": "int", "int16": "short", "int8": "signed char", "uint8": "uint8_t"}


def fit_int(value: int, dtype: np.dtype, checked: bool = False) -> int:
    """A Python int as an integer ``dtype`` holds it, as PyTorch converts it.

    Arithmetic and comparisons wrap it around (``uint8 * -1`` multiplies by 255, ``int32 + 2**40`` adds 0);
    ``checked`` conversions (fill, assignment, ``clamp``'s and ``where``'s numbers) refuse a value out of
    range, except a negative one for an unsigned dtype, which wraps (``uint8.fill_(-1)`` is 255).
    """
    info = np.iinfo(dtype)
    if info.min <= value <= info.max:
        return value
    if checked and not (info.min == 0 and -(info.max + 1) <= value < 0):
        raise RuntimeError(f"value cannot be converted to type {_CPP_TYPE.get(dtype.name, dtype.name)} without "
                           "overflow")
    if not -2 ** 63 <= value < 2 ** 64:
        raise OverflowError("int too big to convert")
    return (value - info.min) % 2 ** info.bits + info.min
