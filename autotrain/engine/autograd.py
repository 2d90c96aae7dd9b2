"""The ``torch.autograd`` namespace: Function, backward, grad, gradcheck and grad modes."""
from __future__ import annotations

import numpy as np

from . import backprop, higher
from .function import Function, FunctionCtx
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .graph import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .tensor import Tensor, new_tensor, root_grads

__all__ = ["Function", "FunctionCtx", "backward", "grad", "gradcheck", "gradgradcheck", "GradcheckError", "functional",
           "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled"]


def __getattr__(name: str):
    if name == "functional":  # imported on first use: it builds on this module
        from . import autograd_functional
        globals()["functional"] = autograd_functional
        return autograd_functional
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
    if values is None:
        raise TypeError(f"autograd: {what} must be a Tensor or a sequence of Tensors, got None")
    values = _as_tuple(values, what)
    for i, t in enumerate(values):
        if not isinstance(t, Tensor):
            raise TypeError(f"autograd: {what}[{i}] must be a Tensor, got {type(t).__name__} {t!r}")
    return values


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Accumulate the gradients of ``tensors`` into the ``.grad`` of the leaves they depend on.

    ``create_graph=True`` records the backward pass (the ``.grad`` it leaves has a graph of its own);
    ``inputs`` accumulates only into those tensors (leaves or not).  ``retain_graph`` defaults to
    ``create_graph``, as in PyTorch.
    """
    tensors = _tensors(tensors, "tensors")
    grad_tensors = _as_tuple(grad_tensors, "grad_tensors") or (None,) * len(tensors)
    retain = bool(create_graph if retain_graph is None else retain_graph)
    if inputs is None and not create_graph:
        backprop.run_backward(tensors, root_grads(tensors, grad_tensors), retain)
        return
    if inputs is not None:
        inputs = _tensors(inputs, "inputs")
        if not inputs:
            raise RuntimeError("'inputs' argument to backward() cannot be empty.")
    values = _run(tensors, grad_tensors, inputs, retain, create_graph)
    if inputs is None:
        return
    for t, value in zip(inputs, values):
        if value is None:
            continue
        if create_graph:
            higher.accumulate_grad_graph(t, value)
        else:
            t.accumulate_grad(value, True)


def _run(outputs, grad_outputs, inputs, retain: bool, create_graph: bool):
    """One backward pass: into ``.grad`` (``inputs`` None) or captured for ``inputs``; recorded when asked."""
    capture = None if inputs is None else backprop.Capture(inputs)
    if create_graph:
        higher.run_backward_graph(outputs, higher.graph_root_grads(outputs, grad_outputs), retain, capture)
    else:
        backprop.run_backward(outputs, root_grads(outputs, grad_outputs), retain, capture)
    return None if capture is None else capture.grads


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, allow_unused=None,
         materialize_grads=False):
    """Gradients of ``outputs`` with respect to ``inputs``, returned as a tuple; ``.grad`` is not touched.

    With ``create_graph=True`` the gradients carry a graph of their own and can be differentiated
    again (``grad_outputs`` tensors that require grad stay in it).  ``retain_graph`` defaults to
    ``create_graph``.  ``materialize_grads`` returns zeros instead of ``None`` for unused inputs.
    """
    outputs, inputs = _tensors(outputs, "outputs"), _tensors(inputs, "inputs")
    grad_outputs = _as_tuple(grad_outputs, "grad_outputs") or (None,) * len(outputs)
    if allow_unused is None:
        allow_unused = materialize_grads
    for i, t in enumerate(inputs):
        if not t.requires_grad:
            raise RuntimeError(f"One of the differentiated Tensors (input {i}) does not require grad")
    retain = bool(create_graph if retain_graph is None else retain_graph)
    values = _run(outputs, grad_outputs, inputs, retain, create_graph)
    results = []
    for i, (t, value) in enumerate(zip(inputs, values)):
        if value is None and not allow_unused:
            raise RuntimeError(f"One of the differentiated Tensors (input {i}) appears to not have been used in "
                               "the graph. Set allow_unused=True if this is the desired behavior.")
        if value is None:
            results.append(new_tensor(np.zeros(t.shape, t.dtype)) if materialize_grads else None)
        elif create_graph:
            results.append(value if value.dtype == t.dtype else higher.TensorXP.astype(value, t.dtype))
        else:  # a 0-d product may come back as a numpy scalar: the result is an array, as any Tensor's
            results.append(new_tensor(np.array(value, dtype=t._data.dtype) if isinstance(value, np.generic)
                                else value.astype(t._data.dtype, copy=True)))
    return tuple(results)
