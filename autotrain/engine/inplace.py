"""In-place changes and assignment, recorded as PyTorch records them; and .grad accumulation.

An in-place op or ``t[key] = v`` writes the tensor's storage (so views and numpy aliases see it).
Outside grad mode, or when nothing involved requires grad, that is all.  Otherwise the change is
recorded: the op runs out of place on a snapshot of the old value (copied when its backward
reads it, as PyTorch saves the original), the result is written into the storage and the tensor
takes over the new history; through a view, the base is rebuilt around the view's new value
(``CopySlices``) and the view re-derives its history on next use.  Version counters make a later
backward through a changed saved tensor raise PyTorch's error.

These functions are installed as Tensor methods at the bottom (``w -= lr * g``, ``zero_()``, ...).
"""
from __future__ import annotations

import numpy as np

from .backend import NUMPY as NP
from .dtypes import DEFAULT, fit_int, result_type
from .graph import GRAD_MODE, Node
from .ops import OPS, basic_key, refuse_bool
from .tensor import DTYPE_CATEGORY, SCALAR_TYPES, Tensor, apply_op, increment_version, index_key, new_tensor, \
    op_error, operand, torch_name, xp_of_array

_SETITEM, _COPY_SLICES = OPS["setitem"], OPS["copy_slices"]


def adoptable_gradient(g, dtype, borrowed: bool) -> bool:
    """The fast path of a first gradient: it becomes ``.grad`` itself, not a copy, when nothing else can
    hold or change it.  Its preconditions, checked on every call: no rule handed the array to another
    input too (``borrowed``), it is no view of another array (``g.base is None``), it has the leaf's
    dtype and it is writeable (later gradients are added into it).  The plain path copies; the values
    are the same (``tests/test_engine_fast_paths.py``)."""
    return not borrowed and g.base is None and g.dtype == dtype and getattr(g.flags, "writeable", True)


def accumulate_grad(self, g, borrowed: bool) -> None:
    """``self.grad += g`` in place, as PyTorch's AccumulateGrad outside create_graph: where the backward
    walker (``backprop``) and ``autograd.backward`` hand a leaf its gradient.

    The first gradient becomes ``.grad`` without a copy when nothing else holds it (``borrowed``
    says a rule handed the same array to two inputs); later ones are added into that same array,
    so anything taken from ``.grad`` (``numpy()``, a view) keeps showing it.
    """
    if isinstance(g, np.generic):  # numpy turns 0-d results into scalars; .grad holds an array
        g, borrowed = np.asarray(g), False
    current = self._grad
    if current is None:
        adopt = adoptable_gradient(g, self._data.dtype, borrowed)
        self._grad = new_tensor(g if adopt else g.astype(self._data.dtype, copy=True))
        return
    target = current._data
    if target.shape != g.shape:
        raise RuntimeError(f"the gradient has shape {tuple(g.shape)} but .grad has shape {tuple(target.shape)}")
    (np.add if type(target) is np.ndarray else xp_of_array(target).add)(target, g, out=target, casting="unsafe")
    increment_version(current)


def setitem(self, key, value) -> None:
    if isinstance(key, Tensor) and key.dtype == np.uint8 and (not isinstance(value, Tensor) or value.ndim == 0):
        # PyTorch's x[uint8_mask] = number goes to masked_fill_, which takes bool masks only
        raise RuntimeError("masked_fill_ only supports boolean masks, but got mask with dtype unsigned char")
    key = index_key(key, self._data)
    if GRAD_MODE.enabled and self._requires_grad and self.grad_fn is None and key is not Ellipsis \
            and basic_key(key):  # PyTorch writes a basic index through a view of the leaf
        raise RuntimeError("a view of a leaf Variable that requires grad is being used in an in-place "
                           "operation.")
    self._write(_SETITEM, (value,), {"key": key})

