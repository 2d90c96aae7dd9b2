"""``torch.autograd.functional``: Jacobians, Hessians and their products with vectors, from backward passes.

Each function differentiates ``func`` at ``inputs`` (a Tensor or a tuple of Tensors) with fresh
copies of the inputs that require grad, so the caller's tensors and their ``.grad`` are untouched.
Results are detached unless ``create_graph=True``.  Products with a vector (``jvp``) use the
double-backward identity: the vector-Jacobian product is linear in its vector, so differentiating
it with respect to that vector gives the Jacobian-vector product.
"""
from __future__ import annotations

import numpy as np

from . import autograd
from .graph import enable_grad
from .tensor import Tensor, new_tensor

__all__ = ["vjp", "jvp", "jacobian", "hessian", "hvp", "vhp"]


def _as_tuple(value, what: str, fn_name: str):
    single = not isinstance(value, tuple)
    values = (value,) if single else value
    for i, v in enumerate(values):
        if not isinstance(v, Tensor):
            raise TypeError(f"The {what} given to {fn_name} must be either a Tensor or a tuple of Tensors but the "
                            f"value at index {i} has type {type(v).__name__}.")
    return single, values


def _prepare(inputs, create_graph: bool):
    """Inputs that require grad: views in the caller's graph under create_graph, detached copies otherwise."""
    out = []
    for t in inputs:
        if create_graph and t.requires_grad:
            out.append(t * 1)  # stays connected to what the caller differentiates later
        else:
            out.append(t.detach().requires_grad_(t.dtype.kind == "f"))
    return tuple(out)


def _finish(values, create_graph: bool):
    return tuple(v if v is None or create_graph else v.detach() for v in values)


def _weighted_grad(grads, wrt, vs, create_graph: bool) -> tuple:
    """The gradient of ``sum(grads[i] * vs[i])`` with respect to ``wrt`` (the second backward of jvp and
    hvp), over the ``grads`` that carry a graph; None for each of ``wrt`` when none does."""
    linked = [(g, v) for g, v in zip(grads, vs) if g.requires_grad]
    if not linked:
        return (None,) * len(wrt)
    return autograd.grad([g for g, _ in linked], wrt, [v for _, v in linked], create_graph=create_graph,
                         allow_unused=True)


def _zeros_if_none(values, like):
    return tuple(new_tensor(np.zeros(t.shape, t.dtype)) if v is None else v for v, t in zip(values, like))


def _grad(outputs, inputs, grad_outputs, create_graph: bool, strict: bool, what: str):
    pairs = [(o, g) for o, g in zip(outputs, grad_outputs) if o.requires_grad]
    if not pairs:
        grads = (None,) * len(inputs)
    else:
        grads = autograd.grad([o for o, _ in pairs], inputs, [g for _, g in pairs], create_graph=True,
                              allow_unused=True)
    if strict:
        for i, g in enumerate(grads):
            if g is None:
                raise RuntimeError(f"The output of the user-provided function is independent of input {i}. This "
                                   f"is not allowed in strict mode{what}.")
    return _zeros_if_none(grads, inputs)


def _call(func, inputs, fn_name):
    with enable_grad():
        out = func(*inputs)
    return _as_tuple(out, "outputs of the user-provided function", fn_name)


def _vectors(v, like, fn_name: str, what: str):
    if v is None:
        if not all(t.numel() == 1 for t in like):
            raise RuntimeError(f"The vector v can only be None if the {what} to {fn_name} is a single element "
                               "Tensor.")
        return tuple(new_tensor(np.ones(t.shape, t.dtype)) for t in like)
    _, vs = _as_tuple(v, "v", fn_name)
    if len(vs) != len(like):
        raise RuntimeError(f"v has {len(vs)} tensors but the {what} of {fn_name} has {len(like)}.")
    for i, (a, b) in enumerate(zip(vs, like)):
        if tuple(a.shape) != tuple(b.shape):
            raise RuntimeError(f"Entry {i} in v has invalid size: should be {tuple(b.shape)} but got "
                               f"{tuple(a.shape)}.")
    return vs


