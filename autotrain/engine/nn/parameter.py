"""``nn.Parameter``: a tensor that a :class:`~.module.Module` registers as one of its parameters."""
from __future__ import annotations

import weakref

from ..tensor import Tensor

# NOTE: the engine's hot paths test ``type(t) is Tensor`` (a subclass would be taken for a constant),
# so a Parameter is a plain Tensor remembered here by id; ``isinstance(t, Parameter)`` consults it.
# (Not a WeakSet: that compares members with ==, which is elementwise on tensors.)
_PARAMETERS: dict[int, weakref.ref] = {}


def _remember(tensor: Tensor) -> None:
    key = id(tensor)

    def forget(ref, key=key):
        if _PARAMETERS.get(key) is ref:
            del _PARAMETERS[key]
    _PARAMETERS[key] = weakref.ref(tensor, forget)


class _ParameterMeta(type):
    def __instancecheck__(cls, instance) -> bool:
        return is_parameter(instance)


class Parameter(metaclass=_ParameterMeta):
    """``Parameter(data, requires_grad=True)``: a leaf tensor sharing ``data``'s storage, marked as a parameter.

    Assigning one to a Module attribute registers it (``parameters()``, ``state_dict()``, ...).
    ``isinstance(p, Parameter)`` is True for it; ``type(p)`` is ``Tensor`` (see the README's differences).
    """

    def __new__(cls, data: Tensor | None = None, requires_grad: bool = True) -> Tensor:
        if data is None:
            from ..creation import zeros
            data = zeros(0)
        if not isinstance(data, Tensor):
            raise TypeError(f"Parameter(data): expected a Tensor, got {type(data).__name__}")
        param = Tensor._wrap(data._data)
        if requires_grad:
            param.requires_grad = True
        _remember(param)
        return param


def is_parameter(value) -> bool:
    """True for a tensor made by :class:`Parameter`."""
    if type(value) is not Tensor:
        return False
    ref = _PARAMETERS.get(id(value))
    return ref is not None and ref() is value


def mark_parameter(tensor: Tensor) -> Tensor:
    """Mark an existing tensor as a parameter in place (used when a module's dtype or device changes)."""
    _remember(tensor)
    return tensor
