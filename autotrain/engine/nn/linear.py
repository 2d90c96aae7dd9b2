"""``Linear``, ``Identity`` and ``Flatten``."""
from __future__ import annotations

import math

import numpy as np

from .. import backend
from ..dtypes import get_default_dtype
from ..tensor import Tensor, as_dtype, new_tensor
from . import functional as F
from .module import Module
from .parameter import Parameter


class Linear(Module):
    """y = x @ weight.T + bias, with weight (out_features, in_features) and bias (out_features,).

    Initialisation (PyTorch's default distribution): weight, then bias, each drawn from
    U(-1/sqrt(in_features), 1/sqrt(in_features)) as ``RNG.uniform(-k, k, size)`` in float64 and cast.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, device=None, dtype=None) -> None:
        super().__init__()
        for name, n in (("in_features", in_features), ("out_features", out_features)):
            if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
                raise TypeError(f"Linear: {name} must be an int, got {type(n).__name__} {n!r}")
        self.in_features = in_features
        self.out_features = out_features
        dtype = as_dtype(dtype) or as_dtype(get_default_dtype())
        self.weight = Parameter(_empty((out_features, in_features), dtype, device))
        if bias:
            self.bias = Parameter(_empty((out_features,), dtype, device))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Redraw weight and bias from U(-1/sqrt(in), 1/sqrt(in)) (weight first)."""
        from . import init
        bound = 1 / math.sqrt(self.in_features) if self.in_features > 0 else 0
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input: Tensor) -> Tensor:
        params = self._parameters   # read directly: the attribute path goes through __getattr__
        return F.linear(input, params["weight"], params["bias"])

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


def _empty(shape, dtype, device) -> Tensor:
    array = np.empty(shape, dtype)
    return new_tensor(array if device is None else backend.to_device(array, backend.check_device(device)))


class Identity(Module):
    """Returns its input unchanged (accepts and ignores any constructor arguments)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__()

    def forward(self, input: Tensor) -> Tensor:
        return input


class Flatten(Module):
    """Flattens dimensions ``start_dim`` .. ``end_dim`` into one: (N, 2, 3) -> (N, 6) by default."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, input: Tensor) -> Tensor:
        shape = tuple(input.shape)
        if not shape:
            return input.reshape(1)
        start, end = self.start_dim % len(shape), self.end_dim % len(shape)
        if start > end:
            raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
        merged = int(np.prod(shape[start:end + 1]))
        return input.reshape(shape[:start] + (merged,) + shape[end + 1:])

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
