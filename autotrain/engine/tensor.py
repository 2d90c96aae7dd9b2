"""Tensor: an array plus the graph edge that made it, with PyTorch's names and meaning.

Every operation goes through :func:`apply_op`: PyTorch's dtype promotion, the op's forward
rule from ``ops.py``, and a :class:`~.graph.Node` recorded only when grad mode is on and some
input requires grad.  Tensor methods, operators, module functions and in-place ``name_``
methods are generated from each op's ``api`` declaration (``functional.py``); in-place changes,
assignment and ``.grad`` accumulation live in ``inplace.py``; what is written here by hand is what
has no op: attributes, conversions, indexing, views and the edges a node records.

Views and in-place changes follow PyTorch: a view (basic indexing, reshape/view, transpose,
squeeze, ...) shares storage and the version counter with its base; an in-place change writes
the storage and is recorded on the changed tensor, and through a view also on its base
(``CopySlices``); a later backward through a saved tensor that was changed raises PyTorch's
error.
"""
from __future__ import annotations

import builtins
import copy
import numbers
import weakref
from collections import namedtuple

import numpy as np

from . import backend, backprop, dtypes
from .backend import NUMPY as NP
from .dtypes import DEFAULT, bool_, float16, float32, float64, int32, int64, result_type, torch_name  # noqa: F401
from .graph import GRAD_MODE, Node, VersionCounter
from .ops import OPS, Op, OperandError, OperandTypeError, refuse_bool, tensor_arg, wrap_dim

long, double, half = int64, float64, float16
as_dtype = dtypes.as_dtype
NO_ATTRS: dict = {}
SCALAR_TYPES = (int, builtins.float, bool)
_SETITEM, _COPY_SLICES, _INDEX, _CAST = OPS["setitem"], OPS["copy_slices"], OPS["index"], OPS["cast"]
DTYPE_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}
_READS_ALL = Op.reads
_FLOAT = builtins.float
#: Set by ``compile`` while it traces a call: told of every op ``apply_op`` ran, with its result.
TRACE_HOOK = None


xp_of_array = backend.xp_of   # the array module of an array: numpy or cupy


def as_array(value, like=None):
    """The array behind a Tensor, array or number (on ``like``'s device when given)."""
    if isinstance(value, Tensor):
        return value._data
    if like is not None and type(like) is not np.ndarray:
        return backend.xp_of(like).asarray(value)
    return np.asarray(value)


def operand(value):
    """Normalise an operand: Tensors and Python numbers pass, numpy scalars become numbers, arrays constants."""
    if isinstance(value, Tensor) or type(value) in SCALAR_TYPES:
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, numbers.Number):
        return value
    if isinstance(value, np.ndarray) or hasattr(value, "__cuda_array_interface__"):
        return new_tensor(value) if value.dtype.kind in "biuf" else _refuse_array(value)
    raise TypeError(f"unsupported operand type for a Tensor operation: {type(value).__name__}")


def _refuse_array(value):
    raise TypeError(f"can't convert np.ndarray of type {value.dtype}: the engine supports only bool, integer and "
                    "floating dtypes")


def new_tensor(data, grad_fn=None, requires_grad=False, cls=None) -> "Tensor":
    """The one place a Tensor's fields are set."""
    t = object.__new__(cls or Tensor)
    t._data, t._requires_grad, t._grad, t.grad_fn = data, requires_grad, None, grad_fn
    t._output_nr, t._vc, t._base = 0, None, None
    return t


def increment_version(tensor: "Tensor") -> None:
    """Record an in-place change of ``tensor``'s storage (PyTorch's ``torch.autograd.graph.increment_version``):
    its version counter, shared with its views, goes up, so a graph that saved it refuses to backward."""
    vc = tensor._vc
    if vc is None:
        vc = tensor._vc = VersionCounter()
    vc.n += 1
    GRAD_MODE.mutations += 1


