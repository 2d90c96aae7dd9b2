"""Tensor: an array plus the graph edge that made it, with PyTorch's names and meaning.

Every differentiable operation goes through :func:`apply_op`, which runs an op's
forward rule from ``ops.py`` and records a :class:`~.function.Node` only when
grad mode is on and some input requires grad — so tensors like the seed's ``x``
cost nothing extra, and nothing is recorded under ``no_grad()``.
"""
from __future__ import annotations

import builtins
import numbers
import weakref

import numpy as np

from . import backend
from .backend import NUMPY as NP
from .function import GRAD_MODE, Node
from .ops import OPS

float32 = np.dtype("float32")
float64 = np.dtype("float64")
float16 = np.dtype("float16")
int32 = np.dtype("int32")
int64 = np.dtype("int64")
bool_ = np.dtype("bool")
long = int64
double = float64

_OP = OPS  # short alias for the hot paths below
_NO_ATTRS: dict = {}
_DTYPE_NAMES = {"float": float32, "double": float64, "half": float16, "long": int64, "int": int32, "bool": bool_}


def as_dtype(dtype) -> np.dtype | None:
    """A numpy dtype from ``float32``, ``"float64"``, ``np.float32``, ... (``None`` stays ``None``)."""
    if dtype is None:
        return None
    if isinstance(dtype, str) and dtype in _DTYPE_NAMES:
        return _DTYPE_NAMES[dtype]
    if dtype is builtins.float:
        return float32
    return np.dtype(dtype)


def xp_of_array(array):
    """numpy or cupy, whichever holds ``array``."""
    return NP if type(array) is np.ndarray else backend.xp_of(array)


def as_array(value, like=None):
    """The array behind a Tensor, array or number (on ``like``'s device when given)."""
    if isinstance(value, Tensor):
        return value._data
    if like is not None and type(like) is not np.ndarray:
        return backend.xp_of(like).asarray(value)
    return np.asarray(value)


def _operand(value):
    """Normalise the other operand of an operator: Tensors and Python numbers pass, arrays become constants."""
    if isinstance(value, Tensor) or type(value) in (int, builtins.float, bool):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, numbers.Number):
        return value
    if hasattr(value, "__array__") or hasattr(value, "__cuda_array_interface__"):
        return Tensor._wrap(value if not isinstance(value, np.ndarray) else value)
    raise TypeError(f"unsupported operand type for a Tensor operation: {type(value).__name__}")


def _describe(value) -> str:
    if isinstance(value, Tensor):
        return f"{tuple(value._data.shape)} {value._data.dtype}"
    return f"scalar {value!r}"


def _op_error(op, inputs, attrs, exc) -> RuntimeError:
    """A shape/dtype error that names the op and every operand's shape."""
    operands = " and ".join(_describe(t) for t in inputs)
    extra = f" with {attrs}" if attrs else ""
    return RuntimeError(f"{op.name}: cannot apply to operands {operands}{extra}: {exc}")


def _check_same_device(inputs) -> None:
    kinds = {type(t._data) for t in inputs if isinstance(t, Tensor)}
    if len(kinds) > 1:
        devices = sorted({str(t.device) for t in inputs if isinstance(t, Tensor)})
        raise RuntimeError("Expected all tensors to be on the same device, but found at least two devices, "
                           f"{' and '.join(devices)}!")


def apply_op(op, inputs: tuple, attrs: dict = _NO_ATTRS):
    """Run ``op`` forward on the inputs' arrays; record a graph node when a gradient will be needed."""
    if len(inputs) == 2:
        return _binary(op, inputs[0], inputs[1], attrs)
    if len(inputs) == 1:
        return _unary(op, inputs[0], attrs)
    arrays = tuple(t._data if type(t) is Tensor else t for t in inputs)
    first = next(t._data for t in inputs if type(t) is Tensor)
    if any(type(t) is Tensor and type(t._data) is not type(first) for t in inputs):
        _check_same_device(inputs)
    needs = tuple(type(t) is Tensor and t._requires_grad for t in inputs)
    out = _forward(op, xp_of_array(first), arrays, inputs, attrs)
    if any(needs) and GRAD_MODE.enabled and op.differentiable:
        return _record(op, out, inputs, arrays, attrs, needs)
    return Tensor._wrap(out)


