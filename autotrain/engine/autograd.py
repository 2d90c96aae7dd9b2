"""The ``torch.autograd`` namespace: Function, backward, grad, gradcheck and grad modes."""
from __future__ import annotations

from . import backprop
from .function import Function, FunctionCtx
from .gradcheck import GradcheckError, gradcheck
from .graph import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .tensor import Tensor, _new, root_grads

__all__ = ["Function", "FunctionCtx", "backward", "grad", "gradcheck", "GradcheckError",
           "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled"]


def __getattr__(name: str):
    """A name of torch.autograd the engine does not cover: one sentence naming it."""
    if name.startswith("__"):
        raise AttributeError(name)
    raise AttributeError(f"autotrain.engine.autograd has no '{name}': it is not among the PyTorch names the engine "
                         "covers (see docs/engine.md, 'What the engine covers')")


def _as_tuple(value, what: str):
    if value is None:
        return None
    return tuple(value) if isinstance(value, (list, tuple)) else (value,)


def _tensors(values, what: str) -> tuple:
    values = _as_tuple(values, what)
    for i, t in enumerate(values):
        if not isinstance(t, Tensor):
            raise TypeError(f"autograd: {what}[{i}] must be a Tensor, got {type(t).__name__} {t!r}")
    return values


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Accumulate the gradients of ``tensors`` into the ``.grad`` of the leaves they depend on."""
    if create_graph:
        raise NotImplementedError("create_graph=True (higher-order gradients) is not supported by this engine")
    tensors = _tensors(tensors, "tensors")
    grad_tensors = _as_tuple(grad_tensors, "grad_tensors") or (None,) * len(tensors)
    backprop.run_backward(tensors, root_grads(tensors, grad_tensors), bool(retain_graph))


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, allow_unused=False):
    """Gradients of ``outputs`` with respect to ``inputs``, returned as a tuple; ``.grad`` is not touched."""
    if create_graph:
        raise NotImplementedError("create_graph=True (higher-order gradients) is not supported by this engine")
    outputs, inputs = _tensors(outputs, "outputs"), _tensors(inputs, "inputs")
    grad_outputs = _as_tuple(grad_outputs, "grad_outputs") or (None,) * len(outputs)
    for i, t in enumerate(inputs):
        if not t.requires_grad:
            raise RuntimeError(f"One of the differentiated Tensors (input {i}) does not require grad")
    capture = backprop.Capture(inputs)
    backprop.run_backward(outputs, root_grads(outputs, grad_outputs), bool(retain_graph), capture)
    results = []
    for i, (t, value) in enumerate(zip(inputs, capture.grads)):
        if value is None and not allow_unused:
            raise RuntimeError(f"One of the differentiated Tensors (input {i}) appears to not have been used in "
                               "the graph. Set allow_unused=True if this is the desired behavior.")
        results.append(None if value is None else _new(value.astype(t._data.dtype, copy=True)))
    return tuple(results)