def _describe(value) -> str:
    if isinstance(value, Tensor):
        return f"{tuple(value._data.shape)} {value._data.dtype}"
    return f"scalar {value!r}"


def op_error(op, inputs, attrs, exc) -> Exception:
    """The error for an op numpy refused, in PyTorch's type and the engine's words: shapes that do not
    broadcast, a dtype the op has no kernel for, a result an in-place op cannot store; else one sentence
    naming the op and every operand (numpy's own text never reaches the user)."""
    if isinstance(exc, TypeError) and str(exc).startswith(f"{op.name}(): argument "):
        return TypeError(str(exc))   # the op's own words for an argument that is not a Tensor (ops.tensor_arg)
    operands = " and ".join(_describe(t) for t in inputs)
    reason = _broadcast_reason(inputs) if "broadcast" in str(exc) else None
    if reason:
        return RuntimeError(f"{op.name}: {reason}; operands {operands} cannot be broadcast")
    to = getattr(exc, "to", None)
    if isinstance(exc, TypeError) and isinstance(to, np.dtype) and isinstance(getattr(exc, "from_", None), np.dtype):
        return RuntimeError(f"result type {_computed_name(exc.from_, inputs)} can't be cast to the desired output "
                            f"type {torch_name(to)}")
    if isinstance(exc, TypeError) and "not supported for the input types" in str(exc):
        return NotImplementedError(f'"{op.name}_cpu" not implemented for '
                                   f"'{_computed_name(_operand_dtype(inputs), inputs)}'")
    extra = f" with {attrs}" if attrs else ""
    own = f": {exc}" if isinstance(exc, (OperandError, OperandTypeError)) else ""
    return RuntimeError(f"{op.name}: cannot apply to operands {operands}{extra}{own}")


def _operand_dtype(inputs) -> np.dtype:
    """The dtype the operands promote to (Python numbers as PyTorch weighs them)."""
    try:
        return result_type([t._data if isinstance(t, Tensor) else t for t in inputs])
    except Exception:  # noqa: BLE001 - only a label for an error being raised
        return next((t._data.dtype for t in inputs if isinstance(t, Tensor)), np.dtype(DEFAULT.float))


def _computed_name(dtype, inputs) -> str:
    """PyTorch's name of the dtype an op computed in: numpy's float64 for a Python float is the default float."""
    if dtype == np.float64 and not any(isinstance(t, Tensor) and t._data.dtype == np.float64 for t in inputs):
        dtype = np.dtype(DEFAULT.float)
    return torch_name(dtype)


def _broadcast_reason(inputs):
    """PyTorch's sentence for two shapes that do not broadcast, or None."""
    shapes = [tuple(t.shape) for t in inputs if isinstance(t, Tensor)]
    for a, b in zip(shapes, shapes[1:]):
        ndim = max(len(a), len(b))
        for i in range(1, min(len(a), len(b)) + 1):
            if a[-i] != b[-i] and 1 not in (a[-i], b[-i]):
                return (f"The size of tensor a ({a[-i]}) must match the size of tensor b ({b[-i]}) at non-singleton "
                        f"dimension {ndim - i}")
    return None


def _shape_error(op, inputs, attrs):
    """PyTorch's own message when the op's shape rule has one (cat, stack, ...); None otherwise."""
    try:
        op.shape(*(tuple(t.shape) if isinstance(t, Tensor) else None for t in inputs), **attrs)
    except RuntimeError as exc:
        return exc
    except Exception:  # noqa: BLE001 - only a RuntimeError from the rule carries PyTorch's wording
        return None
    return None


def _check_same_device(inputs) -> None:
    devices = sorted({str(t.device) for t in inputs if isinstance(t, Tensor)})
    if len(devices) > 1:
        raise RuntimeError("Expected all tensors to be on the same device, but found at least two devices, "
                           f"{' and '.join(devices)}!")