def write_unrecorded_fast(tensor, op, others, attrs) -> bool:
    """The fast path of an unrecorded in-place op (an optimizer's ``w -= lr * g``, ``zero_()``): the op
    writes the numpy storage directly, skipping operand normalisation, promotion and castability checks.

    Its preconditions, checked on every call: grad mode off; a float numpy tensor; one operand, a Python
    int or float (not a bool, which some ops refuse) or an array of the same dtype; an op that needs no
    silenced floating-point warnings (not ``quiet``).  Then the plain path would compute exactly this.
    Returns False, having written nothing, when a precondition fails or the op raises (the plain
    path then raises the full message).  ``tests/test_engine_fast_paths.py`` checks it against the plain path.
    """
    data = tensor._data
    if GRAD_MODE.enabled or len(others) != 1 or op.quiet or type(data) is not np.ndarray or data.dtype.kind != "f":
        return False
    arg = others[0]
    kind = type(arg)
    if kind is Tensor:
        arg = arg._data
        if arg.dtype != data.dtype:
            return False
    elif kind is not int and kind is not float:
        return False
    try:
        op.forward(NP, data, arg, out=data, **attrs)
    except (ValueError, TypeError):
        return False
    increment_version(tensor)
    return True


def _write(self, op, others, attrs) -> "Tensor":
    """Apply ``op`` to this tensor in place: unrecorded into the storage, or recorded as PyTorch does."""
    if not GRAD_MODE.enabled and write_unrecorded_fast(self, op, others, attrs):
        return self
    others = tuple([o if type(o) in SCALAR_TYPES else operand(o) for o in others])
    if self._data.dtype.kind in "iu" and any(type(o) is int for o in others):
        # PyTorch's conversion of the number: an assignment or fill checks its range, arithmetic wraps it
        others = tuple([fit_int(o, self._data.dtype, op is _SETITEM) if type(o) is int else o for o in others])
    if not GRAD_MODE.enabled:  # optimizer steps and zero_(): straight into the storage
        self._check_castable(op, others)
        self._write_storage(op, others, attrs)
        return self
    base = self._base
    other_grad = any(isinstance(o, Tensor) and o.requires_grad for o in others)
    if base is not None and (other_grad or base._requires_grad) and "_multi_output" in self.__dict__:
        name, index = self.__dict__["_multi_output"]
        raise RuntimeError(f"Output {index} of {name} is a view and is being modified inplace. This view is the "
                           "output of a function that returns multiple views. Such functions do not allow the "
                           "output views to be modified inplace. You should replace the inplace operation by an "
                           "out-of-place one.")
    if base is None and self._requires_grad and self.grad_fn is None:
        raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
    if base is not None and base._requires_grad and base.grad_fn is None:
        raise RuntimeError("a view of a leaf Variable that requires grad is being used in an in-place "
                           "operation.")
    if base is not None and base._requires_grad and not self._view_grad:
        raise RuntimeError("A view was created in no_grad mode and is being modified inplace with grad "
                           "mode enabled. Given that this use case is ambiguous and error-prone, it is "
                           "forbidden. You can clarify your code by moving both the view and the inplace "
                           "either both inside the no_grad block (if you don't want the inplace to be "
                           "tracked) or both outside (if you want the inplace to be tracked).")
    self._check_castable(op, others)
    if not (self.requires_grad or other_grad):
        self._write_storage(op, others, attrs)
    elif base is None:
        result = apply_op(op, (self._snapshot(op),) + others, attrs)
        self._store(result)
        self._adopt(result)
    else:
        self._write_through_view(op, others, attrs)
    return self

def _check_castable(self, op, others) -> None:
    mine = self._data.dtype
    if op.dtype_rule not in ("promote", "float") or mine.kind == "f" and all(
            type(o) in SCALAR_TYPES or o._data.dtype == mine for o in others):
        return
    dt = result_type((self._data,) + tuple(o._data if isinstance(o, Tensor) else o for o in others))
    if op.dtype_rule == "float" and dt.kind != "f":
        dt = DEFAULT.float
    if DTYPE_CATEGORY[dt.kind] > DTYPE_CATEGORY[self._data.dtype.kind]:
        raise RuntimeError(f"result type {torch_name(dt)} can't be cast to the desired output type "
                           f"{torch_name(self._data.dtype)}")

