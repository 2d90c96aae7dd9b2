"""autotrain's autograd engine, with PyTorch's names: ``import autotrain.engine as torch``.

The engine imports nothing from the rest of autotrain.
"""
from . import autograd
from .autograd import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .backend import DeviceUnavailableError, device
from .creation import arange, from_numpy, full, manual_seed, ones, ones_like, rand, randn, tensor, zeros, zeros_like
from .functional import clamp, exp, log, matmul, maximum, mean, minimum, mm, pow, relu, sigmoid, sum, tanh, \
    transpose, where
from .tensor import Tensor, bool_, double, float16, float32, float64, int32, int64, long
from . import nn, optim  # noqa: E402 - after the core: they build on Tensor and the op table

float = float32  # noqa: A001 - PyTorch's name for the default dtype
half = float16
bool = bool_  # noqa: A001

__all__ = [
    "autograd", "nn", "optim", "Tensor", "device", "DeviceUnavailableError",
    "float", "float32", "double", "float64", "half", "float16", "int32", "int64", "long", "bool",
    "tensor", "from_numpy", "randn", "rand", "zeros", "ones", "full", "zeros_like", "ones_like", "arange",
    "manual_seed", "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled",
    "mm", "matmul", "clamp", "relu", "maximum", "minimum", "pow", "exp", "log", "tanh", "sigmoid", "sum", "mean",
    "transpose", "where",
]