def promote(op, arrays):
    """The arrays cast to the dtype PyTorch computes ``op`` in (``dtypes.result_type``); usually unchanged."""
    start, dt, same, scalar = op.promote_from, None, True, 0
    for a in arrays[start:] if start else arrays:
        t = type(a)
        if t is builtins.float:
            scalar = 2
        elif t is int:
            scalar = scalar or 1
        elif t is not bool:
            if dt is None:
                dt = a.dtype
            elif a.dtype != dt:
                same = False
    rule = op.dtype_rule
    if rule == "same" and not same:
        kinds = [a.dtype for a in arrays if type(a) not in SCALAR_TYPES]
        raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: {kinds[0]} != {kinds[1]}")
    if dt is None:  # only Python scalars take part (where(mask, 1.0, 0.0)): they become 0-d arrays
        target = result_type(arrays[start:])
        target = DEFAULT.float if rule == "float" and target.kind != "f" else target
        return tuple(a if i < start else np.asarray(a, target) for i, a in enumerate(arrays))
    target = dt if same and DTYPE_CATEGORY[dt.kind] >= scalar else result_type(arrays[start:])
    if rule == "float" and target.kind != "f":
        target = DEFAULT.float
    if same and target == dt:
        return arrays
    return tuple(a if type(a) in SCALAR_TYPES or i < start or a.dtype == target else a.astype(target)
                 for i, a in enumerate(arrays))


def fit_ints(op, arrays) -> tuple:
    """The Python ints among ``arrays`` as the integer dtype the op computes in holds them (``dtypes.fit_int``:
    wrapped around, or refused for ``op.checks_ints``), as PyTorch converts them."""
    tensors = [a for a in arrays[op.promote_from:] if type(a) not in SCALAR_TYPES]
    if not tensors:
        return arrays
    target = tensors[0].dtype if len(tensors) == 1 else result_type(tensors)
    if target.kind not in "iu":
        return arrays
    if op.int_exponent and type(arrays[-1]) is int and arrays[-1] < 0:
        raise RuntimeError("Integers to negative integer powers are not allowed.")
    last = len(arrays) - 1   # pow's exponent is converted checked, its base wrapped (PyTorch)
    return tuple(dtypes.fit_int(a, target, op.checks_ints or op.int_exponent and i == last) if type(a) is int else a
                 for i, a in enumerate(arrays))


def apply_op(op, inputs: tuple, attrs: dict = NO_ATTRS):
    """Run ``op`` forward on the inputs' arrays; record a graph node when a gradient will be needed.

    Inputs are Tensors or Python numbers; anything else (numpy scalars, arrays) is normalised first.
    """
    arrays, xp, dt, grad, mixed, weak, python_bool = [], None, None, False, False, 0, False
    for t in inputs:
        if isinstance(t, Tensor):
            a = t._data
            if dt is None:
                xp, dt = NP if type(a) is np.ndarray else backend.xp_of(a), a.dtype
            else:
                if (xp is NP) is not (type(a) is np.ndarray):
                    _check_same_device(inputs)
                mixed = mixed or a.dtype is not dt
            if t._requires_grad or t._base is not None and t._base._requires_grad:
                grad = True
            arrays.append(a)
        elif type(t) in SCALAR_TYPES:
            weak = 2 if type(t) is _FLOAT else weak or type(t) is int
            python_bool = python_bool or type(t) is bool
            arrays.append(t)
        else:
            return apply_op(op, tuple([operand(v) for v in inputs]), attrs)
    # a bool operand is only possible when the tensors' one dtype is bool, dtypes mix, or a Python bool came
    if op.bool_error is not None and (dt is None or mixed or python_bool or dt.kind == "b"):
        refuse_bool(op, arrays)
    # promotion is skipped in the common case: one dtype, and no Python number of a higher category
    if op.promotes and (mixed or op.promote_from or weak and DTYPE_CATEGORY[dt.kind] < weak
                        or dt.kind != "f" and op.dtype_rule == "float"):
        arrays = promote(op, arrays)
    if weak == 1 and (mixed or dt is None or dt.kind != "f"):   # a Python int with integer tensors
        arrays = fit_ints(op, arrays)
    try:
        if op.quiet:
            with np.errstate(all="ignore"):
                out = op.forward(xp, *arrays, **attrs)
        else:
            out = op.forward(xp, *arrays, **attrs)
    except (ValueError, TypeError) as exc:
        raise _shape_error(op, inputs, attrs) or op_error(op, inputs, attrs, exc) from None
    except OverflowError:   # a Python int beyond 64 bits met numpy's conversion: PyTorch's words for it
        raise OverflowError("int too big to convert") from None
    if type(out) is not np.ndarray and xp is NP:
        out = np.asarray(out)
    result = _record(op, out, inputs, arrays, attrs) if grad and op.records and GRAD_MODE.enabled else new_tensor(out)
    if op.view:
        _mark_view(result, inputs[0], op, attrs, xp)
    if TRACE_HOOK is not None:   # torch.compile is recording this call (engine/compile.py)
        TRACE_HOOK(op, inputs, attrs, result)
    return result