def _forward(op, xp, arrays, inputs, attrs):
    try:
        out = op.forward(xp, *arrays, **attrs)
    except (ValueError, TypeError) as exc:
        raise _op_error(op, inputs, attrs, exc) from None
    return out if type(out) is np.ndarray or xp is not NP else np.asarray(out)


def _unary(op, a, attrs):
    arr = a._data
    xp = NP if type(arr) is np.ndarray else backend.xp_of(arr)
    try:
        out = op.forward(xp, arr, **attrs)
    except (ValueError, TypeError) as exc:
        raise _op_error(op, (a,), attrs, exc) from None
    if type(out) is not np.ndarray and xp is NP:
        out = np.asarray(out)
    if a._requires_grad and GRAD_MODE.enabled and op.differentiable:
        return _record(op, out, (a,), (arr,), attrs, (True,))
    return Tensor._wrap(out)


def _binary(op, a, b, attrs):
    # the two-operand fast path: every operator and most methods come through here
    ta, tb = type(a) is Tensor, type(b) is Tensor
    arr_a = a._data if ta else a
    arr_b = b._data if tb else b
    kind = type(arr_a) if ta else type(arr_b)
    if ta and tb and type(arr_b) is not kind:
        _check_same_device((a, b))
    xp = NP if kind is np.ndarray else backend.xp_of(arr_a if ta else arr_b)
    try:
        out = op.forward(xp, arr_a, arr_b, **attrs)
    except (ValueError, TypeError) as exc:
        raise _op_error(op, (a, b), attrs, exc) from None
    if type(out) is not np.ndarray and xp is NP:
        out = np.asarray(out)
    need_a, need_b = ta and a._requires_grad, tb and b._requires_grad
    if (need_a or need_b) and GRAD_MODE.enabled and op.differentiable:
        return _record(op, out, (a, b), (arr_a, arr_b), attrs, (need_a, need_b))
    return Tensor._wrap(out)


def _record(op, out, inputs, arrays, attrs, needs):
    node = Node(op, inputs, attrs, needs)
    if op.saves_inputs:
        node.inputs = arrays
        node.versions = tuple([t._version if type(t) is Tensor else 0 for t in inputs])
    result = object.__new__(Tensor)
    result._data, result._requires_grad, result.grad, result.grad_fn = out, True, None, node
    result._version = result._output_nr = 0
    result._zeroed = False
    if op.saves_output:
        node.output = out
        node.out_ref = weakref.ref(result)
    return result


_MATMUL, _ADD, _SUB, _MUL, _DIV, _POW, _CLAMP, _SUM = (
    OPS[name] for name in ("matmul", "add", "sub", "mul", "div", "pow", "clamp", "sum"))


def _dims_text(shape) -> str:
    return "x".join(map(str, shape))


