"""Stochastic gradient descent, with PyTorch's momentum, dampening, Nesterov and weight decay."""
from __future__ import annotations

from ..tensor import Tensor
from .optimizer import Optimizer, check_flags, mark_updated, xp_of


class SGD(Optimizer):
    r"""``SGD(params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, *, maximize=False)``.

    PyTorch 2.x's single-tensor update, for each parameter p with gradient g::

        g = -g                                   if maximize
        g = g + weight_decay * p                 if weight_decay != 0
        if momentum != 0:
            b = g (a copy)                       at the first step
            b = momentum * b + (1 - dampening) * g   afterwards
            g = g + momentum * b                 if nesterov, else g = b
        p = p - lr * g

    State per parameter: ``momentum_buffer`` (only when momentum != 0).
    """

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False, *, maximize: bool = False, foreach=None,
                 differentiable: bool = False, fused=None) -> None:
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        check_flags("SGD", foreach, fused, differentiable)
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize, foreach=foreach, differentiable=differentiable,
                        fused=fused)
        super().__init__(params, defaults)

    def _update_group(self, group) -> None:
        lr, momentum, dampening = group["lr"], group["momentum"], group["dampening"]
        weight_decay, nesterov, maximize = group["weight_decay"], group["nesterov"], group["maximize"]
        for param in group["params"]:
            if param.grad is None:
                continue
            p, g = param._data, param.grad._data
            if maximize:
                g = -g
            if weight_decay != 0:
                g = g + weight_decay * p
            if momentum != 0:
                state = self.state[param]
                buf = state.get("momentum_buffer")
                if buf is None:   # the first step: the buffer starts as a copy of the gradient
                    # xp.array, not g.copy(): for a 0-d parameter g may be a numpy scalar (numpy hands one
                    # back from -g or g + wd * p), whose copy cannot be updated in place later
                    b = xp_of(p).array(g)
                    state["momentum_buffer"] = Tensor._wrap(b)
                else:
                    b = buf._data
                    b *= momentum
                    b += (1 - dampening) * g
                g = g + momentum * b if nesterov else b
            p -= lr * g
            mark_updated(param)