def _record(op, out, inputs, arrays, attrs):
    """A Node for ``op`` with each input's edge taken now, the saved values and their versions."""
    edges, needs = [], []
    for t in inputs:
        if type(t) in SCALAR_TYPES:
            edge = None
        else:
            edge = t.gradient_edge() if t._requires_grad or t._base is not None and t._base._requires_grad else None
        edges.append(edge)
        needs.append(edge is not None)
    needs = tuple(needs)
    node = Node(op, inputs, tuple(edges), attrs, needs)
    result = new_tensor(out, node, True)
    if op.saves_inputs:
        node.inputs = arrays
        if op.reads is _READS_ALL:  # every tensor input is read: all are version-checked
            node.versions = tuple([(t, 0 if t._vc is None else t._vc.n) for t in inputs if type(t) not in SCALAR_TYPES])
        else:
            node.versions = tuple([(t, 0 if t._vc is None else t._vc.n) for t, read in zip(inputs, op.reads(needs))
                                   if read and type(t) not in SCALAR_TYPES])
    if op.saves_output:
        node.output = out
        node.out_counter = result._counter()
    return result


def _mark_view(result, source, op, attrs, xp) -> None:
    """Make ``result`` a view of ``source``'s base when the forward returned a view of its storage."""
    if not xp.may_share_memory(result._data, source._data):
        return
    base = source._base if source._base is not None else source
    result._vc = base._counter()
    result._base = base
    result._view = (source._view if source._base is not None else ()) + ((op, attrs),)
    result._view_at = result._vc.n
    result._view_grad = GRAD_MODE.enabled
    if source._base is not None and "_multi_output" in source.__dict__:   # a view of split()'s output
        result._multi_output = source._multi_output


def _cast(tensor, dtype) -> "Tensor":
    """``tensor`` as ``dtype``; an integer or bool result carries no gradient (PyTorch: requires_grad=False)."""
    if dtype.kind == "f":
        return apply_op(_CAST, (tensor,), {"dtype": dtype})
    prev, GRAD_MODE.enabled = GRAD_MODE.enabled, False
    try:
        return apply_op(_CAST, (tensor,), {"dtype": dtype})
    finally:
        GRAD_MODE.enabled = prev


ReturnTypes = namedtuple("ReturnTypes", ["values", "indices"])



class _Layouts:
    """How many times a tensor's array was replaced by one of another shape, dtype or array type."""
    __slots__ = ("changes",)

    def __init__(self) -> None:
        self.changes = 0


#: Read by compiled plans' guards: a plan reads each tensor's array when it runs, but it was traced for
#: the arrays' shapes and dtypes, so a replacement that changes them must send the call to the full guard.
LAYOUTS = _Layouts()


def replace_array(t: "Tensor", array) -> None:
    """Make ``array`` the storage of ``t`` (``t.data = ...``, ``Module.to``), counting layout changes."""
    old = t._data
    if type(array) is not type(old) or array.shape != old.shape or array.dtype != old.dtype:
        LAYOUTS.changes += 1
    t._data = array

