"""``nn.Parameter``: a tensor that a :class:`~.module.Module` registers as one of its parameters."""
from __future__ import annotations

from ..tensor import Tensor, new_tensor


class Parameter(Tensor):
    """``Parameter(data, requires_grad=True)``: a leaf tensor sharing ``data``'s storage, marked as a parameter.

    Assigning one to a Module attribute registers it (``parameters()``, ``state_dict()``, ...).
    Operations on it give plain tensors, as in PyTorch.
    """

    __slots__ = ()

    def __new__(cls, data: Tensor | None = None, requires_grad: bool = True) -> "Parameter":
        if data is None:
            from ..creation import empty
            data = empty(0)
        if not isinstance(data, Tensor):
            raise TypeError(f"Parameter(data): expected a Tensor, got {type(data).__name__}")
        param = new_tensor(data._data, cls=cls)
        if requires_grad:
            param.requires_grad = True
        return param

    def __init__(self, data: Tensor | None = None, requires_grad: bool = True) -> None:
        pass  # everything happened in __new__ (Tensor.__init__ would wrap the data again)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    def __reduce_ex__(self, protocol):
        return (Parameter, (new_tensor(self._data), self.requires_grad))

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        copy = Parameter(new_tensor(self._data.copy()), self.requires_grad)
        memo[id(self)] = copy
        return copy


def is_parameter(value) -> bool:
    """True for a tensor made by :class:`Parameter`."""
    return isinstance(value, Parameter)