def vjp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(inputs), v^T J)``: the vector-Jacobian product at ``inputs``."""
    single_in, inputs = _as_tuple(inputs, "inputs", "vjp")
    with enable_grad():
        inputs = _prepare(inputs, create_graph)
        single_out, outputs = _call(func, inputs, "vjp")
        vs = _vectors(v, outputs, "vjp", "output")
        grads = _grad(outputs, inputs, vs, create_graph, strict, "")
    outputs, grads = _finish(outputs, create_graph), _finish(grads, create_graph)
    return (outputs[0] if single_out else outputs), (grads[0] if single_in else grads)


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(inputs), J v)``: the Jacobian-vector product, by differentiating a vjp in its vector."""
    single_in, inputs = _as_tuple(inputs, "inputs", "jvp")
    with enable_grad():
        inputs = _prepare(inputs, create_graph)
        vs = _vectors(v, inputs, "jvp", "input")
        single_out, outputs = _call(func, inputs, "jvp")
        dummies = tuple(new_tensor(np.zeros(o.shape, o.dtype), requires_grad=True) for o in outputs)
        grads = _grad(outputs, inputs, dummies, True, strict, "")
        jv = _zeros_if_none(_weighted_grad(grads, dummies, vs, create_graph), outputs)
    outputs, jv = _finish(outputs, create_graph), _finish(jv, create_graph)
    return (outputs[0] if single_out else outputs), (jv[0] if single_out else jv)


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False, strategy="reverse-mode"):
    """The Jacobian of ``func`` at ``inputs``: ``output.shape + input.shape`` per (output, input) pair.

    A Tensor for one input and one output; a tuple over inputs (or outputs), or a tuple of tuples.
    Reverse mode, one backward pass per output entry (``vectorize`` is accepted and changes nothing).
    """
    if strategy != "reverse-mode":
        raise NotImplementedError("jacobian: only strategy='reverse-mode' is supported by this engine")
    single_in, inputs = _as_tuple(inputs, "inputs", "jacobian")
    with enable_grad():
        inputs = _prepare(inputs, create_graph)
        single_out, outputs = _call(func, inputs, "jacobian")
        rows = []
        for out in outputs:
            per_input = [[] for _ in inputs]
            for k in range(out.numel()):
                seed = np.zeros(out.numel(), out.dtype)
                seed[k] = 1
                seeds = tuple(new_tensor(seed.reshape(o.shape)) if o is out else new_tensor(np.zeros(o.shape, o.dtype))
                              for o in outputs)
                grads = _grad(outputs, inputs, seeds, create_graph, strict, "")
                for j, g in enumerate(grads):
                    per_input[j].append(g if create_graph else g.detach())
            rows.append(tuple(_stack_rows(parts, out, t) for parts, t in zip(per_input, inputs)))
    if single_out:
        return rows[0][0] if single_in else rows[0]
    return tuple(r[0] for r in rows) if single_in else tuple(rows)


def _stack_rows(parts, out, inp):
    from .functional import stack
    shape = tuple(out.shape) + tuple(inp.shape)
    if not parts:
        return new_tensor(np.zeros(shape, inp.dtype))
    return stack(parts).reshape(shape)


def hessian(func, inputs, create_graph=False, strict=False, vectorize=False, outer_jacobian_strategy="reverse-mode"):
    """The Hessian of a scalar ``func`` at ``inputs``: the Jacobian of its gradient."""
    single_in, tupled = _as_tuple(inputs, "inputs", "hessian")

    def gradient(*xs):
        single_out, outs = _as_tuple(func(*xs), "outputs of the user-provided function", "hessian")
        if len(outs) != 1 or outs[0].numel() != 1:
            raise RuntimeError("The function given to hessian should return a single Tensor with a single "
                               "element")
        grads = _grad(outs, xs, (new_tensor(np.ones(outs[0].shape, outs[0].dtype)),), True, strict, "")
        return grads[0] if single_in else grads

    return jacobian(gradient, inputs, create_graph=create_graph, strict=strict, strategy=outer_jacobian_strategy)


def _hessian_product(func, inputs, v, create_graph, strict, fn_name):
    single_in, inputs = _as_tuple(inputs, "inputs", fn_name)
    with enable_grad():
        inputs = _prepare(inputs, create_graph)
        vs = _vectors(v, inputs, fn_name, "input")
        single_out, outputs = _call(func, inputs, fn_name)
        if len(outputs) != 1 or outputs[0].numel() != 1:
            raise RuntimeError(f"The function given to {fn_name} should return a single Tensor with a single "
                               "element")
        grads = _grad(outputs, inputs, (new_tensor(np.ones(outputs[0].shape, outputs[0].dtype)),), True, strict, "")
        hv = _zeros_if_none(_weighted_grad(grads, inputs, vs, create_graph), inputs)
    out, hv = _finish(outputs, create_graph)[0], _finish(hv, create_graph)
    return out, (hv[0] if single_in else hv)


def vhp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(inputs), v^T H)`` for a scalar ``func``."""
    return _hessian_product(func, inputs, v, create_graph, strict, "vhp")


def hvp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(inputs), H v)`` for a scalar ``func`` (the same as ``vhp`` for a twice-differentiable func)."""
    return _hessian_product(func, inputs, v, create_graph, strict, "hvp")