class Tensor:
    """An n-dimensional array that can record the operations applied to it for ``backward()``.

    Create tensors with :func:`tensor`, :func:`randn`, :func:`zeros`, ... rather than
    calling this class; ``Tensor(data, requires_grad=...)`` wraps an array as is.
    """

    __slots__ = ("_data", "_requires_grad", "_grad", "grad_fn", "_output_nr", "_vc", "_base", "_view", "_view_at",
                 "_view_grad", "__weakref__", "__dict__")
    __array_priority__ = 1000  # numpy scalars/arrays on the left defer to our reflected operators

    def __init__(self, data, requires_grad: bool = False):
        data = data if isinstance(data, np.ndarray) else as_array(data)
        if data.dtype.kind not in "biuf":
            _refuse_array(data)
        self._data, self._requires_grad, self._grad, self.grad_fn = data, False, None, None
        self._output_nr, self._vc, self._base = 0, None, None
        if requires_grad:
            self.requires_grad = True

    @classmethod
    def _wrap(cls, data) -> "Tensor":
        """A constant tensor around ``data`` (no copy, no grad)."""
        return new_tensor(data)

    # ----------------------------------------------------------------- graph bookkeeping
    def _counter(self) -> VersionCounter:
        if self._vc is None:
            self._vc = VersionCounter()
        return self._vc

    @property
    def _version(self) -> int:
        return 0 if self._vc is None else self._vc.n

    def gradient_edge(self):
        """Where this tensor's gradient goes: its grad_fn, ``(grad_fn, output_nr)`` for a later output of a
        multi-output node, itself for a leaf; a stale view's grad_fn is replayed first.  What a recorded
        node keeps as an input's edge and where the backward walker starts (PyTorch's counterpart is
        ``torch.autograd.graph.get_gradient_edge``)."""
        if self._base is not None and self._view_at != self._vc.n and self._base._requires_grad:
            self._refresh_view()
        fn = self.grad_fn
        if fn is None:
            return self
        return (fn, self._output_nr) if self._output_nr else fn

    def _refresh_view(self) -> None:
        """Re-derive a view's grad_fn from its base's current history (after the base changed in place)."""
        current, prev = self._base, GRAD_MODE.enabled
        GRAD_MODE.enabled = True
        try:
            for op, attrs in self._view:
                current = apply_op(op, (current,), attrs)
        finally:
            GRAD_MODE.enabled = prev
        self.grad_fn, self._requires_grad, self._output_nr = current.grad_fn, True, 0
        self._view_at = self._vc.n

    # ----------------------------------------------------------------- attributes
    @property
    def grad(self):
        """The gradient accumulated by ``backward()`` (None until then)."""
        return self._grad

    @grad.setter
    def grad(self, value) -> None:
        """Assign a gradient, checked as PyTorch checks it: a Tensor (or None) of this tensor's shape, dtype, device."""
        if value is not None:
            check_grad_assignment(self, value)
        self._grad = value

    @property
    def requires_grad(self) -> bool:
        return self._requires_grad or (self._base is not None and self._base._requires_grad and self._view_grad)

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        if not isinstance(value, (bool, np.bool_)):
            raise RuntimeError("requires_grad must be a bool")
        if self.grad_fn is not None and not value:
            raise RuntimeError("you can only change requires_grad flags of leaf variables. If you want to use a "
                               "computed variable in a subgraph that doesn't require differentiation use "
                               "var_no_grad = var.detach().")
        if value and self._data.dtype.kind not in "fc":
            raise RuntimeError("only Tensors of floating point and complex dtype can require gradients")
        self._requires_grad = bool(value)

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        """Set ``requires_grad`` in place (a bool, as PyTorch's signature says) and return this tensor."""
        if not isinstance(requires_grad, bool):
            raise TypeError("requires_grad_(): argument 'requires_grad' (position 1) must be bool, not "
                            f"{type(requires_grad).__name__}")
        self.requires_grad = requires_grad
        return self

    @property
    def data(self) -> "Tensor":
        """A tensor sharing this one's storage, detached from the graph (in-place changes go unnoticed)."""
        return new_tensor(self._data)

    @data.setter
    def data(self, value) -> None:
        replace_array(self, as_array(value, like=self._data))

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None and not (self._base is not None and self._base._requires_grad)

    @property
    def shape(self) -> tuple:
        return self._data.shape

    def size(self, dim: int | None = None):
        return self._data.shape if dim is None else self._data.shape[wrap_dim(dim, self._data.ndim)]

    @property
    def dtype(self) -> np.dtype:
        return self._data.dtype

    @property
    def device(self) -> backend.device:
        return backend.device_of(self._data)

    @property
    def is_cuda(self) -> bool:
        return self.device.type == "cuda"

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def dim(self) -> int:
        return self._data.ndim

    def numel(self) -> int:
        return int(self._data.size)

    def element_size(self) -> int:
        return int(self._data.itemsize)

    def is_floating_point(self) -> bool:
        return self._data.dtype.kind == "f"

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self._data)

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(len(self._data)))

    @property
    def T(self) -> "Tensor":
        """The dimensions reversed (PyTorch deprecates ``.T`` beyond 2-D but still reverses)."""
        return apply_op(OPS["transpose"], (self,), {"axes": tuple(reversed(range(self._data.ndim)))})

    @property
    def mT(self) -> "Tensor":
        return self.transpose(-2, -1)

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
        if self.requires_grad:
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
        if self._data.size != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        return builtins.float(self.item())

    def __int__(self) -> int:
        if self._data.size != 1:   # PyTorch: ValueError here, where item() raises RuntimeError
            raise ValueError("only one element tensors can be converted to Python scalars")
        return int(self.item())

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
        return bool(self.item())

    def __index__(self) -> int:
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def clone(self) -> "Tensor":
        """A copy that stays in the graph (its gradient flows back to this tensor)."""
        if self.requires_grad and GRAD_MODE.enabled:
            return apply_op(OPS["mul"], (self, 1))  # x * 1, not x + 0: -0.0 stays -0.0
        return new_tensor(self._data.copy())

    def detach(self) -> "Tensor":
        """The same storage (and version counter), cut off from the graph."""
        t = new_tensor(self._data)
        t._vc = self._counter()
        return t

    def detach_(self) -> "Tensor":
        """Cut this tensor off from the graph in place; a view cannot be (PyTorch's error)."""
        if self._base is not None:
            raise RuntimeError("Can't detach views in-place. Use detach() instead.")
        self.grad_fn, self._requires_grad = None, False
        return self

    def to(self, *args, dtype=None, device=None, copy: bool = False, non_blocking: bool = False) -> "Tensor":
        """This tensor on another device and/or dtype (``to("cuda")``, ``to(float64)``, ``to(dev, dtype)``)."""
        for arg in args:
            if isinstance(arg, backend.device) or (isinstance(arg, str) and arg.split(":")[0] in ("cpu", "cuda")):
                device = arg
            elif isinstance(arg, Tensor):
                dtype, device = arg.dtype, arg.device
            else:
                dtype = arg
        out = self
        if device is not None and backend.device(device) != self.device:
            out = new_tensor(backend.to_device(self._data, backend.check_device(device)))
            out._requires_grad = self._requires_grad and self.is_leaf
        if dtype is not None and as_dtype(dtype) != out._data.dtype:
            out = _cast(out, as_dtype(dtype))
        if out is self and copy:
            out = self.clone()
        return out

    def type(self, dtype=None):
        return str(self._data.dtype) if dtype is None else self.to(dtype)

    def cpu(self) -> "Tensor":
        return self.to("cpu")

    def cuda(self, device=None) -> "Tensor":
        return self.to("cuda" if device is None else f"cuda:{device}")

    def type_as(self, other: "Tensor") -> "Tensor":
        return self.to(tensor_arg("type_as", "other", 1, other).dtype)

    def __repr__(self) -> str:
        body = np.array2string(backend.to_numpy(self._data), separator=", ", prefix="tensor(")
        extras = []
        if self._data.dtype not in (DEFAULT.float, int64, bool_):
            extras.append(f"dtype={self._data.dtype}")
        if self.device.type != "cpu":
            extras.append(f"device='{self.device}'")
        if self.grad_fn is not None:
            extras.append(f"grad_fn={self.grad_fn!r}")
        elif self._requires_grad:
            extras.append("requires_grad=True")
        return f"tensor({body}{''.join(', ' + e for e in extras)})"

    __hash__ = object.__hash__

    def __deepcopy__(self, memo):
        """A copy of a leaf (PyTorch refuses non-leaves): data, requires_grad, .grad and extra attributes."""
        if self.grad_fn is not None:
            raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) support the deepcopy "
                               "protocol at the moment.")
        t = new_tensor(self._data.copy(), requires_grad=self._requires_grad, cls=type(self))
        memo[id(self)] = t
        if self.grad is not None:
            t.grad = copy.deepcopy(self.grad, memo)
        for name, value in getattr(self, "__dict__", {}).items():
            setattr(t, name, copy.deepcopy(value, memo))
        return t

    # ----------------------------------------------------------------- autograd
    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None) -> None:
        """Accumulate d(self)/d(leaf) into the ``.grad`` of every leaf that requires grad.

        ``gradient`` is required when ``self`` is not a scalar.  The graph's saved
        values are freed afterwards unless ``retain_graph=True``.  ``create_graph=True`` records the
        backward pass itself, so the ``.grad`` it leaves can be differentiated again; ``inputs``
        limits the accumulation to those tensors.
        """
        if create_graph or inputs is not None:
            from . import autograd  # the general form lives there (autograd imports this module)
            autograd.backward(self, gradient, retain_graph, create_graph, inputs)
            return
        backprop.run_backward((self,), root_grads((self,), (gradient,)), bool(retain_graph))

    def retain_grad(self) -> None:
        """Keep this non-leaf's gradient in ``.grad`` after backward (a leaf keeps it anyway)."""
        if not self.requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        edge = self.gradient_edge()
        if edge is self or self.retains_grad:
            return
        node = edge[0] if type(edge) is tuple else edge
        node.retained = (node.retained or ()) + ((weakref.ref(self), self._output_nr),)
        self._retains = node

    @property
    def retains_grad(self) -> bool:
        """True after ``retain_grad()`` on a non-leaf."""
        return self.__dict__.get("_retains") is not None and self.__dict__["_retains"] is self.grad_fn

    def __pos__(self):
        return self

    # ----------------------------------------------------------------- indexing
    def __getitem__(self, key):
        return apply_op(_INDEX, (self,), {"key": index_key(key, self._data)})


