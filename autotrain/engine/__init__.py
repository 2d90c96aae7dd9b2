"""autotrain's autograd engine, with PyTorch's names: ``import autotrain.engine as torch``.

The engine imports nothing from the rest of autotrain.  What it covers is listed in the
section "What the engine covers" of docs/engine.md; any other name fails with one sentence saying so.
"""
from . import accelerator, autograd, cuda, inplace  # noqa: F401 - inplace installs the in-place Tensor methods
from .autograd import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .backend import DeviceUnavailableError, device
from .creation import arange, as_tensor, empty, empty_like, eye, from_numpy, full, full_like, get_default_device, \
    linspace, manual_seed, set_default_device, \
    ones, ones_like, rand, rand_like, randint, randn, randn_like, tensor, zeros, zeros_like
from .dtypes import bool_, float16, float32, float64, get_default_dtype, int8, int16, int32, int64, \
    set_default_dtype, uint8
from .functional import *  # noqa: F401,F403 - the generated module functions (exp, cat, softmax, max, ...)
from .functional import __all__ as _functions
from .tensor import Tensor
from . import nn, optim  # noqa: E402 - after the core: they build on Tensor and the op table
from .compile import compile  # noqa: E402,A004 - traces into the static compiler (after nn/optim)

float = float32  # noqa: A001 - PyTorch's name for float32
double = float64
half = float16
long = int64
int = int32  # noqa: A001
short = int16
bool = bool_  # noqa: A001

COVERAGE_HINT = "see docs/engine.md, 'What the engine covers'"

__all__ = [
    "accelerator", "autograd", "cuda", "nn", "optim", "Tensor", "device", "DeviceUnavailableError",
    "float", "float32", "double", "float64", "half", "float16", "int", "int32", "long", "int64", "short", "int16",
    "int8", "uint8", "bool", "get_default_dtype", "set_default_dtype",
    "tensor", "as_tensor", "from_numpy", "randn", "rand", "randint", "zeros", "ones", "empty", "full", "eye",
    "zeros_like", "ones_like", "empty_like", "full_like", "randn_like", "rand_like", "arange", "linspace",
    "manual_seed", "compile", "set_default_device", "get_default_device", "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled", *_functions,
]


def __getattr__(name: str):
    """A name the engine does not cover: one sentence naming it, instead of a bare AttributeError."""
    if name.startswith("__"):
        raise AttributeError(name)
    raise AttributeError(f"autotrain.engine has no '{name}': it is not among the PyTorch names the engine covers "
                         f"({COVERAGE_HINT})")
