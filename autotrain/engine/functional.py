"""Module-level forms of the Tensor methods (``torch.exp(x)``, ``torch.maximum(a, b)``, ...)."""
from __future__ import annotations

import numpy as np

from .ops import OPS
from .tensor import Tensor, _operand, apply_op


def _t(x) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor._wrap(np.asarray(x))


def mm(a, b):
    return _t(a).mm(b)


def matmul(a, b):
    return _t(a).matmul(b)


def clamp(x, min=None, max=None):
    return _t(x).clamp(min=min, max=max)


def relu(x):
    return _t(x).relu()


def maximum(a, b):
    return _t(a).maximum(b)


def minimum(a, b):
    return _t(a).minimum(b)


def pow(x, exponent):
    return _t(x).pow(exponent)


def exp(x):
    return _t(x).exp()


def log(x):
    return _t(x).log()


def tanh(x):
    return _t(x).tanh()


def sigmoid(x):
    return _t(x).sigmoid()


def sum(x, dim=None, keepdim=False):
    return _t(x).sum(dim, keepdim)


def mean(x, dim=None, keepdim=False):
    return _t(x).mean(dim, keepdim)


def transpose(x, dim0, dim1):
    return _t(x).transpose(dim0, dim1)


def where(condition, x, y):
    """x where condition else y; differentiable in x and y."""
    return apply_op(OPS["where"], (_t(condition), _operand(x), _operand(y)))