def root_grads(outputs, grad_outputs) -> list:
    """The gradient arrays that start a backward pass at ``outputs``."""
    grads = []
    for i, (out, given) in enumerate(zip(outputs, grad_outputs)):
        if not isinstance(out, Tensor):
            raise TypeError(f"outputs[{i}] must be a Tensor, got {type(out).__name__}")
        if not out.requires_grad:
            raise RuntimeError(f"element {i} of tensors does not require grad and does not have a grad_fn")
        data = out._data
        if given is None:
            if data.size != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            if type(data) is np.ndarray:  # np.array: a fresh 0-d array at a fraction of np.ones' cost
                grads.append(np.array(1, data.dtype) if data.ndim == 0 else np.ones(data.shape, data.dtype))
            else:
                grads.append(xp_of_array(data).ones(data.shape, data.dtype))
            continue
        arr = as_array(given, like=data)
        if arr.shape != data.shape:
            raise RuntimeError(f"Mismatch in shape: grad_output[{i}] has a shape of {tuple(arr.shape)} and "
                               f"output[{i}] has a shape of {tuple(data.shape)}.")
        grads.append(arr.astype(data.dtype, copy=True))
    return grads


#: the index dtypes PyTorch accepts (long, int, byte = a mask, bool); int8 and int16 it refuses
_INDEX_DTYPES = ("int64", "int32", "uint8", "bool")