class Tensor:
    """An n-dimensional array that can record the operations applied to it for ``backward()``.

    Create tensors with :func:`tensor`, :func:`randn`, :func:`zeros`, ... rather than
    calling this class; ``Tensor(data, requires_grad=...)`` wraps an array as is.
    """

    # _spare is set only on .grad tensors (read with getattr): see fill_ and autograd._accumulate_leaf
    __slots__ = ("_data", "_requires_grad", "grad", "grad_fn", "_version", "_output_nr", "_zeroed", "_spare",
                 "__weakref__")
    __array_priority__ = 1000  # numpy scalars/arrays on the left defer to our reflected operators

    def __init__(self, data, requires_grad: bool = False):
        self._data = data if isinstance(data, np.ndarray) else as_array(data)
        self._requires_grad = False
        self.grad = None
        self.grad_fn = None
        self._version = 0
        self._output_nr = 0
        self._zeroed = False
        if requires_grad:
            self.requires_grad = True

    @classmethod
    def _wrap(cls, data) -> "Tensor":
        """A constant tensor around ``data`` (no copy, no grad)."""
        t = object.__new__(cls)
        t._data, t._requires_grad, t.grad, t.grad_fn, t._version, t._output_nr = data, False, None, None, 0, 0
        t._zeroed = False
        return t

    @classmethod
    def _from_node(cls, data, node) -> "Tensor":
        t = object.__new__(cls)
        t._data, t._requires_grad, t.grad, t.grad_fn, t._version, t._output_nr = data, True, None, node, 0, 0
        t._zeroed = False
        return t

    # ----------------------------------------------------------------- attributes
    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        if self.grad_fn is not None and not value:
            raise RuntimeError("you can only change requires_grad flags of leaf variables. If you want to use a "
                               "computed variable in a subgraph that doesn't require differentiation use "
                               "var_no_grad = var.detach().")
        if value and self._data.dtype.kind not in "fc":
            raise RuntimeError(f"only Tensors of floating point dtype can require gradients (got {self.dtype})")
        self._requires_grad = bool(value)

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        self.requires_grad = requires_grad
        return self

    @property
    def data(self) -> "Tensor":
        """A tensor sharing this one's storage, detached from the graph (in-place changes go unnoticed)."""
        return Tensor._wrap(self._data)

    @data.setter
    def data(self, value) -> None:
        self._data = as_array(value, like=self._data)
        self._zeroed = False

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def shape(self) -> tuple:
        return self._data.shape

    def size(self, dim: int | None = None):
        return self._data.shape if dim is None else self._data.shape[dim]

    @property
    def dtype(self) -> np.dtype:
        return self._data.dtype

    @property
    def device(self) -> backend.device:
        return backend.device_of(self._data)

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def dim(self) -> int:
        return self._data.ndim

    def numel(self) -> int:
        return int(self._data.size)

    def __len__(self) -> int:
        return len(self._data)

    @property
    def T(self) -> "Tensor":
        return self.transpose_all()

    # ----------------------------------------------------------------- conversion
    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self._data.size != 1:
            raise RuntimeError(f"a Tensor with {self._data.size} elements cannot be converted to Scalar")
        return self._data.item()

    def tolist(self):
        return backend.to_numpy(self._data).tolist()

    def numpy(self) -> np.ndarray:
        """The data as a numpy array sharing memory (CPU only, no grad), as PyTorch."""
        if self._requires_grad:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() "
                               "instead.")
        if type(self._data) is not np.ndarray:
            raise TypeError(f"can't convert {self.device} tensor to numpy. Use Tensor.cpu() to copy the tensor "
                            "to host memory first.")
        return self._data

    def __array__(self, dtype=None, copy=None):
        arr = backend.to_numpy(self._data)
        return arr if dtype is None else arr.astype(dtype)

    def __float__(self) -> float:
        return builtins.float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
        return bool(self.item())

    def __index__(self) -> int:
        return int(self.item())

    def clone(self) -> "Tensor":
        """A copy that stays in the graph (its gradient flows back to this tensor)."""
        return apply_op(_OP["add"], (self, 0)) if self._requires_grad else Tensor._wrap(self._data.copy())

    def detach(self) -> "Tensor":
        """The same storage, cut off from the graph."""
        return Tensor._wrap(self._data)

    def to(self, *args, dtype=None, device=None, copy: bool = False) -> "Tensor":
        """This tensor on another device and/or dtype (``to("cuda")``, ``to(float64)``, ``to(dev, dtype)``)."""
        for arg in args:
            if isinstance(arg, (backend.device,)) or (isinstance(arg, str) and arg.split(":")[0] in ("cpu", "cuda")):
                device = arg
            else:
                dtype = arg
        out = self
        if device is not None and backend.device(device) != self.device:
            out = Tensor._wrap(backend.to_device(self._data, backend.check_device(device)))
            out._requires_grad = self._requires_grad and self.is_leaf
        if dtype is not None and as_dtype(dtype) != out._data.dtype:
            out = apply_op(_OP["cast"], (out,), {"dtype": as_dtype(dtype)})
        if out is self and copy:
            out = self.clone()
        return out

    def cpu(self) -> "Tensor":
        return self.to("cpu")

    def cuda(self, device=None) -> "Tensor":
        return self.to("cuda" if device is None else f"cuda:{device}")

    def float(self) -> "Tensor":
        return self.to(dtype=float32)

    def double(self) -> "Tensor":
        return self.to(dtype=float64)

    def type_as(self, other: "Tensor") -> "Tensor":
        return self.to(dtype=other.dtype)

    def __repr__(self) -> str:
        body = np.array2string(backend.to_numpy(self._data), separator=", ", prefix="tensor(")
        extras = []
        if self._data.dtype != float32 and self._data.dtype.kind == "f":
            extras.append(f"dtype={self._data.dtype}")
        if self.device.type != "cpu":
            extras.append(f"device='{self.device}'")
        if self.grad_fn is not None:
            extras.append(f"grad_fn={self.grad_fn!r}")
        elif self._requires_grad:
            extras.append("requires_grad=True")
        return f"tensor({body}{''.join(', ' + e for e in extras)})"

    __hash__ = object.__hash__

    # ----------------------------------------------------------------- autograd
    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None) -> None:
        """Accumulate d(self)/d(leaf) into the ``.grad`` of every leaf that requires grad.

        ``gradient`` is required when ``self`` is not a scalar.  The graph's saved
        values are freed afterwards unless ``retain_graph=True``.
        """
        if gradient is None and not create_graph and self.grad_fn is not None:  # the common scalar-loss case
            _autograd.run_backward((self,), _autograd._root_grads((self,), (None,)), bool(retain_graph))
        else:
            _autograd.backward(self, gradient, retain_graph=retain_graph, create_graph=create_graph)

    def retain_grad(self) -> None:
        raise NotImplementedError("retain_grad() is not supported; use autograd.grad(out, [t]) to get the gradient "
                                  "of a non-leaf tensor")

    # ----------------------------------------------------------------- arithmetic
    def __add__(self, other):
        o = other if type(other) is Tensor else _operand(other)
        return _binary(_ADD, self, o, _NO_ATTRS)

    def __radd__(self, other):
        o = other if type(other) is Tensor else _operand(other)
        return _binary(_ADD, o, self, _NO_ATTRS)

    def __sub__(self, other):
        o = other if type(other) is Tensor else _operand(other)
        return _binary(_SUB, self, o, _NO_ATTRS)

    def __rsub__(self, other):
        o = other if type(other) is Tensor else _operand(other)
        return _binary(_SUB, o, self, _NO_ATTRS)

    def __mul__(self, other):
        o = other if type(other) is Tensor else _operand(other)
        return _binary(_MUL, self, o, _NO_ATTRS)

    def __rmul__(self, other):
        o = other if type(other) is Tensor else _operand(other)
        return _binary(_MUL, o, self, _NO_ATTRS)

    def __truediv__(self, other):
        o = other if type(other) is Tensor else _operand(other)
        return _binary(_DIV, self, o, _NO_ATTRS)

    def __rtruediv__(self, other):
        o = other if type(other) is Tensor else _operand(other)
        return _binary(_DIV, o, self, _NO_ATTRS)

    def __pow__(self, exponent):
        return _binary(_POW, self, exponent if type(exponent) is Tensor else _operand(exponent), _NO_ATTRS)

    def __rpow__(self, base):
        return apply_op(_OP["pow"], (_operand(base), self))

    def __matmul__(self, other):
        return self.matmul(other)

    def __rmatmul__(self, other):
        return _operand(other).matmul(self)

    def __neg__(self):
        return apply_op(_OP["neg"], (self,))

    def __pos__(self):
        return self

    add = __add__
    sub = __sub__
    mul = __mul__
    div = __truediv__
    neg = __neg__

    def pow(self, exponent):
        return self.__pow__(exponent)

    def mm(self, other: "Tensor") -> "Tensor":
        """Matrix product of two 2-D tensors."""
        if type(other) is Tensor and self._data.ndim == 2 and other._data.ndim == 2:
            return self.matmul(other)
        if self._data.ndim != 2 or getattr(other, "ndim", 0) != 2:
            raise RuntimeError(f"mm: both arguments must be 2-D matrices, got shapes {tuple(self.shape)} and "
                               f"{tuple(getattr(other, 'shape', ()))}")
        return self.matmul(other)

    def matmul(self, other) -> "Tensor":
        """Matrix product with numpy's matmul semantics (vectors, batches)."""
        if type(other) is not Tensor:
            other = _operand(other)
        if self._data.dtype != other._data.dtype:
            raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: {self._data.dtype} != "
                               f"{other._data.dtype}")
        try:
            return _binary(_MATMUL, self, other, _NO_ATTRS)
        except RuntimeError:
            a_shape, b_shape = self._data.shape, other._data.shape
            raise RuntimeError(f"matmul: mat1 and mat2 shapes cannot be multiplied ({_dims_text(a_shape)} and "
                               f"{_dims_text(b_shape)})") from None

    # ----------------------------------------------------------------- comparisons (bool tensors, no grad)
    def _compare(self, name, other):
        return apply_op(_OP[name], (self, _operand(other)))

    def __lt__(self, other):
        return self._compare("less", other)

    def __le__(self, other):
        return self._compare("less_equal", other)

    def __gt__(self, other):
        return self._compare("greater", other)

    def __ge__(self, other):
        return self._compare("greater_equal", other)

    def __eq__(self, other):
        return self._compare("equal", other)

    def __ne__(self, other):
        return self._compare("not_equal", other)

    # ----------------------------------------------------------------- elementwise functions
    def exp(self):
        return apply_op(_OP["exp"], (self,))

    def log(self):
        return apply_op(_OP["log"], (self,))

    def tanh(self):
        return apply_op(_OP["tanh"], (self,))

    def sigmoid(self):
        return apply_op(_OP["sigmoid"], (self,))

    def relu(self):
        return apply_op(_OP["relu"], (self,))

    def square(self):
        return apply_op(_OP["square"], (self,))

    def sqrt(self):
        return self.pow(0.5)

    def clamp(self, min=None, max=None):
        """Clip to [min, max]; the gradient passes where min <= x <= max, ties included."""
        if min is None and max is None:
            raise RuntimeError("At least one of 'min' or 'max' must not be None")
        return _unary(_CLAMP, self, {"min": min, "max": max})

    clip = clamp

    def maximum(self, other):
        """Elementwise max; at ties the gradient is split evenly, as torch.maximum."""
        return apply_op(_OP["maximum"], (self, _operand(other)))

    def minimum(self, other):
        return apply_op(_OP["minimum"], (self, _operand(other)))

    # ----------------------------------------------------------------- reductions and shapes
    def sum(self, dim=None, keepdim: bool = False):
        """Sum over ``dim`` (an int, a tuple, or None for all)."""
        return _unary(_SUM, self, {"axis": dim if dim is None or type(dim) is int else tuple(dim), "keepdims": keepdim})

    def mean(self, dim=None, keepdim: bool = False):
        """Mean over ``dim``: a sum scaled by the count (no primitive of its own)."""
        axes = _dims(dim)
        shape = self._data.shape
        count = int(np.prod([shape[a] for a in ((axes,) if isinstance(axes, int) else axes)])) \
            if axes is not None else self._data.size
        return self.sum(dim, keepdim) * (1.0 / count)

    def reshape(self, *shape):
        shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        return apply_op(_OP["reshape"], (self,), {"shape": tuple(shape)})

    view = reshape

    def flatten(self):
        return self.reshape(-1)

    def transpose(self, dim0: int = 0, dim1: int = 1):
        """Swap two dimensions."""
        axes = list(range(self._data.ndim))
        axes[dim0], axes[dim1] = axes[dim1], axes[dim0]
        return apply_op(_OP["transpose"], (self,), {"axes": tuple(axes)})

    def t(self):
        """Transpose a tensor of at most 2 dimensions."""
        if self._data.ndim > 2:
            raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {self._data.ndim}D")
        return self.transpose_all()

    def transpose_all(self):
        return apply_op(_OP["transpose"], (self,), {"axes": None}) if self._data.ndim > 1 else self

    def permute(self, *dims):
        """Reorder the dimensions: ``permute(2, 0, 1)``."""
        dims = dims[0] if len(dims) == 1 and isinstance(dims[0], (tuple, list)) else dims
        return apply_op(_OP["transpose"], (self,), {"axes": tuple(dims)})

    # ----------------------------------------------------------------- indexing
    def __getitem__(self, key):
        return apply_op(_OP["index"], (self,), {"key": _index_key(key)})

    def __setitem__(self, key, value) -> None:
        self._check_inplace(value)
        data, key = self._data, _index_key(key)
        if type(value) in (int, builtins.float, bool):
            if type(key) is np.ndarray and key.dtype == np.bool_ and key.shape == data.shape \
                    and type(data) is np.ndarray:
                np.putmask(data, key, value)  # the seed's grad_input[input < 0] = 0, ~30% faster
            else:
                data[key] = value
        else:
            data[key] = as_array(value, like=data)
        self._version += 1
        GRAD_MODE.mutations += 1
        self._zeroed = False

    # ----------------------------------------------------------------- in place
    def _check_inplace(self, other=None) -> bool:
        """True when the in-place change must be recorded in the graph instead of done on the array."""
        if not GRAD_MODE.enabled:
            return False
        if self._requires_grad and self.grad_fn is None:
            raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
        other_needs = isinstance(other, Tensor) and other._requires_grad
        if self._requires_grad or other_needs:
            return True
        return False

    def _inplace(self, name: str, other):
        other = _operand(other)
        if GRAD_MODE.enabled and self._check_inplace(other):
            return self._rebase(apply_op(_OP[name], (self._shallow(), other)))
        data = self._data
        ufunc = _INPLACE_UFUNCS[name] if type(data) is np.ndarray else getattr(xp_of_array(data), _UFUNC_NAMES[name])
        try:
            ufunc(data, other._data if type(other) is Tensor else other, out=data)
        except (ValueError, TypeError) as exc:
            raise _op_error(_OP[name], (self, other), {}, exc) from None
        self._version += 1
        GRAD_MODE.mutations += 1
        self._zeroed = False
        return self

    def _shallow(self) -> "Tensor":
        """A new tensor object taking over this one's value and history (before an in-place rebase)."""
        old = object.__new__(Tensor)
        old._data, old._requires_grad, old.grad, old.grad_fn = self._data, self._requires_grad, None, self.grad_fn
        old._version, old._output_nr, old._zeroed = self._version, self._output_nr, False
        return old

    def _rebase(self, result: "Tensor") -> "Tensor":
        # NOTE: a recorded in-place op becomes out-of-place plus a rebinding of this object, so
        # every holder of `self` sees the new value and the graph stays correct.
        self._data, self.grad_fn, self._requires_grad = result._data, result.grad_fn, True
        self._output_nr = 0
        if result.grad_fn is not None and result.grad_fn.out_ref is not None:
            result.grad_fn.out_ref = weakref.ref(self)
        self._version += 1
        GRAD_MODE.mutations += 1
        return self

    def __iadd__(self, other):
        return self._inplace("add", other)

    def __isub__(self, other):
        return self._inplace("sub", other)

    def __imul__(self, other):
        return self._inplace("mul", other)

    def __itruediv__(self, other):
        return self._inplace("div", other)

    def add_(self, other, alpha=1):
        return self.__iadd__(other if alpha == 1 else other * alpha)

    def sub_(self, other, alpha=1):
        return self.__isub__(other if alpha == 1 else other * alpha)

    def mul_(self, other):
        return self.__imul__(other)

    def div_(self, other):
        return self.__itruediv__(other)

    def zero_(self) -> "Tensor":
        """Fill with zeros in place."""
        return self.fill_(0)

    def fill_(self, value) -> "Tensor":
        """Fill with ``value`` in place."""
        if GRAD_MODE.enabled and self._check_inplace():
            raise RuntimeError("fill_/zero_ on a non-leaf tensor that requires grad is not supported; "
                               "use zeros_like(t) instead")
        spare = getattr(self, "_spare", None) if value == 0 else None
        if spare is not None:
            # NOTE: a gradient buffer that was zeroed before and never written since (see
            # _accumulate_leaf): swapping it in zeroes this tensor without a pass over memory.
            self._data, self._spare = spare, None
        else:
            self._data.fill(value)
        self._version += 1
        GRAD_MODE.mutations += 1
        # NOTE: remembered so that backward can adopt the next gradient instead of adding it to zeros
        self._zeroed = value == 0
        return self


_UFUNC_NAMES = {"add": "add", "sub": "subtract", "mul": "multiply", "div": "true_divide"}
_INPLACE_UFUNCS = {name: getattr(np, ufunc) for name, ufunc in _UFUNC_NAMES.items()}


def _dims(dim):
    if dim is None or isinstance(dim, int):
        return dim
    return tuple(dim)


def _index_key(key):
    """Turn Tensors inside an index (e.g. a bool mask) into arrays."""
    if isinstance(key, Tensor):
        return key._data
    if isinstance(key, tuple):
        return tuple(k._data if isinstance(k, Tensor) else k for k in key)
    return key


# NOTE: at the bottom, because autograd imports Tensor from this module; by now Tensor exists.
from . import autograd as _autograd  # noqa: E402