def _write_storage(self, op, others, attrs) -> None:
    """The unrecorded in-place path: the op writes this tensor's array through ``out=``."""
    data = self._data
    args = [o._data if isinstance(o, Tensor) else o for o in others]
    if op.bool_error is not None:
        refuse_bool(op, [data] + args)
    try:
        if op.quiet:
            with np.errstate(all="ignore"):
                op.forward(xp_of_array(data), data, *args, out=data, **attrs)
        else:
            op.forward(xp_of_array(data), data, *args, out=data, **attrs)
    except (ValueError, TypeError) as exc:
        if "read-only" in str(exc):
            raise RuntimeError("unsupported operation: more than one element of the written-to tensor refers to "
                               "a single memory location. Please clone() the tensor before performing the "
                               "operation.") from None
        raise op_error(op, (self,) + others, attrs, exc) from None
    except OverflowError:   # a Python int beyond 64 bits met numpy's conversion: PyTorch's words for it
        raise OverflowError("int too big to convert") from None
    increment_version(self)


def _snapshot(self, op=None) -> "Tensor":
    """This tensor's value and history before an in-place change, as a separate tensor object.

    When ``op``'s backward reads its inputs the value is copied (PyTorch saves the original).
    """
    copy = op is not None and op.saves_inputs
    old = new_tensor(self._data.copy() if copy else self._data, requires_grad=self.requires_grad)
    edge = self.gradient_edge() if old._requires_grad else None
    if type(edge) is tuple:
        old.grad_fn, old._output_nr = edge
    elif edge is not self:
        old.grad_fn = edge
    if not copy:
        old._vc = self._vc
    return old

def _store(self, result: "Tensor") -> None:
    """Write an out-of-place result into this tensor's storage (views and numpy aliases see it)."""
    if result._data.shape != self._data.shape:
        raise RuntimeError(f"output with shape {list(self._data.shape)} doesn't match the broadcast shape "
                           f"{list(result._data.shape)}")
    xp_of_array(self._data).copyto(self._data, result._data, casting="unsafe")

def _adopt(self, result: "Tensor") -> None:
    """Take over ``result``'s history after writing its value here (a recorded in-place op)."""
    self.grad_fn, self._requires_grad, self._output_nr = result.grad_fn, True, 0
    increment_version(self)
    node = result.grad_fn
    if isinstance(node, Node) and node.out_counter is not None:
        # a saved output now lives in this tensor: later changes to it are caught
        node.out_counter, node.out_version = self._vc, self._vc.n

def _write_through_view(self, op, others, attrs) -> None:
    """In place through a view: the view's new value, then the base rebuilt around it (CopySlices)."""
    base = self._base
    value = apply_op(op, (self._snapshot(op),) + others, attrs)
    if value._data.shape != self._data.shape:
        self._store(value)  # raises the shape error
    new_base = apply_op(_COPY_SLICES, (base._snapshot(), value), {"view": self._view})
    base._store(new_base)
    base._adopt(new_base)
    self._requires_grad = True
    self._view_at = -1  # stale: the next use re-derives the view's grad_fn from the base

def zero_(self) -> "Tensor":
    """Fill with zeros in place."""
    return self.fill_(0)


def fill_(self, value) -> "Tensor":
    """Fill with ``value`` (a number or a 0-d tensor) in place."""
    if getattr(value, "ndim", 0):
        raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor with {value.ndim} "
                           "dimensions.")
    return self._write(_SETITEM, (value,), {"key": Ellipsis})

def copy_(self, src) -> "Tensor":
    """Copy ``src``'s values into this tensor (broadcasting), recorded like an assignment."""
    return self._write(_SETITEM, (src,), {"key": Ellipsis})


for _method in (accumulate_grad, _write, _check_castable, _write_storage, _snapshot, _store, _adopt,
                _write_through_view, zero_, fill_, copy_):
    setattr(Tensor, _method.__name__, _method)
Tensor.__setitem__ = setitem