def index_key(key, data):
    """An index as numpy reads it, with PyTorch's meaning: Tensors inside it as arrays (a bool mask, int
    indices), a uint8 tensor as a mask (as PyTorch), an empty list as no indices; other dtypes refused."""
    parts = key if isinstance(key, tuple) else (key,)
    converted = []
    for k in parts:
        if isinstance(k, Tensor):
            k = k._data
        elif isinstance(k, list):
            k = np.asarray(k) if k else np.zeros(0, np.int64)   # x[[]]: no rows, as PyTorch
        if hasattr(k, "dtype") and hasattr(k, "shape"):
            if k.dtype.name not in _INDEX_DTYPES:
                raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
            if k.dtype.kind == "u":
                k = k.astype(bool)
        converted.append(k)
    return tuple(converted) if isinstance(key, tuple) else converted[0]


#: PyTorch's names for dtypes in .grad assignment errors (C++ spellings)
_CPP_NAMES = {"float64": "double", "float32": "float", "float16": "c10::Half", "int64": "long int", "int32": "int",
              "int16": "short int", "int8": "signed char", "uint8": "unsigned char", "bool": "bool"}


def check_grad_assignment(tensor, grad) -> None:
    """Raise PyTorch's error unless ``grad`` may become ``tensor.grad`` (same shape, dtype and device)."""
    if not isinstance(grad, Tensor):
        raise TypeError(f"assigned grad expected to be a Tensor or None but got grad of type {type(grad).__name__}")
    if grad is tensor:
        raise RuntimeError("can't assign Variable as its own grad")
    if grad._data.dtype != tensor._data.dtype:
        raise RuntimeError(f"attempting to assign a gradient with dtype '{_CPP_NAMES.get(grad.dtype.name)}' to a "
                           f"tensor with grad_dtype '{torch_name(tensor.dtype)}'. The gradient must match the "
                           "tensor's grad_dtype (defaults to the tensor's dtype).")
    if grad.device != tensor.device:
        raise RuntimeError(f"attempting to assign a gradient located on device with type '{grad.device.type}' to a "
                           f"tensor located on device with type '{tensor.device.type}'. Please ensure that the "
                           "gradient and the tensor are on the same device")
    if grad._data.shape != tensor._data.shape:
        raise RuntimeError(f"attempting to assign a gradient of size '{list(grad.shape)}' to a tensor of size "
                           f"'{list(tensor.shape)}'. Please ensure that the gradient and the tensor are the same "
                           "size")




def _caster(name, dtype):
    def cast(self) -> "Tensor":
        return self.to(dtype)
    cast.__name__, cast.__qualname__ = name, f"Tensor.{name}"   # a wrong call names Tensor.float, as PyTorch
    cast.__doc__ = f"This tensor as {dtype} (itself when it already is)."
    return cast


for _name, _dtype in (("float", float32), ("double", float64), ("half", float16), ("long", int64), ("int", int32),
                      ("bool", bool_)):
    setattr(Tensor, _name, _caster(_name, _dtype))


def _unknown_attribute(self, name: str):
    """A Tensor attribute the engine does not cover: one sentence naming it (only reached when lookup fails)."""
    if name.startswith("__") or name in Tensor.__slots__:
        raise AttributeError(name)
    raise AttributeError(f"Tensor has no attribute '{name}': it is not among the PyTorch tensor methods the engine "
                         "covers (see docs/engine.md, 'What the engine covers')")


Tensor.__getattr__ = _unknown_attribute
