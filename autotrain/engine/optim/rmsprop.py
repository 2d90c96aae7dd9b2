"""RMSprop (Hinton's lecture 6e), with PyTorch's centered, momentum and weight-decay variants."""
from __future__ import annotations

from .optimizer import Optimizer, check_flags, mark_updated, next_step, step_tensor, xp_of, zeros_like_param


class RMSprop(Optimizer):
    r"""``RMSprop(params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False, ...)``.

    PyTorch 2.x's single-tensor update, for each parameter p with gradient g::

        g = -g                                       if maximize
        g = g + weight_decay * p                     if weight_decay != 0
        v = alpha * v + (1 - alpha) * g * g          (square_avg, starts at 0)
        if centered:
            a = a + (1 - alpha) * (g - a)            (grad_avg, starts at 0)
            avg = sqrt(v - a * a) + eps
        else:
            avg = sqrt(v) + eps
        if momentum > 0:
            b = momentum * b + g / avg               (momentum_buffer, starts at 0)
            p = p - lr * b
        else:
            p = p - lr * g / avg

    State per parameter: ``step``, ``square_avg``, and ``momentum_buffer`` / ``grad_avg`` when used.
    """

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8, weight_decay: float = 0,
                 momentum: float = 0, centered: bool = False, capturable: bool = False, foreach=None,
                 maximize: bool = False, differentiable: bool = False) -> None:
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if eps < 0.0:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if alpha < 0.0:
            raise ValueError(f"Invalid alpha value: {alpha}")
        check_flags("RMSprop", foreach, None, differentiable)
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, capturable=capturable, foreach=foreach, maximize=maximize,
                        differentiable=differentiable)
        super().__init__(params, defaults)

    def _init_state(self, param, group) -> dict:
        state = self.state[param]
        if not state:
            state["step"] = step_tensor()
            state["square_avg"] = zeros_like_param(param)
            if group["momentum"] > 0:
                state["momentum_buffer"] = zeros_like_param(param)
            if group["centered"]:
                state["grad_avg"] = zeros_like_param(param)
        return state

    def _update_group(self, group) -> None:
        lr, alpha, eps, momentum = group["lr"], group["alpha"], group["eps"], group["momentum"]
        weight_decay, centered, maximize = group["weight_decay"], group["centered"], group["maximize"]
        for param in group["params"]:
            if param.grad is None:
                continue
            state = self._init_state(param, group)
            p, g = param._data, param.grad._data
            xp = xp_of(p)
            next_step(state)
            if maximize:
                g = -g
            if weight_decay != 0:
                g = g + weight_decay * p
            square_avg = state["square_avg"]._data
            square_avg *= alpha
            square_avg += (1 - alpha) * g * g
            if centered:
                grad_avg = state["grad_avg"]._data
                grad_avg += (1 - alpha) * (g - grad_avg)
                avg = xp.sqrt(square_avg - grad_avg * grad_avg)
            else:
                avg = xp.sqrt(square_avg)
            avg += eps
            if momentum > 0:
                buf = state["momentum_buffer"]._data
                buf *= momentum
                buf += g / avg
                p -= lr * buf
            else:
                p -= lr * (g / avg)
            mark_updated(param)
